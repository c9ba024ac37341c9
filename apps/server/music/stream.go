package music

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/hearth-space/hearth/internal/auth"
	"github.com/hearth-space/hearth/internal/blob"
	"github.com/hearth-space/hearth/internal/errs"
	"github.com/hearth-space/hearth/internal/httpx"
	"github.com/hearth-space/hearth/internal/id"
	"github.com/hearth-space/hearth/internal/obs"
	"github.com/hearth-space/hearth/internal/store"
)

// expiryStep rounds stream URL expiries up, so that one listener asking
// again within a few minutes gets the same URL and the browser's cache
// keeps working.
const expiryStep = 5 * time.Minute

// sign is the signature of a stream URL: HMAC-SHA256 over the track, the
// expiry and the user it was issued to, with the deployment's secret.
func (s *Service) sign(trackID string, exp int64, userID string) string {
	m := hmac.New(sha256.New, s.secret)
	fmt.Fprintf(m, "hearth-music-stream\n%s\n%d\n%s", trackID, exp, userID)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// streamURL returns a signed path for streaming t, valid for the
// configured lifetime beyond the track's duration (so one URL plays the
// whole track, seeks included).
func (s *Service) streamURL(t store.Track, userID string) (string, time.Time) {
	exp := s.clock.Now().Add(s.cfg.StreamURLTTL + t.Duration)
	step := int64(expiryStep / time.Second)
	secs := (exp.Unix() + step - 1) / step * step
	q := url.Values{}
	q.Set("exp", strconv.FormatInt(secs, 10))
	q.Set("u", userID)
	q.Set("sig", s.sign(t.ID, secs, userID))
	return "/api/v1/music/tracks/" + t.ID + "/stream?" + q.Encode(), time.Unix(secs, 0).UTC()
}

type streamURLJSON struct {
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
}

// handleStreamURL hands an authenticated user a signed stream URL.
func (s *Service) handleStreamURL(w http.ResponseWriter, r *http.Request, c *auth.Claims) {
	t, err := s.loadTrack(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	u, exp := s.streamURL(t, c.Subject)
	httpx.JSON(w, http.StatusOK, streamURLJSON{URL: u, ExpiresAt: exp})
}

// verify checks a stream request's signature, then its expiry: a
// signature for another track, user or expiry is invalid, whatever the
// expiry says.
func (s *Service) verify(r *http.Request, trackID string) (string, error) {
	q := r.URL.Query()
	exp, err := strconv.ParseInt(q.Get("exp"), 10, 64)
	userID := q.Get("u")
	sig, derr := base64.RawURLEncoding.DecodeString(q.Get("sig"))
	if err != nil || derr != nil || !id.Valid(userID) {
		return "", errs.E(errs.StreamURLInvalid, "the stream URL is not valid; ask for a new one")
	}
	want, _ := base64.RawURLEncoding.DecodeString(s.sign(trackID, exp, userID))
	if !hmac.Equal(sig, want) {
		return "", errs.E(errs.StreamURLInvalid, "the stream URL is not valid; ask for a new one")
	}
	if s.clock.Now().Unix() > exp {
		return "", errs.E(errs.StreamURLExpired, "the stream URL has expired; ask for a new one")
	}
	return userID, nil
}

// handleStream serves a track's bytes to an audio element: Range requests
// (single, open-ended and multiple ranges; 416 for unsatisfiable ones),
// conditional requests on the content-hash ETag and Last-Modified, and
// caching for as long as the URL is valid (the content never changes).
func (s *Service) handleStream(w http.ResponseWriter, r *http.Request) {
	tid := r.PathValue("id")
	if !id.Valid(tid) {
		s.fail(w, r, errs.E(errs.NotFound, "track not found"))
		return
	}
	userID, err := s.verify(r, tid)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	obs.Set(r.Context(), slog.String(obs.KeyUserID, userID))
	t, err := s.store.TrackByID(r.Context(), tid)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	obj, err := s.blobs.Open(r.Context(), t.BlobKey)
	if errors.Is(err, blob.ErrNotFound) {
		s.fail(w, r, errs.E(errs.NotFound, "track not found"))
		return
	}
	if err != nil {
		s.fail(w, r, errs.Wrap(errs.Unavailable, err, "the track cannot be read right now"))
		return
	}
	defer obj.Close()
	exp, _ := strconv.ParseInt(r.URL.Query().Get("exp"), 10, 64)
	maxAge := max(exp-s.clock.Now().Unix(), 0)
	h := w.Header()
	h.Set("Content-Type", t.ContentType)
	h.Set("ETag", `"`+t.ContentHash+`"`)
	h.Set("Cache-Control", fmt.Sprintf("private, max-age=%d, immutable", maxAge))
	h.Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(&countingWriter{ResponseWriter: w, n: s.metrics.streamBytes}, r, "", t.CreatedAt, obj)
}

// countingWriter counts the bytes a response sends.
type countingWriter struct {
	http.ResponseWriter
	n interface{ Add(float64) }
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.ResponseWriter.Write(b)
	c.n.Add(float64(n))
	return n, err
}

func (c *countingWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }
