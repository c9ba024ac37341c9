// Package wsload is `hearth loadtest ws`: it signs in guests through the
// API, joins them to rooms, connects them to the realtime gateway with the
// real protocol and has them walk (poses at a set rate, each stamped with
// its send time), chat and ping like browsers do. It measures end-to-end
// fan-out latency from each pose's send to its receipt by every other
// member, delivery, disconnects and resumes, bytes per user, and the
// server's CPU and memory from its /metrics.
package wsload

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/hearth-space/hearth/internal/config"
	"github.com/hearth-space/hearth/internal/loadtest"
	rtv1 "github.com/hearth-space/hearth/packages/shared/gen/go/hearth/realtime/v1"
)

// stampUnit is the resolution of the send time carried in a pose's stamp.
const stampUnit = 10 * time.Microsecond

// Result is what a run measured.
type Result struct {
	Rooms             int                `json:"rooms"`
	UsersPerRoom      int                `json:"users_per_room"`
	Users             int                `json:"users"`
	RateHz            float64            `json:"rate_hz"`
	DurationS         float64            `json:"duration_s"`
	Idle              bool               `json:"idle"`
	PosesSent         int64              `json:"poses_sent"`
	EntriesReceived   int64              `json:"entries_received"`
	EntriesPossible   int64              `json:"entries_possible"`
	DeliveryRatio     float64            `json:"delivery_ratio"`
	LostFinalUpdates  int64              `json:"lost_final_updates"`
	LatencyP50Ms      float64            `json:"latency_p50_ms"`
	LatencyP95Ms      float64            `json:"latency_p95_ms"`
	LatencyP99Ms      float64            `json:"latency_p99_ms"`
	LatencyMaxMs      float64            `json:"latency_max_ms"`
	LatencyMeanMs     float64            `json:"latency_mean_ms"`
	ChatsSent         int64              `json:"chats_sent"`
	ChatsReceived     int64              `json:"chats_received"`
	Disconnects       int64              `json:"disconnects"`
	Resumes           int64              `json:"resumes"`
	ResumeSnapshots   int64              `json:"resume_snapshots"`
	BytesInPerUserS   float64            `json:"bytes_in_per_user_per_s"`
	BytesOutPerUserS  float64            `json:"bytes_out_per_user_per_s"`
	ServerCPUPercent  float64            `json:"server_cpu_percent_of_one_core"`
	ServerRSSBytes    float64            `json:"server_rss_bytes"`
	ServerRSSPerConn  float64            `json:"server_rss_bytes_per_connection"`
	ServerHeapPerConn float64            `json:"server_heap_bytes_per_connection"`
	ServerGoroutines  float64            `json:"server_goroutines"`
	ServerDrops       map[string]float64 `json:"server_dropped"`
	ServerDisconnects map[string]float64 `json:"server_disconnects"`
	ServerFanoutP99Ms float64            `json:"server_fanout_p99_ms,omitempty"`
	ToolCPUPercent    float64            `json:"tool_cpu_percent_of_one_core"`
}

type room struct {
	id    string
	users []*user
}

type user struct {
	r      *runner
	idx    int
	room   *room
	name   string
	access string

	rtURL, rtToken, traceparent string

	wmu       sync.Mutex // one writer at a time
	ws        *websocket.Conn
	resume    string
	slot      uint32
	lastSeq   atomic.Uint64
	connected atomic.Bool
	welcomed  chan struct{}

	// Movement.
	x, z, tx, tz float64
	lastStamp    atomic.Uint32

	// seen is the newest stamp received per sender slot (reader goroutine;
	// read after the readers stop).
	seenMu sync.Mutex
	seen   map[uint32]uint32
}

type runner struct {
	cfg  config.LoadtestWS
	out  io.Writer
	http *http.Client
	t0   time.Time

	hist     loadtest.Histogram
	interval atomic.Pointer[loadtest.Histogram] // since the last progress line

	posesSent, entriesRecv, chatsSent, chatsRecv atomic.Int64
	disconnects, resumes, snapshots              atomic.Int64
	bytesIn, bytesOut                            atomic.Int64
	measuring                                    atomic.Bool
	stopping                                     atomic.Bool
	fatal                                        chan error
}

