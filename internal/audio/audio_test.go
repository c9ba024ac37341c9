package audio_test

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hearth-space/hearth/internal/audio"
	"github.com/hearth-space/hearth/internal/audio/audiotest"
)

var tags = audiotest.Tags{Title: "Night Drive", Artist: "The Testers", Album: "Fixtures"}

type fixture struct {
	format  audio.Format
	variant string
}

func fixtures() []fixture {
	return []fixture{
		{audio.WAV, ""}, {audio.MP3, ""}, {audio.MP3, "vbr"}, {audio.MP3, "noxing"},
		{audio.OggOpus, ""}, {audio.OggVorbis, ""}, {audio.FLAC, ""},
		{audio.M4A, ""}, {audio.M4A, "faststart"}, {audio.AAC, ""},
	}
}

func probe(b []byte) (audio.Info, error) { return audio.Probe(bytes.NewReader(b), int64(len(b))) }

func TestProbeEveryFormat(t *testing.T) {
	const want = 3 * time.Second
	for _, fx := range fixtures() {
		t.Run(fmt.Sprintf("%s%s", fx.format, fx.variant), func(t *testing.T) {
			b := audiotest.Encode(t, fx.format, want, tags, fx.variant)
			info, err := probe(b)
			if err != nil {
				t.Fatalf("probe: %v", err)
			}
			if info.Format != fx.format {
				t.Fatalf("format = %s, want %s", info.Format, fx.format)
			}
			// Encoders round up to whole frames; MP3 without a LAME tag and
			// ADTS AAC have no gapless information, so their encoder delay
			// (about 25 ms) stays in.
			if d := info.Duration - want; d < -40*time.Millisecond || d > 40*time.Millisecond {
				t.Fatalf("duration = %v, want %v ± 40ms", info.Duration, want)
			}
			if info.SampleRate == 0 || info.Channels == 0 {
				t.Fatalf("info = %+v", info)
			}
			if got := audio.Sniff(b[:min(len(b), 64<<10)]); got != fx.format {
				t.Fatalf("sniff = %q", got)
			}
			got := audio.ReadTags(bytes.NewReader(b), int64(len(b)), info)
			if fx.format != audio.AAC { // ADTS has no tag container
				if got.Title != tags.Title || got.Artist != tags.Artist || got.Album != tags.Album {
					t.Fatalf("tags = %+v", got)
				}
			}
		})
	}
}

func TestProbeRejectsOtherContent(t *testing.T) {
	png := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), make([]byte, 2000)...)
	for name, b := range map[string][]byte{
		"empty":    {},
		"png":      png,
		"text":     []byte("this is not audio, even if it is called song.mp3\n"),
		"zeros":    make([]byte, 10000),
		"id3only":  append([]byte("ID3\x04\x00\x00\x00\x00\x00\x10"), make([]byte, 16)...),
		"riff-avi": append([]byte("RIFF\x00\x10\x00\x00AVI LIST"), make([]byte, 64)...),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := probe(b); !errors.Is(err, audio.ErrUnsupported) {
				t.Fatalf("err = %v, want ErrUnsupported", err)
			}
		})
	}
}

// TestProbeRejectsTruncated cuts every format short at several points: the
// file must be refused as truncated or invalid, never accepted with a
// shorter duration.
func TestProbeRejectsTruncated(t *testing.T) {
	for _, fx := range fixtures() {
		b := audiotest.Encode(t, fx.format, 2*time.Second, audiotest.Tags{}, fx.variant)
		if fx.format == audio.WAV {
			b = audiotest.WAV(44100, 2, 2*time.Second, nil)
		}
		for _, cut := range []int{len(b) / 3, len(b) / 2, len(b) * 9 / 10, len(b) - 1} {
			t.Run(fmt.Sprintf("%s%s/%d", fx.format, fx.variant, cut), func(t *testing.T) {
				_, err := probe(b[:cut])
				var ie *audio.InvalidError
				if !errors.As(err, &ie) {
					t.Fatalf("probe of %d/%d bytes: err = %v, want *InvalidError", cut, len(b), err)
				}
			})
		}
	}
}

func TestProbeRejectsCorruptOgg(t *testing.T) {
	b := bytes.Clone(audiotest.Encode(t, audio.OggOpus, 2*time.Second, audiotest.Tags{}, ""))
	b[len(b)/2] ^= 0x55
	var ie *audio.InvalidError
	if _, err := probe(b); !errors.As(err, &ie) {
		t.Fatalf("err = %v", err)
	}
}

func TestWAVDuration(t *testing.T) {
	for _, d := range []time.Duration{250 * time.Millisecond, time.Second, 7 * time.Second} {
		b := audiotest.WAV(22050, 1, d, nil)
		info, err := probe(b)
		if err != nil || info.Format != audio.WAV || (d-info.Duration).Abs() > time.Second/22050 || info.SampleRate != 22050 || info.Channels != 1 {
			t.Fatalf("%v: %+v %v", d, info, err)
		}
	}
}

func TestContentTypes(t *testing.T) {
	for _, f := range audio.Formats() {
		if ct := f.ContentType(); ct == "application/octet-stream" || ct == "" {
			t.Fatalf("%s has no content type", f)
		}
	}
}
