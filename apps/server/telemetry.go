package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/encoding/protojson"

	telemetryv1 "github.com/hearth-space/hearth/packages/shared/gen/go/hearth/telemetry/v1"

	"github.com/hearth-space/hearth/internal/errs"
	"github.com/hearth-space/hearth/internal/id"
	"github.com/hearth-space/hearth/internal/obs"
	"github.com/hearth-space/hearth/internal/ratelimit"
)

// Telemetry intake limits. A batch is small: the client sends at most 50
// events every 30 s (and once more when the page is hidden).
const (
	telemetryMaxBody   = 32 << 10
	telemetryMaxEvents = 50
	telemetryMaxText   = 64
	// An event's clock may be off, but not by days.
	telemetryMaxSkew = 24 * time.Hour
	// Durations above this are not a join or a reconnect we can learn from.
	telemetryMaxDuration = 30 * time.Minute
)

// telemetry receives the web client's events (POST /api/v1/telemetry),
// validates them against the shared schema (hearth.telemetry.v1), logs them
// with user_id and room_id, and exports them as hearth_client_* metrics.
type telemetry struct {
	enabled bool
	perUser *ratelimit.Keyed

	join          prometheus.Histogram
	voice         *prometheus.HistogramVec
	reconnects    *prometheus.CounterVec
	reconnectTime *prometheus.HistogramVec
	fps           *prometheus.HistogramVec
	events        *prometheus.CounterVec
	rejected      *prometheus.CounterVec
}

func newTelemetry(reg prometheus.Registerer, enabled bool, now func() time.Time) *telemetry {
	t := &telemetry{
		enabled: enabled,
		// A client flushes every 30 s; allow bursts for page hides and retries.
		perUser: ratelimit.NewKeyed(0.2, 10, now),
		join: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "hearth_client_join_duration_seconds", Help: "Web client join latency: click on join to the first frame rendered with the room's snapshot.",
			Buckets: []float64{0.25, 0.5, 1, 1.5, 2, 3, 5, 8, 13, 20, 30},
		}),
		voice: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "hearth_client_voice_connect_duration_seconds", Help: "Web client voice connect time, by result (ok or failed).",
			Buckets: []float64{0.25, 0.5, 1, 2, 3, 5, 8, 13, 20},
		}, []string{"result"}),
		reconnects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hearth_client_reconnects_total", Help: "Reconnects reported by web clients, by connection (realtime, voice) and result (success, failed).",
		}, []string{"connection", "result"}),
		reconnectTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "hearth_client_reconnect_duration_seconds", Help: "How long web clients were disconnected before a reconnect ended, by connection.",
			Buckets: []float64{0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120},
		}, []string{"connection"}),
		fps: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "hearth_client_fps", Help: "Web client frame rate over 30 s windows: the median (stat=p50) and the slow frames (stat=p5), by quality preset.",
			Buckets: []float64{5, 10, 15, 20, 25, 30, 40, 50, 58, 75, 100, 144},
		}, []string{"preset", "stat"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hearth_client_telemetry_events_total", Help: "Telemetry events accepted, by kind.",
		}, []string{"kind"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hearth_client_telemetry_rejected_total", Help: "Telemetry batches refused, by reason.",
		}, []string{"reason"}),
	}
	reg.MustRegister(t.join, t.voice, t.reconnects, t.reconnectTime, t.fps, t.events, t.rejected)
	return t
}

// handleTelemetry is POST /api/v1/telemetry. The access token comes in the
// Authorization header, or in the batch's access_token field for batches
// sent with navigator.sendBeacon (which cannot set headers).
func (s *Server) handleTelemetry(w http.ResponseWriter, r *http.Request) {
	t := s.telemetry
	if !t.enabled {
		s.fail(w, r, errs.E(errs.NotFound, "telemetry is disabled on this server"))
		return
	}
	batch, err := readTelemetry(r)
	if err != nil {
		t.rejected.WithLabelValues(string(errs.CodeOf(err))).Inc()
		s.fail(w, r, err)
		return
	}
	if batch.GetAccessToken() != "" && r.Header.Get("Authorization") == "" {
		r = r.Clone(r.Context())
		r.Header.Set("Authorization", "Bearer "+batch.GetAccessToken())
	}
	batch.AccessToken = "" // never kept, never logged
	c, err := s.verifyAccess(r)
	if err != nil {
		t.rejected.WithLabelValues("unauthenticated").Inc()
		s.fail(w, r, err)
		return
	}
	obs.Set(r.Context(), slog.String(obs.KeyUserID, c.Subject))
	if ok, retry := t.perUser.Allow(c.Subject); !ok {
		t.rejected.WithLabelValues(string(errs.RateLimited)).Inc()
		s.fail(w, r, errs.Limited(retry))
		return
	}
	if err := validateTelemetry(batch, s.now()); err != nil {
		t.rejected.WithLabelValues(string(errs.Validation)).Inc()
		s.fail(w, r, err)
		return
	}
	for _, e := range batch.GetEvents() {
		t.record(r.Context(), s.log, e, batch)
	}
	w.WriteHeader(http.StatusNoContent)
}

