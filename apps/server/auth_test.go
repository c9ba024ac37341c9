package server_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/hearth-space/hearth/apps/server"
	"github.com/hearth-space/hearth/internal/auth"
	"github.com/hearth-space/hearth/internal/store"
)

func refreshCookie(t *testing.T, r resp) *http.Cookie {
	t.Helper()
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == server.RefreshCookie {
			return c
		}
	}
	t.Fatalf("no refresh cookie in %v", r.header)
	return nil
}

func TestRegisterLoginRefreshLogout(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		c := e.client()
		r := c.want(c.do("POST", "/api/v1/auth/register", map[string]string{
			"username": "Ada_Lovelace", "password": "analytical engine", "display_name": "  Ada   Lovelace "}), 201, "")
		ck := refreshCookie(t, r)
		if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/api/v1/auth" || ck.MaxAge <= 0 {
			t.Fatalf("refresh cookie attributes: %+v", ck)
		}
		c.signIn(r)
		if c.user["username"] != "ada_lovelace" || c.user["display_name"] != "Ada Lovelace" || c.user["guest"] != false {
			t.Fatalf("user: %v", c.user)
		}
		if r.body["token_type"] != "Bearer" || r.body["expires_in"].(float64) < 890 {
			t.Fatalf("sign-in answer: %s", r.raw)
		}
		me := c.want(c.do("GET", "/api/v1/me", nil), 200, "")
		if me.str("id") != c.id() {
			t.Fatalf("me: %s", me.raw)
		}
		other := e.client()
		other.want(other.do("POST", "/api/v1/auth/register", map[string]string{"username": "ada_lovelace", "password": "another password"}), 409, "username_taken")

		// Log in (case-insensitive username), wrong password, unknown user.
		c2 := e.client()
		c2.want(c2.do("POST", "/api/v1/auth/login", map[string]string{"username": "ADA_lovelace", "password": "wrong password"}), 401, "invalid_credentials")
		c2.want(c2.do("POST", "/api/v1/auth/login", map[string]string{"username": "nobody", "password": "whatever123"}), 401, "invalid_credentials")
		c2.signIn(c2.do("POST", "/api/v1/auth/login", map[string]string{"username": "ADA_lovelace", "password": "analytical engine"}))

		// Refresh rotates the cookie; the old refresh token then fails and
		// revokes the whole family, including the newest token.
		old := c2.http.Jar.Cookies(mustURL(t, e.srv.URL+"/api/v1/auth/refresh"))
		r = c2.want(c2.do("POST", "/api/v1/auth/refresh", nil), 200, "")
		if r.str("access_token") == "" || refreshCookie(t, r).Value == old[0].Value {
			t.Fatalf("refresh did not rotate: %s", r.raw)
		}
		fresh := r.str("access_token")
		thief := e.client()
		thief.http.Jar.SetCookies(mustURL(t, e.srv.URL+"/api/v1/auth/refresh"), old)
		thief.want(thief.do("POST", "/api/v1/auth/refresh", nil), 401, "refresh_token_reused")
		c2.want(c2.do("POST", "/api/v1/auth/refresh", nil), 401, "token_invalid")
		c2.token = fresh
		c2.want(c2.do("GET", "/api/v1/me", nil), 401, "token_invalid")

		// Logout ends the session: the access token and refresh cookie die.
		c.want(c.do("POST", "/api/v1/auth/logout", nil), 204, "")
		c.want(c.do("GET", "/api/v1/me", nil), 401, "token_invalid")
		c.want(c.do("POST", "/api/v1/auth/refresh", nil), 401, "unauthenticated")
		// Logging out twice is fine.
		c.token = ""
		c.want(c.do("POST", "/api/v1/auth/logout", nil), 204, "")
	})
}

