package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/hearth-space/hearth/internal/errs"
)

// Track is an uploaded audio file in the music library.
type Track struct {
	ID          string
	ContentHash string // SHA-256 of the file, hex
	BlobKey     string
	Format      string
	ContentType string
	Size        int64
	Duration    time.Duration
	Title       string
	Artist      string
	Album       string
	UploaderID  string // "" once the uploader's account is gone
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

const trackCols = `id, content_hash, blob_key, format, content_type, size_bytes, duration_ms, title, artist, album,
	uploader_id, created_at, updated_at`

func scanTrack(row interface{ Scan(...any) error }) (Track, error) {
	var (
		t                Track
		durMS            int64
		uploader         sql.NullString
		created, updated int64
	)
	if err := row.Scan(&t.ID, &t.ContentHash, &t.BlobKey, &t.Format, &t.ContentType, &t.Size, &durMS,
		&t.Title, &t.Artist, &t.Album, &uploader, &created, &updated); err != nil {
		return Track{}, err
	}
	t.Duration = time.Duration(durMS) * time.Millisecond
	t.UploaderID = uploader.String
	t.CreatedAt, t.UpdatedAt = fromMS(created), fromMS(updated)
	return t, nil
}

func searchText(t *Track) string {
	return strings.ToLower(t.Title + "\n" + t.Artist + "\n" + t.Album)
}

// CreateTrack inserts t, setting its timestamps. Another track with the
// same content hash is a Conflict.
func (s *DB) CreateTrack(ctx context.Context, t *Track) error {
	now := s.now()
	t.CreatedAt, t.UpdatedAt = now, now
	_, err := s.exec(ctx, s.db, `INSERT INTO music_tracks (`+trackCols+`, search_text)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.ID, t.ContentHash, t.BlobKey, t.Format, t.ContentType, t.Size, t.Duration.Milliseconds(),
		t.Title, t.Artist, t.Album, nullString(t.UploaderID), ms(now), ms(now), searchText(t))
	if err != nil {
		return fmt.Errorf("create track: %w", err)
	}
	return nil
}

// TrackByID returns the track with id.
func (s *DB) TrackByID(ctx context.Context, id string) (Track, error) {
	t, err := scanTrack(s.queryRow(ctx, s.db, `SELECT `+trackCols+` FROM music_tracks WHERE id = ?`, id))
	if err != nil {
		return Track{}, notFound(err, "track")
	}
	return t, nil
}

// TrackByHash returns the track whose content has the given hash.
func (s *DB) TrackByHash(ctx context.Context, hash string) (Track, error) {
	t, err := scanTrack(s.queryRow(ctx, s.db, `SELECT `+trackCols+` FROM music_tracks WHERE content_hash = ?`, hash))
	if err != nil {
		return Track{}, notFound(err, "track")
	}
	return t, nil
}

// TracksByIDs returns the tracks that exist among ids, by id.
func (s *DB) TracksByIDs(ctx context.Context, ids []string) (map[string]Track, error) {
	out := make(map[string]Track, len(ids))
	for start := 0; start < len(ids); start += 200 {
		chunk := ids[start:min(start+200, len(ids))]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		q := `SELECT ` + trackCols + ` FROM music_tracks WHERE id IN (?` + strings.Repeat(", ?", len(chunk)-1) + `)`
		rows, err := s.query(ctx, s.db, q, args...)
		if err != nil {
			return nil, fmt.Errorf("tracks by id: %w", err)
		}
		for rows.Next() {
			t, err := scanTrack(rows)
			if err != nil {
				rows.Close()
				return nil, fmt.Errorf("scan track: %w", err)
			}
			out[t.ID] = t
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// TrackQuery selects tracks for a listing.
type TrackQuery struct {
	// Search keeps tracks whose title, artist or album contain every word.
	Search string
	// UploaderID keeps one user's uploads.
	UploaderID string
	// After continues a listing from a cursor (newest first).
	After TrackCursor
	Limit int
}

// TrackCursor marks a position in a newest-first track listing.
type TrackCursor struct {
	CreatedAt time.Time
	ID        string
}

// likeEscaper escapes LIKE wildcards; queries use ESCAPE '!'.
var likeEscaper = strings.NewReplacer("!", "!!", "%", "!%", "_", "!_")

// ListTracks returns tracks newest first.
func (s *DB) ListTracks(ctx context.Context, q TrackQuery) ([]Track, error) {
	query := `SELECT ` + trackCols + ` FROM music_tracks WHERE 1 = 1`
	var args []any
	for _, w := range strings.Fields(strings.ToLower(q.Search)) {
		query += ` AND search_text LIKE ? ESCAPE '!'`
		args = append(args, "%"+likeEscaper.Replace(w)+"%")
	}
	if q.UploaderID != "" {
		query += ` AND uploader_id = ?`
		args = append(args, q.UploaderID)
	}
	if q.After.ID != "" {
		query += ` AND (created_at < ? OR (created_at = ? AND id < ?))`
		args = append(args, ms(q.After.CreatedAt), ms(q.After.CreatedAt), q.After.ID)
	}
	query += ` ORDER BY created_at DESC, id DESC LIMIT ?`
	args = append(args, q.Limit)
	rows, err := s.query(ctx, s.db, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list tracks: %w", err)
	}
	defer rows.Close()
	out := []Track{}
	for rows.Next() {
		t, err := scanTrack(rows)
		if err != nil {
			return nil, fmt.Errorf("scan track: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// UpdateTrack saves t's title, artist and album.
func (s *DB) UpdateTrack(ctx context.Context, t *Track) error {
	now := s.now()
	res, err := s.exec(ctx, s.db, `UPDATE music_tracks SET title = ?, artist = ?, album = ?, search_text = ?, updated_at = ?
		WHERE id = ?`, t.Title, t.Artist, t.Album, searchText(t), ms(now), t.ID)
	if err != nil {
		return fmt.Errorf("update track: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.E(errs.NotFound, "track not found")
	}
	t.UpdatedAt = now
	return nil
}

// DeleteTrack removes the track row (the caller removes its blob).
func (s *DB) DeleteTrack(ctx context.Context, id string) error {
	res, err := s.exec(ctx, s.db, `DELETE FROM music_tracks WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete track: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.E(errs.NotFound, "track not found")
	}
	return nil
}

// CountTracks returns the size of the library.
func (s *DB) CountTracks(ctx context.Context) (int64, error) {
	var n int64
	if err := s.queryRow(ctx, s.db, `SELECT COUNT(*) FROM music_tracks`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count tracks: %w", err)
	}
	return n, nil
}

// MusicPlayer is a room's player as stored: an opaque state document, its
// version, and when the current track ends (zero when paused or idle).
type MusicPlayer struct {
	RoomID    string
	Version   int64
	State     []byte
	EndsAt    time.Time
	UpdatedAt time.Time
}

// MusicPlayer returns the room's player; NotFound when it has never played.
func (s *DB) MusicPlayer(ctx context.Context, roomID string) (MusicPlayer, error) {
	var (
		p       MusicPlayer
		state   string
		ends    sql.NullInt64
		updated int64
	)
	err := s.queryRow(ctx, s.db, `SELECT room_id, version, state, ends_at, updated_at FROM music_players WHERE room_id = ?`,
		roomID).Scan(&p.RoomID, &p.Version, &state, &ends, &updated)
	if err != nil {
		return MusicPlayer{}, notFound(err, "player")
	}
	p.State, p.EndsAt, p.UpdatedAt = []byte(state), fromNullMS(ends), fromMS(updated)
	return p, nil
}

// SaveMusicPlayer stores p if the stored version is still prev (0: no row
// yet). When another writer got there first it returns a Conflict and
// stores nothing: the caller reloads and tries again.
func (s *DB) SaveMusicPlayer(ctx context.Context, p *MusicPlayer, prev int64) error {
	if p.Version <= prev {
		return fmt.Errorf("save player: version %d does not follow %d", p.Version, prev)
	}
	now := s.now()
	ends := sql.NullInt64{Int64: ms(p.EndsAt), Valid: !p.EndsAt.IsZero()}
	if prev == 0 {
		_, err := s.exec(ctx, s.db, `INSERT INTO music_players (room_id, version, state, ends_at, updated_at)
			VALUES (?, ?, ?, ?, ?)`, p.RoomID, p.Version, string(p.State), ends, ms(now))
		if errs.CodeOf(err) == errs.Conflict {
			return errs.Wrap(errs.Conflict, err, "the player changed meanwhile")
		}
		if err != nil {
			return fmt.Errorf("save player: %w", err)
		}
		p.UpdatedAt = now
		return nil
	}
	res, err := s.exec(ctx, s.db, `UPDATE music_players SET version = ?, state = ?, ends_at = ?, updated_at = ?
		WHERE room_id = ? AND version = ?`, p.Version, string(p.State), ends, ms(now), p.RoomID, prev)
	if err != nil {
		return fmt.Errorf("save player: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.E(errs.Conflict, "the player changed meanwhile")
	}
	p.UpdatedAt = now
	return nil
}

// DueMusicPlayers returns rooms whose current track has ended by now.
func (s *DB) DueMusicPlayers(ctx context.Context, now time.Time, limit int) ([]string, error) {
	ids, err := s.column(ctx, `SELECT room_id FROM music_players WHERE ends_at <= ? ORDER BY ends_at LIMIT ?`, ms(now), limit)
	if err != nil {
		return nil, fmt.Errorf("due players: %w", err)
	}
	return ids, nil
}

// NextMusicDeadline returns the earliest time a playing track ends, or
// false when nothing plays.
func (s *DB) NextMusicDeadline(ctx context.Context) (time.Time, bool, error) {
	var v sql.NullInt64
	if err := s.queryRow(ctx, s.db, `SELECT MIN(ends_at) FROM music_players`).Scan(&v); err != nil {
		return time.Time{}, false, fmt.Errorf("next deadline: %w", err)
	}
	return fromNullMS(v), v.Valid, nil
}

// MusicPlayersWithTrack returns the rooms whose player state mentions a
// track (current or queued), so that deleting it can update them. Track ids
// are random and fixed-length, so a substring match is exact.
func (s *DB) MusicPlayersWithTrack(ctx context.Context, trackID string) ([]string, error) {
	ids, err := s.column(ctx, `SELECT room_id FROM music_players WHERE state LIKE ? ESCAPE '!'`,
		`%"`+likeEscaper.Replace(trackID)+`"%`)
	if err != nil {
		return nil, fmt.Errorf("players with track: %w", err)
	}
	return ids, nil
}

// MusicSecret returns the secret stored under name, storing gen's value
// first when there is none. Every node of a deployment gets the same one.
func (s *DB) MusicSecret(ctx context.Context, name string, gen func() []byte) ([]byte, error) {
	_, err := s.exec(ctx, s.db, `INSERT INTO music_secrets (name, secret, created_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO NOTHING`, name, base64.StdEncoding.EncodeToString(gen()), ms(s.now()))
	if err != nil {
		return nil, fmt.Errorf("store secret: %w", err)
	}
	var v string
	if err := s.queryRow(ctx, s.db, `SELECT secret FROM music_secrets WHERE name = ?`, name).Scan(&v); err != nil {
		return nil, fmt.Errorf("load secret: %w", err)
	}
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return nil, fmt.Errorf("secret %s: %w", name, err)
	}
	return b, nil
}