// readTelemetry reads and decodes a batch: JSON (the schema's JSON mapping,
// unknown fields refused), at most telemetryMaxBody bytes.
func readTelemetry(r *http.Request) (*telemetryv1.Batch, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && mt != "text/plain") {
			// sendBeacon with a string body sends text/plain; both carry JSON.
			return nil, errs.E(errs.UnsupportedMediaType, "send application/json")
		}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, telemetryMaxBody+1))
	if err != nil {
		return nil, errs.Wrap(errs.MalformedBody, err, "the body could not be read")
	}
	if len(body) > telemetryMaxBody {
		return nil, errs.E(errs.BodyTooLarge, "a telemetry batch is at most %d bytes", telemetryMaxBody)
	}
	if len(body) == 0 {
		return nil, errs.E(errs.MalformedBody, "the body is empty")
	}
	if !utf8.Valid(body) {
		return nil, errs.E(errs.MalformedBody, "the body is not UTF-8")
	}
	var b telemetryv1.Batch
	if err := (protojson.UnmarshalOptions{DiscardUnknown: false}).Unmarshal(body, &b); err != nil {
		return nil, errs.Wrap(errs.MalformedBody, err, "the body is not a telemetry batch: %s", trimErr(err))
	}
	return &b, nil
}

func trimErr(err error) string {
	m := err.Error()
	if len(m) > 160 {
		m = m[:160]
	}
	return m
}

var (
	telemetryPresets     = map[string]bool{"": true, "auto": true, "low": true, "medium": true, "high": true}
	telemetryConnections = map[string]bool{"realtime": true, "voice": true}
	telemetryResults     = map[string]bool{"success": true, "failed": true}
)

func finite(v, lo, hi float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) && v >= lo && v <= hi }

