package music_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hearth-space/hearth/internal/audio"
	"github.com/hearth-space/hearth/internal/audio/audiotest"
	"github.com/hearth-space/hearth/internal/blob"
	"github.com/hearth-space/hearth/internal/config"
)

var fixtureTags = audiotest.Tags{Title: "Slow Burn", Artist: "Hearth Band", Album: "Test Pressing"}

// fixture is a short encoded file of format f.
func fixture(t *testing.T, f audio.Format, d time.Duration) []byte {
	return audiotest.Encode(t, f, d, fixtureTags, "")
}

// names gives every format a plausible file name.
var names = map[audio.Format]string{
	audio.MP3: "song.mp3", audio.OggOpus: "song.opus", audio.OggVorbis: "song.ogg", audio.FLAC: "song.flac",
	audio.WAV: "song.wav", audio.M4A: "song.m4a", audio.AAC: "song.aac",
}

func TestUploadEveryFormat(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ada := e.registered("ada")
		for _, f := range audio.Formats() {
			data := fixture(t, f, 2*time.Second)
			r := ada.want(ada.upload(names[f], data), 201, "")
			tr := r.body["track"].(map[string]any)
			if tr["format"] != string(f) || tr["content_type"] != f.ContentType() || tr["size_bytes"] != float64(len(data)) {
				t.Fatalf("%s: %s", f, r.raw)
			}
			if d := tr["duration_ms"].(float64); d < 1940 || d > 2060 {
				t.Fatalf("%s: duration %v ms", f, d)
			}
			want := fixtureTags.Title
			if f == audio.AAC {
				want = "song" // ADTS carries no tags: the file name stands in
			}
			if tr["title"] != want || (f != audio.AAC && (tr["artist"] != fixtureTags.Artist || tr["album"] != fixtureTags.Album)) {
				t.Fatalf("%s: tags %s", f, r.raw)
			}
			if tr["uploader_id"] != ada.id || r.header.Get("Location") != "/api/v1/music/tracks/"+tr["id"].(string) {
				t.Fatalf("%s: %s %v", f, r.raw, r.header)
			}
			// The stored bytes stream back unchanged.
			id := tr["id"].(string)
			su := ada.want(ada.do("GET", "/api/v1/music/tracks/"+id+"/stream-url", nil), 200, "")
			s := ada.request("GET", su.str("url"), nil)
			if s.status != 200 || !bytes.Equal(s.raw, data) || s.header.Get("Content-Type") != f.ContentType() {
				t.Fatalf("%s: stream %d %q (%d bytes)", f, s.status, s.header.Get("Content-Type"), len(s.raw))
			}
		}
		// The same content again, under another name and by someone else:
		// stored once, the existing track answers.
		bob := e.registered("bob")
		first := ada.want(ada.do("GET", "/api/v1/music/tracks?q=slow", nil), 200, "")
		r := bob.want(bob.upload("copy.flac", fixture(t, audio.FLAC, 2*time.Second)), 200, "")
		if r.body["duplicate"] != true || r.body["track"].(map[string]any)["uploader_id"] != ada.id {
			t.Fatalf("duplicate: %s", r.raw)
		}
		if n, _ := e.db.CountTracks(ctx(t)); n != int64(len(audio.Formats())) {
			t.Fatalf("%d tracks, want %d", n, len(audio.Formats()))
		}
		if got := files(t, e.blobDir); len(got) != len(audio.Formats()) {
			t.Fatalf("blobs: %v", got)
		}
		if n := len(first.body["tracks"].([]any)); n != len(audio.Formats())-1 { // all but the untagged AAC
			t.Fatalf("search found %d", n)
		}
		if got := counter(t, e.reg, "hearth_music_tracks"); got != float64(len(audio.Formats())) {
			t.Fatalf("hearth_music_tracks = %v", got)
		}
		if got := counter(t, e.reg, "hearth_music_upload_duration_seconds"); got != float64(len(audio.Formats())) {
			t.Fatalf("upload duration samples = %v", got)
		}
		if !strings.Contains(e.logs.String(), `"msg":"track uploaded"`) || !strings.Contains(e.logs.String(), `"user_id":"`+ada.id+`"`) {
			t.Fatal("no upload log line with user_id")
		}
	})
}