// Run executes a load test and prints live progress and a final table to
// out.
func Run(ctx context.Context, cfg config.LoadtestWS, out io.Writer) (*Result, error) {
	if cfg.Rooms < 1 || cfg.UsersPerRoom < 1 {
		return nil, errors.New("--rooms and --users-per-room must be at least 1")
	}
	if cfg.Rate <= 0 && !cfg.Idle {
		return nil, errors.New("--rate must be positive (or use --idle)")
	}
	cfg.URL = strings.TrimRight(cfg.URL, "/")
	if cfg.MetricsURL == "" {
		cfg.MetricsURL = cfg.URL + "/metrics"
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second}
	defer tr.CloseIdleConnections()
	r := &runner{cfg: cfg, out: out, http: &http.Client{Transport: tr, Timeout: 30 * time.Second}, fatal: make(chan error, 1)}
	r.interval.Store(&loadtest.Histogram{})
	return r.run(ctx)
}

func (r *runner) logf(format string, args ...any) {
	if !r.cfg.Quiet {
		fmt.Fprintf(r.out, format+"\n", args...)
	}
}

func (r *runner) run(ctx context.Context) (*Result, error) {
	cfg := r.cfg
	total := cfg.Rooms * cfg.UsersPerRoom
	r.logf("loadtest ws: %d rooms × %d users = %d users, %.0f Hz poses, %s against %s", cfg.Rooms, cfg.UsersPerRoom, total, cfg.Rate, cfg.Duration, cfg.URL)
	r.t0 = time.Now()
	baseline, err := loadtest.ScrapeMetrics(ctx, r.http, cfg.MetricsURL)
	if err != nil {
		r.logf("warning: %v (server figures will be missing)", err)
	}

	rooms, err := r.setup(ctx)
	if err != nil {
		return nil, err
	}
	defer r.closeAll(rooms)

	// Let joins settle, then measure from a clean slate.
	time.Sleep(time.Second)
	before, err := loadtest.ScrapeMetrics(ctx, r.http, cfg.MetricsURL)
	if err != nil {
		r.logf("warning: %v (server figures will be missing)", err)
	}
	cpu0 := loadtest.CPUTime()
	start := time.Now()
	r.bytesIn.Store(0)
	r.bytesOut.Store(0)
	r.measuring.Store(true)

	sctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	if !cfg.Idle {
		for _, rm := range rooms {
			for _, u := range rm.users {
				wg.Add(1)
				go func() { defer wg.Done(); u.walk(sctx) }()
			}
		}
	}
	for _, rm := range rooms {
		for _, u := range rm.users {
			wg.Add(1)
			go func() { defer wg.Done(); u.chores(sctx) }()
		}
	}
	done := time.After(cfg.Duration)
	tick := time.NewTicker(2 * time.Second)
	var runErr error
loop:
	for {
		select {
		case <-ctx.Done():
			runErr = ctx.Err()
			break loop
		case err := <-r.fatal:
			runErr = err
			break loop
		case <-done:
			break loop
		case <-tick.C:
			r.progress(start, rooms)
		}
	}
	tick.Stop()
	stop()
	wg.Wait()
	elapsed := time.Since(start)
	r.measuring.Store(false)
	// Give the last poses time to arrive (the reduced rate is 5 Hz).
	time.Sleep(1500 * time.Millisecond)
	after, err := loadtest.ScrapeMetrics(context.Background(), r.http, cfg.MetricsURL)
	if err != nil {
		r.logf("warning: %v", err)
	}
	cpu1 := loadtest.CPUTime()
	res := r.result(rooms, elapsed, before, after, cpu1-cpu0)
	if baseline != nil && after != nil {
		users := float64(res.Users)
		res.ServerRSSPerConn = (after.Value("process_resident_memory_bytes") - baseline.Value("process_resident_memory_bytes")) / users
		live := func(s *loadtest.Scrape) float64 {
			return s.Value("go_memstats_heap_alloc_bytes") + s.Value("go_memstats_stack_inuse_bytes")
		}
		res.ServerHeapPerConn = (live(after) - live(baseline)) / users
	}
	r.print(res)
	if cfg.JSON != "" {
		b, _ := json.MarshalIndent(res, "", "  ")
		if err := writeFile(cfg.JSON, b); err != nil {
			return res, err
		}
	}
	return res, runErr
}

