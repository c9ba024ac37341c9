package server

import (
	"context"
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/hearth-space/hearth/internal/auth"
	"github.com/hearth-space/hearth/internal/errs"
	"github.com/hearth-space/hearth/internal/httpx"
	"github.com/hearth-space/hearth/internal/id"
	"github.com/hearth-space/hearth/internal/obs"
	"github.com/hearth-space/hearth/internal/store"
)

// Paths of the realtime and voice WebSockets, relative to a node's base URL.
const (
	RealtimePath = "/rt"
	VoicePath    = "/voice/ws"
)

type joinRequest struct {
	InviteCode string `json:"invite_code"`
}

type endpointJSON struct {
	URL       string `json:"url"`
	Token     string `json:"token"`
	ExpiresIn int    `json:"expires_in"`
	// ICEServers is set (possibly empty) for voice only.
	ICEServers *[]ICEServer `json:"ice_servers,omitempty"`
}

type joinResponse struct {
	Room        roomJSON     `json:"room"`
	Realtime    endpointJSON `json:"realtime"`
	Voice       endpointJSON `json:"voice"`
	Traceparent string       `json:"traceparent"`
}

// handleJoin admits the caller to a room and hands out everything the client
// needs to connect: realtime and voice URLs and tokens, ICE servers, and the
// join's traceparent, which the WebSockets' first messages carry on so the
// whole join is one trace.
func (s *Server) handleJoin(w http.ResponseWriter, r *http.Request, c *auth.Claims) {
	start := time.Now()
	ctx, span := s.tracer.Start(r.Context(), "room.join", trace.WithAttributes(attribute.String("hearth.room_id", r.PathValue("id"))))
	defer span.End()
	r = r.WithContext(ctx)

	var req joinRequest
	if r.ContentLength != 0 {
		if err := s.decode(r, &req); err != nil {
			s.failSpan(w, r, span, err)
			return
		}
	}
	room, role, err := s.admit(ctx, r.PathValue("id"), c.Subject, strings.ToUpper(strings.TrimSpace(req.InviteCode)))
	if err != nil {
		s.failSpan(w, r, span, err)
		return
	}
	if role == "" {
		role = store.RoleMember
	}
	if err := s.store.AddMember(ctx, room.ID, c.Subject); err != nil {
		s.failSpan(w, r, span, err)
		return
	}
	resp := joinResponse{Room: toRoomJSON(room, s.occupancy(ctx, []store.Room{room})[room.ID], role)}
	if err := s.mintRoomTokens(ctx, r, c, room, role, &resp.Realtime, &resp.Voice); err != nil {
		s.failSpan(w, r, span, err)
		return
	}
	resp.Traceparent = obs.Traceparent(ctx)
	s.join.Observe(ctx, obs.StageAPI, time.Since(start))
	s.log.InfoContext(ctx, "room join admitted", "role", role)
	httpx.JSON(w, http.StatusOK, resp)
}

func (s *Server) failSpan(w http.ResponseWriter, r *http.Request, span trace.Span, err error) {
	span.SetStatus(codes.Error, string(errs.CodeOf(err)))
	span.SetAttributes(attribute.String("hearth.error_code", string(errs.CodeOf(err))))
	s.fail(w, r, err)
}

// admit runs the join checks: the room exists, a private room's invite code
// (or an existing role), not banned, not full. It returns the caller's role.
func (s *Server) admit(ctx context.Context, roomID, userID, invite string) (store.Room, string, error) {
	ctx, span := s.tracer.Start(ctx, "room.admit")
	defer span.End()
	room, role, err := s.standing(ctx, roomID, userID)
	if err != nil {
		return store.Room{}, "", err
	}
	if room.Visibility == store.Private && role == "" {
		if invite == "" {
			return store.Room{}, "", errs.E(errs.InviteRequired, "this room is private; an invite code is required")
		}
		if invite != room.InviteCode {
			return store.Room{}, "", errs.E(errs.InviteRequired, "the invite code is not valid for this room")
		}
	}
	if s.presence != nil {
		occ, err := s.presence.Occupancy(ctx, []string{roomID})
		if err != nil {
			return store.Room{}, "", err
		}
		if occ[roomID] >= room.Capacity {
			// Someone already inside (a reconnect, a second tab) still gets in.
			present, err := s.presence.IsPresent(ctx, roomID, userID)
			if err != nil {
				return store.Room{}, "", err
			}
			if !present {
				return store.Room{}, "", errs.E(errs.RoomFull, "the room is full (%d of %d)", occ[roomID], room.Capacity)
			}
		}
	}
	return room, role, nil
}

