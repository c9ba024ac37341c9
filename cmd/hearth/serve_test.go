package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/hearth-space/hearth/internal/auth"
	"github.com/hearth-space/hearth/internal/config"
	"github.com/hearth-space/hearth/internal/store"
	"github.com/hearth-space/hearth/internal/store/storetest"
	"github.com/hearth-space/hearth/internal/testenv"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func testServeConfig(t *testing.T) *config.Serve {
	c := config.Defaults()
	c.DataDir = t.TempDir()
	c.Addr = "127.0.0.1:0"
	c.ShutdownTimeout = 5 * time.Second
	c.Auth.LoginRate, c.Auth.GuestRate, c.Auth.GuestBurst = 1, 100, 100
	c.Web.WebDir = testWebDir(t)
	// Ephemeral voice ports, loopback only: tests never collide with a
	// running hearth or with each other.
	c.Voice.VoiceUDPPort, c.Voice.VoiceTCPPort, c.Voice.VoiceIPs = 0, 0, []string{"127.0.0.1"}
	return &c
}

// testWebDir is a minimal client build for the web service to serve.
func testWebDir(t *testing.T) string {
	dir := t.TempDir()
	if err := os.WriteFile(dir+"/index.html", []byte("<!doctype html><title>Hearth</title>"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

type running struct {
	base string
	stop func()
	logs *bytes.Buffer
	a    *app
}

func start(t *testing.T, cfg *config.Serve) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logFile, err := os.CreateTemp(t.TempDir(), "log")
	if err != nil {
		t.Fatal(err)
	}
	fast := auth.PasswordParams{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}
	return startApp(t, ctx, cancel, cfg, appOptions{logOut: logFile, passwordParams: &fast}, logFile)
}

// startApp builds and serves an app with options; cancel stops it.
func startApp(t *testing.T, ctx context.Context, cancel context.CancelFunc, cfg *config.Serve, o appOptions, logFile *os.File) *running {
	t.Helper()
	a, err := newApp(ctx, cfg, o)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.serveOn(ctx, ln) }()
	r := &running{base: "http://" + ln.Addr().String(), a: a}
	var once sync.Once
	r.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("serve: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Error("shutdown hung")
			}
			b, _ := os.ReadFile(logFile.Name())
			r.logs = bytes.NewBuffer(b)
			_ = logFile.Close()
		})
	}
	t.Cleanup(r.stop)
	return r
}

func call(t *testing.T, method, url, token, body string) (int, map[string]any, http.Header) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, url, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return res.StatusCode, m, res.Header
}

