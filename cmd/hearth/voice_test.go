package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hearth-space/hearth/apps/voice/client"
	"github.com/hearth-space/hearth/internal/config"
	"github.com/hearth-space/hearth/internal/loadtest/voiceload"
)

// TestServeVoice joins a room through the API and connects to voice with
// the join answer's URL and token: the answer carries STUN and TURN
// servers with TURN REST credentials, media connects, the QoS debug
// endpoint lists the participant and /metrics shows the voice metrics.
func TestServeVoice(t *testing.T) {
	cfg := testServeConfig(t)
	cfg.Voice = config.Voice{
		VoiceIPs: []string{"127.0.0.1"}, VoiceSTUNURLs: []string{"stun:127.0.0.1:3478"},
		VoiceTURNURLs: []string{"turn:127.0.0.1:3478?transport=udp"}, VoiceTURNSecret: "shh", VoiceTURNTTL: time.Hour,
		VoiceQoSDebug: true,
	}
	r := start(t, cfg)
	code, body, _ := call(t, "POST", r.base+"/api/v1/auth/guest", "", `{"display_name":"Ada"}`)
	if code != 201 {
		t.Fatalf("guest: %d %v", code, body)
	}
	tok := body["access_token"].(string)
	uid := body["user"].(map[string]any)["id"].(string)
	_, body, _ = call(t, "POST", r.base+"/api/v1/rooms", tok, `{"name":"Hall"}`)
	roomID := body["id"].(string)
	code, body, _ = call(t, "POST", r.base+"/api/v1/rooms/"+roomID+"/join", tok, "")
	if code != 200 {
		t.Fatalf("join: %d %v", code, body)
	}
	v := body["voice"].(map[string]any)
	ice := v["ice_servers"].([]any)
	if len(ice) != 2 {
		t.Fatalf("ice_servers %v", ice)
	}
	turnEntry := ice[1].(map[string]any)
	user, cred := turnEntry["username"].(string), turnEntry["credential"].(string)
	if !strings.HasSuffix(user, ":"+uid) {
		t.Fatalf("TURN username %q is not expiry:userid", user)
	}
	mac := hmac.New(sha1.New, []byte("shh"))
	mac.Write([]byte(user))
	if base64.StdEncoding.EncodeToString(mac.Sum(nil)) != cred {
		t.Fatal("TURN credential is not HMAC-SHA1(secret, username)")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, client.Config{URL: v["url"].(string), Token: v["token"].(string), RoomID: roomID,
		Traceparent: body["traceparent"].(string), LoopbackOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	get := func(path string) string {
		res, err := http.Get(r.base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return string(b)
	}
	dbg := get("/voice/debug/qos")
	if !strings.Contains(dbg, uid) || !strings.Contains(dbg, roomID) {
		t.Fatalf("debug endpoint does not list the participant: %s", dbg)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		m := get("/metrics")
		ok := strings.Contains(m, "hearth_voice_participants 1") &&
			strings.Contains(m, `hearth_room_join_duration_seconds_count{stage="voice"} 1`) &&
			strings.Contains(m, `hearth_voice_connections_total{state="ice_connected"} 1`)
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("voice metrics missing:\n%s", m)
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.Leave()
}

// TestLoadtestVoice runs `hearth loadtest voice` for a few seconds
// against the whole process: every packet arrives, and the report carries
// the SFU's figures from /metrics.
func TestLoadtestVoice(t *testing.T) {
	cfg := testServeConfig(t)
	cfg.Voice = config.Voice{VoiceIPs: []string{"127.0.0.1"}}
	r := start(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out strings.Builder
	rep, err := voiceload.Run(ctx, config.LoadtestVoice{
		URL: r.base, Rooms: 1, Participants: 3, Speakers: 2, Duration: 2 * time.Second, Warmup: 500 * time.Millisecond,
		Churn: 700 * time.Millisecond, Ramp: 10 * time.Millisecond, PayloadBytes: 80, Interval: time.Second,
		Timeout: 10 * time.Second, JSON: t.TempDir() + "/r.json",
	}, &out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if rep.PacketsReceived == 0 || rep.SFU.ForwardedPPS == 0 || rep.SFU.Joins < 3 {
		t.Fatalf("empty report:\n%s", out.String())
	}
	if rep.Failures != 0 {
		t.Fatalf("%d failures:\n%s", rep.Failures, out.String())
	}
	if !strings.Contains(out.String(), "voice load result") {
		t.Fatalf("no final table:\n%s", out.String())
	}
}
