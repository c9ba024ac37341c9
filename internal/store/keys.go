package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"fmt"
	"time"
)

// SigningKey is a token signing key pair, stored so that every node of a
// split deployment signs and verifies with the same keys.
type SigningKey struct {
	KID        string
	Algorithm  string
	PrivateKey []byte
	PublicKey  []byte
	CreatedAt  time.Time
	RetiredAt  time.Time
}

// SigningKeys returns every key that is not retired, newest first.
func (s *DB) SigningKeys(ctx context.Context) ([]SigningKey, error) {
	rows, err := s.query(ctx, s.db, `SELECT kid, algorithm, private_key, public_key, created_at, retired_at
		FROM signing_keys WHERE retired_at IS NULL ORDER BY created_at DESC, kid`)
	if err != nil {
		return nil, fmt.Errorf("list signing keys: %w", err)
	}
	defer rows.Close()
	var keys []SigningKey
	for rows.Next() {
		var (
			k        SigningKey
			priv, pb string
			created  int64
			retired  sql.NullInt64
		)
		if err := rows.Scan(&k.KID, &k.Algorithm, &priv, &pb, &created, &retired); err != nil {
			return nil, fmt.Errorf("scan signing key: %w", err)
		}
		if k.PrivateKey, err = base64.StdEncoding.DecodeString(priv); err != nil {
			return nil, fmt.Errorf("signing key %s: %w", k.KID, err)
		}
		if k.PublicKey, err = base64.StdEncoding.DecodeString(pb); err != nil {
			return nil, fmt.Errorf("signing key %s: %w", k.KID, err)
		}
		k.CreatedAt, k.RetiredAt = fromMS(created), fromNullMS(retired)
		keys = append(keys, k)
	}
	return keys, rows.Err()
}

// AddSigningKey stores k unless a key with its kid exists.
func (s *DB) AddSigningKey(ctx context.Context, k SigningKey) error {
	_, err := s.exec(ctx, s.db, `INSERT INTO signing_keys (kid, algorithm, private_key, public_key, created_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (kid) DO NOTHING`,
		k.KID, k.Algorithm, base64.StdEncoding.EncodeToString(k.PrivateKey), base64.StdEncoding.EncodeToString(k.PublicKey), ms(s.now()))
	if err != nil {
		return fmt.Errorf("add signing key: %w", err)
	}
	return nil
}
