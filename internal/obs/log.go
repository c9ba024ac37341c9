// Package obs holds Hearth's observability plumbing: structured logging with
// context-carried fields, the Prometheus registry, and OpenTelemetry tracing.
// Call sites log with the *Context methods and never repeat request, user,
// room or session ids: the handler adds whatever the context carries.
package obs

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"

	"go.opentelemetry.io/otel/trace"
)

// Well-known log field names.
const (
	KeyRequestID = "request_id"
	KeyUserID    = "user_id"
	KeyRoomID    = "room_id"
	KeySessionID = "session_id"
	KeyTraceID   = "trace_id"
	KeySpanID    = "span_id"
)

type fieldsKey struct{}

// fields is a mutable bag of log attributes shared by everything that runs
// under one request or connection, so an auth middleware deep in the chain
// can add user_id and the outer access log line still carries it.
type fields struct {
	mu     sync.Mutex
	parent *fields
	attrs  []slog.Attr
}

func (f *fields) collect(dst []slog.Attr) []slog.Attr {
	if f == nil {
		return dst
	}
	dst = f.parent.collect(dst)
	f.mu.Lock()
	defer f.mu.Unlock()
	return append(dst, f.attrs...)
}

// WithFields returns a context with a fresh field bag layered over any the
// parent context carries. Fields set on the child are not visible to the
// parent.
func WithFields(ctx context.Context, attrs ...slog.Attr) context.Context {
	parent, _ := ctx.Value(fieldsKey{}).(*fields)
	return context.WithValue(ctx, fieldsKey{}, &fields{parent: parent, attrs: attrs})
}

// Set adds or replaces attributes in the context's innermost field bag. It is
// a no-op when the context has none.
func Set(ctx context.Context, attrs ...slog.Attr) {
	f, _ := ctx.Value(fieldsKey{}).(*fields)
	if f == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
outer:
	for _, a := range attrs {
		for i := range f.attrs {
			if f.attrs[i].Key == a.Key {
				f.attrs[i] = a
				continue outer
			}
		}
		f.attrs = append(f.attrs, a)
	}
}

// sensitiveKeys never reach a log line with their value, whatever a call site
// passes. A belt to the braces of never logging secrets in the first place.
var sensitiveKeys = []string{"password", "token", "cookie", "authorization", "secret", "credential"}

func isSensitive(key string) bool {
	k := strings.ToLower(key)
	for _, s := range sensitiveKeys {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}

// LogOptions configure NewLogger.
type LogOptions struct {
	Format string // "json" (default) or "text"
	Level  string // debug, info, warn, error
}

// ParseLevel parses a level name.
func ParseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("log level %q: %w", s, err)
	}
	return l, nil
}

// NewLogger builds the process logger: JSON or text lines on w, with context
// fields, trace ids and redaction of sensitive keys.
func NewLogger(w io.Writer, opts LogOptions) (*slog.Logger, error) {
	level := slog.LevelInfo
	if opts.Level != "" {
		l, err := ParseLevel(opts.Level)
		if err != nil {
			return nil, err
		}
		level = l
	}
	hopts := &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if isSensitive(a.Key) {
				return slog.String(a.Key, "[redacted]")
			}
			return a
		},
	}
	var h slog.Handler
	switch opts.Format {
	case "", "json":
		h = slog.NewJSONHandler(w, hopts)
	case "text":
		h = slog.NewTextHandler(w, hopts)
	default:
		return nil, fmt.Errorf("log format %q: want json or text", opts.Format)
	}
	return slog.New(&ContextHandler{Handler: h}), nil
}

// ContextHandler adds the context's fields and its span's trace and span ids
// to every record.
type ContextHandler struct {
	slog.Handler
}

// Handle implements slog.Handler.
func (h *ContextHandler) Handle(ctx context.Context, r slog.Record) error {
	if ctx != nil {
		if f, _ := ctx.Value(fieldsKey{}).(*fields); f != nil {
			var buf [8]slog.Attr
			r.AddAttrs(f.collect(buf[:0])...)
		}
		if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
			r.AddAttrs(slog.String(KeyTraceID, sc.TraceID().String()), slog.String(KeySpanID, sc.SpanID().String()))
		}
	}
	return h.Handler.Handle(ctx, r)
}

// WithAttrs implements slog.Handler.
func (h *ContextHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &ContextHandler{Handler: h.Handler.WithAttrs(attrs)}
}

// WithGroup implements slog.Handler.
func (h *ContextHandler) WithGroup(name string) slog.Handler {
	return &ContextHandler{Handler: h.Handler.WithGroup(name)}
}

// Discard returns a logger that drops everything, for tests and tools.
func Discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
