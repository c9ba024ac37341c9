// Package audio recognises the audio files Hearth accepts (MP3, Ogg Opus,
// Ogg Vorbis, FLAC, WAV, M4A and ADTS AAC) by their content, never their
// name, and reads their duration from the container itself: MP3 and AAC
// frames (with Xing, LAME and VBRI headers), the last Ogg granule position
// with the codec's rate and Opus pre-skip, FLAC STREAMINFO, WAV data size
// over byte rate, MP4 mdhd/mvhd. The parsers read untrusted uploads: every
// length is bounds-checked, nothing is allocated from a declared size
// without a cap, and a file that is cut short or corrupt is rejected with
// an *InvalidError rather than given a wrong duration.
package audio

import (
	"errors"
	"fmt"
	"io"
	"time"
)

// Format names an accepted container and codec.
type Format string

// The accepted formats.
const (
	MP3       Format = "mp3"
	OggOpus   Format = "ogg_opus"
	OggVorbis Format = "ogg_vorbis"
	FLAC      Format = "flac"
	WAV       Format = "wav"
	M4A       Format = "m4a"
	AAC       Format = "aac"
)

// Formats lists every accepted format.
func Formats() []Format { return []Format{MP3, OggOpus, OggVorbis, FLAC, WAV, M4A, AAC} }

// ContentType is the media type a browser's audio element expects.
func (f Format) ContentType() string {
	switch f {
	case MP3:
		return "audio/mpeg"
	case OggOpus:
		return `audio/ogg; codecs=opus`
	case OggVorbis:
		return `audio/ogg; codecs=vorbis`
	case FLAC:
		return "audio/flac"
	case WAV:
		return "audio/wav"
	case M4A:
		return "audio/mp4"
	case AAC:
		return "audio/aac"
	}
	return "application/octet-stream"
}

// Info is what Probe learns about a file.
type Info struct {
	Format     Format
	Duration   time.Duration
	SampleRate int
	Channels   int

	// comments are the Vorbis comments of Ogg and FLAC files, which the
	// container parsers read themselves (see ReadTags).
	comments *Tags
}

// ErrUnsupported means the content is not one of the accepted formats.
var ErrUnsupported = errors.New("audio: not a supported audio format")

// InvalidError means the content looks like Format but is cut short or
// corrupt.
type InvalidError struct {
	Format    Format
	Truncated bool
	Reason    string
}

func (e *InvalidError) Error() string {
	return fmt.Sprintf("audio: invalid %s file: %s", e.Format, e.Reason)
}

func invalid(f Format, format string, args ...any) error {
	return &InvalidError{Format: f, Reason: fmt.Sprintf(format, args...)}
}

func truncated(f Format, format string, args ...any) error {
	return &InvalidError{Format: f, Truncated: true, Reason: fmt.Sprintf(format, args...)}
}

// maxDuration bounds what any parser reports; a larger value means the
// header lies.
const maxDuration = 48 * time.Hour

// Probe identifies the file in r (size bytes) by its content, checks that
// it is complete, and measures its duration. It returns ErrUnsupported for
// content of no accepted format and an *InvalidError for a recognised but
// truncated or corrupt file.
func Probe(r io.ReaderAt, size int64) (Info, error) {
	if size <= 0 {
		return Info{}, ErrUnsupported
	}
	start, err := skipID3v2(r, size)
	if err != nil {
		return Info{}, err
	}
	head, err := readAtMost(r, start, 64<<10, size)
	if err != nil {
		return Info{}, err
	}
	var info Info
	switch f := sniffAt(head, start > 0); f {
	case WAV:
		info, err = probeWAV(r, size)
	case FLAC:
		info, err = probeFLAC(r, start, size)
	case OggOpus, OggVorbis:
		info, err = probeOgg(r, size, f)
	case M4A:
		info, err = probeMP4(r, size)
	case MP3:
		info, err = probeMPEG(r, start, size, MP3)
	case AAC:
		info, err = probeMPEG(r, start, size, AAC)
	default:
		return Info{}, ErrUnsupported
	}
	if err != nil {
		return Info{}, err
	}
	if info.Duration <= 0 {
		return Info{}, invalid(info.Format, "the file holds no audio")
	}
	if info.Duration > maxDuration {
		return Info{}, invalid(info.Format, "the declared duration is implausible")
	}
	return info, nil
}

