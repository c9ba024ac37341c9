package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/hearth-space/hearth/apps/realtime"
	"github.com/hearth-space/hearth/apps/server"
	"github.com/hearth-space/hearth/apps/server/music"
	"github.com/hearth-space/hearth/apps/voice"
	"github.com/hearth-space/hearth/apps/voice/turn"
	"github.com/hearth-space/hearth/apps/web"
	"github.com/hearth-space/hearth/internal/auth"
	"github.com/hearth-space/hearth/internal/blob"
	"github.com/hearth-space/hearth/internal/bus"
	"github.com/hearth-space/hearth/internal/cluster"
	"github.com/hearth-space/hearth/internal/config"
	"github.com/hearth-space/hearth/internal/httpx"
	idpkg "github.com/hearth-space/hearth/internal/id"
	"github.com/hearth-space/hearth/internal/obs"
	"github.com/hearth-space/hearth/internal/store"
	"github.com/hearth-space/hearth/internal/version"
	musicv1 "github.com/hearth-space/hearth/packages/shared/gen/go/hearth/music/v1"
)

// app is one running hearth process: its shared dependencies and the
// services it was asked to run.
type app struct {
	cfg    *config.Serve
	log    *slog.Logger
	reg    *prometheus.Registry
	tp     *sdktrace.TracerProvider
	db     *store.DB
	rdb    *redis.Client // nil without --redis-url
	bus    bus.Bus
	keys   *auth.Keyring
	tokens *auth.Tokens
	join   *obs.JoinMetrics
	router *httpx.Router
	// music is the music service when the API runs here; the realtime
	// gateway's welcome snapshot reads room players through it
	// (PlayerState), and its presence feeds vote-skip.
	music   *music.Service
	closers []func(context.Context) error // run in reverse on shutdown
	// onShutdown runs as soon as a graceful shutdown begins (before
	// in-flight requests drain): long-lived connections are told to go.
	onShutdown []func()

	shuttingDown atomic.Bool
}

// appOptions let tests adjust the process (an in-memory span exporter, a
// log sink, a cheaper password hash).
type appOptions struct {
	logOut         *os.File
	spanProcessors []sdktrace.SpanProcessor
	passwordParams *auth.PasswordParams
	now            func() time.Time
	musicClock     music.Clock
}

func runServe(ctx context.Context, cfg *config.Serve) error {
	a, err := newApp(ctx, cfg, appOptions{})
	if err != nil {
		return err
	}
	return a.serve(ctx)
}

