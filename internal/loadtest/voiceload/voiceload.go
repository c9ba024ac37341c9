// Package voiceload is `hearth loadtest voice`: a soak and load tool that
// fills rooms with real Pion voice clients (apps/voice/client) speaking the
// real signalling protocol against a running Hearth server. Speakers
// publish Opus-shaped RTP at 50 packets/s, everyone else is silent as DTX
// makes them (a small packet every 400 ms); each payload carries its send
// time and sequence, so per-subscriber loss, jitter and one-way latency
// through the SFU are exact. Optional churn makes participants leave and
// rejoin, or drop their signalling and resume. It scrapes the server's
// /metrics for the SFU's CPU, memory, bandwidth, forward delay and join
// latency, prints live progress and a final table, and can write JSON.
package voiceload

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hearth-space/hearth/apps/voice/client"
	"github.com/hearth-space/hearth/internal/config"
	"github.com/hearth-space/hearth/internal/loadtest"
)

// Tool is one load run.
type Tool struct {
	cfg      config.LoadtestVoice
	out      io.Writer
	api      *api
	hc       *http.Client
	t0       time.Time
	loopback bool

	rooms []*room
	parts []*participant

	lat   histogram
	epoch atomic.Uint32 // 1 during the measured window

	sent, received            atomic.Uint64
	rejoins, resumes, lostSig atomic.Uint64
	failures                  atomic.Uint64
	stopping                  atomic.Bool

	joinMu  sync.Mutex
	joinLat []float64 // seconds, client side: dial to ICE connected

	bg sync.WaitGroup
}

type room struct {
	id    string
	parts []*participant
}

type participant struct {
	tool    *Tool
	room    *room
	slot    uint32
	speaker bool
	g       guest

	mu      sync.Mutex
	c       *client.Client
	gen     uint32
	subGen  atomic.Uint32 // gen, readable by the receive path without mu
	busy    bool          // leaving, rejoining or resuming
	planned bool          // the current signalling loss is the tool's doing

	seq     uint32 // sender goroutine only
	phase   uint32 // ms offset of its packets, random per participant
	payload []byte

	smu     sync.Mutex
	streams map[streamKey]*stream
}

// streamKey names one publisher generation as received by one
// subscriber generation: a rejoin on either side starts new streams, so
// the time a participant was away never counts as loss.
type streamKey struct {
	epoch, subGen, slot, gen uint32
}

