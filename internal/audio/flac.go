package audio

import "io"

var flacCRC8, flacCRC16 = func() (t8 [256]uint8, t16 [256]uint16) {
	for i := 0; i < 256; i++ {
		c8 := uint8(i)
		for j := 0; j < 8; j++ {
			if c8&0x80 != 0 {
				c8 = c8<<1 ^ 0x07
			} else {
				c8 <<= 1
			}
		}
		t8[i] = c8
		c16 := uint16(i) << 8
		for j := 0; j < 8; j++ {
			if c16&0x8000 != 0 {
				c16 = c16<<1 ^ 0x8005
			} else {
				c16 <<= 1
			}
		}
		t16[i] = c16
	}
	return
}()

func crc8(b []byte) uint8 {
	var c uint8
	for _, x := range b {
		c = flacCRC8[c^x]
	}
	return c
}

func crc16(b []byte) uint16 {
	var c uint16
	for _, x := range b {
		c = c<<8 ^ flacCRC16[byte(c>>8)^x]
	}
	return c
}

// streamInfo is the FLAC STREAMINFO block.
type streamInfo struct {
	minBlock, maxFrame int
	rate, channels     int
	total              uint64
}

// probeFLAC reads STREAMINFO for the sample rate and total samples, walks
// the metadata blocks to the first frame, and checks that the file ends
// with a whole frame: the last frame's CRC-16 must match and it must end
// at (or past) the total sample count.
func probeFLAC(r io.ReaderAt, start, size int64) (Info, error) {
	const f = FLAC
	pos := start + 4
	var (
		si       *streamInfo
		comments *Tags
	)
	for i := 0; ; i++ {
		if i > 1024 {
			return Info{}, invalid(f, "too many metadata blocks")
		}
		h, err := readExactly(r, pos, 4, size, f)
		if err != nil {
			return Info{}, err
		}
		last, typ, n := h[0]&0x80 != 0, h[0]&0x7F, int64(be24(h[1:4]))
		pos += 4
		if pos+n > size {
			return Info{}, truncated(f, "a metadata block runs past the end of the file")
		}
		if typ == 0 {
			if n != 34 {
				return Info{}, invalid(f, "STREAMINFO has the wrong length")
			}
			b, err := readExactly(r, pos, 34, size, f)
			if err != nil {
				return Info{}, err
			}
			si = &streamInfo{
				minBlock: int(be16(b[0:2])),
				maxFrame: int(be24(b[7:10])),
				rate:     int(be24(b[10:13]) >> 4),
				channels: int((b[12]>>1)&7) + 1,
				total:    uint64(b[13]&0x0F)<<32 | uint64(be32(b[14:18])),
			}
		} else if i == 0 {
			return Info{}, invalid(f, "the first metadata block is not STREAMINFO")
		} else if typ == 4 && comments == nil {
			b, err := readAtMost(r, pos, int(min(n, maxComments)), size)
			if err != nil {
				return Info{}, err
			}
			comments = parseVorbisComments(b)
		}
		pos += n
		if last {
			break
		}
	}
	if si == nil || si.rate == 0 {
		return Info{}, invalid(f, "no usable STREAMINFO")
	}
	end, err := audioEnd(r, pos, size)
	if err != nil {
		return Info{}, err
	}
	first, err := readAtMost(r, pos, 16, end)
	if err != nil {
		return Info{}, err
	}
	if len(first) == 0 {
		return Info{}, truncated(f, "no audio frames after the metadata")
	}
	if _, ok := parseFLACFrame(first); !ok {
		return Info{}, invalid(f, "no audio frame after the metadata")
	}
	lastEnd, err := flacLastFrameEnd(r, pos, end, si)
	if err != nil {
		return Info{}, err
	}
	total := si.total
	if total == 0 {
		total = lastEnd // unknown in STREAMINFO (streamed encoders)
	} else if lastEnd < total {
		return Info{}, truncated(f, "the frames end at sample %d of %d", lastEnd, total)
	}
	return Info{Format: f, Duration: samplesToDuration(total, si.rate), SampleRate: si.rate, Channels: si.channels, comments: comments}, nil
}