func TestGuestUpgradeKeepsIdentity(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		g := e.guest("Visitor")
		if g.user["guest"] != true || g.user["username"] != nil {
			t.Fatalf("guest: %v", g.user)
		}
		room := g.createRoom(map[string]any{"name": "Guest room"})
		guestID := g.id()
		guestToken := g.token
		r := g.want(g.do("POST", "/api/v1/auth/register", map[string]string{"username": "visitor", "password": "keep my rooms please"}), 201, "")
		g.signIn(r)
		if g.id() != guestID || g.user["guest"] != false || g.user["display_name"] != "visitor" {
			t.Fatalf("upgrade changed identity: %v", g.user)
		}
		got := g.want(g.do("GET", "/api/v1/rooms/"+room["id"].(string), nil), 200, "")
		if got.str("my_role") != "owner" {
			t.Fatalf("room ownership lost: %s", got.raw)
		}
		// The guest session ended with the upgrade.
		old := e.client()
		old.token = guestToken
		old.want(old.do("GET", "/api/v1/me", nil), 401, "token_invalid")
		// A registered account cannot "upgrade" again.
		g.want(g.do("POST", "/api/v1/auth/register", map[string]string{"username": "visitor2", "password": "keep my rooms please"}), 409, "already_registered")
	})
}

func TestExpiredAndBadTokens(t *testing.T) {
	e := newEnv(t, store.SQLite)
	c := e.guest("Ada")

	e.clk.Advance(16 * time.Minute)
	r := c.want(c.do("GET", "/api/v1/me", nil), 401, "token_expired")
	if !strings.Contains(r.header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Fatalf("WWW-Authenticate = %q", r.header.Get("WWW-Authenticate"))
	}
	// The refresh cookie still works and yields a fresh token.
	c.signIn(c.do("POST", "/api/v1/auth/refresh", nil))
	c.want(c.do("GET", "/api/v1/me", nil), 200, "")

	none := e.client()
	none.want(none.do("GET", "/api/v1/me", nil), 401, "unauthenticated")

	bad := func(hdr string) {
		t.Helper()
		x := e.client()
		x.want(x.do("GET", "/api/v1/me", nil, "Authorization", hdr), 401, "token_invalid")
	}
	bad("Basic dXNlcjpwYXNz")
	bad("Bearer")
	bad("Bearer not-a-jwt")
	bad("Bearer " + strings.Repeat("A", 10000))
	parts := strings.Split(c.token, ".")
	bad("Bearer eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + parts[1] + ".")
	bad("Bearer " + parts[0] + "." + parts[1] + "." + "AAAA" + parts[2][4:])

	// A realtime token is not an access token.
	cl := auth.Claims{Room: "r"}
	cl.Subject = c.id()
	rtTok, _, _ := e.tokens.Mint(cl, auth.AudienceRealtime, time.Minute)
	bad("Bearer " + rtTok)
	// An API-audience token without a session is not an access token either.
	noSess, _, _ := e.tokens.Mint(cl, auth.AudienceAPI, time.Minute)
	bad("Bearer " + noSess)
	// HS256 signed with garbage.
	h := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": c.id(), "aud": "hearth-api", "iss": "hearth", "exp": time.Now().Add(time.Hour).Unix(), "sid": "x"})
	hs, _ := h.SignedString([]byte("secret"))
	bad("Bearer " + hs)
}

func TestAuthBadInput(t *testing.T) {
	e := newEnv(t, store.SQLite)
	c := e.client()
	big := `{"display_name":"` + strings.Repeat("x", 2<<20) + `"}`
	cases := []struct {
		name, path string
		body       any
		ct         string
		status     int
		code       string
		field      string
	}{
		{"malformed", "/api/v1/auth/guest", `{"display_name":`, "", 400, "malformed_body", ""},
		{"truncated", "/api/v1/auth/register", `{"username":"abc","password":"abcdefgh`, "", 400, "malformed_body", ""},
		{"not an object", "/api/v1/auth/guest", `"Ada"`, "", 400, "malformed_body", ""},
		{"wrong type", "/api/v1/auth/guest", `{"display_name":42}`, "", 400, "validation_failed", "display_name"},
		{"unknown field", "/api/v1/auth/guest", `{"display_name":"Ada","admin":true}`, "", 400, "validation_failed", "admin"},
		{"trailing data", "/api/v1/auth/guest", `{"display_name":"Ada"} {}`, "", 400, "malformed_body", ""},
		{"oversized", "/api/v1/auth/guest", big, "", 413, "body_too_large", ""},
		{"wrong content type", "/api/v1/auth/guest", `{"display_name":"Ada"}`, "text/plain", 415, "unsupported_media_type", ""},
		{"non utf8", "/api/v1/auth/guest", "{\"display_name\":\"\xc3\x28\"}", "", 400, "malformed_body", ""},
		{"empty body", "/api/v1/auth/login", ``, "", 400, "malformed_body", ""},
		{"empty name", "/api/v1/auth/guest", `{"display_name":"   "}`, "", 400, "validation_failed", "display_name"},
		{"control chars only", "/api/v1/auth/guest", `{"display_name":"\u0000\u200b\u202e"}`, "", 400, "validation_failed", "display_name"},
		{"huge name", "/api/v1/auth/guest", `{"display_name":"` + strings.Repeat("é", 41) + `"}`, "", 400, "validation_failed", "display_name"},
		{"short username", "/api/v1/auth/register", `{"username":"ab","password":"long enough pw"}`, "", 400, "validation_failed", "username"},
		{"sql username", "/api/v1/auth/register", `{"username":"x' OR '1'='1","password":"long enough pw"}`, "", 400, "validation_failed", "username"},
		{"reserved username", "/api/v1/auth/register", `{"username":"admin","password":"long enough pw"}`, "", 400, "validation_failed", "username"},
		{"short password", "/api/v1/auth/register", `{"username":"abcd","password":"short"}`, "", 400, "validation_failed", "password"},
		{"common password", "/api/v1/auth/register", `{"username":"abcd","password":"Password1"}`, "", 400, "validation_failed", "password"},
		{"password is username", "/api/v1/auth/register", `{"username":"abcdefghij","password":"ABCDEFGHIJ"}`, "", 400, "validation_failed", "password"},
		{"huge password", "/api/v1/auth/register", `{"username":"abcd","password":"` + strings.Repeat("p", 129) + `"}`, "", 400, "validation_failed", "password"},
		{"login missing fields", "/api/v1/auth/login", `{}`, "", 400, "validation_failed", "username"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hdr := []string{}
			if tc.ct != "" {
				hdr = append(hdr, "Content-Type", tc.ct)
			}
			r := c.want(c.do("POST", tc.path, tc.body, hdr...), tc.status, tc.code)
			if tc.field != "" {
				found := false
				for _, f := range r.body["errors"].([]any) {
					if f.(map[string]any)["field"] == tc.field {
						found = true
					}
				}
				if !found {
					t.Fatalf("errors do not name %s: %s", tc.field, r.raw)
				}
			}
		})
	}
	// Names are cleaned, not rejected, when something printable remains.
	g := e.client()
	g.signIn(g.do("POST", "/api/v1/auth/guest", map[string]string{"display_name": "  Bobby\u200b \t Tables\u0007 "}))
	if g.user["display_name"] != "Bobby Tables" {
		t.Fatalf("display name not cleaned: %q", g.user["display_name"])
	}
	g.want(g.do("PATCH", "/api/v1/me", map[string]string{"display_name": "Robert'); DROP TABLE users;--"}), 200, "")
	if me := g.want(g.do("GET", "/api/v1/me", nil), 200, ""); me.str("display_name") != "Robert'); DROP TABLE users;--" {
		t.Fatalf("SQL-looking name not stored verbatim: %s", me.raw)
	}
}

