package server

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/hearth-space/hearth/internal/auth"
	"github.com/hearth-space/hearth/internal/errs"
	"github.com/hearth-space/hearth/internal/httpx"
	"github.com/hearth-space/hearth/internal/id"
	"github.com/hearth-space/hearth/internal/obs"
	"github.com/hearth-space/hearth/internal/store"
)

// RefreshCookie is the refresh token cookie's name; it is scoped to
// RefreshCookiePath so no other request carries it.
const (
	RefreshCookie     = "hearth_refresh"
	RefreshCookiePath = "/api/v1/auth"
)

// userJSON is a user as clients see it.
type userJSON struct {
	ID          string `json:"id"`
	Username    string `json:"username,omitempty"`
	DisplayName string `json:"display_name"`
	Guest       bool   `json:"guest"`
	Admin       bool   `json:"admin,omitempty"`
}

func toUserJSON(u store.User) userJSON {
	return userJSON{ID: u.ID, Username: u.Username, DisplayName: u.DisplayName, Guest: u.Guest, Admin: u.Admin}
}

// signInResponse answers every successful sign-in and refresh.
type signInResponse struct {
	AccessToken string   `json:"access_token"`
	TokenType   string   `json:"token_type"`
	ExpiresIn   int      `json:"expires_in"`
	User        userJSON `json:"user"`
}

type registerRequest struct {
	Username    string `json:"username"`
	Password    string `json:"password"`
	DisplayName string `json:"display_name"`
}

