package voice

import (
	"net/http"
	"time"

	"github.com/hearth-space/hearth/internal/httpx"
)

// DebugHandler serves GET /voice/debug/qos: every room, participant and
// track with its latest QoS, as JSON. cmd/hearth mounts it only with
// VOICE_QOS_DEBUG on: it names users, so keep it off public listeners.
func (s *Service) DebugHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		httpx.JSON(w, http.StatusOK, map[string]any{
			"generated_at": time.Now().UTC().Format(time.RFC3339Nano),
			"rooms":        s.sfu.Debug(),
		})
	})
}