func TestUploadOverridesAndFallbacks(t *testing.T) {
	e := newEnv(t, "sqlite")
	ada := e.registered("ada")
	wav := audiotest.WAV(8000, 1, time.Second, nil) // no tags at all
	r := ada.want(ada.upload(`C:\music\01_My_Song.wav`, wav), 201, "")
	if tr := r.body["track"].(map[string]any); tr["title"] != "01 My Song" || tr["artist"] != "" {
		t.Fatalf("fallback title: %s", r.raw)
	}
	wav2 := audiotest.WAV(8000, 1, 2*time.Second, nil)
	r = ada.want(ada.upload("x.wav", wav2, "title", "  Given\x00 Title ", "artist", "Someone"), 201, "")
	if tr := r.body["track"].(map[string]any); tr["title"] != "Given Title" || tr["artist"] != "Someone" {
		t.Fatalf("overrides: %s", r.raw)
	}
	wav3 := audiotest.WAV(8000, 1, 3*time.Second, nil)
	ada.want(ada.upload("x.wav", wav3, "title", strings.Repeat("x", 201)), 400, "validation_failed")
	guest := e.guest("Gus")
	guest.want(guest.upload("x.wav", wav3), 403, "forbidden")
}

// TestUploadRejected sends the uploads a server must refuse: each answers
// a problem document and leaves no blob, no spool file and no row.
func TestUploadRejected(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ada := e.registered("ada")
		mp3 := fixture(t, audio.MP3, 2*time.Second)
		png := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), bytes.Repeat([]byte{7}, 4000)...)
		big := audiotest.WAV(44100, 2, 30*time.Second, nil) // ~5 MiB; the env's limit is lowered below
		cases := []struct {
			name, file   string
			data         []byte
			status       int
			code, reason string
		}{
			{"truncated mp3", "song.mp3", mp3[:len(mp3)*2/3], 422, "invalid_audio", "truncated"},
			{"truncated flac", "song.flac", func() []byte { b := fixture(t, audio.FLAC, 2*time.Second); return b[:len(b)-10] }(), 422, "invalid_audio", "truncated"},
			{"empty", "song.mp3", nil, 400, "validation_failed", "empty"},
			{"png named mp3", "song.mp3", png, 415, "unsupported_media_type", "unsupported_type"},
			{"text named flac", "song.flac", []byte("fLaC? no, just text pretending to be audio"), 422, "invalid_audio", "truncated"},
			{"too large", "song.wav", big, 413, "body_too_large", "too_large"},
		}
		e.cfg.Music.MaxUploadBytes = 1 << 20
		n := e.startNode() // a node with a 1 MiB limit
		ada = ada.on(n)
		for _, c := range cases {
			r := ada.upload(c.file, c.data)
			if r.status != c.status || r.code() != c.code {
				t.Fatalf("%s: %d %s, want %d %s", c.name, r.status, r.raw, c.status, c.code)
			}
			if got := counter(t, n.reg, "hearth_music_rejected_uploads_total", "reason", c.reason); got < 1 {
				t.Fatalf("%s: rejected{reason=%s} = %v", c.name, c.reason, got)
			}
		}
		ada.want(ada.do("POST", "/api/v1/music/tracks", map[string]string{"file": "x"}), 415, "unsupported_media_type")
		var b bytes.Buffer
		b.WriteString("--x\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nno file\r\n--x--\r\n")
		ada.want(ada.request("POST", "/api/v1/music/tracks", &b, "Content-Type", "multipart/form-data; boundary=x"), 400, "validation_failed")

		// A connection dropped mid-upload.
		interrupted := func() float64 {
			return counter(t, n.reg, "hearth_music_rejected_uploads_total", "reason", "interrupted")
		}
		before := interrupted()
		conn, err := net.Dial("tcp", strings.TrimPrefix(n.srv.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		head := "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"song.mp3\"\r\nContent-Type: audio/mpeg\r\n\r\n"
		fmt.Fprintf(conn, "POST /api/v1/music/tracks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"+
			"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: %d\r\n\r\n%s", ada.token, len(head)+len(mp3)+10, head)
		_, _ = conn.Write(mp3[:len(mp3)/2])
		_ = conn.Close()
		eventually(t, "the interrupted upload to be counted", func() bool { return interrupted() == before+1 })

		if count, _ := e.db.CountTracks(ctx(t)); count != 0 {
			t.Fatalf("%d tracks stored", count)
		}
		if got := files(t, e.blobDir); len(got) != 0 {
			t.Fatalf("blobs left: %v", got)
		}
		eventually(t, "the spool to empty", func() bool { return len(files(t, e.spoolDir)) == 0 })
	})
}

