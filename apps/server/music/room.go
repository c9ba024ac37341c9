package music

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hearth-space/hearth/internal/auth"
	"github.com/hearth-space/hearth/internal/errs"
	"github.com/hearth-space/hearth/internal/httpx"
	"github.com/hearth-space/hearth/internal/id"
	"github.com/hearth-space/hearth/internal/obs"
	"github.com/hearth-space/hearth/internal/store"
	musicv1 "github.com/hearth-space/hearth/packages/shared/gen/go/hearth/music/v1"
)

// Who may control a room's player (store.Room.MusicControl).
const (
	ControlOwner      = "owner"
	ControlModerators = "moderators"
	ControlEveryone   = "everyone"
)

// canControl applies the room's music_control setting to a role. Everyone
// means everyone who has joined the room.
func canControl(room store.Room, role string) bool {
	switch room.MusicControl {
	case ControlOwner:
		return role == store.RoleOwner
	case ControlModerators:
		return role == store.RoleOwner || role == store.RoleModerator
	}
	return role != ""
}

// roomAccess loads the room in the path and the caller's role. Private
// rooms are invisible to people with no role; banned users are refused.
func (s *Service) roomAccess(r *http.Request, c *auth.Claims) (store.Room, string, error) {
	ctx := r.Context()
	rid := r.PathValue("id")
	if !id.Valid(rid) {
		return store.Room{}, "", errs.E(errs.NotFound, "room not found")
	}
	obs.Set(ctx, slog.String(obs.KeyRoomID, rid))
	room, err := s.store.RoomByID(ctx, rid)
	if err != nil {
		return store.Room{}, "", err
	}
	role, err := s.store.RoleOf(ctx, rid, c.Subject)
	if err != nil {
		return store.Room{}, "", err
	}
	if room.Visibility == store.Private && role == "" {
		return store.Room{}, "", errs.E(errs.NotFound, "room not found")
	}
	banned, err := s.store.IsBanned(ctx, rid, c.Subject)
	if err != nil {
		return store.Room{}, "", err
	}
	if banned {
		return store.Room{}, "", errs.E(errs.Banned, "you are banned from this room")
	}
	return room, role, nil
}

// controlAccess is roomAccess plus the room's music_control rule.
func (s *Service) controlAccess(r *http.Request, c *auth.Claims) (store.Room, error) {
	room, role, err := s.roomAccess(r, c)
	if err != nil {
		return store.Room{}, err
	}
	if !canControl(room, role) {
		switch room.MusicControl {
		case ControlOwner:
			return store.Room{}, errs.E(errs.Forbidden, "only the room's owner controls the music here")
		case ControlModerators:
			return store.Room{}, errs.E(errs.Forbidden, "only the room's owner and moderators control the music here")
		}
		return store.Room{}, errs.E(errs.Forbidden, "join the room to control its music")
	}
	return room, nil
}

// load reads a room's player; a room that never played has version 0.
func (s *Service) load(ctx context.Context, roomID string) (int64, *doc, error) {
	p, err := s.store.MusicPlayer(ctx, roomID)
	if errs.CodeOf(err) == errs.NotFound {
		return 0, &doc{}, nil
	}
	if err != nil {
		return 0, nil, err
	}
	d, err := decodeDoc(p.State)
	if err != nil {
		return 0, nil, errs.Wrap(errs.Internal, err, "the room's player state is unreadable")
	}
	return p.Version, d, nil
}

// maxAttempts bounds compare-and-swap retries; each loses only to a
// concurrent change, so a few suffice.
const maxAttempts = 16

