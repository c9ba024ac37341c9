// Package errs defines Hearth's coded errors. Every failure that can reach a
// client carries a stable, machine-readable Code; transports (HTTP problem
// documents, WebSocket error messages and close codes) map codes to their own
// representation in one place each. Never match on error strings.
package errs

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Code is a stable, machine-readable error code shared by every transport.
type Code string

// The codes a client can see. Keep docs/errors.md in sync.
const (
	Internal             Code = "internal"
	Unavailable          Code = "unavailable"
	Validation           Code = "validation_failed"
	MalformedBody        Code = "malformed_body"
	UnsupportedMediaType Code = "unsupported_media_type"
	BodyTooLarge         Code = "body_too_large"
	NotFound             Code = "not_found"
	MethodNotAllowed     Code = "method_not_allowed"
	Conflict             Code = "conflict"
	UsernameTaken        Code = "username_taken"
	AlreadyRegistered    Code = "already_registered"
	Unauthenticated      Code = "unauthenticated"
	TokenExpired         Code = "token_expired"
	TokenInvalid         Code = "token_invalid"
	RefreshReused        Code = "refresh_token_reused"
	InvalidCredentials   Code = "invalid_credentials"
	Forbidden            Code = "forbidden"
	Banned               Code = "banned"
	RoomFull             Code = "room_full"
	InviteRequired       Code = "invite_required"
	RateLimited          Code = "rate_limited"
	Timeout              Code = "timeout"
	Canceled             Code = "canceled"
	InvalidAudio         Code = "invalid_audio"
	StreamURLExpired     Code = "stream_url_expired"
	StreamURLInvalid     Code = "stream_url_invalid"
	QueueFull            Code = "queue_full"
)

// FieldError names one invalid input field.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// FieldList collects validation failures so one answer can list them all.
type FieldList []FieldError

// Add records that field is invalid.
func (f *FieldList) Add(field, msg string) { *f = append(*f, FieldError{Field: field, Message: msg}) }

// Err is a Validation error listing the fields, or nil when there are none.
func (f FieldList) Err() error {
	if len(f) == 0 {
		return nil
	}
	return Invalid(f...)
}

// Error is an error with a Code and a message safe to show to clients.
type Error struct {
	Code    Code
	Message string
	// Fields lists offending inputs for Validation errors.
	Fields []FieldError
	// RetryAfter is set on RateLimited errors.
	RetryAfter time.Duration
	// Err is the underlying cause; it is logged, never shown.
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// E returns a new coded error with a client-safe message.
func E(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap attaches a code and client-safe message to err.
func Wrap(code Code, err error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

// Invalid returns a Validation error listing the offending fields.
func Invalid(fields ...FieldError) *Error {
	return &Error{Code: Validation, Message: "the request has invalid fields", Fields: fields}
}

// Limited returns a RateLimited error that tells the client when to retry.
func Limited(retryAfter time.Duration) *Error {
	return &Error{Code: RateLimited, Message: "too many requests, slow down", RetryAfter: retryAfter}
}

// CodeOf returns the code of the first *Error in err's chain. Context
// cancellation and deadlines map to their own codes; anything else is
// Internal.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return Timeout
	case errors.Is(err, context.Canceled):
		return Canceled
	}
	return Internal
}

// MessageOf returns the client-safe message of err, or a generic one.
func MessageOf(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Message != "" {
		return e.Message
	}
	switch CodeOf(err) {
	case Timeout:
		return "the operation timed out"
	case Canceled:
		return "the operation was canceled"
	}
	return "an internal error occurred"
}

// As returns the first *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
