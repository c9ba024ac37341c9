package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"google.golang.org/protobuf/proto"

	rtv1 "github.com/hearth-space/hearth/packages/shared/gen/go/hearth/realtime/v1"
)

// TestJoinReachesRealtime follows the join flow through the whole process:
// the API's join answer points at /rt with a token that the gateway
// accepts, and the room's occupancy shows in the listing.
func TestJoinReachesRealtime(t *testing.T) {
	r := start(t, testServeConfig(t))
	_, body, _ := call(t, "POST", r.base+"/api/v1/auth/guest", "", `{"display_name":"Ada"}`)
	tok := body["access_token"].(string)
	_, room, _ := call(t, "POST", r.base+"/api/v1/rooms", tok, `{"name":"Hall"}`)
	rid := room["id"].(string)
	code, join, _ := call(t, "POST", r.base+"/api/v1/rooms/"+rid+"/join", tok, "")
	if code != 200 {
		t.Fatalf("join: %d %v", code, join)
	}
	rt := join["realtime"].(map[string]any)
	ws, _, err := websocket.DefaultDialer.Dial(rt["url"].(string), nil)
	if err != nil {
		t.Fatalf("dial %s: %v", rt["url"], err)
	}
	defer ws.Close()
	hello, _ := proto.Marshal(&rtv1.ClientMessage{Msg: &rtv1.ClientMessage_Hello{Hello: &rtv1.Hello{
		Token: rt["token"].(string), Traceparent: join["traceparent"].(string), ProtocolVersion: 1,
	}}})
	if err := ws.WriteMessage(websocket.BinaryMessage, hello); err != nil {
		t.Fatal(err)
	}
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, data, err := ws.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	var m rtv1.ServerMessage
	if err := proto.Unmarshal(data, &m); err != nil || m.GetWelcome().GetRoom().GetInfo().GetName() != "Hall" {
		t.Fatalf("welcome: %v %v", &m, err)
	}
	_, list, _ := call(t, "GET", r.base+"/api/v1/rooms", tok, "")
	if occ := list["rooms"].([]any)[0].(map[string]any)["occupancy"]; occ != float64(1) {
		t.Fatalf("occupancy %v", occ)
	}
	res, err := http.Get(r.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{
		`hearth_room_join_duration_seconds_count{stage="realtime"} 1`,
		`hearth_realtime_connections 1`,
		`hearth_realtime_connects_total{result="ok"} 1`,
	} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// Shutdown tells the client to reconnect elsewhere.
	go r.stop()
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		if _, _, err := ws.ReadMessage(); err != nil {
			if ce, ok := err.(*websocket.CloseError); !ok || ce.Code != 1012 {
				t.Fatalf("close on shutdown: %v", err)
			}
			break
		}
	}
}