func TestSignInRateLimits(t *testing.T) {
	e := newEnv(t, store.SQLite)
	e.registered("victim")
	attacker := e.client()
	var last resp
	for i := 0; i < 11; i++ {
		last = attacker.do("POST", "/api/v1/auth/login", map[string]string{"username": "victim", "password": "guess number x"})
	}
	attacker.want(last, 429, "rate_limited")
	if ra := last.header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Fatalf("Retry-After = %q", ra)
	}
	// The limit is per username: another account is unaffected (the IP
	// limit is higher).
	e.registered("bystander")
	c := e.client()
	c.signIn(c.do("POST", "/api/v1/auth/login", map[string]string{"username": "bystander", "password": "a long enough password"}))
	// Time refills the bucket.
	e.clk.Advance(time.Minute)
	attacker.want(attacker.do("POST", "/api/v1/auth/login", map[string]string{"username": "victim", "password": "guess number y"}), 401, "invalid_credentials")
}

func TestAdminsFromConfig(t *testing.T) {
	e := newEnv(t, store.SQLite)
	a := e.registered("root-admin")
	if a.user["admin"] != true {
		t.Fatalf("configured admin not flagged: %v", a.user)
	}
	if u := e.registered("plain"); u.user["admin"] != nil {
		t.Fatalf("plain user flagged admin: %v", u.user)
	}
}
