// Package server is Hearth's API service: accounts and tokens, rooms and
// room join, client configuration. It speaks JSON over HTTP, answers errors
// as RFC 9457 problem documents, and is mounted on the process's router by
// cmd/hearth.
package server

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/hearth-space/hearth/internal/auth"
	"github.com/hearth-space/hearth/internal/config"
	"github.com/hearth-space/hearth/internal/errs"
	"github.com/hearth-space/hearth/internal/httpx"
	"github.com/hearth-space/hearth/internal/obs"
	"github.com/hearth-space/hearth/internal/ratelimit"
	"github.com/hearth-space/hearth/internal/roomevents"
	"github.com/hearth-space/hearth/internal/store"
)

// Store is what the API needs from the database.
type Store interface {
	CreateUser(ctx context.Context, u *store.User) error
	UserByID(ctx context.Context, id string) (store.User, error)
	UserByUsername(ctx context.Context, username string) (store.User, error)
	UpgradeGuest(ctx context.Context, id, username, passwordHash, displayName string) (store.User, error)
	UpdateDisplayName(ctx context.Context, id, displayName string) (store.User, error)

	CreateSession(ctx context.Context, s *store.AuthSession, tokenHash string) error
	RotateRefresh(ctx context.Context, oldHash, newHash string) (store.AuthSession, error)
	RevokeSession(ctx context.Context, sessionID, reason string) error
	SessionByRefresh(ctx context.Context, tokenHash string) (string, error)
	SessionActive(ctx context.Context, sessionID string) (bool, error)

	CreateRoom(ctx context.Context, r *store.Room) error
	RoomByID(ctx context.Context, id string) (store.Room, error)
	RoomByInvite(ctx context.Context, code string) (store.Room, error)
	ListPublicRooms(ctx context.Context, after store.RoomCursor, limit int) ([]store.Room, error)
	RoomsOfUser(ctx context.Context, userID string, limit int) ([]store.Room, error)
	UpdateRoom(ctx context.Context, r *store.Room) error
	DeleteRoom(ctx context.Context, id string) error
	RoleOf(ctx context.Context, roomID, userID string) (string, error)
	AddMember(ctx context.Context, roomID, userID string) error
	SetRole(ctx context.Context, roomID, userID, role string) error
	Members(ctx context.Context, roomID string, limit int) ([]store.Member, error)
	BanUser(ctx context.Context, b *store.Ban) error
	UnbanUser(ctx context.Context, roomID, userID string) error
	IsBanned(ctx context.Context, roomID, userID string) (bool, error)
	Bans(ctx context.Context, roomID string, limit int) ([]store.Ban, error)
}

// Presence tells the API who is in which room right now; the realtime
// gateway (or its Redis registry across nodes) implements it.
type Presence interface {
	Occupancy(ctx context.Context, roomIDs []string) (map[string]int, error)
	IsPresent(ctx context.Context, roomID, userID string) (bool, error)
}

// Locator points a join at the nodes that hold a room. Single-node
// deployments leave it nil: everything is at the public URL.
type Locator interface {
	// Locate returns the base URLs (scheme://host) of the realtime and voice
	// nodes for roomID; empty strings mean "this deployment's public URL".
	Locate(ctx context.Context, roomID string) (realtimeBase, voiceBase string, err error)
}

// ICEServer is one entry of RTCPeerConnection's iceServers.
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// ICEProvider hands out ICE servers (with time-limited TURN credentials)
// for a user's voice session.
type ICEProvider interface {
	ICEServers(userID string) []ICEServer
}

// Options configure the API.
type Options struct {
	Store     Store
	Tokens    *auth.Tokens
	Keys      *auth.Keyring
	Hasher    *auth.Hasher
	Events    roomevents.Publisher
	Presence  Presence    // optional
	Locator   Locator     // optional
	ICE       ICEProvider // optional
	Log       *slog.Logger
	Registry  prometheus.Registerer
	Join      *obs.JoinMetrics
	Tracer    trace.TracerProvider // optional
	Config    config.Serve
	Now       func() time.Time // optional
	ClientCfg func() any       // optional extra client settings merged into GET /api/v1/config
}

// Server is the API service.
type Server struct {
	store    Store
	tokens   *auth.Tokens
	keys     *auth.Keyring
	hasher   *auth.Hasher
	events   roomevents.Publisher
	presence Presence
	locator  Locator
	ice      ICEProvider
	log      *slog.Logger
	tracer   trace.Tracer
	cfg      config.Serve
	proxies  []*net.IPNet
	now      func() time.Time
	metrics  *metrics
	join     *obs.JoinMetrics

	clientExtra func() any

	loginPerIP    *ratelimit.Keyed
	loginPerName  *ratelimit.Keyed
	guestPerIP    *ratelimit.Keyed
	invitePerUser *ratelimit.Keyed

	telemetry *telemetry
}

// New builds the API service.
func New(o Options) *Server {
	if o.Now == nil {
		o.Now = time.Now
	}
	tp := o.Tracer
	if tp == nil {
		tp = noop.NewTracerProvider()
	}
	proxies, _ := o.Config.ProxyNets() // validated at start-up
	a := o.Config.Auth
	return &Server{
		store: o.Store, tokens: o.Tokens, keys: o.Keys, hasher: o.Hasher, events: o.Events,
		presence: o.Presence, locator: o.Locator, ice: o.ICE, log: o.Log,
		tracer: tp.Tracer("hearth/api"), cfg: o.Config, proxies: proxies, now: o.Now,
		metrics: newMetrics(o.Registry), join: o.Join, clientExtra: o.ClientCfg,
		loginPerIP:    ratelimit.NewKeyed(a.LoginRate*5, a.LoginBurst*3, o.Now), // many users may share an IP (NAT)
		loginPerName:  ratelimit.NewKeyed(a.LoginRate, a.LoginBurst, o.Now),
		guestPerIP:    ratelimit.NewKeyed(a.GuestRate, a.GuestBurst, o.Now),
		invitePerUser: ratelimit.NewKeyed(0.2, 10, o.Now),
		telemetry:     newTelemetry(o.Registry, o.Config.Client.EnableTelemetry, o.Now),
	}
}