// setup signs users in, creates rooms, joins and connects everyone.
func (r *runner) setup(ctx context.Context) ([]*room, error) {
	cfg := r.cfg
	lim := rate.NewLimiter(rate.Limit(cfg.JoinRate), max(1, int(cfg.JoinRate/4)))
	rooms := make([]*room, cfg.Rooms)
	var all []*user
	for i := range rooms {
		rooms[i] = &room{}
		for j := range cfg.UsersPerRoom {
			u := &user{r: r, idx: len(all), room: rooms[i], name: fmt.Sprintf("load-%d-%d", i, j), welcomed: make(chan struct{}), seen: map[uint32]uint32{}}
			u.x, u.z = (rand.Float64()-0.5)*cfg.Area, (rand.Float64()-0.5)*cfg.Area
			u.tx, u.tz = u.x, u.z
			rooms[i].users = append(rooms[i].users, u)
			all = append(all, u)
		}
	}
	// Sign everyone in.
	if err := parallel(ctx, all, 16, func(u *user) error {
		if err := lim.Wait(ctx); err != nil {
			return err
		}
		var out struct {
			AccessToken string `json:"access_token"`
		}
		if err := r.post(ctx, "/api/v1/auth/guest", "", map[string]string{"display_name": u.name}, &out); err != nil {
			return fmt.Errorf("guest sign-in: %w", err)
		}
		u.access = out.AccessToken
		return nil
	}); err != nil {
		return nil, err
	}
	r.logf("  %d users signed in (%.1fs)", len(all), time.Since(r.t0).Seconds())
	// One room per owner.
	for i, rm := range rooms {
		var out struct {
			ID string `json:"id"`
		}
		body := map[string]any{"name": fmt.Sprintf("loadtest %d", i), "capacity": cfg.UsersPerRoom, "visibility": "unlisted"}
		if err := r.post(ctx, "/api/v1/rooms", rm.users[0].access, body, &out); err != nil {
			return nil, fmt.Errorf("create room (is --max-room-capacity at least %d?): %w", cfg.UsersPerRoom, err)
		}
		rm.id = out.ID
	}
	// Join and connect.
	if err := parallel(ctx, all, 16, func(u *user) error {
		if err := lim.Wait(ctx); err != nil {
			return err
		}
		var out struct {
			Realtime struct {
				URL   string `json:"url"`
				Token string `json:"token"`
			} `json:"realtime"`
			Traceparent string `json:"traceparent"`
		}
		if err := r.post(ctx, "/api/v1/rooms/"+u.room.id+"/join", u.access, nil, &out); err != nil {
			return fmt.Errorf("join: %w", err)
		}
		u.rtURL, u.rtToken, u.traceparent = out.Realtime.URL, out.Realtime.Token, out.Traceparent
		if err := u.connect(ctx, false); err != nil {
			return err
		}
		select {
		case <-u.welcomed:
			return nil
		case <-time.After(15 * time.Second):
			return errors.New("no welcome within 15 s")
		case <-ctx.Done():
			return ctx.Err()
		}
	}); err != nil {
		return nil, err
	}
	r.logf("  %d users connected (%.1fs)", len(all), time.Since(r.t0).Seconds())
	return rooms, nil
}

func parallel(ctx context.Context, users []*user, workers int, fn func(*user) error) error {
	ch := make(chan *user)
	errc := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for u := range ch {
				if err := fn(u); err != nil {
					select {
					case errc <- fmt.Errorf("%s: %w", u.name, err):
					default:
					}
				}
			}
		}()
	}
	for _, u := range users {
		select {
		case ch <- u:
		case err := <-errc:
			close(ch)
			wg.Wait()
			return err
		case <-ctx.Done():
			close(ch)
			wg.Wait()
			return ctx.Err()
		}
	}
	close(ch)
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

