package server

import (
	"bytes"
	"net/http/httptest"
	"testing"
	"time"
)

// FuzzTelemetryBatch feeds arbitrary bodies to the telemetry decoder and
// validator: they must answer with a coded error or a valid batch, never
// panic.
func FuzzTelemetryBatch(f *testing.F) {
	now := time.UnixMilli(1_700_000_000_000)
	f.Add([]byte(`{"events":[{"atMs":1700000000000,"join":{"durationMs":12,"scene":"lounge"}}]}`))
	f.Add([]byte(`{"accessToken":"x","events":[{"atMs":1700000000000,"reconnect":{"connection":"voice","result":"failed","attempts":3}}]}`))
	f.Add([]byte(`{"events":[{"atMs":1e308,"frameRate":{"fpsP50":"NaN"}}]}`))
	f.Add([]byte(`{"events":[{}]}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/api/v1/telemetry", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		b, err := readTelemetry(r)
		if err != nil {
			return
		}
		_ = validateTelemetry(b, now)
	})
}
