package auth_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/hearth-space/hearth/internal/auth"
	"github.com/hearth-space/hearth/internal/errs"
	"github.com/hearth-space/hearth/internal/store"
	"github.com/hearth-space/hearth/internal/store/storetest"
)

func fastHasher() *auth.Hasher {
	return auth.NewHasher(auth.PasswordParams{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16})
}

func TestPasswordHash(t *testing.T) {
	h := fastHasher()
	enc, err := h.Hash("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash format: %s", enc)
	}
	if ok, err := h.Verify("correct horse battery staple", enc); !ok || err != nil {
		t.Fatalf("verify right password: %v %v", ok, err)
	}
	if ok, _ := h.Verify("Correct horse battery staple", enc); ok {
		t.Fatal("wrong password verified")
	}
	enc2, _ := h.Hash("correct horse battery staple")
	if enc == enc2 {
		t.Fatal("hashes are not salted")
	}
	// Hashes made with other parameters still verify.
	strong := auth.NewHasher(auth.DefaultPasswordParams())
	enc3, _ := strong.Hash("pw123456")
	if ok, _ := h.Verify("pw123456", enc3); !ok {
		t.Fatal("verify across parameters")
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=1,t=1,p=1$aa$bb", "$argon2id$v=19$m=x$a$b", "$argon2id$v=19$m=1,t=1,p=1$!!$bb"} {
		if _, err := h.Verify("x", bad); err == nil {
			t.Fatalf("malformed hash %q accepted", bad)
		}
	}
}

func TestRefreshToken(t *testing.T) {
	a, ha := auth.NewRefreshToken()
	b, hb := auth.NewRefreshToken()
	if a == b || ha == hb || len(a) < 40 || auth.HashRefreshToken(a) != ha {
		t.Fatal("refresh tokens must be random and hash stably")
	}
}

type fixedClock struct{ t time.Time }

func (c *fixedClock) now() time.Time { return c.t }

