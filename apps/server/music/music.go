// Package music is the API's music service: the track library (uploads
// recognised and measured by content, stored once per content hash,
// streamed through short-lived signed URLs) and each room's player (a queue
// and a playback timeline the server owns, persisted as one versioned
// document and changed by compare-and-swap so several API nodes can drive
// it, advanced at each track's end by a scheduler). Every player change is
// published on the bus topic "music" for the realtime gateway to relay.
//
// It is mounted beside apps/server by cmd/hearth and takes what it needs
// from it through small interfaces (authentication, presence).
package music

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hearth-space/hearth/internal/auth"
	"github.com/hearth-space/hearth/internal/blob"
	"github.com/hearth-space/hearth/internal/config"
	"github.com/hearth-space/hearth/internal/errs"
	"github.com/hearth-space/hearth/internal/httpx"
	"github.com/hearth-space/hearth/internal/obs"
	"github.com/hearth-space/hearth/internal/store"
)

// Topic is the bus topic player states are published on, each a
// proto.Marshal(*musicv1.PlayerState) with room_id set.
const Topic = "music"

// Store is what music needs from the database.
type Store interface {
	CreateTrack(ctx context.Context, t *store.Track) error
	TrackByID(ctx context.Context, id string) (store.Track, error)
	TrackByHash(ctx context.Context, hash string) (store.Track, error)
	TracksByIDs(ctx context.Context, ids []string) (map[string]store.Track, error)
	ListTracks(ctx context.Context, q store.TrackQuery) ([]store.Track, error)
	UpdateTrack(ctx context.Context, t *store.Track) error
	DeleteTrack(ctx context.Context, id string) error
	CountTracks(ctx context.Context) (int64, error)

	MusicPlayer(ctx context.Context, roomID string) (store.MusicPlayer, error)
	SaveMusicPlayer(ctx context.Context, p *store.MusicPlayer, prev int64) error
	DueMusicPlayers(ctx context.Context, now time.Time, limit int) ([]string, error)
	NextMusicDeadline(ctx context.Context) (time.Time, bool, error)
	MusicPlayersWithTrack(ctx context.Context, trackID string) ([]string, error)
	MusicSecret(ctx context.Context, name string, gen func() []byte) ([]byte, error)

	RoomByID(ctx context.Context, id string) (store.Room, error)
	RoleOf(ctx context.Context, roomID, userID string) (string, error)
	IsBanned(ctx context.Context, roomID, userID string) (bool, error)
	UserByID(ctx context.Context, id string) (store.User, error)
}

// Authenticator verifies a request's access token (the API server).
type Authenticator interface {
	Authenticate(r *http.Request) (*auth.Claims, error)
}

// Presence counts the members present in rooms (the realtime gateway);
// vote-skip needs a majority of them.
type Presence interface {
	Occupancy(ctx context.Context, roomIDs []string) (map[string]int, error)
}

// Publisher publishes events (the bus).
type Publisher interface {
	Publish(ctx context.Context, topic string, data []byte) error
}

// Options configure the service.
type Options struct {
	Store    Store
	Blobs    blob.Store
	Auth     Authenticator
	Presence Presence // nil until the realtime gateway provides it: vote-skip then answers 503
	Bus      Publisher
	Log      *slog.Logger
	Registry prometheus.Registerer
	Config   config.Music
	// Admins are usernames with server-wide admin rights (--admins);
	// users whose account is flagged admin have them too.
	Admins []string
	// SpoolDir holds uploads while they are validated (under the data dir).
	SpoolDir string
	// Clock replaces the time source and timers (tests).
	Clock Clock
}

// Service is the music library and the room players.
type Service struct {
	store    Store
	blobs    blob.Store
	auth     Authenticator
	presence Presence
	bus      Publisher
	log      *slog.Logger
	cfg      config.Music
	admins   map[string]bool
	spool    string
	clock    Clock
	secret   []byte
	metrics  *metrics
	wake     chan struct{}
}

// Defaults for settings left zero.
const (
	defaultMaxUpload = 50 << 20
	defaultURLTTL    = 15 * time.Minute
	defaultMaxQueue  = 200
	// pollInterval bounds how long the scheduler sleeps, so it notices
	// players another node started.
	pollInterval = 5 * time.Second
)