// handleRegister creates an account. With a guest's access token it
// upgrades that guest in place, keeping its id, rooms and roles.
func (s *Server) handleRegister(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	var err error
	defer func() { s.metrics.observeAuth(r.Context(), opRegister, start, err) }()

	var req registerRequest
	if err = s.decode(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	var f fieldErrors
	username := normUsername(&f, "username", req.Username)
	checkPassword(&f, "password", req.Password, username)
	display := req.DisplayName
	if display == "" {
		display = req.Username
	}
	display = checkDisplayName(&f, "display_name", display)
	if err = f.Err(); err != nil {
		s.fail(w, r, err)
		return
	}
	if err = s.limitSignIn(r, username); err != nil {
		s.fail(w, r, err)
		return
	}
	// An upgrading guest proves who it is with its access token.
	var guest *auth.Claims
	if r.Header.Get("Authorization") != "" {
		if guest, err = s.verifyAccess(r); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	hash, herr := s.hasher.Hash(req.Password)
	if herr != nil {
		err = herr
		s.fail(w, r, err)
		return
	}
	var u store.User
	if guest != nil {
		if u, err = s.store.UpgradeGuest(r.Context(), guest.Subject, username, hash, display); err != nil {
			s.fail(w, r, err)
			return
		}
		// The guest's sign-in ends; the new session below is the account's.
		_ = s.store.RevokeSession(r.Context(), guest.SessionID, store.RevokeUpgrade)
	} else {
		u = store.User{ID: id.New(), Username: username, DisplayName: display, PasswordHash: hash, Admin: s.isAdmin(username)}
		if err = s.store.CreateUser(r.Context(), &u); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	obs.Set(r.Context(), slog.String(obs.KeyUserID, u.ID))
	s.log.InfoContext(r.Context(), "account registered", "upgraded_guest", guest != nil)
	err = s.startSession(w, r, u, http.StatusCreated)
}

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	var err error
	defer func() { s.metrics.observeAuth(r.Context(), opLogin, start, err) }()

	var req loginRequest
	if err = s.decode(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	var f fieldErrors
	if req.Username == "" {
		f.Add("username", "is required")
	}
	if req.Password == "" {
		f.Add("password", "is required")
	}
	if len(req.Username) > 256 || len(req.Password) > 1024 {
		f.Add("username", "or password is too long")
	}
	if err = f.Err(); err != nil {
		s.fail(w, r, err)
		return
	}
	username := normUsernameLoose(req.Username)
	if err = s.limitSignIn(r, username); err != nil {
		s.fail(w, r, err)
		return
	}
	u, lerr := s.store.UserByUsername(r.Context(), username)
	if lerr != nil && errs.CodeOf(lerr) != errs.NotFound {
		err = lerr
		s.fail(w, r, err)
		return
	}
	if lerr != nil || u.PasswordHash == "" {
		s.hasher.VerifyDummy(req.Password) // same cost as a wrong password
		err = errs.E(errs.InvalidCredentials, "the username or password is wrong")
		s.fail(w, r, err)
		return
	}
	ok, verr := s.hasher.Verify(req.Password, u.PasswordHash)
	if verr != nil {
		err = errs.Wrap(errs.Internal, verr, "could not check the password")
		s.fail(w, r, err)
		return
	}
	if !ok {
		err = errs.E(errs.InvalidCredentials, "the username or password is wrong")
		s.fail(w, r, err)
		return
	}
	obs.Set(r.Context(), slog.String(obs.KeyUserID, u.ID))
	if s.isAdmin(u.Username) {
		u.Admin = true
	}
	err = s.startSession(w, r, u, http.StatusOK)
}

// normUsernameLoose lower-cases a username for lookup without judging it:
// a login with a malformed name is simply a wrong login.
func normUsernameLoose(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

type guestRequest struct {
	DisplayName string `json:"display_name"`
}

func (s *Server) handleGuest(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	var err error
	defer func() { s.metrics.observeAuth(r.Context(), opGuest, start, err) }()

	var req guestRequest
	if err = s.decode(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	var f fieldErrors
	display := checkDisplayName(&f, "display_name", req.DisplayName)
	if err = f.Err(); err != nil {
		s.fail(w, r, err)
		return
	}
	if ok, wait := s.guestPerIP.Allow(s.clientIP(r)); !ok {
		err = errs.Limited(wait)
		s.fail(w, r, err)
		return
	}
	u := store.User{ID: id.New(), DisplayName: display, Guest: true}
	if err = s.store.CreateUser(r.Context(), &u); err != nil {
		s.fail(w, r, err)
		return
	}
	obs.Set(r.Context(), slog.String(obs.KeyUserID, u.ID))
	err = s.startSession(w, r, u, http.StatusCreated)
}

// startSession creates a sign-in session for u, sets its refresh cookie and
// answers with an access token.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, u store.User, status int) error {
	refresh, hash := auth.NewRefreshToken()
	sess := store.AuthSession{
		ID: id.New(), UserID: u.ID, UserAgent: truncateRunes(r.UserAgent(), 200),
		ExpiresAt: s.now().Add(s.cfg.Auth.RefreshTokenTTL),
	}
	if err := s.store.CreateSession(r.Context(), &sess, hash); err != nil {
		s.fail(w, r, err)
		return err
	}
	return s.answerWithTokens(w, r, u, sess, refresh, status)
}

func (s *Server) answerWithTokens(w http.ResponseWriter, r *http.Request, u store.User, sess store.AuthSession, refresh string, status int) error {
	claims := auth.Claims{Name: u.DisplayName, Guest: u.Guest, SessionID: sess.ID}
	claims.Subject = u.ID
	access, exp, err := s.tokens.Mint(claims, auth.AudienceAPI, s.cfg.Auth.AccessTokenTTL)
	if err != nil {
		s.fail(w, r, err)
		return err
	}
	s.setRefreshCookie(w, r, refresh, sess.ExpiresAt)
	httpx.JSON(w, status, signInResponse{
		AccessToken: access, TokenType: "Bearer", ExpiresIn: int(time.Until(exp).Round(time.Second).Seconds()),
		User: toUserJSON(u),
	})
	return nil
}

func (s *Server) setRefreshCookie(w http.ResponseWriter, r *http.Request, value string, expires time.Time) {
	c := &http.Cookie{
		Name: RefreshCookie, Value: value, Path: RefreshCookiePath,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: s.secure(r),
	}
	if value == "" {
		c.MaxAge = -1
	} else {
		c.Expires = expires
		c.MaxAge = int(time.Until(expires).Seconds())
	}
	http.SetCookie(w, c)
}

// handleRefresh rotates the refresh cookie and mints a fresh access token.
func (s *Server) handleRefresh(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	var err error
	defer func() { s.metrics.observeAuth(r.Context(), opRefresh, start, err) }()

	c, cerr := r.Cookie(RefreshCookie)
	if cerr != nil || c.Value == "" {
		err = errs.E(errs.Unauthenticated, "no refresh cookie; sign in again")
		s.fail(w, r, err)
		return
	}
	refresh, hash := auth.NewRefreshToken()
	sess, rerr := s.store.RotateRefresh(r.Context(), auth.HashRefreshToken(c.Value), hash)
	if rerr != nil {
		err = rerr
		if code := errs.CodeOf(err); code == errs.RefreshReused {
			s.log.WarnContext(r.Context(), "refresh token reused; session revoked", "ip", s.clientIP(r))
		}
		s.setRefreshCookie(w, r, "", time.Time{})
		s.fail(w, r, err)
		return
	}
	obs.Set(r.Context(), slog.String(obs.KeyUserID, sess.UserID))
	u, uerr := s.store.UserByID(r.Context(), sess.UserID)
	if uerr != nil {
		err = uerr
		s.fail(w, r, err)
		return
	}
	if s.isAdmin(u.Username) {
		u.Admin = true
	}
	err = s.answerWithTokens(w, r, u, sess, refresh, http.StatusOK)
}

// handleLogout ends the sign-in session named by the refresh cookie, or by
// the access token when there is no cookie. It always clears the cookie.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	var err error
	defer func() { s.metrics.observeAuth(r.Context(), opLogout, start, err) }()

	var sessionID string
	if c, cerr := r.Cookie(RefreshCookie); cerr == nil && c.Value != "" {
		sessionID, _ = s.store.SessionByRefresh(r.Context(), auth.HashRefreshToken(c.Value))
	}
	if sessionID == "" && r.Header.Get("Authorization") != "" {
		claims, verr := s.verifyAccess(r)
		if verr != nil {
			err = verr
			s.fail(w, r, err)
			return
		}
		sessionID = claims.SessionID
	}
	if sessionID != "" {
		if err = s.store.RevokeSession(r.Context(), sessionID, store.RevokeLogout); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	s.setRefreshCookie(w, r, "", time.Time{})
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleMe(w http.ResponseWriter, r *http.Request, c *auth.Claims) {
	u, err := s.store.UserByID(r.Context(), c.Subject)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if s.isAdmin(u.Username) {
		u.Admin = true
	}
	httpx.JSON(w, http.StatusOK, toUserJSON(u))
}

type updateMeRequest struct {
	DisplayName *string `json:"display_name"`
}

func (s *Server) handleUpdateMe(w http.ResponseWriter, r *http.Request, c *auth.Claims) {
	var req updateMeRequest
	if err := s.decode(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	var f fieldErrors
	if req.DisplayName == nil {
		f.Add("display_name", "is required")
	}
	display := ""
	if req.DisplayName != nil {
		display = checkDisplayName(&f, "display_name", *req.DisplayName)
	}
	if err := f.Err(); err != nil {
		s.fail(w, r, err)
		return
	}
	u, err := s.store.UpdateDisplayName(r.Context(), c.Subject, display)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, toUserJSON(u))
}

// limitSignIn applies the per-IP and per-username sign-in limits.
func (s *Server) limitSignIn(r *http.Request, username string) error {
	if ok, wait := s.loginPerIP.Allow(s.clientIP(r)); !ok {
		s.log.WarnContext(r.Context(), "sign-in rate limited", "by", "ip")
		return errs.Limited(wait)
	}
	if username != "" {
		if ok, wait := s.loginPerName.Allow(username); !ok {
			s.log.WarnContext(r.Context(), "sign-in rate limited", "by", "username")
			return errs.Limited(wait)
		}
	}
	return nil
}

func (s *Server) isAdmin(username string) bool {
	if username == "" {
		return false
	}
	for _, a := range s.cfg.Admins {
		if normUsernameLoose(a) == username {
			return true
		}
	}
	return false
}

func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}
