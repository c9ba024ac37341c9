package audio

import "io"

// maxMoov caps the movie box read into memory; audio files' are a few
// kilobytes to a few megabytes (sample tables of long files).
const maxMoov = 32 << 20

// probeMP4 walks the top-level boxes (each must fit in the file: a box
// that runs past the end means the upload was cut short), then reads the
// movie box: the duration of the first sound track (mdhd) or else of the
// movie (mvhd). Files without a sound track in a codec browsers play
// (AAC, MP3, Opus, FLAC in MP4) are refused.
func probeMP4(r io.ReaderAt, size int64) (Info, error) {
	const f = M4A
	var (
		pos        int64
		moov       []byte
		haveMdat   bool
		boxes      int
		fragmented bool
	)
	for pos < size {
		if boxes++; boxes > 4096 {
			return Info{}, invalid(f, "too many boxes")
		}
		h, err := readExactly(r, pos, 8, size, f)
		if err != nil {
			return Info{}, err
		}
		n, typ, hl := int64(be32(h[0:4])), string(h[4:8]), int64(8)
		switch n {
		case 0:
			n = size - pos // runs to the end of the file
		case 1:
			ext, err := readExactly(r, pos+8, 8, size, f)
			if err != nil {
				return Info{}, err
			}
			n, hl = int64(be64(ext)), 16
			if n < 0 {
				return Info{}, invalid(f, "a box size overflows")
			}
		}
		if n < hl {
			return Info{}, invalid(f, "a box is smaller than its header")
		}
		if pos+n > size {
			return Info{}, truncated(f, "the %q box runs past the end of the file", typ)
		}
		if boxes == 1 && typ != "ftyp" {
			return Info{}, ErrUnsupported
		}
		switch typ {
		case "moov":
			if n-hl > maxMoov {
				return Info{}, invalid(f, "the movie box is implausibly large")
			}
			if moov, err = readExactly(r, pos+hl, int(n-hl), size, f); err != nil {
				return Info{}, err
			}
		case "mdat":
			haveMdat = true
		case "moof":
			fragmented = true
		}
		pos += n
	}
	if moov == nil {
		return Info{}, truncated(f, "no movie box (moov)")
	}
	if !haveMdat {
		return Info{}, truncated(f, "no media data (mdat)")
	}
	if fragmented {
		return Info{}, ErrUnsupported // fragmented MP4 is for streaming, not uploads
	}
	var (
		movie                         uint64
		movieScale                    uint32
		trackDur                      uint64
		trackScale                    uint32
		edited                        uint64 // edit list duration, movie time scale
		hasEdit                       bool
		rate, channels                int
		sound, playable, badSoundCode bool
	)
	eachBox(moov, func(typ string, b []byte) {
		switch typ {
		case "mvhd":
			movie, movieScale = mediaHeader(b)
		case "trak":
			var (
				isSound       bool
				d             uint64
				sc            uint32
				codec         string
				sr, channels2 int
				ed            uint64
				hasEd         bool
			)
			walk(b, 0, func(typ string, b []byte) {
				switch typ {
				case "hdlr":
					if len(b) >= 12 && string(b[8:12]) == "soun" {
						isSound = true
					}
				case "mdhd":
					d, sc = mediaHeader(b)
				case "stsd":
					codec, sr, channels2 = sampleEntry(b)
				case "elst":
					ed, hasEd = editDuration(b)
				}
			})
			if !isSound || sound {
				return
			}
			sound = true
			switch codec {
			case "mp4a", "Opus", "fLaC", ".mp3":
				playable = true
			default:
				badSoundCode = true
			}
			trackDur, trackScale, rate, channels = d, sc, sr, channels2
			edited, hasEdit = ed, hasEd
		}
	})
	if !sound || badSoundCode || !playable {
		return Info{}, ErrUnsupported
	}
	var dur uint64
	var scale uint32
	switch {
	case hasEdit && edited > 0 && movieScale > 0:
		// The edit list trims the encoder's priming samples: what plays.
		dur, scale = edited, movieScale
	case trackScale > 0 && trackDur > 0:
		dur, scale = trackDur, trackScale
	case movieScale > 0:
		dur, scale = movie, movieScale
	default:
		return Info{}, invalid(f, "no time scale")
	}
	return Info{Format: f, Duration: samplesToDuration(dur, int(scale)), SampleRate: rate, Channels: channels}, nil
}

// containers are the boxes walk descends into on the way to hdlr, mdhd
// and stsd.
var containers = map[string]bool{"mdia": true, "minf": true, "stbl": true, "edts": true}

// walk calls fn for every box in b, descending into containers.
func walk(b []byte, depth int, fn func(typ string, body []byte)) {
	if depth > 8 {
		return
	}
	eachBox(b, func(typ string, body []byte) {
		fn(typ, body)
		if containers[typ] {
			walk(body, depth+1, fn)
		}
	})
}

// eachBox calls fn for every well-formed box at one level of b.
func eachBox(b []byte, fn func(typ string, body []byte)) {
	for len(b) >= 8 {
		n, hl := uint64(be32(b[0:4])), uint64(8)
		switch n {
		case 0:
			n = uint64(len(b))
		case 1:
			if len(b) < 16 {
				return
			}
			n, hl = be64(b[8:16]), 16
		}
		if n < hl || n > uint64(len(b)) {
			return
		}
		fn(string(b[4:8]), b[hl:n])
		b = b[n:]
	}
}

// editDuration sums the segments of an edit list that play media (empty
// edits, media_time -1, are gaps and count too: they delay the start).
func editDuration(b []byte) (uint64, bool) {
	if len(b) < 8 {
		return 0, false
	}
	v, n := b[0], be32(b[4:8])
	size := 12
	if v == 1 {
		size = 20
	}
	b = b[8:]
	if n == 0 || uint64(n)*uint64(size) > uint64(len(b)) {
		return 0, false
	}
	var total uint64
	for i := 0; i < int(n); i++ {
		e := b[i*size:]
		if v == 1 {
			total += be64(e[0:8])
		} else {
			total += uint64(be32(e[0:4]))
		}
	}
	return total, true
}

// mediaHeader reads duration and time scale from an mvhd or mdhd body.
func mediaHeader(b []byte) (uint64, uint32) {
	if len(b) < 4 {
		return 0, 0
	}
	if b[0] == 1 {
		if len(b) < 32 {
			return 0, 0
		}
		return be64(b[24:32]), be32(b[20:24])
	}
	if len(b) < 20 {
		return 0, 0
	}
	d := uint64(be32(b[16:20]))
	if d == 0xFFFFFFFF {
		d = 0 // unknown
	}
	return d, be32(b[12:16])
}

// sampleEntry reads the first sample entry of an stsd body: the codec's
// four-character code, and the sample rate and channels of an audio entry.
func sampleEntry(b []byte) (string, int, int) {
	// version/flags(4) entry_count(4), then the entry: size(4) type(4)
	// reserved(6) data_ref(2) reserved(8) channels(2) bits(2) pre(2)
	// reserved(2) rate(16.16).
	if len(b) < 16 {
		return "", 0, 0
	}
	codec := string(b[12:16])
	if len(b) < 8+36 {
		return codec, 0, 0
	}
	e := b[8:]
	return codec, int(be32(e[32:36]) >> 16), int(be16(e[24:26]))
}