// Routes registers the API's endpoints on rt.
func (s *Server) Routes(rt *httpx.Router) {
	rt.HandleFunc("GET /api/v1/config", s.handleConfig)
	rt.HandleFunc("GET /api/v1/.well-known/jwks.json", s.handleJWKS)

	rt.HandleFunc("POST /api/v1/auth/register", s.handleRegister)
	rt.HandleFunc("POST /api/v1/auth/login", s.handleLogin)
	rt.HandleFunc("POST /api/v1/auth/guest", s.handleGuest)
	rt.HandleFunc("POST /api/v1/auth/refresh", s.handleRefresh)
	rt.HandleFunc("POST /api/v1/auth/logout", s.handleLogout)
	rt.HandleFunc("GET /api/v1/me", s.authed(s.handleMe))
	rt.HandleFunc("PATCH /api/v1/me", s.authed(s.handleUpdateMe))
	rt.HandleFunc("GET /api/v1/me/rooms", s.authed(s.handleMyRooms))

	rt.HandleFunc("POST /api/v1/rooms", s.authed(s.handleCreateRoom))
	rt.HandleFunc("GET /api/v1/rooms", s.authed(s.handleListRooms))
	rt.HandleFunc("GET /api/v1/rooms/{id}", s.authed(s.handleGetRoom))
	rt.HandleFunc("PATCH /api/v1/rooms/{id}", s.authed(s.handleUpdateRoom))
	rt.HandleFunc("DELETE /api/v1/rooms/{id}", s.authed(s.handleDeleteRoom))
	rt.HandleFunc("POST /api/v1/rooms/{id}/invite", s.authed(s.handleRotateInvite))
	rt.HandleFunc("GET /api/v1/invites/{code}", s.authed(s.handleGetInvite))
	rt.HandleFunc("POST /api/v1/rooms/{id}/join", s.authed(s.handleJoin))
	rt.HandleFunc("POST /api/v1/rooms/{id}/tokens", s.authed(s.handleRoomTokens))
	rt.HandleFunc("GET /api/v1/rooms/{id}/members", s.authed(s.handleListMembers))
	rt.HandleFunc("PUT /api/v1/rooms/{id}/members/{user_id}", s.authed(s.handleSetRole))
	rt.HandleFunc("GET /api/v1/rooms/{id}/bans", s.authed(s.handleListBans))
	rt.HandleFunc("PUT /api/v1/rooms/{id}/bans/{user_id}", s.authed(s.handleBan))
	rt.HandleFunc("DELETE /api/v1/rooms/{id}/bans/{user_id}", s.authed(s.handleUnban))
	rt.HandleFunc("POST /api/v1/rooms/{id}/kicks", s.authed(s.handleKick))

	rt.HandleFunc("POST /api/v1/telemetry", s.handleTelemetry)
}

// fail writes err as a problem document.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	httpx.Error(w, r, s.log, err)
}

func (s *Server) decode(r *http.Request, dst any) error {
	return httpx.DecodeJSON(r, s.cfg.MaxBodyBytes, dst)
}

// authedHandler is a handler that runs with verified access-token claims.
type authedHandler func(w http.ResponseWriter, r *http.Request, c *auth.Claims)

// authed verifies the bearer access token, checks its sign-in session has
// not been revoked, and adds user_id to the request's log fields.
func (s *Server) authed(h authedHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := s.verifyAccess(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		obs.Set(r.Context(), slog.String(obs.KeyUserID, c.Subject))
		h(w, r, c)
	}
}

// Authenticate verifies a request's bearer access token the way the API's
// own endpoints do (signature, audience, live sign-in session), for
// services mounted beside the API such as music.
func (s *Server) Authenticate(r *http.Request) (*auth.Claims, error) { return s.verifyAccess(r) }

func (s *Server) verifyAccess(r *http.Request) (*auth.Claims, error) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if h == "" {
		return nil, errs.E(errs.Unauthenticated, "sign in first: send Authorization: Bearer <access token>")
	}
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return nil, errs.E(errs.TokenInvalid, "the Authorization header must be: Bearer <access token>")
	}
	c, err := s.tokens.Verify(r.Context(), strings.TrimSpace(tok), auth.AudienceAPI)
	if err != nil {
		return nil, err
	}
	if c.SessionID == "" {
		return nil, errs.E(errs.TokenInvalid, "the token is not an access token")
	}
	active, err := s.store.SessionActive(r.Context(), c.SessionID)
	if err != nil {
		return nil, err
	}
	if !active {
		return nil, errs.E(errs.TokenInvalid, "the sign-in session has ended; sign in again")
	}
	return c, nil
}

func (s *Server) clientIP(r *http.Request) string { return httpx.ClientIP(r, s.proxies) }

// secure reports whether the client reached us over HTTPS, which decides
// the refresh cookie's Secure attribute.
func (s *Server) secure(r *http.Request) bool {
	if r.TLS != nil || strings.HasPrefix(s.cfg.PublicURL, "https://") {
		return true
	}
	return httpx.FromTrustedProxy(r, s.proxies) && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// baseURL is the scheme://host clients reach this deployment at.
func (s *Server) baseURL(r *http.Request) string {
	if s.cfg.PublicURL != "" {
		return strings.TrimRight(s.cfg.PublicURL, "/")
	}
	scheme := "http"
	if s.secure(r) {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