// newApp builds every dependency and service the configuration asks for.
func newApp(ctx context.Context, cfg *config.Serve, o appOptions) (_ *app, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	out := o.logOut
	if out == nil {
		out = os.Stderr
	}
	log, err := obs.NewLogger(out, obs.LogOptions{Format: cfg.Format, Level: cfg.Level})
	if err != nil {
		return nil, err
	}
	a := &app{cfg: cfg, log: log, reg: obs.NewRegistry()}
	defer func() {
		if err != nil {
			a.close(context.Background())
		}
	}()

	if a.tp, err = obs.NewTracerProvider(ctx, "hearth", o.spanProcessors...); err != nil {
		return nil, err
	}
	a.closers = append(a.closers, a.tp.Shutdown)

	if a.db, err = store.Open(ctx, cfg.DatabaseURL, cfg.DataDir, store.Options{Now: o.now}); err != nil {
		return nil, err
	}
	a.closers = append(a.closers, func(context.Context) error { return a.db.Close() })
	applied, err := a.db.Migrate(ctx)
	if err != nil {
		return nil, err
	}
	log.InfoContext(ctx, "database ready", "dialect", string(a.db.Dialect()), "migrations_applied", len(applied))

	if cfg.RedisURL != "" {
		ropts, err := redis.ParseURL(cfg.RedisURL)
		if err != nil {
			return nil, fmt.Errorf("--redis-url: %w", err)
		}
		a.rdb = redis.NewClient(ropts)
		a.closers = append(a.closers, func(context.Context) error { return a.rdb.Close() })
		rb, err := bus.NewRedis(ctx, a.rdb)
		if err != nil {
			return nil, err
		}
		a.bus = rb
	} else {
		a.bus = bus.NewMemory()
	}
	a.closers = append(a.closers, func(context.Context) error { return a.bus.Close() })

	if a.keys, err = auth.LoadKeyring(ctx, a.db); err != nil {
		return nil, err
	}
	a.tokens = auth.NewTokens(a.keys, o.now)
	a.join = obs.NewJoinMetrics(a.reg)
	a.router = httpx.NewRouter("/api/")

	proxies, _ := cfg.ProxyNets() // validated above

	// With Redis, nodes coordinate: rooms are claimed by one realtime (and
	// voice) node, presence is shared, and joins are pointed at the holder.
	var (
		presence server.Presence
		locator  server.Locator
		reg      *cluster.Registry
		sink     realtime.PresenceSink
	)
	if a.rdb != nil {
		if reg, err = a.startCluster(ctx); err != nil {
			return nil, err
		}
		cp := cluster.NewPresence(a.rdb)
		presence, locator, sink = cp, cluster.NewLocator(a.rdb), cp
	}
	if cfg.Has(config.ServiceRealtime) {
		ro := realtime.Options{
			Tokens: a.tokens, Store: a.db, Bus: a.bus, Log: log, Registry: a.reg, Join: a.join,
			Tracer: a.tp, Config: cfg.Realtime, Proxies: proxies, Now: o.now, Presence: sink,
		}
		if reg != nil {
			ro.Cluster = reg
		}
		if cfg.Has(config.ServiceAPI) {
			ro.Music = musicStates{a} // the music service is built below, before serving starts
		}
		gw := realtime.New(ro)
		a.router.Handle("GET /rt", gw)
		a.onShutdown = append(a.onShutdown, gw.Shutdown)
		a.closers = append(a.closers, func(context.Context) error { gw.Close(); return nil })
		if presence == nil {
			presence = gw
		}
	}

	var ice server.ICEProvider
	if cfg.Has(config.ServiceVoice) {
		vo := voice.Options{
			Tokens: a.tokens, Events: busSubscriber{a.bus}, Log: log, Registry: a.reg, Join: a.join,
			Tracer: a.tp, Config: cfg.Voice,
		}
		if reg != nil {
			vo.Cluster = reg
		}
		v, err := voice.New(vo)
		if err != nil {
			return nil, err
		}
		a.closers = append(a.closers, v.Close)
		a.router.Handle("GET "+voice.Path, v)
		if cfg.Voice.VoiceQoSDebug {
			a.router.Handle("GET "+voice.DebugPath, v.DebugHandler())
		}
		ice = iceAdapter{v.ICEServers}
	} else if len(cfg.Voice.VoiceSTUNURLs)+len(cfg.Voice.VoiceTURNURLs) > 0 {
		// An API node of a split deployment hands out the same servers
		// and credentials (with the shared --voice-turn-secret).
		p, err := voice.NewICEProvider(cfg.Voice)
		if err != nil {
			return nil, err
		}
		ice = iceAdapter{p.ICEServers}
	}

	if cfg.Has(config.ServiceAPI) {
		params := auth.DefaultPasswordParams()
		if o.passwordParams != nil {
			params = *o.passwordParams
		}
		api := server.New(server.Options{
			Store: a.db, Tokens: a.tokens, Keys: a.keys, Hasher: auth.NewHasher(params), Events: a.bus,
			Presence: presence, Locator: locator, Log: log, Registry: a.reg, Join: a.join, Tracer: a.tp, Config: *cfg, Now: o.now,
			ICE: ice,
		})
		api.Routes(a.router)
		if cfg.Demo {
			if err := server.SeedDemo(ctx, a.db, cfg.Rooms.DefaultRoomCapacity); err != nil {
				return nil, err
			}
			log.InfoContext(ctx, "demo rooms ready")
		}
		a.startPruner(ctx)
		if err := a.startMusic(ctx, api, presence, o); err != nil {
			return nil, err
		}
	}
	if cfg.Has(config.ServiceWeb) {
		client, err := web.Source(cfg.Web.WebDir)
		if err != nil {
			return nil, fmt.Errorf("--web-dir: %w", err)
		}
		a.router.Handle("/", web.Handler(client))
	}
	a.router.HandleFunc("GET /healthz", a.handleHealthz)
	a.router.HandleFunc("GET /readyz", a.handleReadyz)
	a.router.Handle("GET /metrics", obs.MetricsHandler(a.reg))
	return a, nil
}