func (r *runner) post(ctx context.Context, path, token string, body, out any) error {
	api := loadtest.API{Base: r.cfg.URL, HTTP: r.http}
	return api.Do(ctx, http.MethodPost, path, token, body, out)
}

// connect dials the gateway and says hello (resuming when asked), then
// starts the reader.
func (u *user) connect(ctx context.Context, resume bool) error {
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second, ReadBufferSize: 4096, WriteBufferSize: 1024}
	ws, _, err := d.DialContext(ctx, u.rtURL, nil)
	if err != nil {
		return fmt.Errorf("dial %s: %w", u.rtURL, err)
	}
	h := &rtv1.Hello{Token: u.rtToken, Traceparent: u.traceparent, ProtocolVersion: 1,
		Client: &rtv1.ClientInfo{Name: "hearth-loadtest", Platform: "go"}}
	if resume {
		h.ResumeToken, h.LastSeq = u.resume, u.lastSeq.Load()
	}
	u.wmu.Lock()
	u.ws = ws
	u.wmu.Unlock()
	if err := u.send(&rtv1.ClientMessage{Msg: &rtv1.ClientMessage_Hello{Hello: h}}); err != nil {
		return err
	}
	go u.read(ws)
	return nil
}

func (u *user) send(m *rtv1.ClientMessage) error {
	b, err := proto.Marshal(m)
	if err != nil {
		return err
	}
	u.wmu.Lock()
	defer u.wmu.Unlock()
	if u.ws == nil {
		return errors.New("not connected")
	}
	_ = u.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if err := u.ws.WriteMessage(websocket.BinaryMessage, b); err != nil {
		return err
	}
	u.r.bytesOut.Add(int64(len(b)))
	return nil
}

// read consumes frames until the connection ends, then resumes unless the
// run is stopping.
func (u *user) read(ws *websocket.Conn) {
	r := u.r
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			u.connected.Store(false)
			if r.stopping.Load() {
				return
			}
			r.disconnects.Add(1)
			var ce *websocket.CloseError
			if errors.As(err, &ce) && (ce.Code == 4007 || ce.Code == 4003 || ce.Code == 4004 || ce.Code == 4006) {
				select {
				case r.fatal <- fmt.Errorf("%s closed for good: %d %s", u.name, ce.Code, ce.Text):
				default:
				}
				return
			}
			u.reconnect()
			return
		}
		r.bytesIn.Add(int64(len(data)))
		if u.onPoseFrame(data) {
			continue
		}
		var m rtv1.ServerMessage
		if err := proto.Unmarshal(data, &m); err != nil {
			continue
		}
		if s := m.GetSeq(); s != 0 {
			u.lastSeq.Store(s)
		}
		switch x := m.GetMsg().(type) {
		case *rtv1.ServerMessage_Welcome:
			u.resume, u.slot = x.Welcome.GetResumeToken(), x.Welcome.GetSlot()
			// Start walking where the server put the avatar, as a browser
			// does (before the walkers run, so no race).
			for _, m := range x.Welcome.GetRoom().GetMembers() {
				if m.GetSlot() == u.slot && !r.measuring.Load() {
					u.x, u.z = float64(m.GetPose().GetX())/1000, float64(m.GetPose().GetZ())/1000
				}
			}
			if x.Welcome.GetResume() == rtv1.ResumeResult_RESUME_RESULT_SNAPSHOT {
				r.snapshots.Add(1)
			}
			u.connected.Store(true)
			select {
			case <-u.welcomed:
			default:
				close(u.welcomed)
			}
		case *rtv1.ServerMessage_Chat:
			if r.measuring.Load() {
				r.chatsRecv.Add(1)
			}
		case *rtv1.ServerMessage_TokenExpiring:
			// Runs longer than the token's life would need the API; the
			// tool keeps runs shorter than --room-token-ttl.
		}
	}
}

func (u *user) reconnect() {
	r := u.r
	for attempt := 0; attempt < 20 && !r.stopping.Load(); attempt++ {
		time.Sleep(time.Duration(200+rand.IntN(300*(attempt+1))) * time.Millisecond)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := u.connect(ctx, true)
		cancel()
		if err == nil {
			r.resumes.Add(1)
			return
		}
	}
}

