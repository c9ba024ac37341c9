package voice_test

import (
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/logging"
	"github.com/pion/transport/v5/vnet"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/hearth-space/hearth/apps/voice"
	"github.com/hearth-space/hearth/apps/voice/client"
	voicev1 "github.com/hearth-space/hearth/packages/shared/gen/go/hearth/voice/v1"
)

// lan is a virtual network (pion/transport vnet): the SFU and each client
// get an address on it, and a chunk filter can drop packets per host.
type lan struct {
	router *vnet.Router
	sfu    *vnet.Net

	mu    sync.Mutex
	hosts map[string]*host // by IP
	next  int
}

// host is one client's impairments: down drops everything, upLoss and
// downLoss drop that fraction of its RTP (not RTCP, STUN or DTLS), with a
// seeded generator so a run is repeatable.
type host struct {
	ip       string
	down     atomic.Bool
	upLoss   float64
	downLoss float64
	rng      *rand.Rand
}

func newLAN(t *testing.T) *lan {
	t.Helper()
	lf := logging.NewDefaultLoggerFactory()
	lf.DefaultLogLevel = logging.LogLevelDisabled
	r, err := vnet.NewRouter(&vnet.RouterConfig{CIDR: "192.0.2.0/24", LoggerFactory: lf})
	if err != nil {
		t.Fatal(err)
	}
	l := &lan{router: r, hosts: map[string]*host{}, next: 10}
	if l.sfu, err = vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{"192.0.2.1"}}); err != nil {
		t.Fatal(err)
	}
	if err := r.AddNet(l.sfu); err != nil {
		t.Fatal(err)
	}
	r.AddChunkFilter(l.filter)
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Stop() })
	return l
}

func (l *lan) addHost(t *testing.T, seed uint64) (*vnet.Net, *host) {
	t.Helper()
	l.mu.Lock()
	l.next++
	ip := net.IPv4(192, 0, 2, byte(l.next)).String()
	h := &host{ip: ip, rng: rand.New(rand.NewPCG(seed, 7))}
	l.hosts[ip] = h
	l.mu.Unlock()
	n, err := vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{ip}})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.router.AddNet(n); err != nil {
		t.Fatal(err)
	}
	return n, h
}

func isRTP(b []byte) bool {
	return len(b) >= 12 && b[0]&0xc0 == 0x80 && (b[1] < 192 || b[1] > 223)
}

func (l *lan) filter(c vnet.Chunk) bool {
	src, _, _ := net.SplitHostPort(c.SourceAddr().String())
	dst, _, _ := net.SplitHostPort(c.DestinationAddr().String())
	l.mu.Lock()
	defer l.mu.Unlock()
	if h := l.hosts[src]; h != nil {
		if h.down.Load() {
			return false
		}
		if h.upLoss > 0 && isRTP(c.UserData()) && h.rng.Float64() < h.upLoss {
			return false
		}
	}
	if h := l.hosts[dst]; h != nil {
		if h.down.Load() {
			return false
		}
		if h.downLoss > 0 && isRTP(c.UserData()) && h.rng.Float64() < h.downLoss {
			return false
		}
	}
	return true
}

func vnetEnv(t *testing.T, l *lan, opts ...envOpt) *env {
	return newEnv(t, append([]envOpt{func(o *voice.Options) {
		o.Net = l.sfu
		o.Loopback = false
		o.Config.VoiceIPs = nil
	}}, opts...)...)
}

func onLAN(n *vnet.Net) func(*client.Config) {
	return func(c *client.Config) {
		c.Net, c.LoopbackOnly = n, false
		c.DisconnectedTimeout, c.FailedTimeout, c.KeepAlive = time.Second, 3*time.Second, 200*time.Millisecond
	}
}

func lastQuality(p *peer) *voicev1.ConnectionQuality {
	return p.findMsg(func(m *voicev1.ServerMessage) bool { return m.GetQuality() != nil }).GetQuality().GetSelf()
}

