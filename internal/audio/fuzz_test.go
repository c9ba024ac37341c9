package audio_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/hearth-space/hearth/internal/audio"
	"github.com/hearth-space/hearth/internal/audio/audiotest"
)

// FuzzProbe feeds the container parsers arbitrary bytes, seeded with short
// real files of every format: they must never panic or hang, and whatever
// they accept must have a sane duration and readable tags.
func FuzzProbe(f *testing.F) {
	for _, fx := range fixtures() {
		f.Add(audiotest.Encode(f, fx.format, 60*time.Millisecond, tags, fx.variant))
	}
	f.Add([]byte("ID3\x03\x00\x00\x00\x00\x00\x00\xff\xfb\x90\x00"))
	f.Add([]byte("RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		info, err := audio.Probe(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		if info.Duration <= 0 || info.Duration > 48*time.Hour {
			t.Fatalf("accepted with duration %v", info.Duration)
		}
		_ = audio.Sniff(b)
		_ = audio.ReadTags(bytes.NewReader(b), int64(len(b)), info)
	})
}
