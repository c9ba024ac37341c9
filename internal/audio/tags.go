package audio

import (
	"io"
	"strings"
	"unicode/utf8"

	"github.com/dhowden/tag"
)

// Tags are the descriptive fields read from a file's metadata.
type Tags struct {
	Title, Artist, Album string
}

// ReadTags reads title, artist and album of a file Probe accepted: ID3
// (MP3, AAC) and MP4 atoms through github.com/dhowden/tag, RIFF INFO for
// WAV, and the Vorbis comments Probe already collected for Ogg and FLAC.
// (The tag library would allocate whatever size an embedded picture
// declares, up to 4 GiB, from a Vorbis comment; ours never reads pictures.)
// Missing or unreadable tags are not an error: a file without them is
// still a good file.
func ReadTags(r io.ReaderAt, size int64, info Info) (t Tags) {
	switch {
	case info.comments != nil:
		t = *info.comments
	case info.Format == WAV:
		t.Title, t.Artist, t.Album = wavInfoTags(r, size)
	case info.Format == OggOpus || info.Format == OggVorbis || info.Format == FLAC:
		// no comments found
	default:
		t = readTagLib(io.NewSectionReader(r, 0, size))
	}
	t.Title, t.Artist, t.Album = clean(t.Title), clean(t.Artist), clean(t.Album)
	return t
}

// readTagLib runs the tag library, which was not written for hostile
// input: a panic inside it means "no tags".
func readTagLib(rs io.ReadSeeker) (t Tags) {
	defer func() {
		if recover() != nil {
			t = Tags{}
		}
	}()
	m, err := tag.ReadFrom(rs)
	if err != nil || m == nil {
		return Tags{}
	}
	return Tags{Title: m.Title(), Artist: m.Artist(), Album: m.Album()}
}

// clean makes a tag value safe to show: valid UTF-8, no control
// characters, trimmed, at most 200 characters.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "")
	var b strings.Builder
	n := 0
	for _, r := range s {
		if r < 0x20 || r == 0x7F || (r >= 0x80 && r < 0xA0) || r == utf8.RuneError {
			r = ' '
		}
		if n >= 200 {
			break
		}
		b.WriteRune(r)
		n++
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// maxComments caps the bytes of a Vorbis comment block read for tags.
const maxComments = 1 << 20

// parseVorbisComments reads TITLE, ARTIST and ALBUM from a Vorbis comment
// block (vendor string, count, then "KEY=value" strings, all with 32-bit
// little-endian lengths). It stops quietly at the first inconsistency.
func parseVorbisComments(b []byte) *Tags {
	t := &Tags{}
	if len(b) < 4 {
		return t
	}
	n := int64(le32(b))
	if n > int64(len(b)-4) {
		return t
	}
	b = b[4+n:]
	if len(b) < 4 {
		return t
	}
	count := le32(b)
	b = b[4:]
	for i := uint32(0); i < count && len(b) >= 4; i++ {
		n := int64(le32(b))
		if n > int64(len(b)-4) {
			break
		}
		kv := b[4 : 4+n]
		b = b[4+n:]
		k, v, ok := strings.Cut(string(kv), "=")
		if !ok {
			continue
		}
		switch strings.ToUpper(k) {
		case "TITLE":
			if t.Title == "" {
				t.Title = v
			}
		case "ARTIST":
			if t.Artist == "" {
				t.Artist = v
			}
		case "ALBUM":
			if t.Album == "" {
				t.Album = v
			}
		}
	}
	return t
}
