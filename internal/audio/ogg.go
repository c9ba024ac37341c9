package audio

import (
	"bufio"
	"io"
)

// oggCRC is the Ogg page checksum table (polynomial 0x04c11db7, not
// reflected, initial value 0).
var oggCRC = func() (t [256]uint32) {
	for i := range t {
		r := uint32(i) << 24
		for j := 0; j < 8; j++ {
			if r&0x80000000 != 0 {
				r = r<<1 ^ 0x04c11db7
			} else {
				r <<= 1
			}
		}
		t[i] = r
	}
	return t
}()

func oggChecksum(crc uint32, b []byte) uint32 {
	for _, c := range b {
		crc = crc<<8 ^ oggCRC[byte(crc>>24)^c]
	}
	return crc
}

const (
	oggContinued = 0x01
	oggBOS       = 0x02
	oggEOS       = 0x04
)

// sniffOgg tells Opus from Vorbis by the first packet of the first page.
func sniffOgg(head []byte) Format {
	if len(head) < 27 || head[4] != 0 {
		return ""
	}
	nseg := int(head[26])
	body := 27 + nseg
	if len(head) < body+8 {
		return ""
	}
	switch {
	case string(head[body:body+8]) == "OpusHead":
		return OggOpus
	case len(head) >= body+7 && string(head[body:body+7]) == "\x01vorbis":
		return OggVorbis
	}
	return ""
}

// probeOgg walks every page, checking each one's checksum, and takes the
// duration from the last granule position of the first logical stream:
// (granule - pre-skip) / 48 kHz for Opus, granule / sample rate for
// Vorbis. The stream must end with its end-of-stream page; a page that runs
// past the end of the file or no end-of-stream page means the upload was
// cut short.
func probeOgg(r io.ReaderAt, size int64, f Format) (Info, error) {
	br := bufio.NewReaderSize(io.NewSectionReader(r, 0, size), 64<<10)
	var (
		pos      int64
		serial   uint32
		pages    int
		rate     int
		channels int
		preSkip  uint64
		last     int64 = -1
		ended    bool
		// The comment header is the stream's second packet; it may span
		// pages. packets counts packets completed so far.
		packets int
		comment []byte
		hdr     [27 + 255]byte
		body    = make([]byte, 0, 255*255)
	)
	for pos < size {
		if _, err := io.ReadFull(br, hdr[:27]); err != nil {
			if ended {
				break // a few trailing bytes after the stream ended
			}
			return Info{}, truncated(f, "the file ends inside a page header")
		}
		if string(hdr[0:4]) != "OggS" || hdr[4] != 0 {
			if pages > 0 && ended {
				break // trailing bytes after the stream ended
			}
			return Info{}, invalid(f, "no Ogg page where one was expected (offset %d)", pos)
		}
		nseg := int(hdr[26])
		if _, err := io.ReadFull(br, hdr[27:27+nseg]); err != nil {
			return Info{}, truncated(f, "the file ends inside a page header")
		}
		n := 0
		for _, s := range hdr[27 : 27+nseg] {
			n += int(s)
		}
		body = body[:n]
		if _, err := io.ReadFull(br, body); err != nil {
			return Info{}, truncated(f, "the last page is cut short")
		}
		want := le32(hdr[22:26])
		hdr[22], hdr[23], hdr[24], hdr[25] = 0, 0, 0, 0
		if oggChecksum(oggChecksum(0, hdr[:27+nseg]), body) != want {
			return Info{}, invalid(f, "page checksum mismatch (offset %d)", pos)
		}
		pos += int64(27 + nseg + n)
		flags := hdr[5]
		s := le32(hdr[14:18])
		granule := int64(le64(hdr[6:14]))
		if pages == 0 {
			if flags&oggBOS == 0 {
				return Info{}, invalid(f, "the first page does not begin a stream")
			}
			serial = s
			switch f {
			case OggOpus:
				if len(body) < 19 || string(body[0:8]) != "OpusHead" {
					return Info{}, invalid(f, "missing OpusHead")
				}
				channels = int(body[9])
				preSkip = uint64(le16(body[10:12]))
				rate = 48000 // Opus granules always count 48 kHz samples
			case OggVorbis:
				if len(body) < 30 || string(body[0:7]) != "\x01vorbis" {
					return Info{}, invalid(f, "missing Vorbis identification header")
				}
				channels = int(body[11])
				rate = int(le32(body[12:16]))
			}
			if rate <= 0 || channels == 0 {
				return Info{}, invalid(f, "the stream header declares no sample rate or channels")
			}
		}
		pages++
		if s != serial {
			continue // another logical stream multiplexed in; not ours
		}
		if granule != -1 {
			last = granule
		}
		if packets < 2 {
			seg := 0
			for _, l := range hdr[27 : 27+nseg] {
				if packets == 1 && len(comment) < maxComments {
					comment = append(comment, body[seg:seg+int(l)]...)
				}
				seg += int(l)
				if l < 255 {
					packets++
					if packets == 2 {
						break
					}
				}
			}
		}
		if flags&oggEOS != 0 {
			ended = true
		}
	}
	if !ended {
		return Info{}, truncated(f, "the stream has no end-of-stream page")
	}
	if last < 0 {
		return Info{}, invalid(f, "no page carries a granule position")
	}
	samples := uint64(last)
	if samples < preSkip {
		return Info{}, invalid(f, "the stream ends before its pre-skip")
	}
	samples -= preSkip
	info := Info{Format: f, Duration: samplesToDuration(samples, rate), SampleRate: rate, Channels: channels}
	magic := "OpusTags"
	if f == OggVorbis {
		magic = "\x03vorbis"
	}
	if len(comment) >= len(magic) && string(comment[:len(magic)]) == magic {
		info.comments = parseVorbisComments(comment[len(magic):])
	}
	return info, nil
}
