package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/hearth-space/hearth/internal/errs"
)

// Room visibilities.
const (
	Public   = "public"
	Unlisted = "unlisted"
	Private  = "private"
)

// Roles a user can hold in a room, from most to least powerful.
const (
	RoleOwner     = "owner"
	RoleModerator = "moderator"
	RoleMember    = "member"
)

// Room is a space people join.
type Room struct {
	ID          string
	OwnerID     string
	Name        string
	Description string
	Scene       string
	Capacity    int
	Visibility  string
	InviteCode  string // private rooms only
	// MusicControl says who may control the room's player: owner,
	// moderators (and the owner) or everyone.
	MusicControl string
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

const roomCols = `id, owner_id, name, description, scene, capacity, visibility, invite_code, music_control, created_at, updated_at`

func scanRoom(row interface{ Scan(...any) error }) (Room, error) {
	var (
		r                Room
		invite           sql.NullString
		created, updated int64
	)
	if err := row.Scan(&r.ID, &r.OwnerID, &r.Name, &r.Description, &r.Scene, &r.Capacity, &r.Visibility,
		&invite, &r.MusicControl, &created, &updated); err != nil {
		return Room{}, err
	}
	r.InviteCode = invite.String
	r.CreatedAt, r.UpdatedAt = fromMS(created), fromMS(updated)
	return r, nil
}

// CreateRoom inserts r, setting its timestamps.
func (s *DB) CreateRoom(ctx context.Context, r *Room) error {
	now := s.now()
	r.CreatedAt, r.UpdatedAt = now, now
	_, err := s.exec(ctx, s.db, `INSERT INTO rooms (`+roomCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.OwnerID, r.Name, r.Description, r.Scene, r.Capacity, r.Visibility, nullString(r.InviteCode),
		r.MusicControl, ms(now), ms(now))
	if err != nil {
		return fmt.Errorf("create room: %w", err)
	}
	return nil
}

// RoomByID returns the room with id.
func (s *DB) RoomByID(ctx context.Context, id string) (Room, error) {
	r, err := scanRoom(s.queryRow(ctx, s.db, `SELECT `+roomCols+` FROM rooms WHERE id = ?`, id))
	if err != nil {
		return Room{}, notFound(err, "room")
	}
	return r, nil
}

// RoomByInvite returns the private room whose invite code is code.
func (s *DB) RoomByInvite(ctx context.Context, code string) (Room, error) {
	r, err := scanRoom(s.queryRow(ctx, s.db, `SELECT `+roomCols+` FROM rooms WHERE invite_code = ?`, code))
	if err != nil {
		return Room{}, notFound(err, "invite")
	}
	return r, nil
}

// RoomCursor marks a position in a newest-first room listing.
type RoomCursor struct {
	CreatedAt time.Time
	ID        string
}

// ListPublicRooms returns up to limit public rooms, newest first, after the
// cursor (zero cursor: from the start).
func (s *DB) ListPublicRooms(ctx context.Context, after RoomCursor, limit int) ([]Room, error) {
	q := `SELECT ` + roomCols + ` FROM rooms WHERE visibility = ?`
	args := []any{Public}
	if after.ID != "" {
		q += ` AND (created_at < ? OR (created_at = ? AND id < ?))`
		args = append(args, ms(after.CreatedAt), ms(after.CreatedAt), after.ID)
	}
	q += ` ORDER BY created_at DESC, id DESC LIMIT ?`
	args = append(args, limit)
	return s.listRooms(ctx, q, args...)
}

// RoomsOfUser returns the rooms a user owns or belongs to, newest first.
func (s *DB) RoomsOfUser(ctx context.Context, userID string, limit int) ([]Room, error) {
	return s.listRooms(ctx, `SELECT `+roomCols+` FROM rooms WHERE owner_id = ?
		OR id IN (SELECT room_id FROM room_members WHERE user_id = ?)
		ORDER BY created_at DESC, id DESC LIMIT ?`, userID, userID, limit)
}

func (s *DB) listRooms(ctx context.Context, q string, args ...any) ([]Room, error) {
	rows, err := s.query(ctx, s.db, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list rooms: %w", err)
	}
	defer rows.Close()
	rooms := []Room{}
	for rows.Next() {
		r, err := scanRoom(rows)
		if err != nil {
			return nil, fmt.Errorf("scan room: %w", err)
		}
		rooms = append(rooms, r)
	}
	return rooms, rows.Err()
}

// UpdateRoom saves r's mutable fields.
func (s *DB) UpdateRoom(ctx context.Context, r *Room) error {
	r.UpdatedAt = s.now()
	res, err := s.exec(ctx, s.db, `UPDATE rooms SET name = ?, description = ?, scene = ?, capacity = ?, visibility = ?,
		invite_code = ?, music_control = ?, updated_at = ? WHERE id = ?`,
		r.Name, r.Description, r.Scene, r.Capacity, r.Visibility, nullString(r.InviteCode), r.MusicControl, ms(r.UpdatedAt), r.ID)
	if err != nil {
		return fmt.Errorf("update room: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.E(errs.NotFound, "room not found")
	}
	return nil
}

// DeleteRoom deletes a room and everything attached to it.
func (s *DB) DeleteRoom(ctx context.Context, id string) error {
	res, err := s.exec(ctx, s.db, `DELETE FROM rooms WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete room: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.E(errs.NotFound, "room not found")
	}
	return nil
}

// RoleOf returns the user's role in the room: owner, moderator, member, or
// "" when the user has never joined.
func (s *DB) RoleOf(ctx context.Context, roomID, userID string) (string, error) {
	var owner string
	var role sql.NullString
	err := s.queryRow(ctx, s.db, `SELECT r.owner_id, m.role FROM rooms r
		LEFT JOIN room_members m ON m.room_id = r.id AND m.user_id = ? WHERE r.id = ?`, userID, roomID).Scan(&owner, &role)
	if err != nil {
		return "", notFound(err, "room")
	}
	if owner == userID {
		return RoleOwner, nil
	}
	return role.String, nil
}

// AddMember records that a user joined the room (as a member, unless they
// already hold a role).
func (s *DB) AddMember(ctx context.Context, roomID, userID string) error {
	_, err := s.exec(ctx, s.db, `INSERT INTO room_members (room_id, user_id, role, joined_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (room_id, user_id) DO UPDATE SET joined_at = excluded.joined_at`,
		roomID, userID, RoleMember, ms(s.now()))
	if err != nil {
		return fmt.Errorf("add member: %w", err)
	}
	return nil
}

// SetRole gives a user a moderator or member role in a room.
func (s *DB) SetRole(ctx context.Context, roomID, userID, role string) error {
	_, err := s.exec(ctx, s.db, `INSERT INTO room_members (room_id, user_id, role, joined_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (room_id, user_id) DO UPDATE SET role = excluded.role`,
		roomID, userID, role, ms(s.now()))
	if err != nil {
		return fmt.Errorf("set role: %w", err)
	}
	return nil
}

// Member is a user's standing in a room.
type Member struct {
	UserID      string
	DisplayName string
	Guest       bool
	Role        string
	JoinedAt    time.Time
}

// Members lists the room's moderators and members, moderators first.
func (s *DB) Members(ctx context.Context, roomID string, limit int) ([]Member, error) {
	rows, err := s.query(ctx, s.db, `SELECT m.user_id, u.display_name, u.guest, m.role, m.joined_at
		FROM room_members m JOIN users u ON u.id = m.user_id WHERE m.room_id = ?
		ORDER BY CASE m.role WHEN 'moderator' THEN 0 ELSE 1 END, m.joined_at DESC LIMIT ?`, roomID, limit)
	if err != nil {
		return nil, fmt.Errorf("list members: %w", err)
	}
	defer rows.Close()
	out := []Member{}
	for rows.Next() {
		var m Member
		var joined int64
		if err := rows.Scan(&m.UserID, &m.DisplayName, &m.Guest, &m.Role, &joined); err != nil {
			return nil, fmt.Errorf("scan member: %w", err)
		}
		m.JoinedAt = fromMS(joined)
		out = append(out, m)
	}
	return out, rows.Err()
}

// Ban records that a user may not enter a room.
type Ban struct {
	RoomID      string
	UserID      string
	DisplayName string
	Reason      string
	BannedBy    string
	CreatedAt   time.Time
}

// BanUser bans a user from a room (idempotent: a second ban updates the
// reason) and drops any role they held.
func (s *DB) BanUser(ctx context.Context, b *Ban) error {
	b.CreatedAt = s.now()
	return s.tx(ctx, func(q querier) error {
		if _, err := s.exec(ctx, q, `INSERT INTO room_bans (room_id, user_id, reason, banned_by, created_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (room_id, user_id) DO UPDATE SET reason = excluded.reason, banned_by = excluded.banned_by`,
			b.RoomID, b.UserID, b.Reason, b.BannedBy, ms(b.CreatedAt)); err != nil {
			return fmt.Errorf("ban: %w", err)
		}
		if _, err := s.exec(ctx, q, `DELETE FROM room_members WHERE room_id = ? AND user_id = ?`, b.RoomID, b.UserID); err != nil {
			return fmt.Errorf("ban: drop membership: %w", err)
		}
		return nil
	})
}

// UnbanUser lifts a ban. Lifting a ban that does not exist is NotFound.
func (s *DB) UnbanUser(ctx context.Context, roomID, userID string) error {
	res, err := s.exec(ctx, s.db, `DELETE FROM room_bans WHERE room_id = ? AND user_id = ?`, roomID, userID)
	if err != nil {
		return fmt.Errorf("unban: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.E(errs.NotFound, "that user is not banned")
	}
	return nil
}

// IsBanned reports whether a user is banned from a room.
func (s *DB) IsBanned(ctx context.Context, roomID, userID string) (bool, error) {
	var one int
	err := s.queryRow(ctx, s.db, `SELECT 1 FROM room_bans WHERE room_id = ? AND user_id = ?`, roomID, userID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("check ban: %w", err)
	}
	return true, nil
}

// Bans lists a room's bans, newest first.
func (s *DB) Bans(ctx context.Context, roomID string, limit int) ([]Ban, error) {
	rows, err := s.query(ctx, s.db, `SELECT b.room_id, b.user_id, u.display_name, b.reason, b.banned_by, b.created_at
		FROM room_bans b JOIN users u ON u.id = b.user_id WHERE b.room_id = ? ORDER BY b.created_at DESC LIMIT ?`, roomID, limit)
	if err != nil {
		return nil, fmt.Errorf("list bans: %w", err)
	}
	defer rows.Close()
	out := []Ban{}
	for rows.Next() {
		var b Ban
		var created int64
		if err := rows.Scan(&b.RoomID, &b.UserID, &b.DisplayName, &b.Reason, &b.BannedBy, &created); err != nil {
			return nil, fmt.Errorf("scan ban: %w", err)
		}
		b.CreatedAt = fromMS(created)
		out = append(out, b)
	}
	return out, rows.Err()
}