// flacFrame is the part of a frame header the tail check needs.
type flacFrame struct {
	variable  bool   // blocking strategy: number is a sample number
	number    uint64 // frame number (fixed) or first sample (variable)
	blockSize int
}

// parseFLACFrame parses a frame header and checks its CRC-8.
func parseFLACFrame(b []byte) (flacFrame, bool) {
	if len(b) < 6 || b[0] != 0xFF || b[1]&0xFE != 0xF8 {
		return flacFrame{}, false
	}
	bsCode, srCode := b[2]>>4, b[2]&0x0F
	if bsCode == 0 || srCode == 15 || b[3]>>4 >= 11 || b[3]&1 != 0 || (b[3]>>1)&7 == 3 {
		return flacFrame{}, false
	}
	fr := flacFrame{variable: b[1]&1 == 1}
	p := 4
	// UTF-8-style coded number: 1 to 7 bytes.
	c := b[p]
	n := 0
	switch {
	case c&0x80 == 0:
		fr.number, n = uint64(c), 0
	case c&0xE0 == 0xC0:
		fr.number, n = uint64(c&0x1F), 1
	case c&0xF0 == 0xE0:
		fr.number, n = uint64(c&0x0F), 2
	case c&0xF8 == 0xF0:
		fr.number, n = uint64(c&0x07), 3
	case c&0xFC == 0xF8:
		fr.number, n = uint64(c&0x03), 4
	case c&0xFE == 0xFC:
		fr.number, n = uint64(c&0x01), 5
	case c == 0xFE:
		fr.number, n = 0, 6
	default:
		return flacFrame{}, false
	}
	p++
	if len(b) < p+n+1 {
		return flacFrame{}, false
	}
	for i := 0; i < n; i++ {
		if b[p]&0xC0 != 0x80 {
			return flacFrame{}, false
		}
		fr.number = fr.number<<6 | uint64(b[p]&0x3F)
		p++
	}
	switch {
	case bsCode == 1:
		fr.blockSize = 192
	case bsCode <= 5:
		fr.blockSize = 576 << (bsCode - 2)
	case bsCode == 6:
		if len(b) < p+1 {
			return flacFrame{}, false
		}
		fr.blockSize = int(b[p]) + 1
		p++
	case bsCode == 7:
		if len(b) < p+2 {
			return flacFrame{}, false
		}
		fr.blockSize = int(be16(b[p:])) + 1
		p += 2
	default:
		fr.blockSize = 256 << (bsCode - 8)
	}
	switch srCode {
	case 12:
		p++
	case 13, 14:
		p += 2
	}
	if len(b) < p+1 || crc8(b[:p]) != b[p] {
		return flacFrame{}, false
	}
	return fr, true
}

// flacLastFrameEnd finds the last frame (searching back from the end for a
// header whose frame's CRC-16 runs exactly to the end of the file) and
// returns the sample at which it ends. No such frame: the file was cut.
func flacLastFrameEnd(r io.ReaderAt, audioStart, end int64, si *streamInfo) (uint64, error) {
	const f = FLAC
	window := int64(si.maxFrame) + 64
	if si.maxFrame == 0 {
		window = 1 << 20
	}
	if window > 16<<20 {
		window = 16 << 20
	}
	if window > end-audioStart {
		window = end - audioStart
	}
	tail, err := readAtMost(r, end-window, int(window), end)
	if err != nil {
		return 0, err
	}
	if len(tail) < 8 {
		return 0, truncated(f, "the last frame is cut short")
	}
	want := uint16(be16(tail[len(tail)-2:]))
	checks := 0
	for p := len(tail) - 8; p >= 0; p-- {
		if tail[p] != 0xFF || tail[p+1]&0xFE != 0xF8 {
			continue
		}
		fr, ok := parseFLACFrame(tail[p:])
		if !ok {
			continue
		}
		if checks++; checks > 64 {
			break
		}
		if crc16(tail[p:len(tail)-2]) != want {
			continue
		}
		if fr.variable {
			return fr.number + uint64(fr.blockSize), nil
		}
		return fr.number*uint64(si.minBlock) + uint64(fr.blockSize), nil
	}
	return 0, truncated(f, "the last frame is cut short")
}
