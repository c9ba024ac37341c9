// Package audiotest makes audio fixtures for tests: a small WAV writer in
// Go, and the machine's ffmpeg (Debian's package, which scripts/test.sh
// installs when missing) to encode that WAV as MP3, Ogg Opus, Ogg Vorbis,
// FLAC, M4A and ADTS AAC. Encodings are cached for the life of the test
// binary so a suite encodes each fixture once.
package audiotest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hearth-space/hearth/internal/audio"
)

// Tags are written into encoded fixtures.
type Tags struct{ Title, Artist, Album string }

// WAV returns a 16-bit PCM WAV of a 440 Hz tone. With tags, it carries a
// LIST/INFO chunk after the data.
func WAV(rate, channels int, d time.Duration, tags *Tags) []byte {
	frames := int(int64(rate) * int64(d) / int64(time.Second))
	var data bytes.Buffer
	for i := 0; i < frames; i++ {
		v := int16(8000 * math.Sin(2*math.Pi*440*float64(i)/float64(rate)))
		for c := 0; c < channels; c++ {
			_ = binary.Write(&data, binary.LittleEndian, v)
		}
	}
	var info []byte
	if tags != nil {
		var b bytes.Buffer
		b.WriteString("INFO")
		for _, kv := range [][2]string{{"INAM", tags.Title}, {"IART", tags.Artist}, {"IPRD", tags.Album}} {
			if kv[1] == "" {
				continue
			}
			v := append([]byte(kv[1]), 0)
			b.WriteString(kv[0])
			_ = binary.Write(&b, binary.LittleEndian, uint32(len(v)))
			b.Write(v)
			if len(v)%2 == 1 {
				b.WriteByte(0)
			}
		}
		info = b.Bytes()
	}
	var out bytes.Buffer
	le := func(v any) { _ = binary.Write(&out, binary.LittleEndian, v) }
	riff := 4 + 8 + 16 + 8 + data.Len()
	if info != nil {
		riff += 8 + len(info)
	}
	out.WriteString("RIFF")
	le(uint32(riff))
	out.WriteString("WAVEfmt ")
	le(uint32(16))
	le(uint16(1))
	le(uint16(channels))
	le(uint32(rate))
	le(uint32(rate * channels * 2))
	le(uint16(channels * 2))
	le(uint16(16))
	out.WriteString("data")
	le(uint32(data.Len()))
	out.Write(data.Bytes())
	if info != nil {
		out.WriteString("LIST")
		le(uint32(len(info)))
		out.Write(info)
	}
	return out.Bytes()
}

// NeedFFmpeg fails the test when ffmpeg is missing (scripts/test.sh
// installs it).
func NeedFFmpeg(tb testing.TB) {
	tb.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		tb.Fatal("ffmpeg is not installed; run scripts/test.sh (it installs sox and ffmpeg) or apt-get install -y ffmpeg")
	}
}

var (
	mu    sync.Mutex
	cache = map[string][]byte{}
)

// Encode returns a fixture of format f: d of a tone, with tags. Variants
// tune the encoder: "vbr" (MP3 VBR), "noxing" (MP3 without a Xing header),
// "faststart" (M4A with the movie box first).
func Encode(tb testing.TB, f audio.Format, d time.Duration, tags Tags, variant string) []byte {
	tb.Helper()
	key := fmt.Sprintf("%s|%s|%+v|%s", f, d, tags, variant)
	mu.Lock()
	defer mu.Unlock()
	if b, ok := cache[key]; ok {
		return b
	}
	if f == audio.WAV {
		b := WAV(44100, 2, d, &tags)
		cache[key] = b
		return b
	}
	NeedFFmpeg(tb)
	dir, err := os.MkdirTemp("", "hearth-audio-")
	if err != nil {
		tb.Fatal(err)
	}
	defer os.RemoveAll(dir)
	in := filepath.Join(dir, "in.wav")
	if err := os.WriteFile(in, WAV(48000, 2, d, nil), 0o600); err != nil {
		tb.Fatal(err)
	}
	var codec []string
	ext := ""
	switch f {
	case audio.MP3:
		codec, ext = []string{"-c:a", "libmp3lame", "-b:a", "64k"}, "mp3"
		if variant == "vbr" {
			codec = []string{"-c:a", "libmp3lame", "-q:a", "6"}
		}
		if variant == "noxing" {
			codec = append(codec, "-write_xing", "0")
		}
		codec = append(codec, "-ar", "44100")
	case audio.OggOpus:
		codec, ext = []string{"-c:a", "libopus", "-b:a", "32k"}, "opus"
	case audio.OggVorbis:
		codec, ext = []string{"-c:a", "libvorbis", "-q:a", "1", "-ar", "44100"}, "ogg"
	case audio.FLAC:
		codec, ext = []string{"-c:a", "flac", "-ar", "44100"}, "flac"
	case audio.M4A:
		codec, ext = []string{"-c:a", "aac", "-b:a", "64k"}, "m4a"
		if variant == "faststart" {
			codec = append(codec, "-movflags", "+faststart")
		}
	case audio.AAC:
		codec, ext = []string{"-c:a", "aac", "-b:a", "64k", "-f", "adts"}, "aac"
	default:
		tb.Fatalf("audiotest: no encoder for %s", f)
	}
	out := filepath.Join(dir, "out."+ext)
	args := []string{"-hide_banner", "-loglevel", "error", "-nostdin", "-i", in}
	args = append(args, codec...)
	for k, v := range map[string]string{"title": tags.Title, "artist": tags.Artist, "album": tags.Album} {
		if v != "" {
			args = append(args, "-metadata", k+"="+v)
		}
	}
	args = append(args, out)
	cmd := exec.Command("ffmpeg", args...)
	if msg, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("ffmpeg %v: %v\n%s", args, err, msg)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		tb.Fatal(err)
	}
	cache[key] = b
	return b
}