// Run runs the tool until the measured window ends or ctx is cancelled.
func Run(ctx context.Context, cfg config.LoadtestVoice, out io.Writer) (*Report, error) {
	if cfg.Participants < 2 || cfg.Rooms < 1 {
		return nil, errors.New("want at least 1 room of 2 participants")
	}
	if cfg.Speakers > cfg.Participants || cfg.Speakers < 0 {
		return nil, errors.New("--speakers must be between 0 and --participants")
	}
	if cfg.PayloadBytes < headerBytes {
		cfg.PayloadBytes = headerBytes
	}
	u, err := url.Parse(strings.TrimRight(cfg.URL, "/"))
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("--url %q: want http://host:port", cfg.URL)
	}
	hc := &http.Client{Timeout: 30 * time.Second}
	t := &Tool{cfg: cfg, out: out, hc: hc, api: &api{loadtest.API{Base: u.String(), HTTP: hc}}, t0: time.Now(), loopback: isLoopback(u.Hostname())}
	defer t.closeAll()

	fmt.Fprintf(out, "voice load: %d room(s) × %d participants (%d speaking), window %s, churn %s, target %s\n",
		cfg.Rooms, cfg.Participants, cfg.Speakers, cfg.Duration, cfg.Churn, u)
	if _, err := scrape(ctx, hc, t.api.Base); err != nil {
		return nil, err
	}
	if err := t.setup(ctx); err != nil {
		return nil, err
	}
	if err := t.connectAll(ctx); err != nil {
		return nil, err
	}
	sendCtx, stopSend := context.WithCancel(ctx)
	t.bg.Add(1)
	go func() { defer t.bg.Done(); t.sender(sendCtx) }()
	defer func() { stopSend() }()

	fmt.Fprintf(out, "all %d connected; warming up %s\n", len(t.parts), cfg.Warmup)
	if !sleep(ctx, cfg.Warmup) {
		return nil, ctx.Err()
	}

	// The measured window.
	s0, err := scrape(ctx, hc, t.api.Base)
	if err != nil {
		return nil, err
	}
	ru0 := rusage()
	lat0 := t.lat.snapshot()
	sent0, recv0 := t.sent.Load(), t.received.Load()
	t.epoch.Store(1)
	start := time.Now()
	churnCtx, stopChurn := context.WithCancel(ctx)
	if cfg.Churn > 0 {
		for _, r := range t.rooms {
			t.bg.Add(1)
			go func() { defer t.bg.Done(); t.churn(churnCtx, r) }()
		}
	}
	t.progress(ctx, start, s0)
	stopChurn()
	t.epoch.Store(2) // packets from here on are not measured
	end := time.Now()
	s1, err := scrape(context.WithoutCancel(ctx), hc, t.api.Base)
	if err != nil {
		return nil, err
	}
	ru1 := rusage()
	lat1 := t.lat.snapshot()
	rep := t.report(start, end, s0, s1, ru0, ru1, lat0, lat1, t.sent.Load()-sent0, t.received.Load()-recv0)
	t.stopping.Store(true)
	stopSend()
	t.bg.Wait()
	rep.Print(out)
	if cfg.JSON != "" {
		if err := rep.WriteJSON(cfg.JSON); err != nil {
			return rep, err
		}
		fmt.Fprintf(out, "wrote %s\n", cfg.JSON)
	}
	return rep, ctx.Err()
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

// setup creates the guests and rooms.
func (t *Tool) setup(ctx context.Context) error {
	run := fmt.Sprintf("%x", time.Now().Unix()&0xfffff)
	var slot uint32
	for ri := 0; ri < t.cfg.Rooms; ri++ {
		r := &room{}
		for pi := 0; pi < t.cfg.Participants; pi++ {
			g, err := t.api.guest(ctx, fmt.Sprintf("load %s r%d p%d", run, ri, pi))
			if err != nil {
				return fmt.Errorf("guest: %w", err)
			}
			p := &participant{tool: t, room: r, slot: slot, speaker: pi < t.cfg.Speakers, g: g, phase: rand.Uint32N(400),
				payload: make([]byte, t.cfg.PayloadBytes), streams: map[streamKey]*stream{}}
			slot++
			r.parts = append(r.parts, p)
			t.parts = append(t.parts, p)
		}
		id, err := t.api.createRoom(ctx, r.parts[0].g, fmt.Sprintf("voice load %s #%d", run, ri), t.cfg.Participants)
		if err != nil {
			return fmt.Errorf("room: %w", err)
		}
		r.id = id
		t.rooms = append(t.rooms, r)
		fmt.Fprintf(t.out, "room %d/%d ready (%s)\n", ri+1, t.cfg.Rooms, id)
	}
	return nil
}

// connectAll starts every participant, a ramp apart, and waits for all.
func (t *Tool) connectAll(ctx context.Context) error {
	errc := make(chan error, len(t.parts))
	var wg sync.WaitGroup
	for i, p := range t.parts {
		if i > 0 && !sleep(ctx, t.cfg.Ramp) {
			return ctx.Err()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.connect(ctx, true); err != nil {
				errc <- fmt.Errorf("participant %d: %w", p.slot, err)
			}
		}()
	}
	wg.Wait()
	close(errc)
	return <-errc
}

