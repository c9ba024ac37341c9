// Package auth issues and verifies Hearth's tokens and hashes passwords.
//
// Access, realtime and voice tokens are EdDSA (Ed25519) JWTs with a kid
// header and their own audience; any node can verify them locally with the
// public keys, which are stored in the database and published as JWKS.
// Refresh tokens are opaque random values stored hashed.
package auth

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/hearth-space/hearth/internal/errs"
	"github.com/hearth-space/hearth/internal/id"
	"github.com/hearth-space/hearth/internal/store"
)

// Audiences: a token is only accepted by the service it was minted for.
const (
	AudienceAPI      = "hearth-api"
	AudienceRealtime = "hearth-realtime"
	AudienceVoice    = "hearth-voice"
)

// Issuer is the iss claim of every Hearth token.
const Issuer = "hearth"

const algEdDSA = "EdDSA"

// Claims are the claims of every Hearth JWT. Room and Role are set on
// realtime and voice tokens only; SessionID on access tokens only.
type Claims struct {
	jwt.RegisteredClaims
	Name      string `json:"name,omitempty"`
	Guest     bool   `json:"guest,omitempty"`
	SessionID string `json:"sid,omitempty"`
	Room      string `json:"room,omitempty"`
	Role      string `json:"role,omitempty"`
}

// UserID is the subject.
func (c *Claims) UserID() string { return c.Subject }

// KeyStore persists signing keys; *store.DB implements it.
type KeyStore interface {
	SigningKeys(ctx context.Context) ([]store.SigningKey, error)
	AddSigningKey(ctx context.Context, k store.SigningKey) error
}

// Keyring holds the key tokens are signed with and every key they may be
// verified with.
type Keyring struct {
	store KeyStore

	mu         sync.RWMutex
	signing    ed25519.PrivateKey
	signingKID string
	public     map[string]ed25519.PublicKey
	lastReload time.Time
}

// LoadKeyring loads the stored keys, generating and storing one on first
// start. Several nodes starting at once converge on the same signing key:
// each inserts its own, then all sign with the newest stored.
func LoadKeyring(ctx context.Context, ks KeyStore) (*Keyring, error) {
	k := &Keyring{store: ks}
	keys, err := ks.SigningKeys(ctx)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("generate signing key: %w", err)
		}
		if err := ks.AddSigningKey(ctx, store.SigningKey{
			KID: thumbprint(pub), Algorithm: algEdDSA, PrivateKey: priv.Seed(), PublicKey: pub,
		}); err != nil {
			return nil, err
		}
	}
	if err := k.Reload(ctx); err != nil {
		return nil, err
	}
	return k, nil
}