func newTokens(t *testing.T) (*auth.Tokens, *auth.Keyring, *fixedClock, *store.DB) {
	t.Helper()
	db := storetest.Open(t, store.SQLite, nil)
	keys, err := auth.LoadKeyring(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	clk := &fixedClock{t: time.Now()}
	return auth.NewTokens(keys, clk.now), keys, clk, db
}

func claims(sub string) auth.Claims {
	c := auth.Claims{Name: "Ada", SessionID: "s1"}
	c.Subject = sub
	return c
}

func wantCode(t *testing.T, err error, code errs.Code) {
	t.Helper()
	if errs.CodeOf(err) != code {
		t.Fatalf("code = %q (%v), want %q", errs.CodeOf(err), err, code)
	}
}

func TestTokens(t *testing.T) {
	ctx := context.Background()
	tokens, keys, clk, _ := newTokens(t)
	tok, exp, err := tokens.Mint(claims("u1"), auth.AudienceAPI, 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if exp.Sub(clk.t) != 15*time.Minute {
		t.Fatalf("expiry %v", exp)
	}
	c, err := tokens.Verify(ctx, tok, auth.AudienceAPI)
	if err != nil || c.UserID() != "u1" || c.Name != "Ada" || c.SessionID != "s1" {
		t.Fatalf("verify: %+v %v", c, err)
	}
	// Header names the algorithm and key.
	hdr := decodeSeg(t, strings.Split(tok, ".")[0])
	if hdr["alg"] != "EdDSA" || hdr["kid"] == "" {
		t.Fatalf("header %v", hdr)
	}
	if !strings.Contains(string(keys.JWKS()), hdr["kid"].(string)) {
		t.Fatal("JWKS does not list the signing key")
	}

	t.Run("wrong audience", func(t *testing.T) {
		_, err := tokens.Verify(ctx, tok, auth.AudienceRealtime)
		wantCode(t, err, errs.TokenInvalid)
	})
	t.Run("expired", func(t *testing.T) {
		clk.t = clk.t.Add(16 * time.Minute)
		defer func() { clk.t = clk.t.Add(-16 * time.Minute) }()
		_, err := tokens.Verify(ctx, tok, auth.AudienceAPI)
		wantCode(t, err, errs.TokenExpired)
	})
	t.Run("alg none", func(t *testing.T) {
		parts := strings.Split(tok, ".")
		none := seg(map[string]any{"alg": "none", "typ": "JWT", "kid": hdr["kid"]}) + "." + parts[1] + "."
		_, err := tokens.Verify(ctx, none, auth.AudienceAPI)
		wantCode(t, err, errs.TokenInvalid)
	})
	t.Run("HS256 with the public key as secret", func(t *testing.T) {
		jwks := struct {
			Keys []struct{ X string } `json:"keys"`
		}{}
		_ = json.Unmarshal(keys.JWKS(), &jwks)
		pub, _ := base64.RawURLEncoding.DecodeString(jwks.Keys[0].X)
		c := claims("u1")
		c.Issuer, c.Audience = auth.Issuer, jwt.ClaimStrings{auth.AudienceAPI}
		c.ExpiresAt = jwt.NewNumericDate(clk.t.Add(time.Hour))
		h := jwt.NewWithClaims(jwt.SigningMethodHS256, &c)
		h.Header["kid"] = hdr["kid"]
		forged, _ := h.SignedString(pub)
		_, err := tokens.Verify(ctx, forged, auth.AudienceAPI)
		wantCode(t, err, errs.TokenInvalid)
	})
	t.Run("forged with another key", func(t *testing.T) {
		_, priv, _ := ed25519.GenerateKey(rand.Reader)
		c := claims("admin")
		c.Issuer, c.Audience = auth.Issuer, jwt.ClaimStrings{auth.AudienceAPI}
		c.ExpiresAt = jwt.NewNumericDate(clk.t.Add(time.Hour))
		f := jwt.NewWithClaims(jwt.SigningMethodEdDSA, &c)
		f.Header["kid"] = hdr["kid"]
		forged, _ := f.SignedString(priv)
		_, err := tokens.Verify(ctx, forged, auth.AudienceAPI)
		wantCode(t, err, errs.TokenInvalid)
	})
	t.Run("forged and expired is invalid, not expired", func(t *testing.T) {
		_, priv, _ := ed25519.GenerateKey(rand.Reader)
		c := claims("u1")
		c.Issuer, c.Audience = auth.Issuer, jwt.ClaimStrings{auth.AudienceAPI}
		c.ExpiresAt = jwt.NewNumericDate(clk.t.Add(-time.Hour))
		f := jwt.NewWithClaims(jwt.SigningMethodEdDSA, &c)
		f.Header["kid"] = hdr["kid"]
		forged, _ := f.SignedString(priv)
		_, err := tokens.Verify(ctx, forged, auth.AudienceAPI)
		wantCode(t, err, errs.TokenInvalid)
	})
	t.Run("tampered payload", func(t *testing.T) {
		parts := strings.Split(tok, ".")
		p := decodeSeg(t, parts[1])
		p["sub"] = "someone-else"
		_, err := tokens.Verify(ctx, parts[0]+"."+seg(p)+"."+parts[2], auth.AudienceAPI)
		wantCode(t, err, errs.TokenInvalid)
	})
	t.Run("unknown kid", func(t *testing.T) {
		parts := strings.Split(tok, ".")
		h := decodeSeg(t, parts[0])
		h["kid"] = "nope"
		_, err := tokens.Verify(ctx, seg(h)+"."+parts[1]+"."+parts[2], auth.AudienceAPI)
		wantCode(t, err, errs.TokenInvalid)
	})
	for _, junk := range []string{"", "a.b", "a.b.c", "....", strings.Repeat("x", 5000), "eyJhbGciOiJFZERTQSJ9.e30.AAAA"} {
		_, err := tokens.Verify(ctx, junk, auth.AudienceAPI)
		wantCode(t, err, errs.TokenInvalid)
	}
}

// TestKeyringConverges: nodes sharing a database sign with the same key and
// verify each other's tokens.
func TestKeyringConverges(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t, store.SQLite, nil)
	k1, err := auth.LoadKeyring(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := auth.LoadKeyring(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := auth.NewTokens(k1, nil).Mint(claims("u1"), auth.AudienceVoice, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := auth.NewTokens(k2, nil).Verify(ctx, tok, auth.AudienceVoice); err != nil {
		t.Fatalf("second node rejects the first's token: %v", err)
	}
	if string(k1.JWKS()) != string(k2.JWKS()) {
		t.Fatal("nodes publish different key sets")
	}
}

func seg(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeSeg(t *testing.T, s string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
