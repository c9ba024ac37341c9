package server

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hearth-space/hearth/internal/auth"
	"github.com/hearth-space/hearth/internal/errs"
	"github.com/hearth-space/hearth/internal/httpx"
	"github.com/hearth-space/hearth/internal/id"
	"github.com/hearth-space/hearth/internal/obs"
	"github.com/hearth-space/hearth/internal/roomevents"
	"github.com/hearth-space/hearth/internal/store"
)

// Scenes a room can use; the web client ships one world per scene.
func Scenes() []string { return []string{"lounge", "plaza"} }

// Who may control a room's music player.
const (
	MusicControlOwner      = "owner"
	MusicControlModerators = "moderators"
	MusicControlEveryone   = "everyone"
)

func musicControls() []string {
	return []string{MusicControlOwner, MusicControlModerators, MusicControlEveryone}
}

const inviteCodeLen = 8

type roomSettingsJSON struct {
	MusicControl string `json:"music_control"`
}

// roomJSON is a room as clients see it. The invite code is shown to the
// owner and moderators only.
type roomJSON struct {
	ID          string           `json:"id"`
	Name        string           `json:"name"`
	Description string           `json:"description"`
	Scene       string           `json:"scene"`
	Capacity    int              `json:"capacity"`
	Visibility  string           `json:"visibility"`
	OwnerID     string           `json:"owner_id"`
	Occupancy   int              `json:"occupancy"`
	InviteCode  string           `json:"invite_code,omitempty"`
	Settings    roomSettingsJSON `json:"settings"`
	MyRole      string           `json:"my_role,omitempty"`
	CreatedAt   time.Time        `json:"created_at"`
	UpdatedAt   time.Time        `json:"updated_at"`
}

func toRoomJSON(r store.Room, occupancy int, myRole string) roomJSON {
	j := roomJSON{
		ID: r.ID, Name: r.Name, Description: r.Description, Scene: r.Scene, Capacity: r.Capacity,
		Visibility: r.Visibility, OwnerID: r.OwnerID, Occupancy: occupancy,
		Settings: roomSettingsJSON{MusicControl: r.MusicControl}, MyRole: myRole,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
	if canModerate(myRole) {
		j.InviteCode = r.InviteCode
	}
	return j
}

func canModerate(role string) bool { return role == store.RoleOwner || role == store.RoleModerator }

// rank orders roles so moderation only ever points down.
func rank(role string) int {
	switch role {
	case store.RoleOwner:
		return 3
	case store.RoleModerator:
		return 2
	case store.RoleMember:
		return 1
	}
	return 0
}

type createRoomRequest struct {
	Name         string `json:"name"`
	Description  string `json:"description"`
	Scene        string `json:"scene"`
	Capacity     *int   `json:"capacity"`
	Visibility   string `json:"visibility"`
	MusicControl string `json:"music_control"`
}

func (s *Server) handleCreateRoom(w http.ResponseWriter, r *http.Request, c *auth.Claims) {
	var req createRoomRequest
	if err := s.decode(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	room := store.Room{
		ID: id.New(), OwnerID: c.Subject, Name: cleanText(req.Name), Description: cleanMultiline(req.Description),
		Scene: req.Scene, Capacity: s.cfg.Rooms.DefaultRoomCapacity, Visibility: req.Visibility,
		MusicControl: req.MusicControl,
	}
	if room.Scene == "" {
		room.Scene = Scenes()[0]
	}
	if room.Visibility == "" {
		room.Visibility = store.Public
	}
	if room.MusicControl == "" {
		room.MusicControl = MusicControlEveryone
	}
	if req.Capacity != nil {
		room.Capacity = *req.Capacity
	}
	if err := s.checkRoom(&room); err != nil {
		s.fail(w, r, err)
		return
	}
	if room.Visibility == store.Private {
		room.InviteCode = id.Code(inviteCodeLen)
	}
	if err := s.store.CreateRoom(r.Context(), &room); err != nil {
		s.fail(w, r, err)
		return
	}
	obs.Set(r.Context(), slog.String(obs.KeyRoomID, room.ID))
	s.log.InfoContext(r.Context(), "room created", "visibility", room.Visibility, "scene", room.Scene)
	w.Header().Set("Location", "/api/v1/rooms/"+room.ID)
	httpx.JSON(w, http.StatusCreated, toRoomJSON(room, 0, store.RoleOwner))
}

// checkRoom validates a room's editable fields after cleaning.
func (s *Server) checkRoom(room *store.Room) error {
	var f fieldErrors
	checkLen(&f, "name", room.Name, 1, roomNameMax)
	checkLen(&f, "description", room.Description, 0, roomDescMax)
	if !slices.Contains(Scenes(), room.Scene) {
		f.Add("scene", "must be one of "+strings.Join(Scenes(), ", "))
	}
	if room.Capacity < 1 || room.Capacity > s.cfg.Rooms.MaxRoomCapacity {
		f.Add("capacity", fmt.Sprintf("must be between 1 and %d", s.cfg.Rooms.MaxRoomCapacity))
	}
	if !slices.Contains([]string{store.Public, store.Unlisted, store.Private}, room.Visibility) {
		f.Add("visibility", "must be public, unlisted or private")
	}
	if !slices.Contains(musicControls(), room.MusicControl) {
		f.Add("music_control", "must be one of "+strings.Join(musicControls(), ", "))
	}
	return f.Err()
}

type listRoomsResponse struct {
	Rooms      []roomJSON `json:"rooms"`
	NextCursor string     `json:"next_cursor,omitempty"`
}

// handleListRooms lists public rooms, newest first, with live occupancy.
func (s *Server) handleListRooms(w http.ResponseWriter, r *http.Request, c *auth.Claims) {
	q := r.URL.Query()
	var f fieldErrors
	limit := 20
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			f.Add("limit", "must be a number from 1 to 100")
		}
		limit = n
	}
	var after store.RoomCursor
	if v := q.Get("cursor"); v != "" {
		var ok bool
		if after, ok = decodeCursor(v); !ok {
			f.Add("cursor", "is not a cursor from a previous page")
		}
	}
	if err := f.Err(); err != nil {
		s.fail(w, r, err)
		return
	}
	rooms, err := s.store.ListPublicRooms(r.Context(), after, limit+1)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	resp := listRoomsResponse{Rooms: []roomJSON{}}
	if len(rooms) > limit {
		last := rooms[limit-1]
		resp.NextCursor = encodeCursor(store.RoomCursor{CreatedAt: last.CreatedAt, ID: last.ID})
		rooms = rooms[:limit]
	}
	occ := s.occupancy(r.Context(), rooms)
	for _, room := range rooms {
		role := ""
		if room.OwnerID == c.Subject {
			role = store.RoleOwner
		}
		resp.Rooms = append(resp.Rooms, toRoomJSON(room, occ[room.ID], role))
	}
	httpx.JSON(w, http.StatusOK, resp)
}

