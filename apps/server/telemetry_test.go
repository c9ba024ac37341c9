package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/hearth-space/hearth/internal/config"
	"github.com/hearth-space/hearth/internal/store"
)

func withTelemetry(c *config.Serve) { c.Client.EnableTelemetry = true }

func telemetryBatch(at time.Time, roomID string, events ...string) string {
	return fmt.Sprintf(`{"clientVersion":"test","pageId":"p1","events":[%s]}`, strings.Join(events, ","))
}

func evJoin(at time.Time, roomID string, ms float64) string {
	return fmt.Sprintf(`{"atMs":%d,"roomId":%q,"preset":"low","join":{"durationMs":%g,"scene":"lounge"}}`, at.UnixMilli(), roomID, ms)
}

func TestTelemetryAcceptsAndExports(t *testing.T) {
	e := newEnv(t, store.SQLite, withTelemetry)
	c := e.guest("Ada")
	room := c.createRoom(map[string]any{"name": "T"})
	rid := room["id"].(string)
	now := e.clk.Now()
	body := telemetryBatch(now, rid,
		evJoin(now, rid, 1234),
		fmt.Sprintf(`{"atMs":%d,"roomId":%q,"preset":"medium","voiceConnect":{"durationMs":800,"ok":true}}`, now.UnixMilli(), rid),
		fmt.Sprintf(`{"atMs":%d,"roomId":%q,"reconnect":{"connection":"realtime","cause":"going_away","attempts":2,"durationMs":1500,"result":"success"}}`, now.UnixMilli(), rid),
		fmt.Sprintf(`{"atMs":%d,"preset":"high","frameRate":{"fpsP50":58.5,"fpsP5":31,"frames":1700,"windowS":30}}`, now.UnixMilli()),
	)
	c.want(c.do("POST", "/api/v1/telemetry", body), http.StatusNoContent, "")

	if n := counterValue(t, e, "hearth_client_reconnects_total", "connection", "realtime", "result", "success"); n != 1 {
		t.Fatalf("reconnects_total = %v", n)
	}
	out, err := testutil.GatherAndCount(e.reg, "hearth_client_join_duration_seconds", "hearth_client_voice_connect_duration_seconds",
		"hearth_client_reconnect_duration_seconds", "hearth_client_fps")
	if err != nil || out < 4 {
		t.Fatalf("metrics: %d series, %v", out, err)
	}
	// Logged with user and room ids; the token never.
	logs := e.logs.String()
	for _, want := range []string{`"msg":"client join"`, `"user_id":"` + c.id() + `"`, `"room_id":"` + rid + `"`, `"msg":"client reconnect"`, `"cause":"going_away"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %s", want)
		}
	}
	if strings.Contains(logs, c.token) {
		t.Fatal("a token was logged")
	}
	// No ids in metric labels.
	mfs, _ := e.reg.Gather()
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), "hearth_client_") {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetValue() == rid || l.GetValue() == c.id() {
					t.Fatalf("%s has an id in label %s", mf.GetName(), l.GetName())
				}
			}
		}
	}
}

func TestTelemetryBeaconTokenInBody(t *testing.T) {
	e := newEnv(t, store.SQLite, withTelemetry)
	c := e.guest("Ada")
	now := e.clk.Now()
	body := fmt.Sprintf(`{"accessToken":%q,"events":[%s]}`, c.token, evJoin(now, "", 500))
	anon := e.client()
	anon.want(anon.do("POST", "/api/v1/telemetry", body, "Content-Type", "text/plain;charset=UTF-8"), http.StatusNoContent, "")
	if strings.Contains(e.logs.String(), c.token) {
		t.Fatal("the body token was logged")
	}
	// Without any token: refused.
	anon.want(anon.do("POST", "/api/v1/telemetry", telemetryBatch(now, "", evJoin(now, "", 500))), http.StatusUnauthorized, "unauthenticated")
	bad := fmt.Sprintf(`{"accessToken":"nope","events":[%s]}`, evJoin(now, "", 500))
	anon.want(anon.do("POST", "/api/v1/telemetry", bad), http.StatusUnauthorized, "token_invalid")
}

func TestTelemetryRejectsJunk(t *testing.T) {
	e := newEnv(t, store.SQLite, withTelemetry)
	c := e.guest("Ada")
	now := e.clk.Now().Add(2 * time.Minute) // the cases below advance the clock
	ok := evJoin(now, "", 100)
	many := make([]string, 51)
	for i := range many {
		many[i] = ok
	}
	cases := []struct {
		name, body string
		status     int
		code       string
	}{
		{"empty", "", 400, "malformed_body"},
		{"not json", "hello", 400, "malformed_body"},
		{"unknown field", `{"events":[` + ok + `],"extra":1}`, 400, "malformed_body"},
		{"unknown event field", fmt.Sprintf(`{"events":[{"atMs":%d,"join":{"durationMs":1},"bogus":true}]}`, now.UnixMilli()), 400, "malformed_body"},
		{"no events", `{"events":[]}`, 400, "validation_failed"},
		{"too many events", `{"events":[` + strings.Join(many, ",") + `]}`, 400, "validation_failed"},
		{"no kind", fmt.Sprintf(`{"events":[{"atMs":%d}]}`, now.UnixMilli()), 400, "validation_failed"},
		{"old event", `{"events":[` + evJoin(now.Add(-48*time.Hour), "", 100) + `]}`, 400, "validation_failed"},
		{"negative duration", `{"events":[` + evJoin(now, "", -5) + `]}`, 400, "validation_failed"},
		{"huge duration", `{"events":[` + evJoin(now, "", 1e12) + `]}`, 400, "validation_failed"},
		{"bad room id", `{"events":[` + evJoin(now, "../../etc", 5) + `]}`, 400, "validation_failed"},
		{"bad preset", fmt.Sprintf(`{"events":[{"atMs":%d,"preset":"ultra","join":{"durationMs":1}}]}`, now.UnixMilli()), 400, "validation_failed"},
		{"bad connection", fmt.Sprintf(`{"events":[{"atMs":%d,"reconnect":{"connection":"x","result":"success"}}]}`, now.UnixMilli()), 400, "validation_failed"},
		{"bad fps", fmt.Sprintf(`{"events":[{"atMs":%d,"frameRate":{"fpsP50":1e9,"fpsP5":1,"windowS":30}}]}`, now.UnixMilli()), 400, "validation_failed"},
		{"long version", `{"clientVersion":"` + strings.Repeat("v", 65) + `","events":[` + ok + `]}`, 400, "validation_failed"},
		{"oversized", `{"pageId":"` + strings.Repeat("x", 40<<10) + `","events":[` + ok + `]}`, 413, "body_too_large"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e.clk.Advance(10 * time.Second) // stay under the rate limit
			c.want(c.do("POST", "/api/v1/telemetry", tc.body), tc.status, tc.code)
		})
	}
	e.clk.Advance(10 * time.Second)
	c.want(c.do("POST", "/api/v1/telemetry", `{"events":[`+ok+`]}`, "Content-Type", "application/xml"), 415, "unsupported_media_type")
	if n := counterValue(t, e, "hearth_client_telemetry_events_total", "kind", "join"); n != 0 {
		t.Fatalf("junk was counted: %v", n)
	}
}

func TestTelemetryRateLimitedAndDisabled(t *testing.T) {
	e := newEnv(t, store.SQLite, withTelemetry)
	c := e.guest("Ada")
	now := e.clk.Now()
	body := telemetryBatch(now, "", evJoin(now, "", 100))
	var limited resp
	for i := 0; i < 20; i++ {
		limited = c.do("POST", "/api/v1/telemetry", body)
		if limited.status == http.StatusTooManyRequests {
			break
		}
	}
	c.want(limited, http.StatusTooManyRequests, "rate_limited")
	if limited.header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
	e.clk.Advance(time.Minute)
	body = telemetryBatch(e.clk.Now(), "", evJoin(e.clk.Now(), "", 100))
	c.want(c.do("POST", "/api/v1/telemetry", body), http.StatusNoContent, "")

	off := newEnv(t, store.SQLite)
	o := off.guest("Bob")
	o.want(o.do("POST", "/api/v1/telemetry", body), http.StatusNotFound, "not_found")
	cfg := o.do("GET", "/api/v1/config", nil)
	if cfg.body["enable_telemetry"] != false {
		t.Fatalf("config: %s", cfg.raw)
	}
}

// counterValue reads one counter series from the env's registry (0 when absent).
func counterValue(t *testing.T, e *env, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if got[labels[i]] != labels[i+1] {
					continue next
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}