// Reload re-reads the stored keys, picking up keys added by other nodes.
func (k *Keyring) Reload(ctx context.Context) error {
	keys, err := k.store.SigningKeys(ctx)
	if err != nil {
		return err
	}
	if len(keys) == 0 {
		return errors.New("no signing keys stored")
	}
	public := make(map[string]ed25519.PublicKey, len(keys))
	for _, sk := range keys {
		if sk.Algorithm != algEdDSA || len(sk.PublicKey) != ed25519.PublicKeySize {
			return fmt.Errorf("signing key %s: unsupported algorithm or size", sk.KID)
		}
		public[sk.KID] = ed25519.PublicKey(sk.PublicKey)
	}
	newest := keys[0] // newest first
	if len(newest.PrivateKey) != ed25519.SeedSize {
		return fmt.Errorf("signing key %s: bad private key size", newest.KID)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.signing = ed25519.NewKeyFromSeed(newest.PrivateKey)
	k.signingKID = newest.KID
	k.public = public
	k.lastReload = time.Now()
	return nil
}

func (k *Keyring) publicKey(ctx context.Context, kid string) (ed25519.PublicKey, bool) {
	k.mu.RLock()
	pub, ok := k.public[kid]
	stale := time.Since(k.lastReload) > 30*time.Second
	k.mu.RUnlock()
	if !ok && stale {
		// A kid we have not seen: another node may have rotated. Reload at
		// most every 30 s so forged kids cannot hammer the database.
		if err := k.Reload(ctx); err == nil {
			k.mu.RLock()
			pub, ok = k.public[kid]
			k.mu.RUnlock()
		}
	}
	return pub, ok
}

// JWKS returns the public keys as a JSON Web Key Set.
func (k *Keyring) JWKS() []byte {
	k.mu.RLock()
	defer k.mu.RUnlock()
	type jwk struct {
		Kty string `json:"kty"`
		Crv string `json:"crv"`
		X   string `json:"x"`
		Kid string `json:"kid"`
		Use string `json:"use"`
		Alg string `json:"alg"`
	}
	set := struct {
		Keys []jwk `json:"keys"`
	}{Keys: []jwk{}}
	for kid, pub := range k.public {
		set.Keys = append(set.Keys, jwk{Kty: "OKP", Crv: "Ed25519", X: base64.RawURLEncoding.EncodeToString(pub), Kid: kid, Use: "sig", Alg: algEdDSA})
	}
	b, _ := json.Marshal(set)
	return b
}

// thumbprint is the RFC 7638 JWK thumbprint of an Ed25519 public key.
func thumbprint(pub ed25519.PublicKey) string {
	canon := fmt.Sprintf(`{"crv":"Ed25519","kty":"OKP","x":"%s"}`, base64.RawURLEncoding.EncodeToString(pub))
	sum := sha256.Sum256([]byte(canon))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// Tokens mints and verifies JWTs with a Keyring.
type Tokens struct {
	keys *Keyring
	now  func() time.Time
}

// NewTokens returns a Tokens using keys; now may be nil (time.Now).
func NewTokens(keys *Keyring, now func() time.Time) *Tokens {
	if now == nil {
		now = time.Now
	}
	return &Tokens{keys: keys, now: now}
}

// Mint signs c for audience aud, valid for ttl. It fills iss, aud, iat, nbf,
// exp and jti and returns the token and its expiry.
func (t *Tokens) Mint(c Claims, aud string, ttl time.Duration) (string, time.Time, error) {
	now := t.now()
	exp := now.Add(ttl)
	c.Issuer = Issuer
	c.Audience = jwt.ClaimStrings{aud}
	c.IssuedAt = jwt.NewNumericDate(now)
	c.NotBefore = jwt.NewNumericDate(now.Add(-5 * time.Second)) // tolerate skew between nodes
	c.ExpiresAt = jwt.NewNumericDate(exp)
	c.ID = id.Random(12)
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, &c)
	t.keys.mu.RLock()
	tok.Header["kid"] = t.keys.signingKID
	key := t.keys.signing
	t.keys.mu.RUnlock()
	s, err := tok.SignedString(key)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign token: %w", err)
	}
	return s, exp, nil
}

// Verify checks a token's signature, algorithm, issuer, audience and times.
// Expired tokens fail with TokenExpired; anything else wrong (malformed,
// forged, alg none or HS256, unknown kid, wrong audience) with TokenInvalid.
func (t *Tokens) Verify(ctx context.Context, token, aud string) (*Claims, error) {
	var c Claims
	_, err := jwt.ParseWithClaims(token, &c, func(tok *jwt.Token) (any, error) {
		kid, _ := tok.Header["kid"].(string)
		pub, ok := t.keys.publicKey(ctx, kid)
		if !ok {
			return nil, fmt.Errorf("unknown key id")
		}
		return pub, nil
	},
		jwt.WithValidMethods([]string{algEdDSA}),
		jwt.WithAudience(aud),
		jwt.WithIssuer(Issuer),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(t.now),
	)
	switch {
	case err == nil:
	case errors.Is(err, jwt.ErrTokenExpired):
		return nil, errs.Wrap(errs.TokenExpired, err, "the token has expired")
	default:
		return nil, errs.Wrap(errs.TokenInvalid, err, "the token is not valid")
	}
	if c.Subject == "" {
		return nil, errs.E(errs.TokenInvalid, "the token has no subject")
	}
	return &c, nil
}
