package music_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"

	"github.com/hearth-space/hearth/apps/server"
	"github.com/hearth-space/hearth/apps/server/music"
	"github.com/hearth-space/hearth/internal/auth"
	"github.com/hearth-space/hearth/internal/blob"
	"github.com/hearth-space/hearth/internal/bus"
	"github.com/hearth-space/hearth/internal/config"
	"github.com/hearth-space/hearth/internal/httpx"
	"github.com/hearth-space/hearth/internal/obs"
	"github.com/hearth-space/hearth/internal/store"
	"github.com/hearth-space/hearth/internal/store/storetest"
	musicv1 "github.com/hearth-space/hearth/packages/shared/gen/go/hearth/music/v1"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeClock is a time source and timer factory that moves only when the
// test advances it.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	c       *fakeClock
	at      time.Time
	ch      chan time.Time
	stopped bool
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Now().Truncate(time.Millisecond)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTimer(d time.Duration) music.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, at: c.now.Add(d), ch: make(chan time.Time, 1)}
	if d <= 0 {
		t.ch <- c.now
		return t
	}
	c.timers = append(c.timers, t)
	return t
}

// Advance moves the clock and fires the timers that came due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.timers[:0]
	for _, t := range c.timers {
		if t.stopped {
			continue
		}
		if !t.at.After(c.now) {
			t.ch <- c.now
			continue
		}
		kept = append(kept, t)
	}
	c.timers = kept
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }
func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := !t.stopped
	t.stopped = true
	return was
}

// fakePresence stands in for the realtime gateway.
type fakePresence struct {
	mu  sync.Mutex
	occ map[string]int
}

func (p *fakePresence) set(room string, n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.occ[room] = n
}

func (p *fakePresence) Occupancy(_ context.Context, ids []string) (map[string]int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]int{}
	for _, id := range ids {
		out[id] = p.occ[id]
	}
	return out, nil
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

// node is one API process: the API server and the music service over a
// shared database, bus and blob store.
type node struct {
	srv  *httptest.Server
	svc  *music.Service
	reg  *prometheus.Registry
	stop func()
}

type env struct {
	t        testing.TB
	db       *store.DB
	clk      *fakeClock
	logs     *syncBuffer
	bus      *bus.Memory
	blobs    blob.Store
	blobDir  string
	spoolDir string
	presence *fakePresence
	tokens   *auth.Tokens
	keys     *auth.Keyring
	cfg      config.Serve
	states   chan *musicv1.PlayerState
	*node
}

type envOption func(*env)

func withMusic(f func(*config.Music)) envOption { return func(e *env) { f(&e.cfg.Music) } }
func withBlobs(b blob.Store) envOption          { return func(e *env) { e.blobs = b } }
func withoutPresence() envOption                { return func(e *env) { e.presence = nil } }

func testConfig() config.Serve {
	return config.Serve{
		MaxBodyBytes: 1 << 20,
		Auth: config.Auth{AccessTokenTTL: 15 * time.Minute, RefreshTokenTTL: 720 * time.Hour, RoomTokenTTL: 10 * time.Minute,
			LoginRate: 100, LoginBurst: 100, GuestRate: 100, GuestBurst: 100},
		Rooms:  config.Rooms{MaxRoomCapacity: 100, DefaultRoomCapacity: 40},
		Client: config.Client{QualityPreset: "auto"},
		Admins: []string{"root-admin"},
		Music:  config.Music{MaxUploadBytes: 8 << 20, StreamURLTTL: 15 * time.Minute, MaxQueue: 50},
	}
}

func newEnv(t testing.TB, dialect store.Dialect, opts ...envOption) *env {
	t.Helper()
	clk := newFakeClock()
	e := &env{
		t: t, clk: clk, logs: &syncBuffer{}, bus: bus.NewMemory(), cfg: testConfig(),
		presence: &fakePresence{occ: map[string]int{}}, states: make(chan *musicv1.PlayerState, 256),
	}
	t.Cleanup(func() { _ = e.bus.Close() })
	e.db = storetest.Open(t, dialect, clk.Now)
	dir := t.TempDir()
	e.blobDir, e.spoolDir = filepath.Join(dir, "blobs"), filepath.Join(dir, "spool")
	for _, o := range opts {
		o(e)
	}
	if e.blobs == nil {
		d, err := blob.NewDisk(e.blobDir)
		if err != nil {
			t.Fatal(err)
		}
		e.blobs = d
	}
	keys, err := auth.LoadKeyring(context.Background(), e.db)
	if err != nil {
		t.Fatal(err)
	}
	e.keys, e.tokens = keys, auth.NewTokens(keys, clk.Now)
	unsub := e.bus.Subscribe(music.Topic, func(_ string, data []byte) {
		var st musicv1.PlayerState
		if err := proto.Unmarshal(data, &st); err != nil {
			t.Errorf("bad music event: %v", err)
			return
		}
		e.states <- &st
	})
	t.Cleanup(unsub)
	e.node = e.startNode()
	return e
}