// onPoseFrame handles a pose frame without allocating: it walks the wire
// format for slots and stamps. It reports false for other messages.
func (u *user) onPoseFrame(b []byte) bool {
	num, typ, n := protowire.ConsumeTag(b)
	if n < 0 || num != 3 || typ != protowire.BytesType {
		return false
	}
	frame, m := protowire.ConsumeBytes(b[n:])
	if m < 0 {
		return false
	}
	now := time.Now()
	r := u.r
	measuring := r.measuring.Load()
	for len(frame) > 0 {
		num, typ, n := protowire.ConsumeTag(frame)
		if n < 0 {
			return true
		}
		frame = frame[n:]
		if num != 2 || typ != protowire.BytesType {
			n = protowire.ConsumeFieldValue(num, typ, frame)
			if n < 0 {
				return true
			}
			frame = frame[n:]
			continue
		}
		entry, n := protowire.ConsumeBytes(frame)
		if n < 0 {
			return true
		}
		frame = frame[n:]
		var slot, stamp uint64
		for len(entry) > 0 {
			en, et, k := protowire.ConsumeTag(entry)
			if k < 0 {
				break
			}
			entry = entry[k:]
			if et != protowire.VarintType {
				k = protowire.ConsumeFieldValue(en, et, entry)
				if k < 0 {
					break
				}
				entry = entry[k:]
				continue
			}
			v, k := protowire.ConsumeVarint(entry)
			if k < 0 {
				break
			}
			entry = entry[k:]
			switch en {
			case 1:
				slot = v
			case 7:
				stamp = v
			}
		}
		if stamp == 0 {
			continue
		}
		u.seenMu.Lock()
		if uint32(stamp) > u.seen[uint32(slot)] {
			u.seen[uint32(slot)] = uint32(stamp)
		}
		u.seenMu.Unlock()
		if measuring {
			sent := r.t0.Add(time.Duration(stamp) * stampUnit)
			lat := now.Sub(sent)
			r.hist.Record(lat)
			r.interval.Load().Record(lat)
			r.entriesRecv.Add(1)
		}
	}
	return true
}

// walk sends poses at the configured rate, heading for random waypoints.
func (u *user) walk(ctx context.Context) {
	cfg := u.r.cfg
	interval := time.Duration(float64(time.Second) / cfg.Rate)
	// A random phase, so senders are spread over the server's tick.
	select {
	case <-time.After(time.Duration(rand.Int64N(int64(interval)))):
	case <-ctx.Done():
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	step := cfg.Speed * interval.Seconds()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		dx, dz := u.tx-u.x, u.tz-u.z
		d := math.Hypot(dx, dz)
		if d < step {
			u.tx, u.tz = (rand.Float64()-0.5)*cfg.Area, (rand.Float64()-0.5)*cfg.Area
			continue
		}
		u.x += dx / d * step
		u.z += dz / d * step
		yaw := math.Atan2(dx, dz)
		stamp := uint32(time.Since(u.r.t0)/stampUnit) + 1
		if !u.connected.Load() {
			continue
		}
		if err := u.send(&rtv1.ClientMessage{Msg: &rtv1.ClientMessage_Pose{Pose: &rtv1.PoseUpdate{
			X: float32(u.x), Z: float32(u.z), Yaw: float32(yaw), Anim: 1, Stamp: stamp,
		}}}); err == nil {
			u.lastStamp.Store(stamp)
			u.r.posesSent.Add(1)
		}
	}
}