// validateTelemetry checks every bound: counts, lengths, enumerations and
// plausible ranges. One bad event rejects the batch, so a broken client is
// noticed instead of half-counted.
func validateTelemetry(b *telemetryv1.Batch, now time.Time) error {
	var fe []errs.FieldError
	add := func(field, format string, args ...any) {
		if len(fe) < 20 {
			fe = append(fe, errs.FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
		}
	}
	n := len(b.GetEvents())
	if n == 0 || n > telemetryMaxEvents {
		add("events", "must hold 1 to %d events", telemetryMaxEvents)
	}
	if len(b.GetClientVersion()) > telemetryMaxText {
		add("clientVersion", "at most %d characters", telemetryMaxText)
	}
	if len(b.GetPageId()) > telemetryMaxText {
		add("pageId", "at most %d characters", telemetryMaxText)
	}
	maxMS := float64(telemetryMaxDuration / time.Millisecond)
	nowMS := float64(now.UnixMilli())
	skew := float64(telemetryMaxSkew / time.Millisecond)
	for i, e := range b.GetEvents() {
		if i >= telemetryMaxEvents {
			break
		}
		f := func(name string) string { return fmt.Sprintf("events[%d].%s", i, name) }
		if !finite(e.GetAtMs(), nowMS-skew, nowMS+skew) {
			add(f("atMs"), "must be a time within a day of the server's")
		}
		if e.GetRoomId() != "" && !id.Valid(e.GetRoomId()) {
			add(f("roomId"), "must be a room id")
		}
		if !telemetryPresets[e.GetPreset()] {
			add(f("preset"), "must be auto, low, medium or high")
		}
		switch k := e.GetKind().(type) {
		case *telemetryv1.Event_Join:
			if !finite(k.Join.GetDurationMs(), 0, maxMS) {
				add(f("join.durationMs"), "must be 0 to %.0f", maxMS)
			}
			if len(k.Join.GetScene()) > telemetryMaxText {
				add(f("join.scene"), "at most %d characters", telemetryMaxText)
			}
		case *telemetryv1.Event_VoiceConnect:
			if !finite(k.VoiceConnect.GetDurationMs(), 0, maxMS) {
				add(f("voiceConnect.durationMs"), "must be 0 to %.0f", maxMS)
			}
		case *telemetryv1.Event_Reconnect:
			rc := k.Reconnect
			if !telemetryConnections[rc.GetConnection()] {
				add(f("reconnect.connection"), "must be realtime or voice")
			}
			if !telemetryResults[rc.GetResult()] {
				add(f("reconnect.result"), "must be success or failed")
			}
			if len(rc.GetCause()) > telemetryMaxText {
				add(f("reconnect.cause"), "at most %d characters", telemetryMaxText)
			}
			if rc.GetAttempts() > 100_000 {
				add(f("reconnect.attempts"), "implausible")
			}
			if !finite(rc.GetDurationMs(), 0, float64(24*time.Hour/time.Millisecond)) {
				add(f("reconnect.durationMs"), "must be 0 to a day")
			}
		case *telemetryv1.Event_FrameRate:
			fr := k.FrameRate
			if !finite(fr.GetFpsP50(), 0, 1000) || !finite(fr.GetFpsP5(), 0, 1000) {
				add(f("frameRate"), "fps must be 0 to 1000")
			}
			if !finite(fr.GetWindowS(), 0, 3600) || fr.GetFrames() > 1_000_000 {
				add(f("frameRate"), "window or frame count out of range")
			}
		default:
			add(f("kind"), "unknown or missing event kind")
		}
	}
	if len(fe) > 0 {
		return errs.Invalid(fe...)
	}
	return nil
}

// record logs one event and feeds the metrics. Labels carry only bounded
// enumerations, never ids.
func (t *telemetry) record(ctx context.Context, log *slog.Logger, e *telemetryv1.Event, b *telemetryv1.Batch) {
	if e.GetRoomId() != "" {
		ctx = obs.WithFields(ctx, slog.String(obs.KeyRoomID, e.GetRoomId()))
	}
	base := []any{"preset", e.GetPreset(), "client_version", b.GetClientVersion(), "page_id", b.GetPageId()}
	switch k := e.GetKind().(type) {
	case *telemetryv1.Event_Join:
		t.events.WithLabelValues("join").Inc()
		t.join.Observe(k.Join.GetDurationMs() / 1000)
		log.InfoContext(ctx, "client join", append(base, "duration_ms", k.Join.GetDurationMs(), "scene", k.Join.GetScene())...)
	case *telemetryv1.Event_VoiceConnect:
		t.events.WithLabelValues("voice_connect").Inc()
		res := "ok"
		if !k.VoiceConnect.GetOk() {
			res = "failed"
		}
		t.voice.WithLabelValues(res).Observe(k.VoiceConnect.GetDurationMs() / 1000)
		log.InfoContext(ctx, "client voice connect", append(base, "duration_ms", k.VoiceConnect.GetDurationMs(), "ok", k.VoiceConnect.GetOk())...)
	case *telemetryv1.Event_Reconnect:
		rc := k.Reconnect
		t.events.WithLabelValues("reconnect").Inc()
		t.reconnects.WithLabelValues(rc.GetConnection(), rc.GetResult()).Inc()
		t.reconnectTime.WithLabelValues(rc.GetConnection()).Observe(rc.GetDurationMs() / 1000)
		log.InfoContext(ctx, "client reconnect", append(base, "connection", rc.GetConnection(), "cause", rc.GetCause(),
			"attempts", rc.GetAttempts(), "duration_ms", rc.GetDurationMs(), "result", rc.GetResult())...)
	case *telemetryv1.Event_FrameRate:
		fr := k.FrameRate
		preset := e.GetPreset()
		if preset == "" {
			preset = "unknown"
		}
		t.events.WithLabelValues("frame_rate").Inc()
		t.fps.WithLabelValues(preset, "p50").Observe(fr.GetFpsP50())
		t.fps.WithLabelValues(preset, "p5").Observe(fr.GetFpsP5())
		log.InfoContext(ctx, "client frame rate", append(base, "fps_p50", fr.GetFpsP50(), "fps_p5", fr.GetFpsP5(), "frames", fr.GetFrames())...)
	}
}
