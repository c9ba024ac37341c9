package audio

import (
	"io"
	"time"
)

// probeWAV walks the RIFF chunks to "fmt " and "data": the duration is the
// data size over the byte rate. Only PCM and IEEE float (plain or
// WAVE_FORMAT_EXTENSIBLE) are accepted: that is what browsers play.
func probeWAV(r io.ReaderAt, size int64) (Info, error) {
	const f = WAV
	pos := int64(12)
	var (
		byteRate, rate, channels, align int
		haveFmt                         bool
	)
	for i := 0; ; i++ {
		if i > 4096 {
			return Info{}, invalid(f, "too many chunks")
		}
		h, err := readExactly(r, pos, 8, size, f)
		if err != nil {
			if haveFmt {
				return Info{}, truncated(f, "no data chunk")
			}
			return Info{}, err
		}
		id, n := string(h[0:4]), int64(le32(h[4:8]))
		pos += 8
		switch id {
		case "fmt ":
			if n < 16 || n > 1<<16 {
				return Info{}, invalid(f, "the fmt chunk has the wrong length")
			}
			b, err := readExactly(r, pos, 16, size, f)
			if err != nil {
				return Info{}, err
			}
			tag := le16(b[0:2])
			if tag == 0xFFFE && n >= 40 {
				ext, err := readExactly(r, pos+24, 2, size, f) // sub-format GUID's first two bytes
				if err != nil {
					return Info{}, err
				}
				tag = le16(ext)
			}
			if tag != 1 && tag != 3 {
				return Info{}, ErrUnsupported // ADPCM, MP3-in-WAV and the like
			}
			channels, rate = int(le16(b[2:4])), int(le32(b[4:8]))
			byteRate, align = int(le32(b[8:12])), int(le16(b[12:14]))
			if channels == 0 || rate == 0 || byteRate == 0 || align == 0 {
				return Info{}, invalid(f, "the fmt chunk declares no audio")
			}
			haveFmt = true
		case "data":
			if !haveFmt {
				return Info{}, invalid(f, "the data chunk comes before fmt")
			}
			if n == 0xFFFFFFFF || n == 0 && size > pos {
				n = size - pos // streamed writer that never patched the size
			}
			if pos+n > size {
				return Info{}, truncated(f, "the data chunk declares %d bytes, the file holds %d", n, size-pos)
			}
			d := time.Duration(n * int64(time.Second) / int64(byteRate)) // n < 2^32: no overflow
			return Info{Format: f, Duration: d, SampleRate: rate, Channels: channels}, nil
		}
		pos += n + n&1 // chunks are padded to even sizes
	}
}

// wavInfoTags reads title, artist and album from a RIFF LIST/INFO chunk
// (INAM, IART, IPRD), which the general tag reader does not cover.
func wavInfoTags(r io.ReaderAt, size int64) (title, artist, album string) {
	pos := int64(12)
	for i := 0; i < 64 && pos+8 <= size; i++ {
		h, err := readAtMost(r, pos, 8, size)
		if err != nil || len(h) < 8 {
			return
		}
		n := int64(le32(h[4:8]))
		if string(h[0:4]) == "LIST" && n >= 4 && n <= 1<<20 {
			b, err := readAtMost(r, pos+8, int(n), size)
			if err != nil || len(b) < 4 || string(b[0:4]) != "INFO" {
				return
			}
			for p := 4; p+8 <= len(b); {
				id, m := string(b[p:p+4]), int(le32(b[p+4:p+8]))
				p += 8
				if m < 0 || p+m > len(b) {
					break
				}
				v := trimNUL(b[p : p+m])
				switch id {
				case "INAM":
					title = v
				case "IART":
					artist = v
				case "IPRD":
					album = v
				}
				p += m + m&1
			}
			return
		}
		pos += 8 + n + n&1
	}
	return
}

func trimNUL(b []byte) string {
	for len(b) > 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	return string(b)
}
