package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hearth-space/hearth/internal/config"
	"github.com/hearth-space/hearth/internal/loadtest/wsload"
)

// TestLoadtestWSSmoke runs the realtime load tool briefly against a real
// process: it must sign in, join, walk, measure latency and read the
// server's metrics, with no update lost.
func TestLoadtestWSSmoke(t *testing.T) {
	cfg := testServeConfig(t)
	cfg.Realtime.ConnectRate = 0
	r := start(t, cfg)
	var out bytes.Buffer
	lt := config.LoadtestWS{
		URL: r.base, Rooms: 2, UsersPerRoom: 4, Rate: 10, Duration: 2 * time.Second, ChatRate: 1,
		Area: 10, Speed: 1.5, JoinRate: 50,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := wsload.Run(ctx, lt, &out)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	if res.PosesSent == 0 || res.EntriesReceived == 0 || res.LatencyP50Ms <= 0 || res.LostFinalUpdates != 0 ||
		res.ChatsReceived == 0 || res.Disconnects != 0 || res.ServerRSSBytes <= 0 {
		t.Fatalf("result: %+v\n%s", res, out.String())
	}
	if !strings.Contains(out.String(), "latency p50 / p95 / p99") {
		t.Fatalf("no table printed:\n%s", out.String())
	}
}