// New builds the service: it loads (or creates) the stream signing secret
// shared by every node and removes spool files a crash left behind.
func New(ctx context.Context, o Options) (*Service, error) {
	if o.Clock == nil {
		o.Clock = realClock{}
	}
	if o.Config.MaxUploadBytes == 0 {
		o.Config.MaxUploadBytes = defaultMaxUpload
	}
	if o.Config.StreamURLTTL == 0 {
		o.Config.StreamURLTTL = defaultURLTTL
	}
	if o.Config.MaxQueue == 0 {
		o.Config.MaxQueue = defaultMaxQueue
	}
	if o.SpoolDir == "" {
		return nil, fmt.Errorf("music: a spool directory is required")
	}
	if err := os.MkdirAll(o.SpoolDir, 0o750); err != nil {
		return nil, fmt.Errorf("music: spool dir: %w", err)
	}
	secret, err := o.Store.MusicSecret(ctx, "stream-url", func() []byte {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		return b
	})
	if err != nil {
		return nil, err
	}
	admins := map[string]bool{}
	for _, a := range o.Admins {
		if a = strings.ToLower(strings.TrimSpace(a)); a != "" {
			admins[a] = true
		}
	}
	s := &Service{
		store: o.Store, blobs: o.Blobs, auth: o.Auth, presence: o.Presence, bus: o.Bus, log: o.Log,
		cfg: o.Config, admins: admins, spool: o.SpoolDir, clock: o.Clock, secret: secret,
		wake: make(chan struct{}, 1),
	}
	s.metrics = newMetrics(o.Registry, o.Store)
	s.sweepSpool(ctx)
	return s, nil
}

// Routes registers the library and room player endpoints.
func (s *Service) Routes(rt *httpx.Router) {
	rt.HandleFunc("POST /api/v1/music/tracks", s.authed(s.handleUpload))
	rt.HandleFunc("GET /api/v1/music/tracks", s.authed(s.handleListTracks))
	rt.HandleFunc("GET /api/v1/music/tracks/{id}", s.authed(s.handleGetTrack))
	rt.HandleFunc("PATCH /api/v1/music/tracks/{id}", s.authed(s.handleUpdateTrack))
	rt.HandleFunc("DELETE /api/v1/music/tracks/{id}", s.authed(s.handleDeleteTrack))
	rt.HandleFunc("GET /api/v1/music/tracks/{id}/stream-url", s.authed(s.handleStreamURL))
	// Audio elements cannot send headers: the signed URL is the credential.
	rt.HandleFunc("GET /api/v1/music/tracks/{id}/stream", s.handleStream)

	rt.HandleFunc("GET /api/v1/rooms/{id}/music", s.authed(s.handleGetPlayer))
	rt.HandleFunc("POST /api/v1/rooms/{id}/music/queue", s.authed(s.handleEnqueue))
	rt.HandleFunc("PATCH /api/v1/rooms/{id}/music/queue/{entry_id}", s.authed(s.handleMoveEntry))
	rt.HandleFunc("DELETE /api/v1/rooms/{id}/music/queue/{entry_id}", s.authed(s.handleRemoveEntry))
	rt.HandleFunc("POST /api/v1/rooms/{id}/music/play", s.authed(s.handlePlay))
	rt.HandleFunc("POST /api/v1/rooms/{id}/music/pause", s.authed(s.handlePause))
	rt.HandleFunc("POST /api/v1/rooms/{id}/music/seek", s.authed(s.handleSeek))
	rt.HandleFunc("POST /api/v1/rooms/{id}/music/skip", s.authed(s.handleSkip))
	rt.HandleFunc("POST /api/v1/rooms/{id}/music/vote-skip", s.authed(s.handleVoteSkip))
}

type authedHandler func(w http.ResponseWriter, r *http.Request, c *auth.Claims)

func (s *Service) authed(h authedHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := s.auth.Authenticate(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		obs.Set(r.Context(), slog.String(obs.KeyUserID, c.Subject))
		h(w, r, c)
	}
}

func (s *Service) fail(w http.ResponseWriter, r *http.Request, err error) {
	httpx.Error(w, r, s.log, err)
}

// isAdmin reports whether a user has server-wide admin rights.
func (s *Service) isAdmin(ctx context.Context, userID string) (bool, error) {
	u, err := s.store.UserByID(ctx, userID)
	if errs.CodeOf(err) == errs.NotFound {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return u.Admin || (u.Username != "" && s.admins[strings.ToLower(u.Username)]), nil
}

// sweepSpool removes upload spool files older than an hour: only a crash
// mid-upload leaves them.
func (s *Service) sweepSpool(ctx context.Context) {
	entries, err := os.ReadDir(s.spool)
	if err != nil {
		return
	}
	cutoff := time.Now().Add(-time.Hour)
	for _, e := range entries {
		if info, err := e.Info(); err == nil && info.ModTime().Before(cutoff) {
			_ = os.Remove(filepath.Join(s.spool, e.Name()))
		}
	}
	if s.blobs != nil {
		if n, err := s.blobs.SweepTemp(ctx, cutoff); err != nil {
			s.log.WarnContext(ctx, "sweep temporary blobs", "err", err)
		} else if n > 0 {
			s.log.InfoContext(ctx, "removed temporary blobs left by a crash", "count", n)
		}
	}
}
