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

	"github.com/gorilla/websocket"
	"google.golang.org/protobuf/proto"

	"github.com/hearth-space/hearth/internal/audio/audiotest"
	rtv1 "github.com/hearth-space/hearth/packages/shared/gen/go/hearth/realtime/v1"
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

// TestMusicReachesTheRoom follows the contract with the realtime gateway
// through the whole process: the welcome snapshot carries the room's
// player, a queue change arrives on the WebSocket as a music message, and
// vote-skip counts the gateway's presence.
func TestMusicReachesTheRoom(t *testing.T) {
	r := start(t, testServeConfig(t))
	_, body, _ := call(t, "POST", r.base+"/api/v1/auth/register", "", `{"username":"ada","password":"a long enough password"}`)
	tok := body["access_token"].(string)
	_, room, _ := call(t, "POST", r.base+"/api/v1/rooms", tok, `{"name":"Hall"}`)
	rid := room["id"].(string)

	upload := func(d time.Duration) string {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		fw, _ := mw.CreateFormFile("file", "t.wav")
		_, _ = fw.Write(audiotest.WAV(8000, 1, d, nil))
		_ = mw.Close()
		req, _ := http.NewRequest("POST", r.base+"/api/v1/music/tracks", &b)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 201 {
			t.Fatalf("upload: %d", res.StatusCode)
		}
		return strings.TrimPrefix(res.Header.Get("Location"), "/api/v1/music/tracks/")
	}
	first, second := upload(20*time.Second), upload(21*time.Second)
	if code, body, _ := call(t, "POST", r.base+"/api/v1/rooms/"+rid+"/music/queue", tok, `{"track_id":"`+first+`"}`); code != 200 {
		t.Fatalf("queue: %d %v", code, body)
	}

	code, join, _ := call(t, "POST", r.base+"/api/v1/rooms/"+rid+"/join", tok, "")
	if code != 200 {
		t.Fatalf("join: %d %v", code, join)
	}
	rt := join["realtime"].(map[string]any)
	ws, _, err := websocket.DefaultDialer.Dial(rt["url"].(string), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	hello, _ := proto.Marshal(&rtv1.ClientMessage{Msg: &rtv1.ClientMessage_Hello{Hello: &rtv1.Hello{
		Token: rt["token"].(string), ProtocolVersion: 1}}})
	if err := ws.WriteMessage(websocket.BinaryMessage, hello); err != nil {
		t.Fatal(err)
	}
	read := func(pred func(*rtv1.ServerMessage) bool) *rtv1.ServerMessage {
		t.Helper()
		_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
		for {
			_, data, err := ws.ReadMessage()
			if err != nil {
				t.Fatal(err)
			}
			var m rtv1.ServerMessage
			if err := proto.Unmarshal(data, &m); err != nil {
				t.Fatal(err)
			}
			if pred(&m) {
				return &m
			}
		}
	}
	welcome := read(func(m *rtv1.ServerMessage) bool { return m.GetWelcome() != nil })
	if got := welcome.GetWelcome().GetRoom().GetMusic(); got.GetCurrent().GetTrack().GetId() != first || got.GetVersion() != 1 {
		t.Fatalf("welcome music: %v", got)
	}

	if code, body, _ := call(t, "POST", r.base+"/api/v1/rooms/"+rid+"/music/queue", tok, `{"track_id":"`+second+`"}`); code != 200 {
		t.Fatalf("queue: %d %v", code, body)
	}
	m := read(func(m *rtv1.ServerMessage) bool { return m.GetMusic() != nil })
	if got := m.GetMusic(); got.GetVersion() != 2 || len(got.GetQueue()) != 1 || got.GetQueue()[0].GetTrack().GetId() != second ||
		got.GetSkipVotesNeeded() != 1 {
		t.Fatalf("relayed music: %v", got)
	}
	// One member present: one vote is a majority.
	code, body, _ = call(t, "POST", r.base+"/api/v1/rooms/"+rid+"/music/vote-skip", tok, "")
	if code != 200 || body["current"].(map[string]any)["track"].(map[string]any)["id"] != second {
		t.Fatalf("vote-skip: %d %v", code, body)
	}
	if got := read(func(m *rtv1.ServerMessage) bool { return m.GetMusic() != nil }).GetMusic(); got.GetCurrent().GetTrack().GetId() != second {
		t.Fatalf("relayed skip: %v", got)
	}
}
