package httpx_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"

	"github.com/hearth-space/hearth/internal/errs"
	"github.com/hearth-space/hearth/internal/httpx"
	"github.com/hearth-space/hearth/internal/obs"
)

type payload struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
	Tags  []string
}

func decode(t *testing.T, ct, body string, max int64) (payload, error) {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	if ct != "" {
		r.Header.Set("Content-Type", ct)
	}
	var p payload
	err := httpx.DecodeJSON(r, max, &p)
	return p, err
}

func TestDecodeJSON(t *testing.T) {
	cases := []struct {
		name, ct, body string
		code           errs.Code
		field          string
	}{
		{"ok", "application/json", `{"name":"a","count":2}`, "", ""},
		{"charset ok", "application/json; charset=utf-8", `{"name":"a"}`, "", ""},
		{"vendor json ok", "application/merge-patch+json", `{"name":"a"}`, "", ""},
		{"no content type", "", `{"name":"a"}`, errs.UnsupportedMediaType, ""},
		{"form", "application/x-www-form-urlencoded", `name=a`, errs.UnsupportedMediaType, ""},
		{"text", "text/plain", `{"name":"a"}`, errs.UnsupportedMediaType, ""},
		{"empty", "application/json", ``, errs.MalformedBody, ""},
		{"whitespace", "application/json", "  \n", errs.MalformedBody, ""},
		{"truncated", "application/json", `{"name":"a`, errs.MalformedBody, ""},
		{"syntax", "application/json", `{"name":}`, errs.MalformedBody, ""},
		{"trailing", "application/json", `{"name":"a"}{"name":"b"}`, errs.MalformedBody, ""},
		{"trailing garbage", "application/json", `{"name":"a"} x`, errs.MalformedBody, ""},
		{"unknown field", "application/json", `{"name":"a","admin":true}`, errs.Validation, "admin"},
		{"wrong type", "application/json", `{"name":5}`, errs.Validation, "name"},
		{"wrong type number", "application/json", `{"count":"5"}`, errs.Validation, "count"},
		{"array", "application/json", `[1,2]`, errs.MalformedBody, ""},
		{"non utf8", "application/json", "{\"name\":\"\xff\xfe\"}", errs.MalformedBody, ""},
		{"too large", "application/json", `{"name":"` + strings.Repeat("a", 2000) + `"}`, errs.BodyTooLarge, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decode(t, tc.ct, tc.body, 1024)
			if got := errs.CodeOf(err); got != tc.code {
				t.Fatalf("code = %q (%v), want %q", got, err, tc.code)
			}
			if tc.field != "" {
				e, _ := errs.As(err)
				if len(e.Fields) != 1 || e.Fields[0].Field != tc.field {
					t.Fatalf("fields = %+v, want %s", e.Fields, tc.field)
				}
			}
		})
	}
}

// FuzzDecodeJSON: whatever the body, decoding returns a coded client error
// or a value, never panics and never an internal error.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{"name":"a","count":1}`, `{`, `[]`, `null`, `{"name":"\u0000"}`, "\xff", `{"count":1e999}`, `{"Tags":["a",1]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var p payload
		err := httpx.DecodeJSONBytes(body, &p)
		if err == nil {
			return
		}
		switch errs.CodeOf(err) {
		case errs.MalformedBody, errs.Validation:
		default:
			t.Fatalf("unexpected code %q for %q: %v", errs.CodeOf(err), body, err)
		}
	})
}

func TestProblemMapping(t *testing.T) {
	cases := map[errs.Code]int{
		errs.Validation: 400, errs.TokenExpired: 401, errs.TokenInvalid: 401, errs.Banned: 403,
		errs.NotFound: 404, errs.RoomFull: 409, errs.BodyTooLarge: 413, errs.UnsupportedMediaType: 415,
		errs.RateLimited: 429, errs.Internal: 500, errs.Unavailable: 503,
	}
	for code, status := range cases {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		err := errs.E(code, "msg")
		if code == errs.RateLimited {
			err = errs.Limited(1500 * time.Millisecond)
		}
		httpx.Error(w, r, obs.Discard(), err)
		if w.Code != status {
			t.Errorf("%s: status %d, want %d", code, w.Code, status)
		}
		if ct := w.Header().Get("Content-Type"); ct != httpx.ProblemContentType {
			t.Errorf("%s: content type %q", code, ct)
		}
		var p httpx.Problem
		if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || p.Code != code || p.Status != status || p.Type == "" || p.Title == "" {
			t.Errorf("%s: problem %+v %v", code, p, err)
		}
		if code == errs.RateLimited && w.Header().Get("Retry-After") != "2" {
			t.Errorf("Retry-After = %q, want 2", w.Header().Get("Retry-After"))
		}
		if code == errs.TokenExpired && !strings.Contains(w.Header().Get("WWW-Authenticate"), `error="invalid_token"`) {
			t.Errorf("WWW-Authenticate = %q", w.Header().Get("WWW-Authenticate"))
		}
	}
	// Internal causes never reach the client.
	w := httptest.NewRecorder()
	httpx.Error(w, httptest.NewRequest(http.MethodGet, "/", nil), obs.Discard(), io.ErrUnexpectedEOF)
	if strings.Contains(w.Body.String(), "unexpected EOF") || w.Code != 500 {
		t.Fatalf("internal error leaked: %d %s", w.Code, w.Body)
	}
}

