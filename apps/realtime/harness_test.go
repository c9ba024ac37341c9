package realtime_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"

	"github.com/hearth-space/hearth/apps/realtime"
	"github.com/hearth-space/hearth/internal/auth"
	"github.com/hearth-space/hearth/internal/bus"
	"github.com/hearth-space/hearth/internal/config"
	"github.com/hearth-space/hearth/internal/id"
	"github.com/hearth-space/hearth/internal/obs"
	"github.com/hearth-space/hearth/internal/store"
	"github.com/hearth-space/hearth/internal/store/storetest"
	rtv1 "github.com/hearth-space/hearth/packages/shared/gen/go/hearth/realtime/v1"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// clock is a controllable time source shared by the gateway and tokens.
type clock struct{ ns atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

type env struct {
	t      *testing.T
	gw     *realtime.Gateway
	srv    *httptest.Server
	db     *store.DB
	tokens *auth.Tokens
	clk    *clock
	bus    *bus.Memory
	reg    *prometheus.Registry
	cfg    config.Realtime
	room   store.Room
	// smallBuffers makes server sockets' send buffers tiny, so a client
	// that stops reading stalls the server's writes quickly.
	smallBuffers bool
}

func testConfig() config.Realtime {
	c := config.Defaults().Realtime
	c.ConnectRate = 0
	c.HelloTimeout = 2 * time.Second
	return c
}

func newEnv(t *testing.T, mod ...func(*env)) *env {
	t.Helper()
	e := &env{t: t, clk: &clock{}, cfg: testConfig(), reg: prometheus.NewRegistry(), bus: bus.NewMemory()}
	e.clk.ns.Store(time.Now().UnixNano())
	for _, m := range mod {
		m(e)
	}
	e.db = storetest.Open(t, store.SQLite, e.clk.Now)
	keys, err := auth.LoadKeyring(context.Background(), e.db)
	if err != nil {
		t.Fatal(err)
	}
	e.tokens = auth.NewTokens(keys, e.clk.Now)
	owner := e.user("Owner")
	e.room = e.newRoom(owner.ID, 50)
	e.gw = realtime.New(realtime.Options{
		Tokens: e.tokens, Store: e.db, Bus: e.bus, Log: obs.Discard(), Registry: e.reg,
		Join: obs.NewJoinMetrics(e.reg), Config: e.cfg, Now: e.clk.Now,
	})
	mux := http.NewServeMux()
	mux.Handle("GET /rt", e.gw)
	e.srv = httptest.NewUnstartedServer(mux)
	if e.smallBuffers {
		e.srv.Listener = smallBufListener{e.srv.Listener}
	}
	e.srv.Start()
	t.Cleanup(func() {
		e.gw.Close()
		e.srv.Close()
		_ = e.bus.Close()
	})
	return e
}

type smallBufListener struct{ net.Listener }

func (l smallBufListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(4096)
	}
	return c, err
}

func (e *env) user(name string) store.User {
	e.t.Helper()
	u := store.User{ID: id.New(), DisplayName: name, Guest: true}
	if err := e.db.CreateUser(context.Background(), &u); err != nil {
		e.t.Fatal(err)
	}
	return u
}

func (e *env) newRoom(owner string, capacity int) store.Room {
	e.t.Helper()
	r := store.Room{ID: id.New(), OwnerID: owner, Name: "Test room", Scene: "lounge", Capacity: capacity,
		Visibility: store.Public, MusicControl: "everyone"}
	if err := e.db.CreateRoom(context.Background(), &r); err != nil {
		e.t.Fatal(err)
	}
	return r
}

func (e *env) token(u store.User, roomID, aud string, ttl time.Duration) string {
	e.t.Helper()
	c := auth.Claims{Name: u.DisplayName, Guest: u.Guest, Room: roomID, Role: store.RoleMember}
	c.Subject = u.ID
	tok, _, err := e.tokens.Mint(c, aud, ttl)
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// client is a protocol-speaking test client that records everything it
// receives.
type client struct {
	t    *testing.T
	e    *env
	u    store.User
	ws   *websocket.Conn
	in   chan *rtv1.ServerMessage
	done chan struct{}
	// closeCode is the close code received (0 while open).
	closeCode atomic.Int32
	welcome   *rtv1.Welcome
	lastSeq   uint64
	mu        sync.Mutex
	seqs      []uint64
}

func (e *env) dial(u store.User, smallRcv bool) *client {
	e.t.Helper()
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	if smallRcv {
		d.NetDialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			nd := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
				return rc.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 2048) })
			}}
			return nd.DialContext(ctx, network, addr)
		}
	}
	ws, res, err := d.Dial("ws"+strings.TrimPrefix(e.srv.URL, "http")+"/rt", nil)
	if err != nil {
		e.t.Fatalf("dial: %v (%v)", err, res)
	}
	c := &client{t: e.t, e: e, u: u, ws: ws, in: make(chan *rtv1.ServerMessage, 4096), done: make(chan struct{})}
	e.t.Cleanup(c.kill)
	return c
}

// start begins reading in the background.
func (c *client) start() {
	go func() {
		defer close(c.done)
		for {
			mt, data, err := c.ws.ReadMessage()
			if err != nil {
				var ce *websocket.CloseError
				if ok := asCloseError(err, &ce); ok {
					c.closeCode.Store(int32(ce.Code))
				} else {
					c.closeCode.CompareAndSwap(0, -1)
				}
				return
			}
			if mt != websocket.BinaryMessage {
				c.t.Errorf("server sent a non-binary frame")
				continue
			}
			var m rtv1.ServerMessage
			if err := proto.Unmarshal(data, &m); err != nil {
				c.t.Errorf("undecodable server frame: %v", err)
				continue
			}
			if m.GetSeq() != 0 {
				c.mu.Lock()
				c.seqs = append(c.seqs, m.GetSeq())
				c.lastSeq = m.GetSeq()
				c.mu.Unlock()
			}
			c.in <- &m
		}
	}()
}

func asCloseError(err error, target **websocket.CloseError) bool {
	ce, ok := err.(*websocket.CloseError)
	if ok {
		*target = ce
	}
	return ok
}

func (c *client) kill() { _ = c.ws.NetConn().Close() }

func (c *client) send(m *rtv1.ClientMessage) {
	c.t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		c.t.Fatal(err)
	}
	_ = c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if err := c.ws.WriteMessage(websocket.BinaryMessage, b); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

func (c *client) seq() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastSeq
}

// hello sends a hello and waits for the welcome.
func (c *client) hello(token, resume string, lastSeq uint64) *rtv1.Welcome {
	c.t.Helper()
	c.start()
	c.send(&rtv1.ClientMessage{Msg: &rtv1.ClientMessage_Hello{Hello: &rtv1.Hello{
		Token: token, ResumeToken: resume, LastSeq: lastSeq, ProtocolVersion: 1,
		Client: &rtv1.ClientInfo{Name: "test"},
	}}})
	m := c.wait("welcome", func(m *rtv1.ServerMessage) bool { return m.GetWelcome() != nil })
	c.welcome = m.GetWelcome()
	return c.welcome
}

// join connects user u to the env's room.
func (e *env) join(u store.User) *client {
	e.t.Helper()
	c := e.dial(u, false)
	c.hello(e.token(u, e.room.ID, auth.AudienceRealtime, 10*time.Minute), "", 0)
	return c
}

const waitTimeout = 15 * time.Second

// wait returns the first received message matching pred, discarding others.
func (c *client) wait(what string, pred func(*rtv1.ServerMessage) bool) *rtv1.ServerMessage {
	c.t.Helper()
	deadline := time.After(waitTimeout)
	for {
		select {
		case m := <-c.in:
			if pred(m) {
				return m
			}
		case <-c.done:
			// Drain what arrived before the close.
			for {
				select {
				case m := <-c.in:
					if pred(m) {
						return m
					}
				default:
					c.t.Fatalf("connection closed (code %d) while waiting for %s", c.closeCode.Load(), what)
				}
			}
		case <-deadline:
			c.t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// waitClose waits for the server to close the connection and returns the
// code and the goodbye that preceded it.
func (c *client) waitClose() (int, *rtv1.Goodbye) {
	c.t.Helper()
	var bye *rtv1.Goodbye
	deadline := time.After(waitTimeout)
	for {
		select {
		case m := <-c.in:
			if g := m.GetGoodbye(); g != nil {
				bye = g
			}
		case <-c.done:
			for {
				select {
				case m := <-c.in:
					if g := m.GetGoodbye(); g != nil {
						bye = g
					}
				default:
					return int(c.closeCode.Load()), bye
				}
			}
		case <-deadline:
			c.t.Fatal("timed out waiting for the server to close")
		}
	}
}

// none asserts nothing matching pred arrives within d (for "never saw a
// leave" checks; d bounds how long we look, it is not a timing assertion).
func (c *client) none(d time.Duration, what string, pred func(*rtv1.ServerMessage) bool) {
	c.t.Helper()
	deadline := time.After(d)
	for {
		select {
		case m := <-c.in:
			if pred(m) {
				c.t.Fatalf("unexpected %s: %v", what, m)
			}
		case <-deadline:
			return
		}
	}
}

func pose(x, y, z, yaw float32, stamp uint32) *rtv1.ClientMessage {
	return &rtv1.ClientMessage{Msg: &rtv1.ClientMessage_Pose{Pose: &rtv1.PoseUpdate{X: x, Y: y, Z: z, Yaw: yaw, Anim: 1, Stamp: stamp}}}
}

func chat(text, clientID string) *rtv1.ClientMessage {
	return &rtv1.ClientMessage{Msg: &rtv1.ClientMessage_Chat{Chat: &rtv1.ChatSend{Text: text, ClientId: clientID}}}
}

func isChat(text string) func(*rtv1.ServerMessage) bool {
	return func(m *rtv1.ServerMessage) bool { return m.GetChat().GetText() == text }
}

func isMemberState(userID string, st rtv1.MemberState) func(*rtv1.ServerMessage) bool {
	return func(m *rtv1.ServerMessage) bool {
		u := m.GetMemberUpdated().GetMember()
		return u.GetUserId() == userID && u.GetState() == st
	}
}

func isLeft(userID string) func(*rtv1.ServerMessage) bool {
	return func(m *rtv1.ServerMessage) bool { return m.GetMemberLeft().GetUserId() == userID }
}

// entryFor finds userSlot's entry in a pose frame.
func entryFor(m *rtv1.ServerMessage, slot uint32) *rtv1.PoseEntry {
	for _, e := range m.GetPoses().GetEntries() {
		if e.GetSlot() == slot {
			return e
		}
	}
	return nil
}

func counter(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if v, ok := want[l.GetName()]; ok && v != l.GetValue() {
					continue next
				}
			}
			switch {
			case m.GetCounter() != nil:
				total += m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				total += m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				total += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return total
}