// startNode starts an API process (server, music, scheduler) on the env's
// shared database, bus and blobs.
func (e *env) startNode() *node {
	t := e.t
	log, _ := obs.NewLogger(e.logs, obs.LogOptions{Level: "debug"})
	reg := prometheus.NewRegistry()
	api := server.New(server.Options{
		Store: e.db, Tokens: e.tokens, Keys: e.keys, Events: e.bus,
		Hasher: auth.NewHasher(auth.PasswordParams{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}),
		Log:    log, Registry: reg, Join: obs.NewJoinMetrics(reg), Config: e.cfg, Now: e.clk.Now,
	})
	var presence music.Presence
	if e.presence != nil {
		presence = e.presence
	}
	svc, err := music.New(context.Background(), music.Options{
		Store: e.db, Blobs: e.blobs, Auth: api, Presence: presence, Bus: e.bus, Log: log, Registry: reg,
		Config: e.cfg.Music, Admins: e.cfg.Admins, SpoolDir: e.spoolDir, Clock: e.clk,
	})
	if err != nil {
		t.Fatal(err)
	}
	rt := httpx.NewRouter("/api/")
	api.Routes(rt)
	svc.Routes(rt)
	srv := httptest.NewServer(httpx.Observe(log, httpx.NewMetrics(reg), rt))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); svc.Run(ctx) }()
	n := &node{srv: srv, svc: svc, reg: reg}
	var once sync.Once
	n.stop = func() {
		once.Do(func() {
			cancel()
			<-done
			srv.Close()
		})
	}
	t.Cleanup(n.stop)
	return n
}

func each(t *testing.T, fn func(t *testing.T, e *env), opts ...envOption) {
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) { fn(t, newEnv(t, d, opts...)) })
	}
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// client is one signed-in user talking to one node.
type client struct {
	e     *env
	n     *node
	http  *http.Client
	token string
	id    string
}

type resp struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

func (r resp) str(key string) string { s, _ := r.body[key].(string); return s }
func (r resp) code() string          { return r.str("code") }

func (e *env) newClient() *client {
	return &client{e: e, n: e.node, http: &http.Client{Timeout: 20 * time.Second}}
}

// on returns the same user talking to another node.
func (c *client) on(n *node) *client { cp := *c; cp.n = n; return &cp }

func (c *client) request(method, path string, body io.Reader, hdr ...string) resp {
	c.e.t.Helper()
	req, err := http.NewRequest(method, c.n.srv.URL+path, body)
	if err != nil {
		c.e.t.Fatal(err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := c.http.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := resp{status: res.StatusCode, header: res.Header, raw: raw}
	_ = json.Unmarshal(raw, &out.body)
	if res.StatusCode >= 400 && res.StatusCode != http.StatusRequestedRangeNotSatisfiable {
		if ct := res.Header.Get("Content-Type"); ct != httpx.ProblemContentType {
			c.e.t.Fatalf("%s %s: error %d with content type %q: %s", method, path, res.StatusCode, ct, raw)
		}
		if out.code() == "" || out.body["status"] != float64(res.StatusCode) {
			c.e.t.Fatalf("%s %s: not a problem document: %s", method, path, raw)
		}
	}
	return out
}

// do sends JSON (body nil: no body).
func (c *client) do(method, path string, body any) resp {
	c.e.t.Helper()
	if body == nil {
		return c.request(method, path, nil)
	}
	j, _ := json.Marshal(body)
	return c.request(method, path, bytes.NewReader(j), "Content-Type", "application/json")
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
	u, _ := r.body["user"].(map[string]any)
	c.id, _ = u["id"].(string)
	return c
}

func (e *env) registered(username string) *client {
	c := e.newClient()
	return c.signIn(c.do("POST", "/api/v1/auth/register", map[string]string{
		"username": username, "password": "a long enough password"}))
}

func (e *env) guest(name string) *client {
	c := e.newClient()
	return c.signIn(c.do("POST", "/api/v1/auth/guest", map[string]string{"display_name": name}))
}

// createRoom makes a room with the given music control; returns its id.
func (c *client) createRoom(control, visibility string) string {
	c.e.t.Helper()
	r := c.want(c.do("POST", "/api/v1/rooms", map[string]any{"name": "Listening room", "music_control": control, "visibility": visibility}), 201, "")
	return r.str("id")
}

func (c *client) join(roomID string) {
	c.e.t.Helper()
	c.want(c.do("POST", "/api/v1/rooms/"+roomID+"/join", nil), 200, "")
}

// upload posts a multipart upload with a file part and optional fields.
func (c *client) upload(filename string, data []byte, fields ...string) resp {
	c.e.t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for i := 0; i+1 < len(fields); i += 2 {
		_ = mw.WriteField(fields[i], fields[i+1])
	}
	fw, _ := mw.CreateFormFile("file", filename)
	_, _ = fw.Write(data)
	_ = mw.Close()
	return c.request("POST", "/api/v1/music/tracks", &b, "Content-Type", mw.FormDataContentType())
}

// track uploads data and returns the track id.
func (c *client) track(filename string, data []byte) string {
	c.e.t.Helper()
	r := c.upload(filename, data)
	if r.status != 201 && r.status != 200 {
		c.e.t.Fatalf("upload %s: %d %s", filename, r.status, r.raw)
	}
	return r.body["track"].(map[string]any)["id"].(string)
}

// nextState waits for the next published player state of a room.
func (e *env) nextState(roomID string) *musicv1.PlayerState {
	e.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case st := <-e.states:
			if st.GetRoomId() == roomID {
				return st
			}
		case <-deadline:
			e.t.Fatalf("no music state published for room %s", roomID)
		}
	}
}

// stateVersion waits for the published state of a room with version v,
// skipping older ones (the bus delivers asynchronously and in order).
func (e *env) stateVersion(roomID string, v uint64) *musicv1.PlayerState {
	e.t.Helper()
	for {
		st := e.nextState(roomID)
		if st.GetVersion() == v {
			return st
		}
		if st.GetVersion() > v {
			e.t.Fatalf("room %s: version %d published, %d skipped", roomID, st.GetVersion(), v)
		}
	}
}

// files lists every file under dir (relative paths).
func files(t testing.TB, dir string) []string {
	var out []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	return out
}

// eventually polls cond until it holds or 10 s pass (for effects of a
// request whose client already gave up, such as an interrupted upload).
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func counter(t testing.TB, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
						found = true
					}
				}
				if !found {
					continue next
				}
			}
			switch {
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				return float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return 0
}