// TestQoSUnderLoss injects 10% RTP loss on alice's uplink and on bob's
// downlink. The SFU must measure ~10% inbound loss from alice, and from
// bob's receiver reports ~19% outbound loss to bob (alice's upstream gaps
// reach bob too: 1 - 0.9 × 0.9), and score bob's connection poor.
func TestQoSUnderLoss(t *testing.T) {
	l := newLAN(t)
	e := vnetEnv(t, l, func(o *voice.Options) { o.QualityInterval = time.Second })
	ctx := testCtx(t, 40*time.Second)
	na, ha := l.addHost(t, 1)
	nb, hb := l.addHost(t, 2)
	a := e.join(ctx, "alice", "r", "member", onLAN(na))
	b := e.join(ctx, "bob", "r", "member", onLAN(nb))
	connectAll(ctx, t, a, b)
	b.waitFor(ctx, t, "the subscription", func() bool { return len(b.Tracks()) == 1 })

	l.mu.Lock()
	ha.upLoss, hb.downLoss = 0.10, 0.10
	l.mu.Unlock()
	const sent = 800
	a.startSending(5 * time.Millisecond)
	b.startSending(100 * time.Millisecond) // silence, as DTX sends it
	a.waitFor(ctx, t, "800 packets sent", func() bool {
		q := lastQuality(a)
		return q != nil && q.Inbound.Packets+uint64(q.Inbound.PacketsLost) >= sent
	})
	a.stopSending()
	b.waitFor(ctx, t, "bob's quality to go poor", func() bool {
		return b.hasMsg(func(m *voicev1.ServerMessage) bool {
			return m.GetQuality().GetSelf().GetQuality() == voicev1.Quality_QUALITY_POOR
		})
	})
	l.mu.Lock()
	ha.upLoss, hb.downLoss = 0, 0
	l.mu.Unlock()

	// Wait for the receiver reports that cover the end of the stream.
	recvB := func() int { return b.count("alice") }
	var final int
	b.waitFor(ctx, t, "bob's reports to settle", func() bool {
		q := lastQuality(b)
		n := recvB()
		if q == nil || q.Outbound.PacketsLost == 0 || n == 0 {
			return false
		}
		// Settled once the reported loss accounts for everything bob did
		// not get, within a couple of packets of in-flight slack.
		ns, _ := b.received("alice")
		expected := int64(ns[len(ns)-1]-ns[0]) + 1
		final = n
		return q.Outbound.PacketsLost >= expected-int64(n)-2
	})

	qa := lastQuality(a)
	inLoss := float64(qa.Inbound.PacketsLost) / float64(qa.Inbound.Packets+uint64(qa.Inbound.PacketsLost))
	t.Logf("alice uplink: injected 10%%, SFU measured %.1f%% of %d", inLoss*100, qa.Inbound.Packets+uint64(qa.Inbound.PacketsLost))
	if inLoss < 0.07 || inLoss > 0.13 {
		t.Errorf("SFU measured %.3f inbound loss from alice, injected 0.10", inLoss)
	}
	qb := lastQuality(b)
	outLoss := float64(qb.Outbound.PacketsLost) / float64(qb.Outbound.PacketsLost+int64(final))
	t.Logf("bob downlink: expected 19%% end to end, SFU measured %.1f%% (lost %d, received %d)", outLoss*100, qb.Outbound.PacketsLost, final)
	if outLoss < 0.15 || outLoss > 0.23 {
		t.Errorf("SFU measured %.3f outbound loss to bob, want 0.19", outLoss)
	}
}

// TestICERestart cuts alice's network: the SFU sees ICE disconnect, offers
// an ICE restart, and media flows again once the network is back.
func TestICERestart(t *testing.T) {
	l := newLAN(t)
	e := vnetEnv(t, l, func(o *voice.Options) {
		o.DisconnectedTimeout, o.FailedTimeout, o.KeepAlive = time.Second, 3*time.Second, 200*time.Millisecond
		o.RestartAfter = 300 * time.Millisecond
	})
	ctx := testCtx(t, 40*time.Second)
	na, ha := l.addHost(t, 1)
	nb, _ := l.addHost(t, 2)
	a := e.join(ctx, "alice", "r", "member", onLAN(na))
	b := e.join(ctx, "bob", "r", "member", onLAN(nb))
	connectAll(ctx, t, a, b)
	b.startSending(20 * time.Millisecond)
	a.waitFor(ctx, t, "bob's audio", func() bool { return a.count("bob") >= 5 })

	ha.down.Store(true)
	restarts := func() float64 { return testutil.ToFloat64(counter(t, e, "hearth_voice_ice_restarts_total")) }
	a.waitFor(ctx, t, "an ICE restart offer", func() bool { return restarts() >= 1 })
	offers := countOffers(a)
	a.waitFor(ctx, t, "the restart offer to reach alice", func() bool { return countOffers(a) >= offers })
	time.Sleep(time.Second) // stay down a while longer
	mark := a.count("bob")
	ha.down.Store(false)
	back := time.Now()
	a.waitFor(ctx, t, "bob's audio after the network returns", func() bool { return a.count("bob") >= mark+5 })
	t.Logf("media back %v after the network returned (%v restarts)", time.Since(back).Round(time.Millisecond), restarts())
}

func countOffers(p *peer) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, m := range p.msgs {
		if m.GetOffer() != nil {
			n++
		}
	}
	return n
}

// TestMediaTimeout: a network that never comes back ends the participant
// after --voice-media-timeout with close 4009, telling the client to
// rejoin from scratch; the others see it leave.
func TestMediaTimeout(t *testing.T) {
	l := newLAN(t)
	e := vnetEnv(t, l, func(o *voice.Options) {
		o.DisconnectedTimeout, o.FailedTimeout, o.KeepAlive = 500*time.Millisecond, time.Second, 100*time.Millisecond
		o.RestartAfter = 200 * time.Millisecond
		o.QualityInterval = 200 * time.Millisecond
		o.Config.VoiceMediaTimeout = 2 * time.Second
	})
	ctx := testCtx(t, 30*time.Second)
	na, ha := l.addHost(t, 1)
	nb, _ := l.addHost(t, 2)
	a := e.join(ctx, "alice", "r", "member", onLAN(na))
	b := e.join(ctx, "bob", "r", "member", onLAN(nb))
	connectAll(ctx, t, a, b)
	ha.down.Store(true)
	a.waitFor(ctx, t, "goodbye 4009", func() bool { g := a.Goodbye(); return g != nil && g.CloseCode == 4009 && !g.Final })
	b.waitFor(ctx, t, "alice timing out", func() bool {
		return b.hasMsg(func(m *voicev1.ServerMessage) bool {
			l := m.GetParticipantLeft()
			return l.GetUserId() == "alice" && l.Reason == voicev1.LeaveReason_LEAVE_REASON_TIMEOUT
		})
	})
}