// mutateRoom applies fn to a room's player and saves it with
// compare-and-swap on the version: when another request or node changed
// the player meanwhile, it reloads and applies fn again. Ended tracks are
// advanced first, so fn always sees the present. A change is published on
// the bus and logged; no change saves and publishes nothing.
func (s *Service) mutateRoom(ctx context.Context, roomID, op string, fn func(d *doc, now int64) error) (*musicv1.PlayerState, error) {
	for attempt := 0; attempt < maxAttempts; attempt++ {
		version, d, err := s.load(ctx, roomID)
		if err != nil {
			return nil, err
		}
		now := s.clock.Now().UnixMilli()
		before := d.encode()
		d.advanceDue(now)
		if err := fn(d, now); err != nil {
			return nil, err
		}
		d.advanceDue(now) // a seek to the end ends the track
		after := d.encode()
		if bytes.Equal(before, after) {
			return s.snapshot(ctx, roomID, version, d, now)
		}
		p := store.MusicPlayer{RoomID: roomID, Version: version + 1, State: after}
		if e := d.endsAt(); e > 0 {
			p.EndsAt = time.UnixMilli(e)
		}
		err = s.store.SaveMusicPlayer(ctx, &p, version)
		if errs.CodeOf(err) == errs.Conflict {
			continue
		}
		if err != nil {
			return nil, err
		}
		s.metrics.ops.WithLabelValues(op).Inc()
		s.kick()
		st, err := s.snapshot(ctx, roomID, p.Version, d, now)
		if err != nil {
			return nil, err
		}
		attrs := []any{"operation", op, "version", p.Version, "paused", d.Paused, "queue_length", len(d.Queue)}
		if d.Current != nil {
			attrs = append(attrs, "track_id", d.Current.TrackID, "position_ms", d.position(now))
		}
		s.log.InfoContext(ctx, "music player changed", attrs...)
		s.publish(ctx, st)
		return st, nil
	}
	return nil, errs.E(errs.Unavailable, "the room's player is busy; try again")
}

// publish sends a state to the room through the bus. A lost publish is
// logged: the next change or a resume's snapshot brings clients up to date.
func (s *Service) publish(ctx context.Context, st *musicv1.PlayerState) {
	if s.bus == nil {
		return
	}
	b, err := proto.Marshal(st)
	if err == nil {
		err = s.bus.Publish(ctx, Topic, b)
	}
	if err != nil {
		s.log.WarnContext(ctx, "publish music state", "err", err)
	}
}

// kick wakes the scheduler to recompute its next deadline.
func (s *Service) kick() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// snapshot renders a player as the wire message: track details from the
// library, the position at now, the room's control setting and the votes
// needed given who is present.
func (s *Service) snapshot(ctx context.Context, roomID string, version int64, d *doc, now int64) (*musicv1.PlayerState, error) {
	room, err := s.store.RoomByID(ctx, roomID)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(d.Queue)+1)
	if d.Current != nil {
		ids = append(ids, d.Current.TrackID)
	}
	for _, e := range d.Queue {
		ids = append(ids, e.TrackID)
	}
	tracks, err := s.store.TracksByIDs(ctx, ids)
	if err != nil {
		return nil, err
	}
	item := func(e entry) *musicv1.QueueItem {
		t, ok := tracks[e.TrackID]
		tr := &musicv1.Track{Id: e.TrackID, DurationMs: float64(e.DurationMS)}
		if ok {
			tr.Title, tr.Artist, tr.Album, tr.ContentType = t.Title, t.Artist, t.Album, t.ContentType
		}
		return &musicv1.QueueItem{Id: e.ID, Track: tr, AddedBy: e.AddedBy, AddedAtMs: float64(e.AddedAt)}
	}
	st := &musicv1.PlayerState{
		RoomId:       roomID,
		Version:      uint64(version),
		Paused:       d.Paused,
		PositionMs:   float64(d.position(now)),
		ServerTimeMs: float64(now),
		Control:      room.MusicControl,
		SkipVotes:    uint32(len(d.Votes)),
		SkipVoterIds: append([]string(nil), d.Votes...),
	}
	if d.Current != nil {
		st.Current = item(*d.Current)
	}
	for _, e := range d.Queue {
		if _, ok := tracks[e.TrackID]; ok {
			st.Queue = append(st.Queue, item(e))
		}
	}
	if d.Current != nil && s.presence != nil {
		if occ, err := s.presence.Occupancy(ctx, []string{roomID}); err == nil {
			st.SkipVotesNeeded = uint32(votesNeeded(occ[roomID]))
		}
	}
	return st, nil
}

// PlayerState is a room's current player state, for the realtime
// gateway's welcome snapshot. A track that has ended is advanced (and the
// change published) first, so a late joiner never gets a stale track.
func (s *Service) PlayerState(ctx context.Context, roomID string) (*musicv1.PlayerState, error) {
	version, d, err := s.load(ctx, roomID)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now().UnixMilli()
	if d.Current != nil && !d.Paused && d.endsAt() <= now {
		return s.mutateRoom(obs.WithFields(ctx, slog.String(obs.KeyRoomID, roomID)), roomID, opAutoAdvance,
			func(*doc, int64) error { return nil })
	}
	return s.snapshot(ctx, roomID, version, d, now)
}