func TestRouterAndObserve(t *testing.T) {
	reg := prometheus.NewRegistry()
	var logs bytes.Buffer
	log, _ := obs.NewLogger(&logs, obs.LogOptions{})
	rt := httpx.NewRouter("/api/")
	rt.HandleFunc("GET /api/v1/things/{id}", func(w http.ResponseWriter, r *http.Request) {
		obs.Set(r.Context(), slog.String(obs.KeyUserID, "u1"))
		_, _ = w.Write([]byte("ok"))
	})
	rt.HandleFunc("POST /api/v1/things/{id}", func(w http.ResponseWriter, r *http.Request) {})
	rt.HandleFunc("GET /api/v1/panic", func(w http.ResponseWriter, r *http.Request) { panic("boom") })
	h := httpx.Observe(log, httpx.NewMetrics(reg), rt)

	do := func(method, path string, hdr map[string]string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, path, nil)
		for k, v := range hdr {
			r.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	if w := do("GET", "/api/v1/things/42", map[string]string{"X-Request-ID": "abc-123"}); w.Code != 200 || w.Header().Get("X-Request-ID") != "abc-123" {
		t.Fatalf("get: %d %q", w.Code, w.Header().Get("X-Request-ID"))
	}
	if w := do("GET", "/api/v1/things/42", map[string]string{"X-Request-ID": "bad id\n with spaces"}); w.Header().Get("X-Request-ID") == "" ||
		strings.Contains(w.Header().Get("X-Request-ID"), " ") {
		t.Fatalf("insane request id echoed: %q", w.Header().Get("X-Request-ID"))
	}
	if w := do("DELETE", "/api/v1/things/42", nil); w.Code != 405 || w.Header().Get("Allow") != "GET, POST, HEAD" {
		t.Fatalf("405: %d allow=%q body=%s", w.Code, w.Header().Get("Allow"), w.Body)
	}
	if w := do("GET", "/api/v1/nothing", nil); w.Code != 404 || !strings.Contains(w.Body.String(), `"code":"not_found"`) {
		t.Fatalf("404: %d %s", w.Code, w.Body)
	}
	if w := do("GET", "/api/v1/panic", nil); w.Code != 500 || !strings.Contains(w.Body.String(), `"code":"internal"`) {
		t.Fatalf("panic: %d %s", w.Code, w.Body)
	}
	// Metrics are labelled by pattern, never by raw path.
	if n := testutil.ToFloat64(mustCounter(t, reg, "/api/v1/things/{id}", "GET", "200")); n != 2 {
		t.Fatalf("requests counter = %v", n)
	}
	out, _ := testutil.CollectAndFormat(reg, expfmt.TypeTextPlain, "hearth_http_requests_total")
	if strings.Contains(string(out), "/things/42") {
		t.Fatal("raw path leaked into labels")
	}
	// Access log lines carry request id, route and the user id set deep inside.
	var line map[string]any
	first := strings.SplitN(logs.String(), "\n", 2)[0]
	if err := json.Unmarshal([]byte(first), &line); err != nil {
		t.Fatal(err)
	}
	if line["request_id"] != "abc-123" || line["route"] != "/api/v1/things/{id}" || line["user_id"] != "u1" || line["status"] != float64(200) {
		t.Fatalf("access log line: %v", line)
	}
}

func mustCounter(t *testing.T, reg *prometheus.Registry, route, method, code string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "x"})
	for _, mf := range mfs {
		if mf.GetName() != "hearth_http_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["route"] == route && labels["method"] == method && labels["code"] == code {
				c.Add(m.GetCounter().GetValue())
			}
		}
	}
	return c
}

func TestClientIP(t *testing.T) {
	_, proxy, _ := net.ParseCIDR("10.0.0.0/8")
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.1.2.3:5555"
	r.Header.Set("X-Forwarded-For", "1.2.3.4, 10.9.9.9")
	if ip := httpx.ClientIP(r, []*net.IPNet{proxy}); ip != "1.2.3.4" {
		t.Fatalf("via trusted proxy: %s", ip)
	}
	if ip := httpx.ClientIP(r, nil); ip != "10.1.2.3" {
		t.Fatalf("untrusted proxy header believed: %s", ip)
	}
	r.RemoteAddr = "8.8.8.8:1"
	if ip := httpx.ClientIP(r, []*net.IPNet{proxy}); ip != "8.8.8.8" {
		t.Fatalf("spoofed header believed: %s", ip)
	}
}