// mintRoomTokens fills the realtime and voice endpoints for a room.
func (s *Server) mintRoomTokens(ctx context.Context, r *http.Request, c *auth.Claims, room store.Room, role string, rt, voice *endpointJSON) error {
	_, span := s.tracer.Start(ctx, "room.mint_tokens")
	defer span.End()
	claims := auth.Claims{Name: c.Name, Guest: c.Guest, Room: room.ID, Role: role}
	claims.Subject = c.Subject
	ttl := s.cfg.Auth.RoomTokenTTL
	rtTok, rtExp, err := s.tokens.Mint(claims, auth.AudienceRealtime, ttl)
	if err != nil {
		return err
	}
	vTok, vExp, err := s.tokens.Mint(claims, auth.AudienceVoice, ttl)
	if err != nil {
		return err
	}
	rtBase, voiceBase := "", ""
	if s.locator != nil {
		if rtBase, voiceBase, err = s.locator.Locate(ctx, room.ID); err != nil {
			return errs.Wrap(errs.Unavailable, err, "no realtime or voice node is available for this room")
		}
	}
	base := s.baseURL(r)
	if rtBase == "" {
		rtBase = base
	}
	if voiceBase == "" {
		voiceBase = base
	}
	*rt = endpointJSON{URL: wsURL(rtBase) + RealtimePath, Token: rtTok, ExpiresIn: secondsUntil(rtExp)}
	ice := []ICEServer{}
	if s.ice != nil {
		if list := s.ice.ICEServers(c.Subject); list != nil {
			ice = list
		}
	}
	*voice = endpointJSON{URL: wsURL(voiceBase) + VoicePath, Token: vTok, ExpiresIn: secondsUntil(vExp), ICEServers: &ice}
	return nil
}

func wsURL(base string) string {
	switch {
	case strings.HasPrefix(base, "https://"):
		return "wss://" + strings.TrimPrefix(base, "https://")
	case strings.HasPrefix(base, "http://"):
		return "ws://" + strings.TrimPrefix(base, "http://")
	}
	return base
}

func secondsUntil(t time.Time) int { return int(time.Until(t).Round(time.Second).Seconds()) }

type roomTokensResponse struct {
	Realtime endpointJSON `json:"realtime"`
	Voice    endpointJSON `json:"voice"`
}

// handleRoomTokens mints fresh realtime and voice tokens for a room the
// caller is allowed in (used by the in-band refresh before a realtime token
// expires, and by voice resumes).
func (s *Server) handleRoomTokens(w http.ResponseWriter, r *http.Request, c *auth.Claims) {
	rid := r.PathValue("id")
	room, role, err := s.admitExisting(r.Context(), rid, c.Subject)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var resp roomTokensResponse
	if err := s.mintRoomTokens(r.Context(), r, c, room, role, &resp.Realtime, &resp.Voice); err != nil {
		s.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, resp)
}

// admitExisting is admit for someone who has already joined: no invite or
// capacity check, but bans and deletion still apply.
func (s *Server) admitExisting(ctx context.Context, roomID, userID string) (store.Room, string, error) {
	room, role, err := s.standing(ctx, roomID, userID)
	if err != nil {
		return store.Room{}, "", err
	}
	if role == "" {
		return store.Room{}, "", errs.E(errs.Forbidden, "join the room first")
	}
	return room, role, nil
}

// standing loads a room and the user's role in it, refusing unknown rooms
// and banned users: the checks every way into a room shares.
func (s *Server) standing(ctx context.Context, roomID, userID string) (store.Room, string, error) {
	if !id.Valid(roomID) {
		return store.Room{}, "", errs.E(errs.NotFound, "room not found")
	}
	room, err := s.store.RoomByID(ctx, roomID)
	if err != nil {
		return store.Room{}, "", err
	}
	banned, err := s.store.IsBanned(ctx, roomID, userID)
	if err != nil {
		return store.Room{}, "", err
	}
	if banned {
		return store.Room{}, "", errs.E(errs.Banned, "you are banned from this room")
	}
	role, err := s.store.RoleOf(ctx, roomID, userID)
	if err != nil {
		return store.Room{}, "", err
	}
	return room, role, nil
}
