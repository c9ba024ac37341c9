package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/hearth-space/hearth/internal/errs"
)

// AuthSession is one sign-in: a family of refresh tokens, each used once.
type AuthSession struct {
	ID           string
	UserID       string
	UserAgent    string
	CreatedAt    time.Time
	ExpiresAt    time.Time
	RevokedAt    time.Time
	RevokeReason string
}

// Reasons a session was revoked.
const (
	RevokeLogout       = "logout"
	RevokeRefreshReuse = "refresh_reuse"
	RevokeUpgrade      = "account_upgraded"
)

// CreateSession starts a sign-in session whose first refresh token has the
// given hash.
func (s *DB) CreateSession(ctx context.Context, sess *AuthSession, tokenHash string) error {
	now := s.now()
	sess.CreatedAt = now
	return s.tx(ctx, func(q querier) error {
		if _, err := s.exec(ctx, q, `INSERT INTO auth_sessions (id, user_id, user_agent, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
			sess.ID, sess.UserID, sess.UserAgent, ms(now), ms(sess.ExpiresAt)); err != nil {
			return fmt.Errorf("create session: %w", err)
		}
		if _, err := s.exec(ctx, q, `INSERT INTO refresh_tokens (token_hash, session_id, created_at) VALUES (?, ?, ?)`,
			tokenHash, sess.ID, ms(now)); err != nil {
			return fmt.Errorf("create refresh token: %w", err)
		}
		return nil
	})
}

// RotateRefresh exchanges the refresh token with oldHash for one with
// newHash, returning its session. A token presented a second time revokes
// its whole family (someone holds a stolen copy) and fails with
// RefreshReused; unknown tokens and revoked sessions fail with TokenInvalid,
// expired sessions with TokenExpired.
func (s *DB) RotateRefresh(ctx context.Context, oldHash, newHash string) (AuthSession, error) {
	var (
		sess   AuthSession
		reused bool
	)
	now := s.now()
	err := s.tx(ctx, func(q querier) error {
		var (
			usedAt, revokedAt sql.NullInt64
			expires           int64
		)
		err := s.queryRow(ctx, q, `SELECT t.session_id, t.used_at, a.user_id, a.expires_at, a.revoked_at
			FROM refresh_tokens t JOIN auth_sessions a ON a.id = t.session_id WHERE t.token_hash = ?`, oldHash).
			Scan(&sess.ID, &usedAt, &sess.UserID, &expires, &revokedAt)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.E(errs.TokenInvalid, "the refresh token is not valid")
		}
		if err != nil {
			return fmt.Errorf("look up refresh token: %w", err)
		}
		sess.ExpiresAt = fromMS(expires)
		if revokedAt.Valid {
			return errs.E(errs.TokenInvalid, "the sign-in session was revoked")
		}
		if !now.Before(sess.ExpiresAt) {
			return errs.E(errs.TokenExpired, "the sign-in session expired; sign in again")
		}
		if !usedAt.Valid {
			res, err := s.exec(ctx, q, `UPDATE refresh_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL`, ms(now), oldHash)
			if err != nil {
				return fmt.Errorf("mark refresh token used: %w", err)
			}
			if n, _ := res.RowsAffected(); n == 1 {
				if _, err := s.exec(ctx, q, `INSERT INTO refresh_tokens (token_hash, session_id, created_at) VALUES (?, ?, ?)`,
					newHash, sess.ID, ms(now)); err != nil {
					return fmt.Errorf("store refresh token: %w", err)
				}
				return nil
			}
		}
		// Used before (or by a concurrent request that won): revoke the
		// family and commit that, then report the reuse.
		reused = true
		return s.revoke(ctx, q, sess.ID, RevokeRefreshReuse)
	})
	if err != nil {
		return AuthSession{}, err
	}
	if reused {
		return AuthSession{}, errs.E(errs.RefreshReused, "this refresh token was already used; the session has been revoked, sign in again")
	}
	return sess, nil
}

func (s *DB) revoke(ctx context.Context, q querier, sessionID, reason string) error {
	if _, err := s.exec(ctx, q, `UPDATE auth_sessions SET revoked_at = ?, revoke_reason = ? WHERE id = ? AND revoked_at IS NULL`,
		ms(s.now()), reason, sessionID); err != nil {
		return fmt.Errorf("revoke session: %w", err)
	}
	return nil
}

// RevokeSession ends a sign-in session; its refresh and access tokens stop
// working. Revoking twice is not an error.
func (s *DB) RevokeSession(ctx context.Context, sessionID, reason string) error {
	return s.revoke(ctx, s.db, sessionID, reason)
}

// SessionByRefresh returns the session a refresh token belongs to, whatever
// its state (for logout).
func (s *DB) SessionByRefresh(ctx context.Context, tokenHash string) (string, error) {
	var id string
	err := s.queryRow(ctx, s.db, `SELECT session_id FROM refresh_tokens WHERE token_hash = ?`, tokenHash).Scan(&id)
	if err != nil {
		return "", notFound(err, "session")
	}
	return id, nil
}

// SessionActive reports whether a session exists, is not revoked and has not
// expired. Access tokens carry their session id and are checked with it.
func (s *DB) SessionActive(ctx context.Context, sessionID string) (bool, error) {
	var n int
	err := s.queryRow(ctx, s.db, `SELECT COUNT(*) FROM auth_sessions WHERE id = ? AND revoked_at IS NULL AND expires_at > ?`,
		sessionID, ms(s.now())).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("check session: %w", err)
	}
	return n == 1, nil
}

// PruneSessions deletes sessions that expired or were revoked before cutoff,
// and with them their refresh tokens. It returns how many went.
func (s *DB) PruneSessions(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := s.exec(ctx, s.db, `DELETE FROM auth_sessions WHERE expires_at < ? OR (revoked_at IS NOT NULL AND revoked_at < ?)`,
		ms(cutoff), ms(cutoff))
	if err != nil {
		return 0, fmt.Errorf("prune sessions: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
