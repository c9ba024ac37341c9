package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func scrape(t *testing.T, base string) []byte {
	t.Helper()
	res, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not installed (scripts/test.sh installs Debian's prometheus package): %v", name, err)
	}
	return p
}

// TestPromtoolChecksLiveMetrics lints a live scrape with promtool's naming
// rules.
func TestPromtoolChecksLiveMetrics(t *testing.T) {
	promtool := needTool(t, "promtool")
	r := start(t, testServeConfig(t))
	call(t, "POST", r.base+"/api/v1/auth/guest", "", `{"display_name":"Ada"}`)
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(scrape(t, r.base))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestRealPrometheusScrapesHearth runs Debian's Prometheus against a live
// hearth with Hearth's alert rules loaded and queries a key series back.
func TestRealPrometheusScrapesHearth(t *testing.T) {
	prom := needTool(t, "prometheus")
	r := start(t, testServeConfig(t))
	call(t, "POST", r.base+"/api/v1/auth/guest", "", `{"display_name":"Ada"}`)

	dir := t.TempDir()
	rules, err := filepath.Abs("../../deploy/prometheus/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [%q]
scrape_configs:
  - job_name: hearth
    static_configs:
      - targets: [%q]
`, rules, strings.TrimPrefix(r.base, "http://"))
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, prom, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+addr)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		_ = cmd.Wait()
	}()

	query := func(q string) (int, string) {
		res, err := http.Get("http://" + addr + "/api/v1/query?query=" + q)
		if err != nil {
			return 0, err.Error()
		}
		defer res.Body.Close()
		var body struct {
			Status string `json:"status"`
			Data   struct {
				Result []json.RawMessage `json:"result"`
			} `json:"data"`
		}
		raw, _ := io.ReadAll(res.Body)
		if err := json.Unmarshal(raw, &body); err != nil {
			return 0, string(raw)
		}
		return len(body.Data.Result), string(raw)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		n, raw := query(`hearth_auth_duration_seconds_count%7Boperation%3D%22guest%22%7D`)
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus never returned the series: %s\nprometheus log:\n%s", raw, logs.String())
		}
		time.Sleep(500 * time.Millisecond)
	}
	if n, raw := query(`up%7Bjob%3D%22hearth%22%7D%3D%3D1`); n != 1 {
		t.Fatalf("target not up: %s", raw)
	}
	// The alert rules loaded and evaluate without errors.
	res, err := http.Get("http://" + addr + "/api/v1/rules")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(raw), "HearthTargetDown") || strings.Contains(string(raw), `"health":"err"`) {
		t.Fatalf("rules: %s", raw)
	}
}