func (p *participant) connect(ctx context.Context, first bool) error {
	t := p.tool
	ep, tp, err := t.api.join(ctx, p.g, p.room.id, first)
	if err != nil {
		t.failures.Add(1)
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, t.cfg.Timeout)
	defer cancel()
	p.mu.Lock()
	p.gen++
	gen := p.gen
	p.subGen.Store(gen)
	p.mu.Unlock()
	began := time.Now()
	c, err := client.Dial(cctx, client.Config{
		URL: ep.URL, Token: ep.Token, RoomID: p.room.id, Traceparent: tp, LoopbackOnly: t.loopback,
		// A starved load process must not lose packets in its own sockets
		// and blame the SFU: 1 MiB holds seconds of a 40-person room.
		ReadBuffer:       1 << 20,
		OnPacket:         p.onPacket,
		OnSignallingLost: func(error) { p.onLost(gen) },
	})
	if err != nil {
		t.failures.Add(1)
		return err
	}
	if err := c.WaitConnected(cctx); err != nil {
		t.failures.Add(1)
		c.Close()
		return err
	}
	t.joinMu.Lock()
	t.joinLat = append(t.joinLat, time.Since(began).Seconds())
	t.joinMu.Unlock()
	p.mu.Lock()
	p.c = c
	p.seq = 0
	p.mu.Unlock()
	return nil
}

func (p *participant) onPacket(pk client.Packet) {
	t := p.tool
	sent, slot, gen, seq, ok := readHeader(pk.Payload)
	if !ok {
		return
	}
	t.received.Add(1)
	ep := t.epoch.Load()
	if ep != 1 {
		return
	}
	oneWay := pk.Arrival.Sub(t.t0) - sent
	t.lat.observe(oneWay)
	k := streamKey{epoch: ep, subGen: p.subGen.Load(), slot: slot, gen: gen}
	p.smu.Lock()
	s := p.streams[k]
	if s == nil {
		s = &stream{}
		p.streams[k] = s
	}
	p.smu.Unlock()
	s.add(seq, oneWay.Seconds())
}

// onLost resumes a session whose signalling dropped without the tool's
// doing (a planned drop resumes itself).
func (p *participant) onLost(gen uint32) {
	t := p.tool
	p.mu.Lock()
	if p.gen != gen || p.planned || p.busy || p.c == nil || t.stopping.Load() {
		p.mu.Unlock()
		return
	}
	p.busy = true
	c := p.c
	p.mu.Unlock()
	t.lostSig.Add(1)
	t.bg.Add(1)
	go func() {
		defer t.bg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), t.cfg.Timeout)
		defer cancel()
		if err := c.Resume(ctx); err != nil {
			t.failures.Add(1)
		} else {
			t.resumes.Add(1)
		}
		p.mu.Lock()
		p.busy = false
		p.mu.Unlock()
	}()
}

// sender publishes every 20 ms for speakers and every 400 ms for the
// silent, from one goroutine to keep the tool cheap. Each participant has
// its own phase (as independent clients do): if they all sent on the same
// tick, the SFU would see every fan-out at once.
func (t *Tool) sender(ctx context.Context) {
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	var ms uint32
	begin := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		// A starved process catches up on the packets it owes, as a
		// real client's encoder would, rather than silently sending fewer.
		due := uint32(time.Since(begin) / time.Millisecond)
		for ms < due {
			ms++
			t.sendTick(ms)
		}
	}
}

func (t *Tool) sendTick(ms uint32) {
	var now time.Duration
	for _, p := range t.parts {
		period := uint32(20)
		if !p.speaker {
			period = 400
		}
		if (ms+p.phase)%period != 0 {
			continue
		}
		p.mu.Lock()
		c, gen := p.c, p.gen
		if c == nil || p.busy {
			p.mu.Unlock()
			continue
		}
		p.seq++
		seq := p.seq
		p.mu.Unlock()
		size, level := len(p.payload), 0x80|30 // speech at -30 dBov
		if !p.speaker {
			size, level = headerBytes, 127 // DTX comfort noise: tiny, silent
		}
		if now == 0 {
			now = time.Since(t.t0)
		}
		putHeader(p.payload, now, p.slot, gen, seq)
		if ok, _ := c.Send(uint16(seq), (ms+p.phase)/20*960, level, p.payload[:size]); ok {
			t.sent.Add(1)
		}
	}
}