// handleMyRooms lists the rooms the caller owns or has joined, private ones
// included.
func (s *Server) handleMyRooms(w http.ResponseWriter, r *http.Request, c *auth.Claims) {
	rooms, err := s.store.RoomsOfUser(r.Context(), c.Subject, 100)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	occ := s.occupancy(r.Context(), rooms)
	resp := listRoomsResponse{Rooms: []roomJSON{}}
	for _, room := range rooms {
		role, err := s.store.RoleOf(r.Context(), room.ID, c.Subject)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		resp.Rooms = append(resp.Rooms, toRoomJSON(room, occ[room.ID], role))
	}
	httpx.JSON(w, http.StatusOK, resp)
}

func (s *Server) occupancy(ctx context.Context, rooms []store.Room) map[string]int {
	if s.presence == nil || len(rooms) == 0 {
		return map[string]int{}
	}
	ids := make([]string, len(rooms))
	for i, r := range rooms {
		ids[i] = r.ID
	}
	occ, err := s.presence.Occupancy(ctx, ids)
	if err != nil {
		// The listing is still useful without live counts.
		s.log.WarnContext(ctx, "occupancy unavailable", "err", err)
		return map[string]int{}
	}
	return occ
}

func encodeCursor(c store.RoomCursor) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.CreatedAt.UnixMilli(), 10) + ":" + c.ID))
}

func decodeCursor(s string) (store.RoomCursor, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return store.RoomCursor{}, false
	}
	msStr, rid, ok := strings.Cut(string(b), ":")
	ms, err := strconv.ParseInt(msStr, 10, 64)
	if !ok || err != nil || !id.Valid(rid) {
		return store.RoomCursor{}, false
	}
	return store.RoomCursor{CreatedAt: time.UnixMilli(ms), ID: rid}, true
}

