package voice_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"github.com/hearth-space/hearth/apps/voice"
	"github.com/hearth-space/hearth/apps/voice/client"
	"github.com/hearth-space/hearth/apps/voice/signal"
	"github.com/hearth-space/hearth/internal/auth"
	"github.com/hearth-space/hearth/internal/bus"
	"github.com/hearth-space/hearth/internal/config"
	"github.com/hearth-space/hearth/internal/obs"
	"github.com/hearth-space/hearth/internal/store"
	voicev1 "github.com/hearth-space/hearth/packages/shared/gen/go/hearth/voice/v1"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// memKeys is an in-memory auth.KeyStore.
type memKeys struct {
	mu   sync.Mutex
	keys []store.SigningKey
}

func (m *memKeys) SigningKeys(context.Context) ([]store.SigningKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]store.SigningKey(nil), m.keys...), nil
}

func (m *memKeys) AddSigningKey(_ context.Context, k store.SigningKey) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.keys = append(m.keys, k)
	return nil
}

// env is one voice service behind a real HTTP server, with token minting.
type env struct {
	t      testing.TB
	svc    *voice.Service
	srv    *httptest.Server
	tokens *auth.Tokens
	bus    bus.Bus
	reg    *prometheus.Registry
	url    string
}

type envOpt func(*voice.Options)

func newEnv(t testing.TB, opts ...envOpt) *env {
	t.Helper()
	keys, err := auth.LoadKeyring(context.Background(), &memKeys{})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, tokens: auth.NewTokens(keys, nil), bus: bus.NewMemory(), reg: prometheus.NewRegistry()}
	o := voice.Options{
		Tokens: e.tokens, Events: busAdapter{e.bus}, Registry: e.reg, Join: obs.NewJoinMetrics(e.reg),
		Config: config.Voice{
			VoiceUDPPort: 0, VoiceIPs: []string{"127.0.0.1"}, VoiceResumeGrace: 5 * time.Second,
			VoiceMediaTimeout: 30 * time.Second, VoiceTURNTTL: time.Hour,
		},
		Loopback: true, QualityInterval: 500 * time.Millisecond, SpeakerInterval: 100 * time.Millisecond,
		AuthTimeout: 5 * time.Second,
	}
	if os.Getenv("VOICE_TEST_LOG") != "" {
		o.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	for _, f := range opts {
		f(&o)
	}
	if e.svc, err = voice.New(o); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+voice.Path, e.svc)
	mux.Handle("GET "+voice.DebugPath, e.svc.DebugHandler())
	e.srv = httptest.NewServer(mux)
	e.url = "ws" + strings.TrimPrefix(e.srv.URL, "http") + voice.Path
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = e.svc.Close(ctx)
		e.srv.Close()
		_ = e.bus.Close()
	})
	return e
}

// busAdapter adapts bus.Bus's Handler type to voice.Subscriber.
type busAdapter struct{ b bus.Bus }

func (a busAdapter) Subscribe(topic string, h func(string, []byte)) func() {
	return a.b.Subscribe(topic, bus.Handler(h))
}

func (e *env) token(user, room, role string, ttl time.Duration) string {
	e.t.Helper()
	c := auth.Claims{Name: "User " + user, Room: room, Role: role}
	c.Subject = user
	tok, _, err := e.tokens.Mint(c, auth.AudienceVoice, ttl)
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// peer is a test participant: a client plus what it received.
type peer struct {
	*client.Client
	user string

	mu       sync.Mutex
	got      map[string][]uint32 // publisher -> counters received, in order
	seqs     map[string][]uint16 // publisher -> RTP sequence numbers received
	msgs     []*voicev1.ServerMessage
	notify   chan struct{}
	lostSig  chan error
	sendStop chan struct{}
	sendDone chan struct{}
}

func (e *env) join(ctx context.Context, user, room, role string, mod ...func(*client.Config)) *peer {
	e.t.Helper()
	p, err := e.tryJoin(ctx, user, room, role, mod...)
	if err != nil {
		e.t.Fatalf("%s joins: %v", user, err)
	}
	return p
}

func (e *env) tryJoin(ctx context.Context, user, room, role string, mod ...func(*client.Config)) (*peer, error) {
	p := &peer{user: user, got: map[string][]uint32{}, seqs: map[string][]uint16{}, notify: make(chan struct{}, 1), lostSig: make(chan error, 1)}
	cfg := client.Config{
		URL: e.url, Token: e.token(user, room, role, time.Minute), LoopbackOnly: true,
		OnPacket: func(pk client.Packet) {
			if len(pk.Payload) < 4 {
				return
			}
			p.mu.Lock()
			p.got[pk.From] = append(p.got[pk.From], binary.BigEndian.Uint32(pk.Payload))
			p.seqs[pk.From] = append(p.seqs[pk.From], pk.Header.SequenceNumber)
			p.mu.Unlock()
			p.poke()
		},
		OnMessage: func(m *voicev1.ServerMessage) {
			p.mu.Lock()
			p.msgs = append(p.msgs, m)
			p.mu.Unlock()
			p.poke()
		},
		OnSignallingLost: func(err error) {
			select {
			case p.lostSig <- err:
			default:
			}
		},
	}
	for _, f := range mod {
		f(&cfg)
	}
	c, err := client.Dial(ctx, cfg)
	if err != nil {
		return nil, err
	}
	p.Client = c
	e.t.Cleanup(func() { p.stopSending(); c.Close() })
	return p, nil
}

// raw is a bare signalling connection for tests of bad input.
type raw struct {
	t    testing.TB
	conn *websocket.Conn
}

func (e *env) raw(ctx context.Context) *raw {
	e.t.Helper()
	conn, resp, err := websocket.DefaultDialer.DialContext(ctx, e.url, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	_ = resp.Body.Close()
	e.t.Cleanup(func() { _ = conn.Close() })
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetReadDeadline(dl)
	}
	return &raw{t: e.t, conn: conn}
}

func (r *raw) send(m *voicev1.ClientMessage) {
	r.t.Helper()
	b, err := signal.EncodeClient(m)
	if err != nil {
		r.t.Fatal(err)
	}
	if err := r.conn.WriteMessage(websocket.BinaryMessage, b); err != nil {
		r.t.Fatal(err)
	}
}

// next reads the next server message; a close returns nil and its code.
func (r *raw) next() (*voicev1.ServerMessage, int) {
	r.t.Helper()
	_, b, err := r.conn.ReadMessage()
	if err != nil {
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return nil, ce.Code
		}
		r.t.Fatalf("read: %v", err)
	}
	m, err := signal.DecodeServer(b)
	if err != nil {
		r.t.Fatal(err)
	}
	return m, 0
}