// TestServeEndToEnd runs the whole process on SQLite and on PostgreSQL with
// Redis: guest sign-in, room, join, then checks metrics, health and a
// graceful shutdown.
func TestServeEndToEnd(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			cfg := testServeConfig(t)
			if d == store.Postgres {
				cfg.DatabaseURL = storetest.URL(t, d)
				testenv.NeedRedis(t)
				cfg.RedisURL = testenv.RedisURL()
			}
			r := start(t, cfg)

			if code, body, _ := call(t, "GET", r.base+"/healthz", "", ""); code != 200 || body["status"] != "ok" {
				t.Fatalf("healthz: %d %v", code, body)
			}
			code, body, _ := call(t, "GET", r.base+"/readyz", "", "")
			checks, _ := body["checks"].(map[string]any)
			if code != 200 || checks["database"] != "ok" || (d == store.Postgres && checks["redis"] != "ok") {
				t.Fatalf("readyz: %d %v", code, body)
			}
			for _, p := range []string{"/", "/rooms/abc"} {
				if code, _, _ := call(t, "GET", r.base+p, "", ""); code != 200 {
					t.Fatalf("client %s: %d", p, code)
				}
			}
			code, body, _ = call(t, "POST", r.base+"/api/v1/auth/guest", "", `{"display_name":"Ada"}`)
			if code != 201 {
				t.Fatalf("guest: %d %v", code, body)
			}
			tok := body["access_token"].(string)
			code, body, _ = call(t, "POST", r.base+"/api/v1/rooms", tok, `{"name":"Hall"}`)
			if code != 201 {
				t.Fatalf("room: %d %v", code, body)
			}
			code, body, _ = call(t, "POST", r.base+"/api/v1/rooms/"+body["id"].(string)+"/join", tok, "")
			if code != 200 || body["traceparent"] == "" {
				t.Fatalf("join: %d %v", code, body)
			}

			res, err := http.Get(r.base + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			metrics, _ := io.ReadAll(res.Body)
			res.Body.Close()
			for _, want := range []string{
				`hearth_build_info{`,
				`hearth_http_requests_total{code="201",method="POST",route="/api/v1/auth/guest"} 1`,
				`hearth_http_request_duration_seconds_bucket{method="POST",route="/api/v1/rooms/{id}/join"`,
				`hearth_auth_duration_seconds_count{operation="guest",result="ok"} 1`,
				`hearth_room_join_duration_seconds_count{stage="api"} 1`,
				`go_goroutines `, `process_resident_memory_bytes `,
			} {
				if !bytes.Contains(metrics, []byte(want)) {
					t.Errorf("/metrics lacks %s", want)
				}
			}
			if rid := body["room"].(map[string]any)["id"].(string); bytes.Contains(metrics, []byte(rid)) {
				t.Error("a room id leaked into metric labels")
			}

			r.stop()
			for _, line := range strings.Split(strings.TrimSpace(r.logs.String()), "\n") {
				var m map[string]any
				if err := json.Unmarshal([]byte(line), &m); err != nil {
					t.Fatalf("log line is not JSON: %s", line)
				}
				if m["msg"] == "http request" && m["request_id"] == nil {
					t.Errorf("access log without request_id: %s", line)
				}
				if strings.Contains(line, tok) {
					t.Error("access token in logs")
				}
			}
			if !strings.Contains(r.logs.String(), `"msg":"shutdown complete"`) {
				t.Error("no clean shutdown logged")
			}
		})
	}
}

// TestReadyzNamesFailingDependency closes the database under a running
// process: readiness must fail and say which dependency.
func TestReadyzNamesFailingDependency(t *testing.T) {
	r := start(t, testServeConfig(t))
	_ = r.a.db.Close()
	code, body, _ := call(t, "GET", r.base+"/readyz", "", "")
	checks, _ := body["checks"].(map[string]any)
	db, _ := checks["database"].(string)
	if code != 503 || body["status"] != "unavailable" || !strings.HasPrefix(db, "unavailable") {
		t.Fatalf("readyz: %d %v", code, body)
	}
}

// TestGracefulShutdownDrains: a request in flight when shutdown begins
// still completes.
func TestGracefulShutdownDrains(t *testing.T) {
	cfg := testServeConfig(t)
	r := start(t, cfg)
	release, arrived := make(chan struct{}), make(chan struct{})
	r.a.router.HandleFunc("GET /slow", func(w http.ResponseWriter, _ *http.Request) {
		close(arrived)
		<-release
		_, _ = w.Write([]byte("done"))
	})
	got := make(chan string, 1)
	go func() {
		res, err := http.Get(r.base + "/slow")
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		got <- string(b)
	}()
	<-arrived
	stopped := make(chan struct{})
	go func() { r.stop(); close(stopped) }()
	// The listener closes promptly while the request is still held.
	closed := false
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		c, err := net.DialTimeout("tcp", strings.TrimPrefix(r.base, "http://"), 200*time.Millisecond)
		if err != nil {
			closed = true
			break
		}
		_ = c.Close()
	}
	if !closed {
		t.Error("still accepting connections during shutdown")
	}
	close(release)
	if s := <-got; s != "done" {
		t.Fatalf("in-flight request: %q", s)
	}
	<-stopped
}

// TestDemoSeedsRoomsOnce: --demo gives a fresh deployment two public rooms,
// and restarting does not add more.
func TestDemoSeedsRoomsOnce(t *testing.T) {
	cfg := testServeConfig(t)
	cfg.Demo = true
	for range 2 {
		r := start(t, cfg)
		_, body, _ := call(t, "POST", r.base+"/api/v1/auth/guest", "", `{"display_name":"Ada"}`)
		_, list, _ := call(t, "GET", r.base+"/api/v1/rooms", body["access_token"].(string), "")
		rooms := list["rooms"].([]any)
		if len(rooms) != 2 {
			t.Fatalf("demo rooms: %v", rooms)
		}
		r.stop()
	}
}