// playerJSON is the HTTP rendering of a PlayerState, plus what only this
// caller needs: whether they may control it and a stream URL for the
// current track.
type playerJSON struct {
	RoomID          string          `json:"room_id"`
	Version         uint64          `json:"version"`
	Current         *queueItemJSON  `json:"current"`
	Paused          bool            `json:"paused"`
	PositionMS      float64         `json:"position_ms"`
	ServerTimeMS    float64         `json:"server_time_ms"`
	Queue           []queueItemJSON `json:"queue"`
	Control         string          `json:"control"`
	SkipVotes       uint32          `json:"skip_votes"`
	SkipVotesNeeded uint32          `json:"skip_votes_needed"`
	SkipVoterIDs    []string        `json:"skip_voter_ids"`
	CanControl      bool            `json:"can_control"`
	Stream          *streamURLJSON  `json:"stream,omitempty"`
}

type queueItemJSON struct {
	ID        string        `json:"id"`
	Track     trackItemJSON `json:"track"`
	AddedBy   string        `json:"added_by"`
	AddedAtMS float64       `json:"added_at_ms"`
}

type trackItemJSON struct {
	ID          string  `json:"id"`
	Title       string  `json:"title"`
	Artist      string  `json:"artist"`
	Album       string  `json:"album"`
	DurationMS  float64 `json:"duration_ms"`
	ContentType string  `json:"content_type"`
}

func toItemJSON(q *musicv1.QueueItem) queueItemJSON {
	t := q.GetTrack()
	return queueItemJSON{
		ID: q.GetId(), AddedBy: q.GetAddedBy(), AddedAtMS: q.GetAddedAtMs(),
		Track: trackItemJSON{ID: t.GetId(), Title: t.GetTitle(), Artist: t.GetArtist(), Album: t.GetAlbum(),
			DurationMS: t.GetDurationMs(), ContentType: t.GetContentType()},
	}
}

func (s *Service) answer(w http.ResponseWriter, r *http.Request, c *auth.Claims, room store.Room, st *musicv1.PlayerState) {
	role, err := s.store.RoleOf(r.Context(), room.ID, c.Subject)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	j := playerJSON{
		RoomID: st.GetRoomId(), Version: st.GetVersion(), Paused: st.GetPaused(), PositionMS: st.GetPositionMs(),
		ServerTimeMS: st.GetServerTimeMs(), Queue: []queueItemJSON{}, Control: st.GetControl(),
		SkipVotes: st.GetSkipVotes(), SkipVotesNeeded: st.GetSkipVotesNeeded(), SkipVoterIDs: st.GetSkipVoterIds(),
		CanControl: canControl(room, role),
	}
	if j.SkipVoterIDs == nil {
		j.SkipVoterIDs = []string{}
	}
	if cur := st.GetCurrent(); cur != nil {
		it := toItemJSON(cur)
		j.Current = &it
		if t, err := s.store.TrackByID(r.Context(), cur.GetTrack().GetId()); err == nil {
			u, exp := s.streamURL(t, c.Subject)
			j.Stream = &streamURLJSON{URL: u, ExpiresAt: exp}
		}
	}
	for _, q := range st.GetQueue() {
		j.Queue = append(j.Queue, toItemJSON(q))
	}
	httpx.JSON(w, http.StatusOK, j)
}

