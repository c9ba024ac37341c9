package audio

import (
	"bufio"
	"io"
)

// frame is one parsed MP3 or ADTS frame header.
type frame struct {
	length     int // bytes, header included
	samples    int // PCM samples per channel
	sampleRate int
	channels   int
	// MP3 only, to find the Xing/VBRI header.
	mpeg1 bool
}

var (
	mp3BitrateV1 = [16]int{0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0}
	mp3BitrateV2 = [16]int{0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 0}
	mp3Rates     = [4][3]int{{11025, 12000, 8000}, {}, {22050, 24000, 16000}, {44100, 48000, 32000}}
	adtsRates    = [16]int{96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350}
)

// parseMP3 parses an MPEG audio layer III frame header. Layers I and II
// and free-format bitrates are refused: browsers do not play them and they
// make random data look like audio.
func parseMP3(b []byte) (frame, bool) {
	if len(b) < 4 || b[0] != 0xFF || b[1]&0xE0 != 0xE0 {
		return frame{}, false
	}
	version := (b[1] >> 3) & 3
	layer := (b[1] >> 1) & 3
	brIdx := b[2] >> 4
	srIdx := (b[2] >> 2) & 3
	if version == 1 || layer != 1 || brIdx == 0 || brIdx == 15 || srIdx == 3 || b[3]&3 == 2 {
		return frame{}, false
	}
	pad := int(b[2]>>1) & 1
	rate := mp3Rates[version][srIdx]
	f := frame{sampleRate: rate, channels: 2, mpeg1: version == 3}
	if b[3]>>6 == 3 {
		f.channels = 1
	}
	if f.mpeg1 {
		f.samples = 1152
		f.length = 144*mp3BitrateV1[brIdx]*1000/rate + pad
	} else {
		f.samples = 576
		f.length = 72*mp3BitrateV2[brIdx]*1000/rate + pad
	}
	return f, f.length >= 4
}

// parseADTS parses an ADTS (raw AAC) frame header.
func parseADTS(b []byte) (frame, bool) {
	if len(b) < 7 || b[0] != 0xFF || b[1]&0xF6 != 0xF0 {
		return frame{}, false
	}
	srIdx := (b[2] >> 2) & 0xF
	if adtsRates[srIdx] == 0 || (b[2]>>6) == 3 { // profile 3 is reserved in MPEG-4
		return frame{}, false
	}
	chans := int(b[2]&1)<<2 | int(b[3]>>6)
	length := int(b[3]&3)<<11 | int(b[4])<<3 | int(b[5]>>5)
	hdr := 7
	if b[1]&1 == 0 {
		hdr = 9 // CRC present
	}
	if length <= hdr {
		return frame{}, false
	}
	blocks := int(b[6]&3) + 1
	if chans == 0 {
		chans = 2 // configured in-band; assume stereo for reporting only
	}
	return frame{length: length, samples: 1024 * blocks, sampleRate: adtsRates[srIdx], channels: chans}, true
}

func parserOf(f Format) func([]byte) (frame, bool) {
	if f == AAC {
		return parseADTS
	}
	return parseMP3
}

// sniffFrames recognises MP3 or ADTS by two consecutive valid frames with
// the same sample rate, which random bytes rarely produce.
func sniffFrames(head []byte) Format {
	for _, f := range []Format{MP3, AAC} {
		parse := parserOf(f)
		a, ok := parse(head)
		if !ok {
			continue
		}
		if a.length > len(head) {
			continue
		}
		if len(head) == a.length { // one-frame file: accept the lone frame
			return f
		}
		b, ok := parse(head[a.length:])
		if ok && b.sampleRate == a.sampleRate {
			return f
		}
	}
	return ""
}

// maxResync bounds the garbage tolerated between frames before a file is
// called corrupt.
const maxResync = 64 << 10