// startCluster registers this process's realtime and voice nodes in Redis.
func (a *app) startCluster(ctx context.Context) (*cluster.Registry, error) {
	id := a.cfg.NodeID
	if id == "" {
		host, _ := os.Hostname()
		id = host + "-" + strings.ToLower(idpkg.Random(3))
	}
	url := a.cfg.NodeURL
	if url == "" {
		url = a.cfg.PublicURL
	}
	url = strings.TrimRight(url, "/")
	var nodes []cluster.Node
	for _, svc := range []string{cluster.Realtime, cluster.Voice} {
		if a.cfg.Has(svc) {
			nodes = append(nodes, cluster.Node{ID: id, Service: svc, URL: url})
		}
	}
	reg, err := cluster.NewRegistry(ctx, a.rdb, a.log, nodes...)
	if err != nil {
		return nil, err
	}
	a.closers = append(a.closers, reg.Close)
	a.log.InfoContext(ctx, "cluster node registered", "node_id", id, "node_url", url)
	return reg, nil
}

// handler is the process's HTTP handler: tracing outermost, then the request
// plumbing, then the router.
func (a *app) handler() http.Handler {
	return otelhttp.NewHandler(
		httpx.Observe(a.log, httpx.NewMetrics(a.reg), a.router),
		"http",
		otelhttp.WithTracerProvider(a.tp),
		otelhttp.WithPropagators(obs.Propagator()),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
			if r.Pattern != "" {
				return r.Pattern
			}
			return r.Method
		}),
		otelhttp.WithFilter(func(r *http.Request) bool {
			return r.URL.Path != "/metrics" && r.URL.Path != "/healthz" && r.URL.Path != "/readyz"
		}),
	)
}

// serve listens until ctx ends, then shuts down gracefully: readiness goes
// false, the listener closes, in-flight requests get ShutdownTimeout to
// finish, and long-lived connections are told to reconnect elsewhere.
func (a *app) serve(ctx context.Context) error {
	ln, err := net.Listen("tcp", a.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", a.cfg.Addr, err)
	}
	return a.serveOn(ctx, ln)
}

// servePprof serves the Go profiler on its own private address.
func (a *app) servePprof() {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Addr: a.cfg.PprofAddr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("pprof server", "err", err)
		}
	}()
	a.closers = append(a.closers, srv.Shutdown)
	a.log.Info("pprof serving", "addr", a.cfg.PprofAddr)
}

