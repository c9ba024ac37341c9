package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/hearth-space/hearth/internal/errs"
)

// User is an account. Guests have no username or password until they
// register, which keeps their id.
type User struct {
	ID           string
	Username     string // lower-case; "" for guests
	DisplayName  string
	PasswordHash string // argon2id PHC string; "" for guests
	Guest        bool
	Admin        bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

const userCols = `id, username, display_name, password_hash, guest, admin, created_at, updated_at`

func scanUser(row interface{ Scan(...any) error }) (User, error) {
	var (
		u                  User
		username, passHash sql.NullString
		created, updated   int64
	)
	if err := row.Scan(&u.ID, &username, &u.DisplayName, &passHash, &u.Guest, &u.Admin, &created, &updated); err != nil {
		return User{}, err
	}
	u.Username, u.PasswordHash = username.String, passHash.String
	u.CreatedAt, u.UpdatedAt = fromMS(created), fromMS(updated)
	return u, nil
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// CreateUser inserts u, setting its timestamps. A taken username is a
// UsernameTaken error.
func (s *DB) CreateUser(ctx context.Context, u *User) error {
	now := s.now()
	u.CreatedAt, u.UpdatedAt = now, now
	_, err := s.exec(ctx, s.db, `INSERT INTO users (`+userCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		u.ID, nullString(u.Username), u.DisplayName, nullString(u.PasswordHash), u.Guest, u.Admin, ms(now), ms(now))
	if errs.CodeOf(err) == errs.Conflict {
		return errs.Wrap(errs.UsernameTaken, err, "that username is taken")
	}
	if err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	return nil
}

// UserByID returns the user with id.
func (s *DB) UserByID(ctx context.Context, id string) (User, error) {
	u, err := scanUser(s.queryRow(ctx, s.db, `SELECT `+userCols+` FROM users WHERE id = ?`, id))
	if err != nil {
		return User{}, notFound(err, "user")
	}
	return u, nil
}

// UserByUsername returns the user with the (lower-case) username.
func (s *DB) UserByUsername(ctx context.Context, username string) (User, error) {
	u, err := scanUser(s.queryRow(ctx, s.db, `SELECT `+userCols+` FROM users WHERE username = ?`, username))
	if err != nil {
		return User{}, notFound(err, "user")
	}
	return u, nil
}

// UpgradeGuest turns guest id into a registered account, keeping its id and
// everything attached to it. It fails with AlreadyRegistered when the user
// is not a guest.
func (s *DB) UpgradeGuest(ctx context.Context, id, username, passwordHash, displayName string) (User, error) {
	res, err := s.exec(ctx, s.db, `UPDATE users SET username = ?, password_hash = ?, display_name = ?, guest = FALSE, updated_at = ?
		WHERE id = ? AND guest = TRUE`, username, passwordHash, displayName, ms(s.now()), id)
	if errs.CodeOf(err) == errs.Conflict {
		return User{}, errs.Wrap(errs.UsernameTaken, err, "that username is taken")
	}
	if err != nil {
		return User{}, fmt.Errorf("upgrade guest: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := s.UserByID(ctx, id); err != nil {
			return User{}, err
		}
		return User{}, errs.E(errs.AlreadyRegistered, "this account is already registered")
	}
	return s.UserByID(ctx, id)
}

// UpdateDisplayName changes a user's display name.
func (s *DB) UpdateDisplayName(ctx context.Context, id, displayName string) (User, error) {
	res, err := s.exec(ctx, s.db, `UPDATE users SET display_name = ?, updated_at = ? WHERE id = ?`, displayName, ms(s.now()), id)
	if err != nil {
		return User{}, fmt.Errorf("update display name: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return User{}, errs.E(errs.NotFound, "user not found")
	}
	return s.UserByID(ctx, id)
}