// chores does what a browser does besides walking: ping for time sync,
// acknowledge events, chat.
func (u *user) chores(ctx context.Context) {
	cfg := u.r.cfg
	ping := time.NewTicker(5 * time.Second)
	defer ping.Stop()
	var chat <-chan time.Time
	if cfg.ChatRate > 0 {
		ct := time.NewTicker(time.Duration(float64(time.Second) / cfg.ChatRate))
		defer ct.Stop()
		chat = ct.C
	}
	n := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-ping.C:
			if u.connected.Load() {
				_ = u.send(&rtv1.ClientMessage{Msg: &rtv1.ClientMessage_Ping{Ping: &rtv1.Ping{ClientTimeMs: float64(time.Now().UnixMicro()) / 1000}}})
				_ = u.send(&rtv1.ClientMessage{Msg: &rtv1.ClientMessage_Ack{Ack: &rtv1.Ack{Seq: u.lastSeq.Load()}}})
			}
		case <-chat:
			if u.connected.Load() {
				n++
				if u.send(&rtv1.ClientMessage{Msg: &rtv1.ClientMessage_Chat{Chat: &rtv1.ChatSend{
					Text: fmt.Sprintf("hello from %s #%d", u.name, n), ClientId: fmt.Sprintf("%s-%d", u.name, n),
				}}}) == nil {
					u.r.chatsSent.Add(1)
				}
			}
		}
	}
}

func (r *runner) progress(start time.Time, rooms []*room) {
	connected := 0
	for _, rm := range rooms {
		for _, u := range rm.users {
			if u.connected.Load() {
				connected++
			}
		}
	}
	iv := r.interval.Swap(&loadtest.Histogram{})
	r.logf("  t=%4.0fs connected=%d poses_sent=%d entries_recv=%d p50=%s p99=%s max=%s disconnects=%d resumes=%d",
		time.Since(start).Seconds(), connected, r.posesSent.Load(), r.entriesRecv.Load(),
		loadtest.Ms(iv.Quantile(.5)), loadtest.Ms(iv.Quantile(.99)), loadtest.Ms(iv.Max()), r.disconnects.Load(), r.resumes.Load())
}

func (r *runner) closeAll(rooms []*room) {
	r.stopping.Store(true)
	for _, rm := range rooms {
		for _, u := range rm.users {
			u.wmu.Lock()
			if u.ws != nil {
				b, _ := proto.Marshal(&rtv1.ClientMessage{Msg: &rtv1.ClientMessage_Leave{Leave: &rtv1.Leave{}}})
				_ = u.ws.SetWriteDeadline(time.Now().Add(time.Second))
				_ = u.ws.WriteMessage(websocket.BinaryMessage, b)
				_ = u.ws.Close()
			}
			u.wmu.Unlock()
		}
	}
}

func (r *runner) result(rooms []*room, elapsed time.Duration, before, after *loadtest.Scrape, toolCPU time.Duration) *Result {
	cfg := r.cfg
	users := cfg.Rooms * cfg.UsersPerRoom
	res := &Result{
		Rooms: cfg.Rooms, UsersPerRoom: cfg.UsersPerRoom, Users: users, RateHz: cfg.Rate, DurationS: elapsed.Seconds(), Idle: cfg.Idle,
		PosesSent: r.posesSent.Load(), EntriesReceived: r.entriesRecv.Load(),
		LatencyP50Ms: ms(r.hist.Quantile(.5)), LatencyP95Ms: ms(r.hist.Quantile(.95)), LatencyP99Ms: ms(r.hist.Quantile(.99)),
		LatencyMaxMs: ms(r.hist.Max()), LatencyMeanMs: ms(r.hist.Mean()),
		ChatsSent: r.chatsSent.Load(), ChatsReceived: r.chatsRecv.Load(),
		Disconnects: r.disconnects.Load(), Resumes: r.resumes.Load(), ResumeSnapshots: r.snapshots.Load(),
		BytesInPerUserS:  float64(r.bytesIn.Load()) / float64(users) / elapsed.Seconds(),
		BytesOutPerUserS: float64(r.bytesOut.Load()) / float64(users) / elapsed.Seconds(),
		ToolCPUPercent:   100 * toolCPU.Seconds() / elapsed.Seconds(),
	}
	res.EntriesPossible = res.PosesSent * int64(cfg.UsersPerRoom-1)
	if res.EntriesPossible > 0 {
		res.DeliveryRatio = float64(res.EntriesReceived) / float64(res.EntriesPossible)
	}
	// Latest wins: after the walkers stop, every member must hold every
	// other member's final pose. Anything else is a lost update.
	if !cfg.Idle {
		for _, rm := range rooms {
			for _, recv := range rm.users {
				recv.seenMu.Lock()
				for _, sender := range rm.users {
					if sender == recv || sender.lastStamp.Load() == 0 {
						continue
					}
					if recv.seen[sender.slot] != sender.lastStamp.Load() {
						res.LostFinalUpdates++
					}
				}
				recv.seenMu.Unlock()
			}
		}
	}
	if before != nil && after != nil {
		wall := after.At.Sub(before.At).Seconds()
		res.ServerCPUPercent = 100 * (after.Value("process_cpu_seconds_total") - before.Value("process_cpu_seconds_total")) / wall
		res.ServerRSSBytes = after.Value("process_resident_memory_bytes")
		res.ServerGoroutines = after.Value("go_goroutines")
		res.ServerDrops = diff(before.ByLabel("hearth_realtime_dropped_total", "reason"), after.ByLabel("hearth_realtime_dropped_total", "reason"))
		res.ServerDisconnects = diff(before.ByLabel("hearth_realtime_disconnects_total", "reason"), after.ByLabel("hearth_realtime_disconnects_total", "reason"))
	}
	return res
}