func (a *app) serveOn(ctx context.Context, ln net.Listener) error {
	if a.cfg.PprofAddr != "" {
		a.servePprof()
	}
	srv := &http.Server{
		Handler:           a.handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	for _, f := range a.onShutdown {
		srv.RegisterOnShutdown(f)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	a.log.InfoContext(ctx, "hearth serving", "addr", ln.Addr().String(), "services", a.cfg.Services,
		"version", version.Version, "tracing_export", obs.TracingEnabled())

	select {
	case err := <-errc:
		a.close(context.Background())
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	a.shuttingDown.Store(true)
	a.log.Info("shutting down", "timeout", a.cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		a.log.Warn("shutdown deadline passed; closing remaining connections")
		_ = srv.Close()
	}
	<-errc
	a.close(sctx)
	a.log.Info("shutdown complete")
	return nil
}

func (a *app) close(ctx context.Context) {
	for i := len(a.closers) - 1; i >= 0; i-- {
		if err := a.closers[i](ctx); err != nil {
			a.log.Warn("close", "err", err)
		}
	}
	a.closers = nil
}

// startMusic builds the music service (blob store, library, room players),
// mounts its routes and starts the scheduler that advances players at the
// end of each track.
func (a *app) startMusic(ctx context.Context, api *server.Server, presence server.Presence, o appOptions) error {
	cfg := a.cfg.Music
	var blobs blob.Store
	if cfg.UsesS3() {
		s3, err := blob.NewS3(ctx, blob.S3Options{
			Endpoint: cfg.S3Endpoint, Bucket: cfg.S3Bucket, AccessKey: cfg.S3AccessKey, SecretKey: cfg.S3SecretKey,
			Region: cfg.S3Region, TLS: cfg.S3TLS, PathStyle: cfg.S3PathStyle, Prefix: cfg.S3Prefix,
		})
		if err != nil {
			return err
		}
		blobs = s3
	} else {
		disk, err := blob.NewDisk(cfg.BlobPath(a.cfg.DataDir))
		if err != nil {
			return err
		}
		blobs = disk
	}
	var clock music.Clock
	if o.musicClock != nil {
		clock = o.musicClock
	}
	var mp music.Presence
	if presence != nil {
		mp = presence
	}
	// Without the realtime gateway in this process (split deployments)
	// there is no presence yet: vote-skip answers 503.
	svc, err := music.New(ctx, music.Options{
		Store: a.db, Blobs: blobs, Auth: api, Presence: mp, Bus: a.bus, Log: a.log, Registry: a.reg, Config: cfg,
		Admins: a.cfg.Admins, SpoolDir: filepath.Join(a.cfg.DataDir, "tmp", "uploads"), Clock: clock,
	})
	if err != nil {
		return err
	}
	svc.Routes(a.router)
	a.music = svc
	mctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() { defer close(done); svc.Run(mctx) }()
	a.closers = append(a.closers, func(context.Context) error { cancel(); <-done; return nil })
	a.log.InfoContext(ctx, "music ready", "blobs", map[bool]string{true: "s3", false: "disk"}[cfg.UsesS3()],
		"max_upload_bytes", cfg.MaxUploadBytes)
	return nil
}

// musicStates lets the realtime gateway, built before the API, read room
// players from the music service built after it.
type musicStates struct{ a *app }

func (m musicStates) PlayerState(ctx context.Context, roomID string) (*musicv1.PlayerState, error) {
	if m.a.music == nil {
		return nil, nil
	}
	return m.a.music.PlayerState(ctx, roomID)
}

// startPruner deletes expired and revoked sign-in sessions every hour.
func (a *app) startPruner(ctx context.Context) {
	pctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(time.Hour)
		defer t.Stop()
		for {
			select {
			case <-pctx.Done():
				return
			case <-t.C:
				n, err := a.db.PruneSessions(pctx, time.Now().Add(-24*time.Hour))
				if err != nil {
					a.log.WarnContext(pctx, "prune sessions", "err", err)
				} else if n > 0 {
					a.log.InfoContext(pctx, "pruned sign-in sessions", "count", n)
				}
			}
		}
	}()
	a.closers = append(a.closers, func(context.Context) error { cancel(); <-done; return nil })
}

func (a *app) handleHealthz(w http.ResponseWriter, _ *http.Request) {
	httpx.JSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// handleReadyz reports whether this process can serve: its database and,
// when configured, Redis answer; a shutting-down process is not ready.
func (a *app) handleReadyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	checks := map[string]string{}
	ready := true
	check := func(name string, err error) {
		if err != nil {
			checks[name] = "unavailable: " + err.Error()
			ready = false
			return
		}
		checks[name] = "ok"
	}
	check("database", a.db.Ping(ctx))
	if a.rdb != nil {
		check("redis", a.rdb.Ping(ctx).Err())
	}
	if a.shuttingDown.Load() {
		checks["process"] = "shutting down"
		ready = false
	}
	status, code := "ok", http.StatusOK
	if !ready {
		status, code = "unavailable", http.StatusServiceUnavailable
	}
	httpx.JSON(w, code, map[string]any{"status": status, "checks": checks})
}

// iceAdapter turns the voice service's ICE servers into the API's join
// answer entries (apps/voice does not import apps/server).
type iceAdapter struct {
	list func(userID string) []turn.ICEServer
}

func (a iceAdapter) ICEServers(userID string) []server.ICEServer {
	src := a.list(userID)
	if src == nil {
		return nil
	}
	out := make([]server.ICEServer, len(src))
	for i, s := range src {
		out[i] = server.ICEServer{URLs: s.URLs, Username: s.Username, Credential: s.Credential}
	}
	return out
}

// busSubscriber adapts bus.Bus to voice.Subscriber.
type busSubscriber struct{ b bus.Bus }

func (s busSubscriber) Subscribe(topic string, h func(string, []byte)) func() {
	return s.b.Subscribe(topic, bus.Handler(h))
}