func TestTrackEditListDelete(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ada, bob, admin := e.registered("ada"), e.registered("bob"), e.registered("root-admin")
		var ids []string
		for i := 0; i < 5; i++ {
			ids = append(ids, ada.track("t.wav", audiotest.WAV(8000, 1, time.Duration(i+1)*time.Second, nil)))
			e.clk.Advance(time.Millisecond)
		}
		bobs := bob.track("bob.wav", audiotest.WAV(8000, 1, 9*time.Second, nil))

		// Paging, newest first.
		var seen []string
		cursor := ""
		for page := 0; page < 5; page++ {
			r := ada.want(ada.do("GET", "/api/v1/music/tracks?limit=2&cursor="+cursor, nil), 200, "")
			for _, tr := range r.body["tracks"].([]any) {
				seen = append(seen, tr.(map[string]any)["id"].(string))
			}
			if cursor = r.str("next_cursor"); cursor == "" {
				break
			}
		}
		if len(seen) != 6 || seen[0] != bobs || seen[5] != ids[0] {
			t.Fatalf("pages: %v", seen)
		}
		mine := ada.want(ada.do("GET", "/api/v1/music/tracks?uploader=me", nil), 200, "")
		if len(mine.body["tracks"].([]any)) != 5 {
			t.Fatalf("mine: %s", mine.raw)
		}
		ada.want(ada.do("GET", "/api/v1/music/tracks?limit=0", nil), 400, "validation_failed")
		ada.want(ada.do("GET", "/api/v1/music/tracks?cursor=zz", nil), 400, "validation_failed")

		// Edit: the uploader and admins, nobody else.
		r := ada.want(ada.do("PATCH", "/api/v1/music/tracks/"+ids[0], map[string]string{"title": "Renamed", "artist": "Ada"}), 200, "")
		if r.str("title") != "Renamed" || r.str("artist") != "Ada" {
			t.Fatalf("patch: %s", r.raw)
		}
		bob.want(bob.do("PATCH", "/api/v1/music/tracks/"+ids[0], map[string]string{"title": "Mine now"}), 403, "forbidden")
		admin.want(admin.do("PATCH", "/api/v1/music/tracks/"+ids[0], map[string]string{"album": "Curated"}), 200, "")
		ada.want(ada.do("PATCH", "/api/v1/music/tracks/"+ids[0], map[string]string{"title": " "}), 400, "validation_failed")
		found := ada.want(ada.do("GET", "/api/v1/music/tracks?q=renamed+curated", nil), 200, "")
		if len(found.body["tracks"].([]any)) != 1 {
			t.Fatalf("search after edit: %s", found.raw)
		}
		got := ada.want(ada.do("GET", "/api/v1/music/tracks/"+ids[0], nil), 200, "")
		if got.str("album") != "Curated" || got.body["duration_ms"] != float64(1000) {
			t.Fatalf("get: %s", got.raw)
		}
		ada.want(ada.do("GET", "/api/v1/music/tracks/nope", nil), 404, "not_found")

		// Delete: the uploader and admins; the blob goes too.
		su := ada.want(ada.do("GET", "/api/v1/music/tracks/"+ids[1]+"/stream-url", nil), 200, "")
		bob.want(bob.do("DELETE", "/api/v1/music/tracks/"+ids[1], nil), 403, "forbidden")
		ada.want(ada.do("DELETE", "/api/v1/music/tracks/"+ids[1], nil), 204, "")
		admin.want(admin.do("DELETE", "/api/v1/music/tracks/"+bobs, nil), 204, "")
		ada.want(ada.do("DELETE", "/api/v1/music/tracks/"+ids[1], nil), 404, "not_found")
		ada.want(ada.request("GET", su.str("url"), nil), 404, "not_found")
		if got := files(t, e.blobDir); len(got) != 4 {
			t.Fatalf("blobs after delete: %v", got)
		}
	})
}

