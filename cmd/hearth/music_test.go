package main

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hearth-space/hearth/internal/audio/audiotest"
)

// TestServeMusic runs the whole process: an upload lands in the data dir's
// blob store, a room plays it, the signed stream URL serves it, the music
// metrics are exported, and the scheduler stops with the process.
func TestServeMusic(t *testing.T) {
	cfg := testServeConfig(t)
	r := start(t, cfg)
	if r.a.music == nil {
		t.Fatal("the API runs but music is not wired")
	}
	code, body, _ := call(t, "POST", r.base+"/api/v1/auth/register", "", `{"username":"ada","password":"a long enough password"}`)
	if code != 201 {
		t.Fatalf("register: %d %v", code, body)
	}
	tok := body["access_token"].(string)

	wav := audiotest.WAV(8000, 1, 2*time.Second, &audiotest.Tags{Title: "Hum"})
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	fw, _ := mw.CreateFormFile("file", "hum.wav")
	_, _ = fw.Write(wav)
	_ = mw.Close()
	req, _ := http.NewRequest("POST", r.base+"/api/v1/music/tracks", &b)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 201 || !strings.Contains(string(raw), `"title":"Hum"`) {
		t.Fatalf("upload: %d %s", res.StatusCode, raw)
	}
	blobs, _ := filepath.Glob(filepath.Join(cfg.DataDir, "blobs", "tracks", "*"))
	if len(blobs) != 1 {
		t.Fatalf("blobs in the data dir: %v", blobs)
	}
	if spool, _ := os.ReadDir(filepath.Join(cfg.DataDir, "tmp", "uploads")); len(spool) != 0 {
		t.Fatalf("spool not empty: %v", spool)
	}
	trackID := strings.TrimPrefix(res.Header.Get("Location"), "/api/v1/music/tracks/")

	code, body, _ = call(t, "POST", r.base+"/api/v1/rooms", tok, `{"name":"Hall"}`)
	if code != 201 {
		t.Fatalf("room: %d %v", code, body)
	}
	room := body["id"].(string)
	code, body, _ = call(t, "POST", r.base+"/api/v1/rooms/"+room+"/music/queue", tok, `{"track_id":"`+trackID+`"}`)
	if code != 200 || body["current"] == nil {
		t.Fatalf("queue: %d %v", code, body)
	}
	st, err := r.a.music.PlayerState(context.Background(), room)
	if err != nil || st.GetCurrent().GetTrack().GetId() != trackID {
		t.Fatalf("player state for the gateway: %v %v", st, err)
	}
	stream := body["stream"].(map[string]any)["url"].(string)
	sreq, _ := http.NewRequest("GET", r.base+stream, nil)
	sreq.Header.Set("Range", "bytes=0-11")
	sres, err := http.DefaultClient.Do(sreq)
	if err != nil {
		t.Fatal(err)
	}
	part, _ := io.ReadAll(sres.Body)
	sres.Body.Close()
	if sres.StatusCode != 206 || !bytes.Equal(part, wav[:12]) {
		t.Fatalf("stream: %d %q", sres.StatusCode, part)
	}

	mres, err := http.Get(r.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(mres.Body)
	mres.Body.Close()
	for _, want := range []string{
		"hearth_music_tracks 1", "hearth_music_stream_bytes_total 12", `hearth_music_queue_operations_total{operation="add"} 1`,
		"hearth_music_upload_duration_seconds_count 1", `hearth_music_rejected_uploads_total{reason="truncated"} 0`,
	} {
		if !bytes.Contains(metrics, []byte(want)) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	r.stop()
	if strings.Contains(r.logs.String(), stream[strings.Index(stream, "sig="):]) {
		t.Error("a stream signature reached the logs")
	}
}
