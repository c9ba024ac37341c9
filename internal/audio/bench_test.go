package audio_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/hearth-space/hearth/internal/audio"
	"github.com/hearth-space/hearth/internal/audio/audiotest"
)

// BenchmarkProbe measures recognising, validating and measuring a
// three-minute file of each format (bytes/s is the file size over the time).
func BenchmarkProbe(b *testing.B) {
	for _, fx := range fixtures() {
		data := audiotest.Encode(b, fx.format, 3*time.Minute, audiotest.Tags{}, fx.variant)
		b.Run(fmt.Sprintf("%s%s", fx.format, fx.variant), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			r := bytes.NewReader(data)
			for b.Loop() {
				if _, err := audio.Probe(r, int64(len(data))); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