// TestS3Backend runs upload, ranged streaming and delete through the S3
// store against an in-process S3 implementation.
func TestS3Backend(t *testing.T) {
	s3 := newS3(t)
	e := newEnv(t, "sqlite", withBlobs(s3.store), withMusic(func(*config.Music) {}))
	ada := e.registered("ada")
	data := fixture(t, audio.OggOpus, 2*time.Second)
	id := ada.track("song.opus", data)
	if got := s3.list(); len(got) != 1 || got[0] != "tracks/"+id {
		t.Fatalf("objects: %v", got)
	}
	u := ada.want(ada.do("GET", "/api/v1/music/tracks/"+id+"/stream-url", nil), 200, "").str("url")
	r := ada.request("GET", u, nil, "Range", "bytes=100-")
	if r.status != http.StatusPartialContent || !bytes.Equal(r.raw, data[100:]) {
		t.Fatalf("range over s3: %d, %d bytes", r.status, len(r.raw))
	}
	ada.want(ada.do("DELETE", "/api/v1/music/tracks/"+id, nil), 204, "")
	if got := s3.list(); len(got) != 0 {
		t.Fatalf("objects after delete: %v", got)
	}
	// A rejected upload leaves nothing in the bucket either.
	ada.want(ada.upload("song.opus", data[:len(data)/2]), 422, "invalid_audio")
	if got := s3.list(); len(got) != 0 {
		t.Fatalf("objects after a rejected upload: %v", got)
	}
}

// BenchmarkUpload measures an accepted upload end to end over HTTP:
// multipart parsing, spooling and hashing, probing, the blob store's
// temporary write and commit, and the database row (SQLite, disk blobs).
func BenchmarkUpload(b *testing.B) {
	e := newEnv(b, "sqlite")
	ada := e.registered("ada")
	wav := audiotest.WAV(44100, 2, 30*time.Second, nil) // 5.3 MB
	b.SetBytes(int64(len(wav)))
	i := 0
	for b.Loop() {
		i++
		data := bytes.Clone(wav)
		copy(data[100:], fmt.Sprintf("%08d", i)) // distinct content each time
		if r := ada.upload("bench.wav", data); r.status != 201 {
			b.Fatalf("upload: %d %s", r.status, r.raw)
		}
	}
}

// brokenBlobs is a blob store whose writes fail, as a full disk or an
// unreachable S3 endpoint would.
type brokenBlobs struct{ blob.Store }

func (brokenBlobs) Put(context.Context, string, io.Reader, int64, string) error {
	return errors.New("disk full")
}

func TestUploadWhenStorageFails(t *testing.T) {
	dir := t.TempDir()
	disk, err := blob.NewDisk(dir)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, "sqlite", withBlobs(brokenBlobs{disk}))
	ada := e.registered("ada")
	ada.want(ada.upload("song.wav", audiotest.WAV(8000, 1, time.Second, nil)), 503, "unavailable")
	if n, _ := e.db.CountTracks(ctx(t)); n != 0 {
		t.Fatalf("%d tracks recorded without a blob", n)
	}
	if got := files(t, e.spoolDir); len(got) != 0 {
		t.Fatalf("spool left: %v", got)
	}
}

// TestStartupSweepsCrashLeftovers plants what a crash mid-upload leaves
// (an old spool file and an old temporary blob): a new node removes them
// and keeps everything else.
func TestStartupSweepsCrashLeftovers(t *testing.T) {
	e := newEnv(t, "sqlite")
	ada := e.registered("ada")
	ada.track("keep.wav", audiotest.WAV(8000, 1, time.Second, nil))
	old := time.Now().Add(-2 * time.Hour)
	for _, p := range []string{filepath.Join(e.spoolDir, "upload-crashed"), filepath.Join(e.blobDir, ".tmp", "put-crashed")} {
		if err := os.WriteFile(p, []byte("half a file"), 0o600); err != nil {
			t.Fatal(err)
		}
		_ = os.Chtimes(p, old, old)
	}
	fresh := filepath.Join(e.spoolDir, "upload-in-progress")
	if err := os.WriteFile(fresh, []byte("being written"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.startNode()
	if got := files(t, e.blobDir); len(got) != 1 || !strings.HasPrefix(got[0], "tracks") {
		t.Fatalf("blobs after start-up: %v", got)
	}
	if got := files(t, e.spoolDir); len(got) != 1 || got[0] != "upload-in-progress" {
		t.Fatalf("spool after start-up: %v", got)
	}
}
