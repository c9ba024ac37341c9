package server

import (
	"net/http"

	"github.com/hearth-space/hearth/internal/httpx"
	"github.com/hearth-space/hearth/internal/version"
)

// clientConfig is GET /api/v1/config: the deployment's defaults for the web
// client. One client build serves every deployment; the user's own
// settings, persisted in the browser, override these.
type clientConfig struct {
	Version              string   `json:"version"`
	QualityPreset        string   `json:"quality_preset"`
	EnableLOD            bool     `json:"enable_lod"`
	EnableFrustumCulling bool     `json:"enable_frustum_culling"`
	EnableTelemetry      bool     `json:"enable_telemetry"`
	Scenes               []string `json:"scenes"`
	MaxRoomCapacity      int      `json:"max_room_capacity"`
	DefaultRoomCapacity  int      `json:"default_room_capacity"`
	Demo                 bool     `json:"demo"`
	Extra                any      `json:"extra,omitempty"`
}

func (s *Server) handleConfig(w http.ResponseWriter, r *http.Request) {
	c := s.cfg.Client
	cfg := clientConfig{
		Version:              version.Version,
		QualityPreset:        c.QualityPreset,
		EnableLOD:            c.EnableLOD,
		EnableFrustumCulling: c.EnableFrustumCulling,
		EnableTelemetry:      c.EnableTelemetry,
		Scenes:               Scenes(),
		MaxRoomCapacity:      s.cfg.Rooms.MaxRoomCapacity,
		DefaultRoomCapacity:  s.cfg.Rooms.DefaultRoomCapacity,
		Demo:                 s.cfg.Demo,
	}
	if s.clientExtra != nil {
		cfg.Extra = s.clientExtra()
	}
	httpx.JSON(w, http.StatusOK, cfg)
}

func (s *Server) handleJWKS(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(s.keys.JWKS())
}
