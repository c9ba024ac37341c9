// Package httpx is Hearth's HTTP plumbing: RFC 9457 problem responses mapped
// from error codes in one place, strict JSON request decoding, a router that
// answers unmatched API routes with problems, and the middleware that gives
// every request an id, an access log line and metrics.
package httpx

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"

	"github.com/hearth-space/hearth/internal/errs"
)

// ProblemContentType is the media type of error bodies.
const ProblemContentType = "application/problem+json"

// Problem is an RFC 9457 problem document with Hearth's extensions.
type Problem struct {
	Type      string            `json:"type"`
	Title     string            `json:"title"`
	Status    int               `json:"status"`
	Detail    string            `json:"detail,omitempty"`
	Instance  string            `json:"instance,omitempty"`
	Code      errs.Code         `json:"code"`
	Errors    []errs.FieldError `json:"errors,omitempty"`
	RequestID string            `json:"request_id,omitempty"`
}

// ProblemType is the type URI of a code: a stable identifier documented in
// docs/errors.md.
func ProblemType(c errs.Code) string { return "urn:hearth:problem:" + string(c) }

// StatusOf maps an error code to its HTTP status. This is the only place
// that does.
func StatusOf(c errs.Code) int {
	switch c {
	case errs.Validation, errs.MalformedBody:
		return http.StatusBadRequest
	case errs.Unauthenticated, errs.TokenExpired, errs.TokenInvalid, errs.RefreshReused, errs.InvalidCredentials:
		return http.StatusUnauthorized
	case errs.Forbidden, errs.Banned, errs.InviteRequired, errs.StreamURLExpired, errs.StreamURLInvalid:
		return http.StatusForbidden
	case errs.NotFound:
		return http.StatusNotFound
	case errs.MethodNotAllowed:
		return http.StatusMethodNotAllowed
	case errs.Conflict, errs.UsernameTaken, errs.AlreadyRegistered, errs.RoomFull, errs.QueueFull:
		return http.StatusConflict
	case errs.InvalidAudio:
		return http.StatusUnprocessableEntity
	case errs.BodyTooLarge:
		return http.StatusRequestEntityTooLarge
	case errs.UnsupportedMediaType:
		return http.StatusUnsupportedMediaType
	case errs.RateLimited:
		return http.StatusTooManyRequests
	case errs.Unavailable:
		return http.StatusServiceUnavailable
	case errs.Timeout:
		return http.StatusGatewayTimeout
	case errs.Canceled:
		return 499 // client closed the request; nobody reads it, metrics do
	}
	return http.StatusInternalServerError
}

// Error writes err as a problem document. Internal errors are logged with
// their cause and shown to the client without it.
func Error(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	code := errs.CodeOf(err)
	status := StatusOf(code)
	p := Problem{
		Type:      ProblemType(code),
		Title:     http.StatusText(status),
		Status:    status,
		Detail:    errs.MessageOf(err),
		Code:      code,
		RequestID: w.Header().Get(RequestIDHeader),
	}
	if p.Title == "" {
		p.Title = "Client Closed Request"
	}
	if e, ok := errs.As(err); ok {
		p.Errors = e.Fields
		if e.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(e.RetryAfter.Seconds()))))
		}
	}
	switch code {
	case errs.TokenExpired, errs.TokenInvalid:
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer error="invalid_token", error_description=%q`, p.Detail))
	case errs.Unauthenticated:
		w.Header().Set("WWW-Authenticate", `Bearer realm="hearth"`)
	}
	if status >= 500 && log != nil {
		log.ErrorContext(r.Context(), "request failed", "code", string(code), "err", err)
	}
	w.Header().Set("Content-Type", ProblemContentType)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(p)
}

// JSON writes v as a JSON response with status.
func JSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