// probeMPEG walks every frame from start to the end of the file (before
// any trailing ID3v1 or APE tag). A frame that runs past the end means the
// upload was cut short. The duration comes from a Xing/Info header (with
// the LAME encoder delay and padding) or a VBRI header when the first frame
// carries one, and from the frame count otherwise.
func probeMPEG(r io.ReaderAt, start, size int64, f Format) (Info, error) {
	end, err := audioEnd(r, start, size)
	if err != nil {
		return Info{}, err
	}
	parse := parserOf(f)
	br := bufio.NewReaderSize(io.NewSectionReader(r, start, end-start), 64<<10)
	pos := start
	var (
		first    frame
		frames   int64
		samples  uint64
		resynced int
		declared int64  = -1 // frames declared by a Xing/VBRI header
		trim     uint64      // encoder delay + padding from a LAME tag
	)
	// Padding zeros after an ID3v2 tag are common.
	for skipped := 0; skipped < 4096; skipped++ {
		b, err := br.Peek(1)
		if err != nil || b[0] != 0 {
			break
		}
		_, _ = br.Discard(1)
		pos++
	}
	for {
		hdr, err := br.Peek(9)
		if len(hdr) == 0 {
			if err != nil && err != io.EOF {
				return Info{}, err
			}
			break
		}
		fr, ok := parse(hdr)
		if !ok {
			if frames > 0 && allZero(br) {
				break // zero padding at the end
			}
			// Lost sync: step one byte and look again, within bounds.
			resynced++
			if resynced > maxResync {
				return Info{}, invalid(f, "no audio frames where frames were expected")
			}
			if _, err := br.Discard(1); err != nil {
				break
			}
			pos++
			continue
		}
		if pos+int64(fr.length) > end {
			return Info{}, truncated(f, "the last frame is cut short (%d of %d bytes)", end-pos, fr.length)
		}
		if frames == 0 {
			if first.sampleRate == 0 {
				first = fr
				if f == MP3 {
					body, _ := br.Peek(fr.length)
					if n, t, ok := xingFrames(body, fr); ok {
						declared, trim = n, t
						// The Xing frame is silence that holds the header.
						if _, err := br.Discard(fr.length); err != nil {
							return Info{}, err
						}
						pos += int64(fr.length)
						continue
					}
				}
			}
		}
		if fr.sampleRate != first.sampleRate {
			// A frame at a different rate is a false sync inside data.
			resynced++
			if resynced > maxResync {
				return Info{}, invalid(f, "frames change sample rate")
			}
			if _, err := br.Discard(1); err != nil {
				break
			}
			pos++
			continue
		}
		if _, err := br.Discard(fr.length); err != nil {
			return Info{}, truncated(f, "the last frame is cut short")
		}
		pos += int64(fr.length)
		frames++
		samples += uint64(fr.samples)
	}
	if frames == 0 {
		return Info{}, invalid(f, "no audio frames")
	}
	if declared >= 0 {
		if frames < declared*9/10 {
			return Info{}, truncated(f, "%d frames of the %d its header declares", frames, declared)
		}
		samples = uint64(declared) * uint64(first.samples)
		if trim < samples {
			samples -= trim
		}
	}
	return Info{Format: f, Duration: samplesToDuration(samples, first.sampleRate), SampleRate: first.sampleRate, Channels: first.channels}, nil
}

func allZero(br *bufio.Reader) bool {
	for {
		b, err := br.ReadByte()
		if err != nil {
			return true
		}
		if b != 0 {
			return false
		}
	}
}

// audioEnd is the end of the audio data: before an ID3v1 tag ("TAG" in
// the last 128 bytes) and an APEv2 tag ("APETAGEX" footer).
func audioEnd(r io.ReaderAt, start, size int64) (int64, error) {
	end := size
	for i := 0; i < 2; i++ {
		if end-start >= 128 {
			b, err := readAtMost(r, end-128, 3, size)
			if err != nil {
				return 0, err
			}
			if string(b) == "TAG" {
				end -= 128
				continue
			}
		}
		if end-start >= 32 {
			b, err := readAtMost(r, end-32, 32, size)
			if err != nil {
				return 0, err
			}
			if len(b) == 32 && string(b[0:8]) == "APETAGEX" {
				n := int64(le32(b[12:16])) // items + footer
				if le32(b[20:24])&(1<<31) != 0 {
					n += 32 // header present
				}
				if n <= end-start {
					end -= n
					continue
				}
			}
		}
		break
	}
	return end, nil
}

// xingFrames reads a Xing/Info or VBRI header from the first frame: the
// number of audio frames that follow and the samples to trim (LAME's
// encoder delay and padding).
func xingFrames(body []byte, fr frame) (int64, uint64, bool) {
	side := 17
	switch {
	case fr.mpeg1 && fr.channels == 2:
		side = 32
	case !fr.mpeg1 && fr.channels == 1:
		side = 9
	}
	off := 4 + side
	if len(body) >= off+8 && (string(body[off:off+4]) == "Xing" || string(body[off:off+4]) == "Info") {
		flags := be32(body[off+4:])
		p := off + 8
		if flags&1 == 0 {
			return 0, 0, false
		}
		if len(body) < p+4 {
			return 0, 0, false
		}
		n := int64(be32(body[p:]))
		p += 4
		if flags&2 != 0 {
			p += 4
		}
		if flags&4 != 0 {
			p += 100
		}
		if flags&8 != 0 {
			p += 4
		}
		var trim uint64
		// LAME tag: 9-byte version string, then delay/padding at +21.
		if len(body) >= p+24 && (string(body[p:p+4]) == "LAME" || string(body[p:p+4]) == "Lavf" || string(body[p:p+4]) == "Lavc") {
			d := be24(body[p+21:])
			trim = uint64(d>>12) + uint64(d&0xFFF)
		}
		return n, trim, true
	}
	if len(body) >= 36+18 && string(body[36:40]) == "VBRI" {
		return int64(be32(body[36+14:])), 0, true
	}
	return 0, 0, false
}
