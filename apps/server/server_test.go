package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.uber.org/goleak"

	"github.com/hearth-space/hearth/apps/server"
	"github.com/hearth-space/hearth/internal/auth"
	"github.com/hearth-space/hearth/internal/bus"
	"github.com/hearth-space/hearth/internal/config"
	"github.com/hearth-space/hearth/internal/httpx"
	"github.com/hearth-space/hearth/internal/obs"
	"github.com/hearth-space/hearth/internal/roomevents"
	"github.com/hearth-space/hearth/internal/store"
	"github.com/hearth-space/hearth/internal/store/storetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type clock struct{ ns atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// fakePresence stands in for the realtime gateway's presence registry.
type fakePresence struct {
	mu    sync.Mutex
	rooms map[string]map[string]bool
}

func (p *fakePresence) set(room, user string, in bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.rooms[room] == nil {
		p.rooms[room] = map[string]bool{}
	}
	if in {
		p.rooms[room][user] = true
	} else {
		delete(p.rooms[room], user)
	}
}

func (p *fakePresence) Occupancy(_ context.Context, ids []string) (map[string]int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]int{}
	for _, id := range ids {
		out[id] = len(p.rooms[id])
	}
	return out, nil
}

func (p *fakePresence) IsPresent(_ context.Context, room, user string) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rooms[room][user], nil
}

type env struct {
	t        *testing.T
	srv      *httptest.Server
	db       *store.DB
	clk      *clock
	logs     *syncBuffer
	reg      *prometheus.Registry
	tokens   *auth.Tokens
	presence *fakePresence
	events   chan roomevents.Event
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func testConfig() config.Serve {
	return config.Serve{
		MaxBodyBytes: 1 << 20,
		Auth: config.Auth{
			AccessTokenTTL: 15 * time.Minute, RefreshTokenTTL: 720 * time.Hour, RoomTokenTTL: 10 * time.Minute,
			LoginRate: 0.2, LoginBurst: 10, GuestRate: 100, GuestBurst: 100,
		},
		Rooms:  config.Rooms{MaxRoomCapacity: 100, DefaultRoomCapacity: 40},
		Client: config.Client{QualityPreset: "auto", EnableLOD: true, EnableFrustumCulling: true},
		Admins: []string{"root-admin"},
	}
}

func newEnv(t *testing.T, dialect store.Dialect, mod ...func(*config.Serve)) *env {
	t.Helper()
	clk := &clock{}
	clk.ns.Store(time.Now().UnixNano())
	db := storetest.Open(t, dialect, clk.Now)
	keys, err := auth.LoadKeyring(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	for _, m := range mod {
		m(&cfg)
	}
	logs := &syncBuffer{}
	log, _ := obs.NewLogger(logs, obs.LogOptions{Level: "debug"})
	reg := prometheus.NewRegistry()
	b := bus.NewMemory()
	t.Cleanup(func() { _ = b.Close() })
	events := make(chan roomevents.Event, 64)
	unsub := b.Subscribe(roomevents.Topic, func(_ string, data []byte) {
		if ev, err := roomevents.Decode(data); err == nil {
			events <- ev
		}
	})
	t.Cleanup(unsub)
	tokens := auth.NewTokens(keys, clk.Now)
	presence := &fakePresence{rooms: map[string]map[string]bool{}}
	api := server.New(server.Options{
		Store: db, Tokens: tokens, Keys: keys, Events: b, Presence: presence,
		Hasher: auth.NewHasher(auth.PasswordParams{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}),
		Log:    log, Registry: reg, Join: obs.NewJoinMetrics(reg), Config: cfg, Now: clk.Now,
		Tracer: sdktrace.NewTracerProvider(),
	})
	rt := httpx.NewRouter("/api/")
	api.Routes(rt)
	srv := httptest.NewServer(httpx.Observe(log, httpx.NewMetrics(reg), rt))
	t.Cleanup(srv.Close)
	return &env{t: t, srv: srv, db: db, clk: clk, logs: logs, reg: reg, tokens: tokens, presence: presence, events: events}
}

// client is one user agent with its own cookie jar.
type client struct {
	e     *env
	http  *http.Client
	token string
	user  map[string]any
}

func (e *env) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{e: e, http: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
}

type resp struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

func (r resp) str(key string) string { s, _ := r.body[key].(string); return s }
func (r resp) code() string          { return r.str("code") }

// do sends a request. body may be nil, a string (sent raw as JSON) or a
// value to marshal.
func (c *client) do(method, path string, body any, hdr ...string) resp {
	c.e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, c.e.srv.URL+path, rd)
	if err != nil {
		c.e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	res, err := c.http.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := resp{status: res.StatusCode, header: res.Header, raw: raw}
	_ = json.Unmarshal(raw, &out.body)
	if res.StatusCode >= 400 {
		if ct := res.Header.Get("Content-Type"); ct != httpx.ProblemContentType {
			c.e.t.Fatalf("%s %s: error %d with content type %q", method, path, res.StatusCode, ct)
		}
		if out.code() == "" || out.body["status"] != float64(res.StatusCode) || out.str("type") == "" || out.str("title") == "" {
			c.e.t.Fatalf("%s %s: not a problem document: %s", method, path, raw)
		}
	}
	return out
}

func (c *client) want(r resp, status int, code string) resp {
	c.e.t.Helper()
	if r.status != status || (code != "" && r.code() != code) {
		c.e.t.Fatalf("got %d %s, want %d %s", r.status, r.raw, status, code)
	}
	return r
}

func (c *client) signIn(r resp) *client {
	c.e.t.Helper()
	if r.status != 200 && r.status != 201 {
		c.e.t.Fatalf("sign-in failed: %d %s", r.status, r.raw)
	}
	c.token = r.str("access_token")
	c.user, _ = r.body["user"].(map[string]any)
	if c.token == "" || c.user == nil {
		c.e.t.Fatalf("sign-in answer: %s", r.raw)
	}
	return c
}

func (c *client) id() string { return c.user["id"].(string) }

func (e *env) guest(name string) *client {
	c := e.client()
	return c.signIn(c.do("POST", "/api/v1/auth/guest", map[string]string{"display_name": name}))
}

func (e *env) registered(username string) *client {
	c := e.client()
	return c.signIn(c.do("POST", "/api/v1/auth/register", map[string]string{
		"username": username, "password": "a long enough password", "display_name": strings.ToUpper(username)}))
}

func (c *client) createRoom(body map[string]any) map[string]any {
	c.e.t.Helper()
	r := c.want(c.do("POST", "/api/v1/rooms", body), 201, "")
	return r.body
}

func each(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) { fn(t, newEnv(t, d)) })
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