func diff(a, b map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k, v := range b {
		if d := v - a[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

func ms(d time.Duration) float64 { return math.Round(float64(d.Microseconds())/10) / 100 }

func (r *runner) print(res *Result) {
	rows := [][2]string{
		{"users", fmt.Sprintf("%d (%d rooms × %d)", res.Users, res.Rooms, res.UsersPerRoom)},
		{"measured for", fmt.Sprintf("%.1f s", res.DurationS)},
	}
	if !res.Idle {
		rows = append(rows,
			[2]string{"poses sent", fmt.Sprintf("%d (%.0f/s)", res.PosesSent, float64(res.PosesSent)/res.DurationS)},
			[2]string{"pose entries received", fmt.Sprintf("%d of %d possible (%.1f%%; the rest superseded by newer poses or sent at the reduced rate)", res.EntriesReceived, res.EntriesPossible, 100*res.DeliveryRatio)},
			[2]string{"lost final updates", fmt.Sprint(res.LostFinalUpdates)},
			[2]string{"latency p50 / p95 / p99", fmt.Sprintf("%.2f / %.2f / %.2f ms", res.LatencyP50Ms, res.LatencyP95Ms, res.LatencyP99Ms)},
			[2]string{"latency max / mean", fmt.Sprintf("%.2f / %.2f ms", res.LatencyMaxMs, res.LatencyMeanMs)},
		)
	}
	if res.ChatsSent > 0 {
		rows = append(rows, [2]string{"chats sent / received", fmt.Sprintf("%d / %d", res.ChatsSent, res.ChatsReceived)})
	}
	rows = append(rows,
		[2]string{"disconnects / resumes", fmt.Sprintf("%d / %d (%d fell back to a snapshot)", res.Disconnects, res.Resumes, res.ResumeSnapshots)},
		[2]string{"bytes per user per s", fmt.Sprintf("in %.0f, out %.0f", res.BytesInPerUserS, res.BytesOutPerUserS)},
		[2]string{"server CPU", fmt.Sprintf("%.1f%% of one core", res.ServerCPUPercent)},
		[2]string{"server RSS", fmt.Sprintf("%.1f MiB, %d goroutines", res.ServerRSSBytes/(1<<20), int(res.ServerGoroutines))},
		[2]string{"server memory per user", fmt.Sprintf("RSS %.1f KiB; Go heap objects + stacks %.1f KiB (growth since before the users connected)", res.ServerRSSPerConn/1024, res.ServerHeapPerConn/1024)},
		[2]string{"server drops", fmt.Sprint(res.ServerDrops)},
		[2]string{"server disconnects", fmt.Sprint(res.ServerDisconnects)},
		[2]string{"load tool CPU", fmt.Sprintf("%.1f%% of one core", res.ToolCPUPercent)},
	)
	loadtest.Table(r.out, "hearth loadtest ws", rows)
}

func writeFile(path string, b []byte) error {
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