func (s *Service) handleGetPlayer(w http.ResponseWriter, r *http.Request, c *auth.Claims) {
	room, _, err := s.roomAccess(r, c)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	st, err := s.PlayerState(r.Context(), room.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.answer(w, r, c, room, st)
}

// control runs one player command for a caller allowed to control it.
func (s *Service) control(w http.ResponseWriter, r *http.Request, c *auth.Claims, op string, body any,
	fn func(d *doc, now int64) error) {
	room, err := s.controlAccess(r, c)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if body != nil && r.ContentLength != 0 {
		if err := httpx.DecodeJSON(r, 64<<10, body); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	st, err := s.mutateRoom(r.Context(), room.ID, op, fn)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.answer(w, r, c, room, st)
}

type enqueueRequest struct {
	TrackID string `json:"track_id"`
}

func (s *Service) handleEnqueue(w http.ResponseWriter, r *http.Request, c *auth.Claims) {
	room, err := s.controlAccess(r, c)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var req enqueueRequest
	if err := httpx.DecodeJSON(r, 64<<10, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if !id.Valid(req.TrackID) {
		s.fail(w, r, errs.Invalid(errs.FieldError{Field: "track_id", Message: "must be a track id"}))
		return
	}
	t, err := s.store.TrackByID(r.Context(), req.TrackID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	e := entry{ID: id.New(), TrackID: t.ID, AddedBy: c.Subject, AddedAt: s.clock.Now().UnixMilli(), DurationMS: t.Duration.Milliseconds()}
	st, err := s.mutateRoom(r.Context(), room.ID, opAdd, func(d *doc, now int64) error {
		return d.add(e, now, s.cfg.MaxQueue)
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/rooms/"+room.ID+"/music/queue/"+e.ID)
	s.answer(w, r, c, room, st)
}

type moveRequest struct {
	Index *int `json:"index"`
}

func (s *Service) handleMoveEntry(w http.ResponseWriter, r *http.Request, c *auth.Claims) {
	var req moveRequest
	entryID := r.PathValue("entry_id")
	s.control(w, r, c, opReorder, &req, func(d *doc, _ int64) error {
		if req.Index == nil {
			return errs.Invalid(errs.FieldError{Field: "index", Message: "is required"})
		}
		return d.move(entryID, *req.Index)
	})
}

func (s *Service) handleRemoveEntry(w http.ResponseWriter, r *http.Request, c *auth.Claims) {
	entryID := r.PathValue("entry_id")
	s.control(w, r, c, opRemove, nil, func(d *doc, now int64) error { return d.remove(entryID, now) })
}

type entryRequest struct {
	// EntryID makes the command conditional on the playing entry (skip,
	// seek, vote-skip) or names a queued entry to jump to (play).
	EntryID string `json:"entry_id"`
}

func (s *Service) handlePlay(w http.ResponseWriter, r *http.Request, c *auth.Claims) {
	var req entryRequest
	s.control(w, r, c, opPlay, &req, func(d *doc, now int64) error { return d.play(req.EntryID, now) })
}

func (s *Service) handlePause(w http.ResponseWriter, r *http.Request, c *auth.Claims) {
	s.control(w, r, c, opPause, nil, func(d *doc, now int64) error { d.pause(now); return nil })
}

type seekRequest struct {
	EntryID    string   `json:"entry_id"`
	PositionMS *float64 `json:"position_ms"`
}

func (s *Service) handleSeek(w http.ResponseWriter, r *http.Request, c *auth.Claims) {
	var req seekRequest
	s.control(w, r, c, opSeek, &req, func(d *doc, now int64) error {
		if req.PositionMS == nil || *req.PositionMS < 0 || *req.PositionMS > 1e11 {
			return errs.Invalid(errs.FieldError{Field: "position_ms", Message: "must be a position in milliseconds"})
		}
		return d.seek(req.EntryID, int64(*req.PositionMS), now)
	})
}

func (s *Service) handleSkip(w http.ResponseWriter, r *http.Request, c *auth.Claims) {
	var req entryRequest
	s.control(w, r, c, opSkip, &req, func(d *doc, now int64) error { return d.skip(req.EntryID, now) })
}

// handleVoteSkip lets anyone who has joined the room vote to skip the
// current entry, whatever the room's music_control; it skips once a
// majority of the members present voted.
func (s *Service) handleVoteSkip(w http.ResponseWriter, r *http.Request, c *auth.Claims) {
	room, role, err := s.roomAccess(r, c)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if role == "" {
		s.fail(w, r, errs.E(errs.Forbidden, "join the room to vote"))
		return
	}
	if s.presence == nil {
		s.fail(w, r, errs.E(errs.Unavailable, "vote-skip needs the realtime gateway's presence, which this deployment does not provide"))
		return
	}
	var req entryRequest
	if r.ContentLength != 0 {
		if err := httpx.DecodeJSON(r, 64<<10, &req); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	occ, err := s.presence.Occupancy(r.Context(), []string{room.ID})
	if err != nil {
		s.fail(w, r, errs.Wrap(errs.Unavailable, err, "presence is unavailable"))
		return
	}
	needed := votesNeeded(occ[room.ID])
	var skipped bool
	st, err := s.mutateRoom(r.Context(), room.ID, opVoteSkip, func(d *doc, now int64) error {
		var err error
		skipped, err = d.voteSkip(req.EntryID, c.Subject, needed, now)
		return err
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if skipped {
		s.log.InfoContext(r.Context(), "vote-skip passed", "votes_needed", needed)
	}
	s.answer(w, r, c, room, st)
}