// loadRoom fetches the room named in the path and the caller's role in it.
// Private rooms are invisible (404) to people with no role in them.
func (s *Server) loadRoom(r *http.Request, c *auth.Claims) (store.Room, string, error) {
	rid := r.PathValue("id")
	if !id.Valid(rid) {
		return store.Room{}, "", errs.E(errs.NotFound, "room not found")
	}
	obs.Set(r.Context(), slog.String(obs.KeyRoomID, rid))
	room, err := s.store.RoomByID(r.Context(), rid)
	if err != nil {
		return store.Room{}, "", err
	}
	role, err := s.store.RoleOf(r.Context(), rid, c.Subject)
	if err != nil {
		return store.Room{}, "", err
	}
	if room.Visibility == store.Private && role == "" {
		return store.Room{}, "", errs.E(errs.NotFound, "room not found")
	}
	return room, role, nil
}

func (s *Server) handleGetRoom(w http.ResponseWriter, r *http.Request, c *auth.Claims) {
	room, role, err := s.loadRoom(r, c)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, toRoomJSON(room, s.occupancy(r.Context(), []store.Room{room})[room.ID], role))
}

type updateRoomRequest struct {
	Name         *string `json:"name"`
	Description  *string `json:"description"`
	Scene        *string `json:"scene"`
	Capacity     *int    `json:"capacity"`
	Visibility   *string `json:"visibility"`
	MusicControl *string `json:"music_control"`
}

// handleUpdateRoom applies a partial update (owner and moderators).
func (s *Server) handleUpdateRoom(w http.ResponseWriter, r *http.Request, c *auth.Claims) {
	room, role, err := s.loadRoom(r, c)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !canModerate(role) {
		s.fail(w, r, errs.E(errs.Forbidden, "only the owner and moderators may edit this room"))
		return
	}
	var req updateRoomRequest
	if err := s.decode(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if req.Name != nil {
		room.Name = cleanText(*req.Name)
	}
	if req.Description != nil {
		room.Description = cleanMultiline(*req.Description)
	}
	if req.Scene != nil {
		room.Scene = *req.Scene
	}
	if req.Capacity != nil {
		room.Capacity = *req.Capacity
	}
	if req.Visibility != nil {
		room.Visibility = *req.Visibility
	}
	if req.MusicControl != nil {
		room.MusicControl = *req.MusicControl
	}
	if err := s.checkRoom(&room); err != nil {
		s.fail(w, r, err)
		return
	}
	switch {
	case room.Visibility == store.Private && room.InviteCode == "":
		room.InviteCode = id.Code(inviteCodeLen)
	case room.Visibility != store.Private:
		room.InviteCode = ""
	}
	if err := s.store.UpdateRoom(r.Context(), &room); err != nil {
		s.fail(w, r, err)
		return
	}
	s.publish(r.Context(), roomevents.Event{Type: roomevents.RoomUpdated, RoomID: room.ID, By: c.Subject})
	httpx.JSON(w, http.StatusOK, toRoomJSON(room, s.occupancy(r.Context(), []store.Room{room})[room.ID], role))
}

// handleDeleteRoom deletes a room (owner only); everyone in it is told.
func (s *Server) handleDeleteRoom(w http.ResponseWriter, r *http.Request, c *auth.Claims) {
	room, role, err := s.loadRoom(r, c)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if role != store.RoleOwner {
		s.fail(w, r, errs.E(errs.Forbidden, "only the owner may delete this room"))
		return
	}
	if err := s.store.DeleteRoom(r.Context(), room.ID); err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "room deleted")
	s.publish(r.Context(), roomevents.Event{Type: roomevents.RoomDeleted, RoomID: room.ID, By: c.Subject})
	w.WriteHeader(http.StatusNoContent)
}

// handleRotateInvite issues a new invite code; the old one stops working.
func (s *Server) handleRotateInvite(w http.ResponseWriter, r *http.Request, c *auth.Claims) {
	room, role, err := s.loadRoom(r, c)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !canModerate(role) {
		s.fail(w, r, errs.E(errs.Forbidden, "only the owner and moderators may manage invites"))
		return
	}
	if room.Visibility != store.Private {
		s.fail(w, r, errs.Invalid(errs.FieldError{Field: "visibility", Message: "only private rooms have invite codes"}))
		return
	}
	room.InviteCode = id.Code(inviteCodeLen)
	if err := s.store.UpdateRoom(r.Context(), &room); err != nil {
		s.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, toRoomJSON(room, s.occupancy(r.Context(), []store.Room{room})[room.ID], role))
}

