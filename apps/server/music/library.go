package music

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/hearth-space/hearth/internal/audio"
	"github.com/hearth-space/hearth/internal/auth"
	"github.com/hearth-space/hearth/internal/errs"
	"github.com/hearth-space/hearth/internal/httpx"
	"github.com/hearth-space/hearth/internal/id"
	"github.com/hearth-space/hearth/internal/obs"
	"github.com/hearth-space/hearth/internal/store"
	"github.com/hearth-space/hearth/internal/textclean"
)

// Lengths of editable track fields, in characters.
const (
	titleMax = 200
	textMax  = 200
)

type trackJSON struct {
	ID          string    `json:"id"`
	Title       string    `json:"title"`
	Artist      string    `json:"artist"`
	Album       string    `json:"album"`
	DurationMS  int64     `json:"duration_ms"`
	Format      string    `json:"format"`
	ContentType string    `json:"content_type"`
	SizeBytes   int64     `json:"size_bytes"`
	UploaderID  string    `json:"uploader_id,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

func toTrackJSON(t store.Track) trackJSON {
	return trackJSON{
		ID: t.ID, Title: t.Title, Artist: t.Artist, Album: t.Album, DurationMS: t.Duration.Milliseconds(),
		Format: t.Format, ContentType: t.ContentType, SizeBytes: t.Size, UploaderID: t.UploaderID,
		CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt,
	}
}

type uploadResponse struct {
	Track trackJSON `json:"track"`
	// Duplicate is true when the library already held this exact file: the
	// answer is the existing track and nothing new was stored.
	Duplicate bool `json:"duplicate"`
}

// rejection is a refused upload: the reason label and the client's error.
type rejection struct {
	reason string
	err    error
}

func (e *rejection) Error() string { return e.err.Error() }
func (e *rejection) Unwrap() error { return e.err }

func reject(reason string, err error) error { return &rejection{reason: reason, err: err} }

// handleUpload receives a multipart upload (a "file" part, and optional
// "title", "artist", "album" parts that override the file's tags). The file
// streams into a spool file under the data dir while it is hashed, is
// recognised and measured by content, then written to the blob store as a
// temporary object committed under its key, and only then recorded. A
// refusal at any step answers a problem document and leaves no file and no
// row; identical content answers the existing track.
func (s *Service) handleUpload(w http.ResponseWriter, r *http.Request, c *auth.Claims) {
	start := time.Now() // a processing time, not a point on the room timeline
	ctx := r.Context()
	if c.Guest {
		s.fail(w, r, errs.E(errs.Forbidden, "guests cannot upload music; register an account first"))
		return
	}
	track, dup, err := s.receive(ctx, w, r, c)
	if err != nil {
		var rj *rejection
		if errors.As(err, &rj) {
			s.metrics.rejected.WithLabelValues(rj.reason).Inc()
			s.log.InfoContext(ctx, "track upload rejected", "reason", rj.reason, "err", rj.err)
		}
		s.fail(w, r, err)
		return
	}
	status := http.StatusCreated
	if dup {
		status = http.StatusOK
		s.log.InfoContext(ctx, "track upload matched an existing track", "track_id", track.ID)
	} else {
		obs.Observe(ctx, s.metrics.upload, time.Since(start).Seconds())
		s.log.InfoContext(ctx, "track uploaded", "track_id", track.ID, "format", track.Format,
			"bytes", track.Size, "duration_ms", track.Duration.Milliseconds())
	}
	w.Header().Set("Location", "/api/v1/music/tracks/"+track.ID)
	httpx.JSON(w, status, uploadResponse{Track: toTrackJSON(track), Duplicate: dup})
}

func (s *Service) receive(ctx context.Context, w http.ResponseWriter, r *http.Request, c *auth.Claims) (store.Track, bool, error) {
	limit := s.cfg.MaxUploadBytes
	// Room for the multipart framing and the small text parts.
	r.Body = http.MaxBytesReader(w, r.Body, limit+64<<10)
	if r.ContentLength > limit+64<<10 {
		return store.Track{}, false, reject(rejectTooLarge, errs.E(errs.BodyTooLarge, "the file is larger than %d bytes", limit))
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return store.Track{}, false, reject(rejectMalformed,
			errs.E(errs.UnsupportedMediaType, "send the track as multipart/form-data with a \"file\" part"))
	}
	spool, err := os.CreateTemp(s.spool, "upload-*")
	if err != nil {
		return store.Track{}, false, err
	}
	defer func() {
		_ = spool.Close()
		_ = os.Remove(spool.Name())
	}()

	var (
		size     int64 = -1
		hash     string
		filename string
		fields   = map[string]string{}
	)
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return store.Track{}, false, bodyError(err, limit)
		}
		switch name := part.FormName(); name {
		case "file":
			if size >= 0 {
				return store.Track{}, false, reject(rejectMalformed, errs.Invalid(errs.FieldError{Field: "file", Message: "send one file per upload"}))
			}
			filename = part.FileName()
			h := sha256.New()
			n, err := io.Copy(io.MultiWriter(spool, h), io.LimitReader(part, limit+1))
			if err != nil {
				return store.Track{}, false, bodyError(err, limit)
			}
			if n > limit {
				return store.Track{}, false, reject(rejectTooLarge, errs.E(errs.BodyTooLarge, "the file is larger than %d bytes", limit))
			}
			size, hash = n, hex.EncodeToString(h.Sum(nil))
		case "title", "artist", "album":
			b, err := io.ReadAll(io.LimitReader(part, 4<<10))
			if err != nil {
				return store.Track{}, false, bodyError(err, limit)
			}
			fields[name] = string(b)
		default:
			if _, err := io.Copy(io.Discard, part); err != nil {
				return store.Track{}, false, bodyError(err, limit)
			}
		}
		_ = part.Close()
	}
	if size < 0 {
		return store.Track{}, false, reject(rejectMalformed, errs.Invalid(errs.FieldError{Field: "file", Message: "is required"}))
	}
	if size == 0 {
		return store.Track{}, false, reject(rejectEmpty, errs.Invalid(errs.FieldError{Field: "file", Message: "is empty"}))
	}

	info, err := audio.Probe(spool, size)
	if err != nil {
		var ie *audio.InvalidError
		switch {
		case errors.Is(err, audio.ErrUnsupported):
			return store.Track{}, false, reject(rejectUnsupported, errs.E(errs.UnsupportedMediaType,
				"the file is not MP3, Ogg Opus, Ogg Vorbis, FLAC, WAV, M4A or AAC audio"))
		case errors.As(err, &ie) && ie.Truncated:
			return store.Track{}, false, reject(rejectTruncated, errs.Wrap(errs.InvalidAudio, err, "the %s file is incomplete: %s", ie.Format, ie.Reason))
		case errors.As(err, &ie):
			return store.Track{}, false, reject(rejectCorrupt, errs.Wrap(errs.InvalidAudio, err, "the %s file is corrupt: %s", ie.Format, ie.Reason))
		}
		return store.Track{}, false, err
	}

	if existing, err := s.store.TrackByHash(ctx, hash); err == nil {
		return existing, true, nil
	} else if errs.CodeOf(err) != errs.NotFound {
		return store.Track{}, false, err
	}

	tags := audio.ReadTags(spool, size, info)
	t := store.Track{
		ID: id.New(), ContentHash: hash, Format: string(info.Format), ContentType: info.Format.ContentType(),
		Size: size, Duration: info.Duration.Round(time.Millisecond), Title: tags.Title, Artist: tags.Artist, Album: tags.Album,
		UploaderID: c.Subject,
	}
	if t.Title == "" {
		t.Title = titleFromName(filename)
	}
	var f fieldErrors
	for name, v := range fields {
		v = cleanText(v)
		switch name {
		case "title":
			t.Title = v
		case "artist":
			t.Artist = v
		case "album":
			t.Album = v
		}
	}
	checkTrack(&f, &t)
	if err := f.Err(); err != nil {
		return store.Track{}, false, err
	}
	t.BlobKey = "tracks/" + strings.ToLower(t.ID)

	if _, err := spool.Seek(0, io.SeekStart); err != nil {
		return store.Track{}, false, err
	}
	if err := s.blobs.Put(ctx, t.BlobKey, spool, size, t.ContentType); err != nil {
		return store.Track{}, false, errs.Wrap(errs.Unavailable, err, "the track could not be stored; try again")
	}
	if err := s.store.CreateTrack(ctx, &t); err != nil {
		s.dropBlob(ctx, t.BlobKey)
		if errs.CodeOf(err) == errs.Conflict {
			// The same file finished uploading alongside this one.
			existing, err2 := s.store.TrackByHash(ctx, hash)
			if err2 == nil {
				return existing, true, nil
			}
		}
		return store.Track{}, false, err
	}
	return t, false, nil
}

// bodyError classifies a failure reading the request body.
func bodyError(err error, limit int64) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return reject(rejectTooLarge, errs.E(errs.BodyTooLarge, "the file is larger than %d bytes", limit))
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || isNetErr(err) {
		return reject(rejectInterrupted, errs.Wrap(errs.MalformedBody, err, "the upload was interrupted before the body ended"))
	}
	return reject(rejectMalformed, errs.Wrap(errs.MalformedBody, err, "the body is not valid multipart/form-data"))
}

func isNetErr(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, net.ErrClosed)
}

// dropBlob removes a stored blob after a later step failed; the request
// may be over, so it runs on a context of its own.
func (s *Service) dropBlob(ctx context.Context, key string) {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := s.blobs.Delete(dctx, key); err != nil {
		s.log.WarnContext(ctx, "remove blob", "key", key, "err", err)
	}
}

// titleFromName makes a title from an upload's file name ("01 - Song.mp3"
// becomes "01 - Song").
func titleFromName(name string) string {
	name = path.Base(strings.ReplaceAll(name, "\\", "/"))
	if name == "." || name == "/" {
		return "Untitled"
	}
	name = strings.TrimSuffix(name, path.Ext(name))
	if t := cleanText(strings.ReplaceAll(name, "_", " ")); t != "" {
		return t
	}
	return "Untitled"
}

// cleanText applies the rules every service shows user text by.
func cleanText(s string) string { return textclean.Line(s) }

type fieldErrors = errs.FieldList

func checkTrack(f *fieldErrors, t *store.Track) {
	if n := utf8.RuneCountInString(t.Title); n < 1 || n > titleMax {
		f.Add("title", "must be 1 to 200 characters")
	}
	if utf8.RuneCountInString(t.Artist) > textMax {
		f.Add("artist", "must be at most 200 characters")
	}
	if utf8.RuneCountInString(t.Album) > textMax {
		f.Add("album", "must be at most 200 characters")
	}
}

type listTracksResponse struct {
	Tracks     []trackJSON `json:"tracks"`
	NextCursor string      `json:"next_cursor,omitempty"`
}

// handleListTracks lists the library newest first: q searches title, artist
// and album; uploader=me (or a user id) keeps one person's uploads.
func (s *Service) handleListTracks(w http.ResponseWriter, r *http.Request, c *auth.Claims) {
	q := r.URL.Query()
	var f fieldErrors
	query := store.TrackQuery{Limit: 50, Search: q.Get("q")}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			f.Add("limit", "must be a number from 1 to 200")
		}
		query.Limit = n
	}
	if len(query.Search) > 200 {
		f.Add("q", "must be at most 200 characters")
	}
	switch v := q.Get("uploader"); {
	case v == "me":
		query.UploaderID = c.Subject
	case v != "" && !id.Valid(v):
		f.Add("uploader", "must be \"me\" or a user id")
	default:
		query.UploaderID = v
	}
	if v := q.Get("cursor"); v != "" {
		var ok bool
		if query.After, ok = decodeCursor(v); !ok {
			f.Add("cursor", "is not a cursor from a previous page")
		}
	}
	if err := f.Err(); err != nil {
		s.fail(w, r, err)
		return
	}
	limit := query.Limit
	query.Limit++
	tracks, err := s.store.ListTracks(r.Context(), query)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	resp := listTracksResponse{Tracks: []trackJSON{}}
	if len(tracks) > limit {
		last := tracks[limit-1]
		resp.NextCursor = encodeCursor(store.TrackCursor{CreatedAt: last.CreatedAt, ID: last.ID})
		tracks = tracks[:limit]
	}
	for _, t := range tracks {
		resp.Tracks = append(resp.Tracks, toTrackJSON(t))
	}
	httpx.JSON(w, http.StatusOK, resp)
}

func encodeCursor(c store.TrackCursor) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.CreatedAt.UnixMilli(), 10) + ":" + c.ID))
}

func decodeCursor(s string) (store.TrackCursor, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return store.TrackCursor{}, false
	}
	msStr, tid, ok := strings.Cut(string(b), ":")
	ms, err := strconv.ParseInt(msStr, 10, 64)
	if !ok || err != nil || !id.Valid(tid) {
		return store.TrackCursor{}, false
	}
	return store.TrackCursor{CreatedAt: time.UnixMilli(ms), ID: tid}, true
}

func (s *Service) loadTrack(r *http.Request) (store.Track, error) {
	tid := r.PathValue("id")
	if !id.Valid(tid) {
		return store.Track{}, errs.E(errs.NotFound, "track not found")
	}
	return s.store.TrackByID(r.Context(), tid)
}

func (s *Service) handleGetTrack(w http.ResponseWriter, r *http.Request, _ *auth.Claims) {
	t, err := s.loadTrack(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, toTrackJSON(t))
}

// mayEdit allows the uploader and server admins.
func (s *Service) mayEdit(ctx context.Context, t store.Track, userID string) error {
	if t.UploaderID != "" && t.UploaderID == userID {
		return nil
	}
	admin, err := s.isAdmin(ctx, userID)
	if err != nil {
		return err
	}
	if !admin {
		return errs.E(errs.Forbidden, "only the uploader or an admin may change this track")
	}
	return nil
}

type updateTrackRequest struct {
	Title  *string `json:"title"`
	Artist *string `json:"artist"`
	Album  *string `json:"album"`
}

func (s *Service) handleUpdateTrack(w http.ResponseWriter, r *http.Request, c *auth.Claims) {
	t, err := s.loadTrack(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.mayEdit(r.Context(), t, c.Subject); err != nil {
		s.fail(w, r, err)
		return
	}
	var req updateTrackRequest
	if err := httpx.DecodeJSON(r, 64<<10, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if req.Title != nil {
		t.Title = cleanText(*req.Title)
	}
	if req.Artist != nil {
		t.Artist = cleanText(*req.Artist)
	}
	if req.Album != nil {
		t.Album = cleanText(*req.Album)
	}
	var f fieldErrors
	checkTrack(&f, &t)
	if err := f.Err(); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.store.UpdateTrack(r.Context(), &t); err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "track updated", "track_id", t.ID)
	httpx.JSON(w, http.StatusOK, toTrackJSON(t))
}

// handleDeleteTrack removes a track: its row (so nobody can queue it), then
// every queue entry of it (a room playing it moves on), then its blob.
func (s *Service) handleDeleteTrack(w http.ResponseWriter, r *http.Request, c *auth.Claims) {
	ctx := r.Context()
	t, err := s.loadTrack(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.mayEdit(ctx, t, c.Subject); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.store.DeleteTrack(ctx, t.ID); err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.InfoContext(ctx, "track deleted", "track_id", t.ID)
	rooms, err := s.store.MusicPlayersWithTrack(ctx, t.ID)
	if err != nil {
		s.log.WarnContext(ctx, "find players with a deleted track", "err", err)
	}
	for _, roomID := range rooms {
		rctx := obs.WithFields(ctx, slog.String(obs.KeyRoomID, roomID))
		if _, err := s.mutateRoom(rctx, roomID, opTrackGone, func(d *doc, now int64) error {
			d.removeTrack(t.ID, now)
			return nil
		}); err != nil {
			s.log.WarnContext(rctx, "remove a deleted track from a room's player", "err", err)
		}
	}
	s.dropBlob(ctx, t.BlobKey)
	w.WriteHeader(http.StatusNoContent)
}