// until reads until f matches (returning the message) or the connection
// closes (returning nil and the close code).
func (r *raw) until(f func(*voicev1.ServerMessage) bool) (*voicev1.ServerMessage, int) {
	r.t.Helper()
	for {
		m, code := r.next()
		if m == nil {
			return nil, code
		}
		if f(m) {
			return m, 0
		}
	}
}

func (r *raw) join(j *voicev1.Join) {
	r.send(&voicev1.ClientMessage{Ref: 1, Msg: &voicev1.ClientMessage_Join{Join: j}})
}

func (p *peer) poke() {
	select {
	case p.notify <- struct{}{}:
	default:
	}
}

// waitFor polls cond on every event until it holds or ctx ends.
func (p *peer) waitFor(ctx context.Context, t *testing.T, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			p.mu.Lock()
			var kinds []string
			for _, m := range p.msgs {
				k := fmt.Sprintf("%T", m.Msg)
				if er := m.GetError(); er != nil {
					k += "(" + er.Code + ": " + er.Message + ")"
				}
				kinds = append(kinds, strings.TrimPrefix(k, "*voicev1.ServerMessage_"))
			}
			p.mu.Unlock()
			t.Fatalf("%s: timed out waiting for %s (goodbye %v, tracks %v, messages %v)", p.user, what, p.Goodbye(), p.Tracks(), kinds)
		case <-p.notify:
		case <-tick.C:
		}
	}
}

func (p *peer) count(from string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.got[from])
}

// received returns copies of the counters and sequence numbers from a
// publisher.
func (p *peer) received(from string) ([]uint32, []uint16) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]uint32(nil), p.got[from]...), append([]uint16(nil), p.seqs[from]...)
}

// hasMsg reports whether a message matching f arrived.
func (p *peer) hasMsg(f func(*voicev1.ServerMessage) bool) bool { return p.findMsg(f) != nil }

func (p *peer) last(from string) uint32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	g := p.got[from]
	if len(g) == 0 {
		return 0
	}
	return g[len(g)-1]
}

// findMsg returns the last message matching f.
func (p *peer) findMsg(f func(*voicev1.ServerMessage) bool) *voicev1.ServerMessage {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := len(p.msgs) - 1; i >= 0; i-- {
		if f(p.msgs[i]) {
			return p.msgs[i]
		}
	}
	return nil
}

// startSending publishes a packet every interval: a 4-byte counter then
// filler, at a speech level (RFC 6464 -30 dBov, voice bit set).
func (p *peer) startSending(interval time.Duration) {
	p.sendStop, p.sendDone = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(p.sendDone)
		t := time.NewTicker(interval)
		defer t.Stop()
		payload := make([]byte, 60)
		var n uint32
		for {
			select {
			case <-p.sendStop:
				return
			case <-t.C:
				n++
				binary.BigEndian.PutUint32(payload, n)
				_, _ = p.Send(uint16(n), n*960, 0x80|30, payload)
			}
		}
	}()
}

func (p *peer) stopSending() {
	if p.sendStop != nil {
		select {
		case <-p.sendStop:
		default:
			close(p.sendStop)
		}
		<-p.sendDone
	}
}

func testCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// counter finds a registered metric by name (no labels).
func counter(t testing.TB, e *env, name string) prometheus.Collector {
	t.Helper()
	return collectorFunc(func(ch chan<- prometheus.Metric) {
		mfs, err := e.reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == name {
				for _, m := range mf.Metric {
					ch <- prometheus.MustNewConstMetric(prometheus.NewDesc(name, "", nil, nil), prometheus.CounterValue, m.GetCounter().GetValue())
				}
			}
		}
	})
}

type collectorFunc func(chan<- prometheus.Metric)

func (f collectorFunc) Describe(chan<- *prometheus.Desc)    {}
func (f collectorFunc) Collect(ch chan<- prometheus.Metric) { f(ch) }

// newEnvB and joinB serve benchmarks.
func newEnvB(b *testing.B) *env { return newEnv(b) }

func (e *env) joinB(ctx context.Context, b *testing.B, user string) *peer {
	p, err := e.tryJoin(ctx, user, "bench", "member")
	if err != nil {
		b.Fatal(err)
	}
	return p
}