// Sniff names the format of a file from its first bytes (at least a few
// kilobytes for MP3 and AAC, whose detection needs two frames), or "".
// Probe is the full check; Sniff is for quick rejection.
func Sniff(head []byte) Format {
	start := 0
	if n, ok := id3v2Size(head); ok {
		if n > len(head) {
			return ""
		}
		start = n
	}
	return sniffAt(head[start:], start > 0)
}

// sniffAt recognises the format of data starting at head. afterID3 allows
// the zero padding some taggers leave after an ID3v2 tag.
func sniffAt(head []byte, afterID3 bool) Format {
	switch {
	case len(head) >= 12 && string(head[0:4]) == "RIFF" && string(head[8:12]) == "WAVE":
		return WAV
	case len(head) >= 4 && string(head[0:4]) == "fLaC":
		return FLAC
	case len(head) >= 4 && string(head[0:4]) == "OggS":
		return sniffOgg(head)
	case len(head) >= 8 && string(head[4:8]) == "ftyp":
		return M4A
	}
	if afterID3 {
		i := 0
		for i < len(head) && i < 4096 && head[i] == 0 {
			i++
		}
		head = head[i:]
	}
	if f := sniffFrames(head); f != "" {
		return f
	}
	return ""
}

// skipID3v2 returns the offset just past any ID3v2 tags at the start of r.
func skipID3v2(r io.ReaderAt, size int64) (int64, error) {
	var off int64
	for i := 0; i < 4; i++ { // some taggers stack a few
		hdr, err := readAtMost(r, off, 10, size)
		if err != nil {
			return 0, err
		}
		n, ok := id3v2Size(hdr)
		if !ok {
			return off, nil
		}
		if off+int64(n) > size {
			return 0, ErrUnsupported
		}
		off += int64(n)
	}
	return off, nil
}

// id3v2Size returns the total length of the ID3v2 tag at the start of b.
func id3v2Size(b []byte) (int, bool) {
	if len(b) < 10 || string(b[0:3]) != "ID3" || b[3] == 0xFF || b[4] == 0xFF {
		return 0, false
	}
	if b[6]|b[7]|b[8]|b[9] >= 0x80 {
		return 0, false
	}
	n := int(b[6])<<21 | int(b[7])<<14 | int(b[8])<<7 | int(b[9])
	n += 10
	if b[5]&0x10 != 0 { // footer present
		n += 10
	}
	return n, true
}

// readAtMost reads up to n bytes at off, fewer at the end of the file.
func readAtMost(r io.ReaderAt, off int64, n int, size int64) ([]byte, error) {
	if off >= size || off < 0 {
		return nil, nil
	}
	if rem := size - off; int64(n) > rem {
		n = int(rem)
	}
	b := make([]byte, n)
	m, err := r.ReadAt(b, off)
	if m == n {
		return b, nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		return b[:m], nil
	}
	return nil, fmt.Errorf("audio: read: %w", err)
}

// readExactly reads n bytes at off or reports the file as truncated.
func readExactly(r io.ReaderAt, off int64, n int, size int64, f Format) ([]byte, error) {
	if off < 0 || n < 0 || off+int64(n) > size {
		return nil, truncated(f, "the file ends inside a header")
	}
	b, err := readAtMost(r, off, n, size)
	if err != nil {
		return nil, err
	}
	if len(b) != n {
		return nil, truncated(f, "the file ends inside a header")
	}
	return b, nil
}

func be16(b []byte) uint32 { return uint32(b[0])<<8 | uint32(b[1]) }
func be24(b []byte) uint32 { return uint32(b[0])<<16 | uint32(b[1])<<8 | uint32(b[2]) }
func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}
func be64(b []byte) uint64 { return uint64(be32(b))<<32 | uint64(be32(b[4:])) }
func le16(b []byte) uint32 { return uint32(b[0]) | uint32(b[1])<<8 }
func le32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}
func le64(b []byte) uint64 { return uint64(le32(b)) | uint64(le32(b[4:]))<<32 }

// samplesToDuration converts a sample count at rate to a duration without
// overflowing for any count a header can declare.
func samplesToDuration(samples uint64, rate int) time.Duration {
	if rate <= 0 {
		return 0
	}
	secs := samples / uint64(rate)
	if secs > uint64(maxDuration/time.Second)+1 {
		return maxDuration + time.Second
	}
	rem := samples % uint64(rate)
	return time.Duration(secs)*time.Second + time.Duration(rem*uint64(time.Second)/uint64(rate))
}