// churn makes one participant of r leave and rejoin, or drop its
// signalling and resume, about every --churn.
func (t *Tool) churn(ctx context.Context, r *room) {
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(len(r.id))))
	for i := 0; ; i++ {
		wait := time.Duration(float64(t.cfg.Churn) * (0.5 + rng.Float64()))
		if !sleep(ctx, wait) {
			return
		}
		p := r.parts[rng.IntN(len(r.parts))]
		p.mu.Lock()
		if p.busy || p.c == nil {
			p.mu.Unlock()
			continue
		}
		p.busy = true
		c := p.c
		p.mu.Unlock()
		t.bg.Add(1)
		go func(resume bool) {
			defer t.bg.Done()
			defer func() {
				p.mu.Lock()
				p.busy, p.planned = false, false
				p.mu.Unlock()
			}()
			cctx, cancel := context.WithTimeout(context.Background(), t.cfg.Timeout)
			defer cancel()
			if resume {
				p.mu.Lock()
				p.planned = true
				p.mu.Unlock()
				if err := c.Resume(cctx); err != nil {
					t.failures.Add(1)
					return
				}
				t.resumes.Add(1)
				return
			}
			c.Leave()
			p.mu.Lock()
			p.c = nil
			p.mu.Unlock()
			sleep(cctx, time.Second)
			if err := p.connect(cctx, false); err != nil {
				return
			}
			t.rejoins.Add(1)
		}(i%2 == 1)
	}
}

// progress prints a line every --interval until the window ends.
func (t *Tool) progress(ctx context.Context, start time.Time, s0 sample) {
	tick := time.NewTicker(t.cfg.Interval)
	defer tick.Stop()
	end := time.After(t.cfg.Duration)
	prev, prevRecv, prevLat := s0, t.received.Load(), t.lat.snapshot()
	fmt.Fprintf(t.out, "%8s %9s %10s %10s %9s %9s %10s %8s\n", "elapsed", "connected", "recv pps", "sfu out/s", "p99 ms", "sfu cpu", "µs/pkt", "rss MiB")
	for {
		select {
		case <-ctx.Done():
			return
		case <-end:
			return
		case <-tick.C:
		}
		s, err := scrape(ctx, t.hc, t.api.Base)
		if err != nil {
			fmt.Fprintf(t.out, "scrape: %v\n", err)
			continue
		}
		recv, lat := t.received.Load(), t.lat.snapshot()
		dt := s.at.Sub(prev.at).Seconds()
		dOut := s.packetsOut - prev.packetsOut
		us := 0.0
		if dOut > 0 {
			us = (s.cpuSeconds - prev.cpuSeconds) / dOut * 1e6
		}
		connected := 0
		for _, p := range t.parts {
			p.mu.Lock()
			if p.c != nil && !p.busy {
				connected++
			}
			p.mu.Unlock()
		}
		fmt.Fprintf(t.out, "%8s %9d %10.0f %10.0f %9.2f %9.2f %10.2f %8.0f\n",
			time.Since(start).Round(time.Second), connected, float64(recv-prevRecv)/dt, dOut/dt,
			float64(quantile(prevLat, lat, 0.99).Microseconds())/1000, (s.cpuSeconds-prev.cpuSeconds)/dt, us, s.rssBytes/(1<<20))
		prev, prevRecv, prevLat = s, recv, lat
	}
}

func (t *Tool) closeAll() {
	t.stopping.Store(true)
	var wg sync.WaitGroup
	for _, p := range t.parts {
		p.mu.Lock()
		c := p.c
		p.c = nil
		p.mu.Unlock()
		if c != nil {
			wg.Add(1)
			go func() { defer wg.Done(); c.Leave() }()
		}
	}
	wg.Wait()
	t.bg.Wait()
}

// rusage is the tool's own CPU time.
func rusage() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