// handleGetInvite previews the room behind an invite code, so the lobby can
// show what the user is about to join.
func (s *Server) handleGetInvite(w http.ResponseWriter, r *http.Request, c *auth.Claims) {
	if ok, wait := s.invitePerUser.Allow(c.Subject); !ok {
		s.fail(w, r, errs.Limited(wait))
		return
	}
	code := strings.ToUpper(strings.TrimSpace(r.PathValue("code")))
	if len(code) != inviteCodeLen {
		s.fail(w, r, errs.E(errs.NotFound, "invite not found"))
		return
	}
	room, err := s.store.RoomByInvite(r.Context(), code)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	role, err := s.store.RoleOf(r.Context(), room.ID, c.Subject)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, toRoomJSON(room, s.occupancy(r.Context(), []store.Room{room})[room.ID], role))
}

type memberJSON struct {
	UserID      string    `json:"user_id"`
	DisplayName string    `json:"display_name"`
	Guest       bool      `json:"guest"`
	Role        string    `json:"role"`
	JoinedAt    time.Time `json:"joined_at"`
}

func (s *Server) handleListMembers(w http.ResponseWriter, r *http.Request, c *auth.Claims) {
	room, _, err := s.loadRoom(r, c)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	members, err := s.store.Members(r.Context(), room.ID, 500)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]memberJSON, 0, len(members))
	for _, m := range members {
		out = append(out, memberJSON{UserID: m.UserID, DisplayName: m.DisplayName, Guest: m.Guest, Role: m.Role, JoinedAt: m.JoinedAt})
	}
	httpx.JSON(w, http.StatusOK, map[string]any{"owner_id": room.OwnerID, "members": out})
}

type setRoleRequest struct {
	Role string `json:"role"`
}

// handleSetRole makes a user a moderator or a plain member (owner only).
func (s *Server) handleSetRole(w http.ResponseWriter, r *http.Request, c *auth.Claims) {
	room, role, err := s.loadRoom(r, c)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if role != store.RoleOwner {
		s.fail(w, r, errs.E(errs.Forbidden, "only the owner may change roles"))
		return
	}
	var req setRoleRequest
	if err := s.decode(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if req.Role != store.RoleModerator && req.Role != store.RoleMember {
		s.fail(w, r, errs.Invalid(errs.FieldError{Field: "role", Message: "must be moderator or member"}))
		return
	}
	target, err := s.targetUser(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if target.ID == room.OwnerID {
		s.fail(w, r, errs.E(errs.Forbidden, "the owner's role cannot change"))
		return
	}
	if err := s.store.SetRole(r.Context(), room.ID, target.ID, req.Role); err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "role changed", "target_user_id", target.ID, "role", req.Role)
	s.publish(r.Context(), roomevents.Event{Type: roomevents.RoleChanged, RoomID: room.ID, UserID: target.ID, Role: req.Role, By: c.Subject})
	httpx.JSON(w, http.StatusOK, memberJSON{UserID: target.ID, DisplayName: target.DisplayName, Guest: target.Guest, Role: req.Role, JoinedAt: s.now().UTC()})
}

func (s *Server) targetUser(r *http.Request) (store.User, error) {
	uid := r.PathValue("user_id")
	if !id.Valid(uid) {
		return store.User{}, errs.E(errs.NotFound, "user not found")
	}
	return s.store.UserByID(r.Context(), uid)
}

type banJSON struct {
	UserID      string    `json:"user_id"`
	DisplayName string    `json:"display_name"`
	Reason      string    `json:"reason"`
	BannedBy    string    `json:"banned_by"`
	CreatedAt   time.Time `json:"created_at"`
}

func (s *Server) handleListBans(w http.ResponseWriter, r *http.Request, c *auth.Claims) {
	room, role, err := s.loadRoom(r, c)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !canModerate(role) {
		s.fail(w, r, errs.E(errs.Forbidden, "only the owner and moderators may see bans"))
		return
	}
	bans, err := s.store.Bans(r.Context(), room.ID, 500)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]banJSON, 0, len(bans))
	for _, b := range bans {
		out = append(out, banJSON{UserID: b.UserID, DisplayName: b.DisplayName, Reason: b.Reason, BannedBy: b.BannedBy, CreatedAt: b.CreatedAt})
	}
	httpx.JSON(w, http.StatusOK, map[string]any{"bans": out})
}

