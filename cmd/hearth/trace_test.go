package main

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"google.golang.org/protobuf/proto"

	"github.com/hearth-space/hearth/apps/voice/client"
	"github.com/hearth-space/hearth/internal/auth"
	rtv1 "github.com/hearth-space/hearth/packages/shared/gen/go/hearth/realtime/v1"
)

// TestJoinIsOneTrace: a join through the API, the realtime gateway and
// voice signalling, all in one process with an in-memory span exporter,
// yields one trace in which the realtime and voice spans descend from the
// API's join span.
func TestJoinIsOneTrace(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	cfg := testServeConfig(t)
	ctx, cancel := context.WithCancel(context.Background())
	logFile, err := os.CreateTemp(t.TempDir(), "log")
	if err != nil {
		t.Fatal(err)
	}
	fast := auth.PasswordParams{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}
	r := startApp(t, ctx, cancel, cfg, appOptions{logOut: logFile, passwordParams: &fast,
		spanProcessors: []sdktrace.SpanProcessor{sdktrace.NewSimpleSpanProcessor(exp)}}, logFile)

	_, body, _ := call(t, "POST", r.base+"/api/v1/auth/guest", "", `{"display_name":"Ada"}`)
	tok := body["access_token"].(string)
	_, room, _ := call(t, "POST", r.base+"/api/v1/rooms", tok, `{"name":"Traced"}`)
	rid := room["id"].(string)
	code, join, _ := call(t, "POST", r.base+"/api/v1/rooms/"+rid+"/join", tok, "")
	if code != 200 {
		t.Fatalf("join: %d %v", code, join)
	}
	tp := join["traceparent"].(string)

	// Realtime, carrying the join's traceparent in the hello.
	rt := join["realtime"].(map[string]any)
	ws, _, err := websocket.DefaultDialer.Dial(rt["url"].(string), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	hello, _ := proto.Marshal(&rtv1.ClientMessage{Msg: &rtv1.ClientMessage_Hello{Hello: &rtv1.Hello{Token: rt["token"].(string), Traceparent: tp}}})
	_ = ws.WriteMessage(websocket.BinaryMessage, hello)
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, _, err := ws.ReadMessage(); err != nil {
		t.Fatal(err)
	}

	// Voice, the same way, until media connects.
	v := join["voice"].(map[string]any)
	vctx, vcancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer vcancel()
	vc, err := client.Dial(vctx, client.Config{URL: v["url"].(string), Token: v["token"].(string), Traceparent: tp, LoopbackOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer vc.Close()
	if err := vc.WaitConnected(vctx); err != nil {
		t.Fatal(err)
	}

	// Spans end asynchronously (ICE connected, the HTTP span after the
	// answer); wait until the ones we check are in.
	want := []string{"POST /api/v1/rooms/{id}/join", "room.join", "room.admit", "room.mint_tokens",
		"realtime.connect", "realtime.auth", "realtime.presence", "voice.join", "voice.auth", "voice.ice_connect"}
	var spans tracetest.SpanStubs
	deadline := time.Now().Add(15 * time.Second)
	for {
		spans = exp.GetSpans()
		if have(spans, want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	byName := map[string]tracetest.SpanStub{}
	for _, s := range spans {
		if _, dup := byName[s.Name]; !dup {
			byName[s.Name] = s
		}
	}
	for _, n := range want {
		if _, ok := byName[n]; !ok {
			t.Fatalf("no %q span; got %v", n, names(spans))
		}
	}
	join0 := byName["room.join"]
	trace := join0.SpanContext.TraceID()
	if join0.Parent.SpanID() != byName["POST /api/v1/rooms/{id}/join"].SpanContext.SpanID() {
		t.Error("room.join is not a child of the join request's HTTP span")
	}
	// Every span of the join is in the join's trace…
	for _, n := range want {
		if byName[n].SpanContext.TraceID() != trace {
			t.Errorf("%s is in trace %s, not the join's %s", n, byName[n].SpanContext.TraceID(), trace)
		}
	}
	// …and descends from room.join.
	bySpan := map[string]tracetest.SpanStub{}
	for _, s := range spans {
		bySpan[s.SpanContext.SpanID().String()] = s
	}
	for _, n := range []string{"realtime.connect", "realtime.auth", "realtime.presence", "voice.join", "voice.auth", "voice.ice_connect"} {
		s := byName[n]
		ok := false
		for hops := 0; hops < 10 && s.Parent.IsValid(); hops++ {
			if s.Parent.SpanID() == join0.SpanContext.SpanID() {
				ok = true
				break
			}
			s = bySpan[s.Parent.SpanID().String()]
		}
		if !ok {
			t.Errorf("%s does not descend from room.join", n)
		}
	}
	if byName["realtime.connect"].Parent.SpanID() != join0.SpanContext.SpanID() || byName["voice.join"].Parent.SpanID() != join0.SpanContext.SpanID() {
		t.Error("the realtime and voice connect spans must be direct children of room.join (parented by the join answer's traceparent)")
	}
}

func have(spans tracetest.SpanStubs, want []string) bool {
	got := map[string]bool{}
	for _, s := range spans {
		got[s.Name] = true
	}
	for _, n := range want {
		if !got[n] {
			return false
		}
	}
	return true
}

func names(spans tracetest.SpanStubs) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name)
	}
	return out
}
