package httpx

import (
	"net/http"
	"slices"
	"strings"

	"github.com/hearth-space/hearth/internal/errs"
)

// Router is a ServeMux whose unmatched routes under the API prefix answer
// with problem documents: 404 not_found, or 405 method_not_allowed with an
// Allow header when the path exists for other methods.
type Router struct {
	mux    *http.ServeMux
	prefix string
}

// NewRouter returns a router that owns everything under apiPrefix
// ("/api/"); other paths fall through to whatever else is registered.
func NewRouter(apiPrefix string) *Router {
	rt := &Router{mux: http.NewServeMux(), prefix: apiPrefix}
	rt.mux.HandleFunc(apiPrefix, rt.unmatched)
	return rt
}

// Handle registers h for a ServeMux pattern ("POST /api/v1/rooms").
func (rt *Router) Handle(pattern string, h http.Handler) { rt.mux.Handle(pattern, h) }

// HandleFunc registers f for a ServeMux pattern.
func (rt *Router) HandleFunc(pattern string, f http.HandlerFunc) { rt.mux.HandleFunc(pattern, f) }

// ServeHTTP implements http.Handler.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) { rt.mux.ServeHTTP(w, r) }

var probeMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

func (rt *Router) unmatched(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range probeMethods {
		if m == r.Method {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := rt.mux.Handler(probe); pattern != "" && pattern != rt.prefix {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		if slices.Contains(allow, http.MethodGet) {
			allow = append(allow, http.MethodHead)
		}
		w.Header().Set("Allow", strings.Join(allow, ", "))
		Error(w, r, nil, errs.E(errs.MethodNotAllowed, "%s is not allowed here; use %s", r.Method, strings.Join(allow, ", ")))
		return
	}
	Error(w, r, nil, errs.E(errs.NotFound, "no such endpoint"))
}