type moderationRequest struct {
	UserID string `json:"user_id"`
	Reason string `json:"reason"`
}

// moderate checks that the caller may act on the target: moderators act on
// members, the owner on everyone else, nobody on themselves.
func (s *Server) moderate(r *http.Request, c *auth.Claims, room store.Room, callerRole, targetID string) (store.User, error) {
	if !canModerate(callerRole) {
		return store.User{}, errs.E(errs.Forbidden, "only the owner and moderators may do this")
	}
	if !id.Valid(targetID) {
		return store.User{}, errs.E(errs.NotFound, "user not found")
	}
	target, err := s.store.UserByID(r.Context(), targetID)
	if err != nil {
		return store.User{}, err
	}
	if target.ID == c.Subject {
		return store.User{}, errs.E(errs.Forbidden, "you cannot do this to yourself")
	}
	targetRole, err := s.store.RoleOf(r.Context(), room.ID, target.ID)
	if err != nil {
		return store.User{}, err
	}
	if rank(targetRole) >= rank(callerRole) {
		return store.User{}, errs.E(errs.Forbidden, "you cannot moderate someone of equal or higher role")
	}
	return target, nil
}

// handleBan bans a user; if present, they are disconnected.
func (s *Server) handleBan(w http.ResponseWriter, r *http.Request, c *auth.Claims) {
	room, role, err := s.loadRoom(r, c)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var req moderationRequest
	if r.ContentLength != 0 {
		if err := s.decode(r, &req); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	reason := cleanText(req.Reason)
	var f fieldErrors
	checkLen(&f, "reason", reason, 0, banReasonMax)
	if req.UserID != "" && req.UserID != r.PathValue("user_id") {
		f.Add("user_id", "must match the user in the path (or be omitted)")
	}
	if err := f.Err(); err != nil {
		s.fail(w, r, err)
		return
	}
	target, err := s.moderate(r, c, room, role, r.PathValue("user_id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	b := store.Ban{RoomID: room.ID, UserID: target.ID, Reason: reason, BannedBy: c.Subject}
	if err := s.store.BanUser(r.Context(), &b); err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "user banned", "target_user_id", target.ID)
	s.publish(r.Context(), roomevents.Event{Type: roomevents.UserBanned, RoomID: room.ID, UserID: target.ID, Reason: reason, By: c.Subject})
	httpx.JSON(w, http.StatusOK, banJSON{UserID: target.ID, DisplayName: target.DisplayName, Reason: reason, BannedBy: c.Subject, CreatedAt: b.CreatedAt})
}

func (s *Server) handleUnban(w http.ResponseWriter, r *http.Request, c *auth.Claims) {
	room, role, err := s.loadRoom(r, c)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !canModerate(role) {
		s.fail(w, r, errs.E(errs.Forbidden, "only the owner and moderators may lift bans"))
		return
	}
	uid := r.PathValue("user_id")
	if !id.Valid(uid) {
		s.fail(w, r, errs.E(errs.NotFound, "that user is not banned"))
		return
	}
	if err := s.store.UnbanUser(r.Context(), room.ID, uid); err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "user unbanned", "target_user_id", uid)
	w.WriteHeader(http.StatusNoContent)
}

// handleKick disconnects a user from the room without banning them.
func (s *Server) handleKick(w http.ResponseWriter, r *http.Request, c *auth.Claims) {
	room, role, err := s.loadRoom(r, c)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var req moderationRequest
	if err := s.decode(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	reason := cleanText(req.Reason)
	var f fieldErrors
	if req.UserID == "" {
		f.Add("user_id", "is required")
	}
	checkLen(&f, "reason", reason, 0, banReasonMax)
	if err := f.Err(); err != nil {
		s.fail(w, r, err)
		return
	}
	target, err := s.moderate(r, c, room, role, req.UserID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "user kicked", "target_user_id", target.ID)
	s.publish(r.Context(), roomevents.Event{Type: roomevents.UserKicked, RoomID: room.ID, UserID: target.ID, Reason: reason, By: c.Subject})
	w.WriteHeader(http.StatusAccepted)
}

// publish sends a room event; a bus failure is logged, not fatal, because
// the database change it announces has already happened.
func (s *Server) publish(ctx context.Context, ev roomevents.Event) {
	if s.events == nil {
		return
	}
	if err := roomevents.Publish(ctx, s.events, ev); err != nil {
		s.log.ErrorContext(ctx, "publish room event failed", "type", ev.Type, "err", err)
	}
}
