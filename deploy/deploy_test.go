// Package deploy_test checks the deployment files: the compose stack, its
// Prometheus, Grafana, Tempo and Caddy configuration, and the Dockerfile.
// No Docker engine is needed: the files are parsed and cross-checked.
package deploy_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

type compose struct {
	Services map[string]struct {
		Image string `yaml:"image"`
		Build *struct {
			Context    string `yaml:"context"`
			Dockerfile string `yaml:"dockerfile"`
		} `yaml:"build"`
		Command     []string          `yaml:"command"`
		Volumes     []string          `yaml:"volumes"`
		Environment map[string]string `yaml:"environment"`
		DependsOn   any               `yaml:"depends_on"`
	} `yaml:"services"`
	Volumes map[string]any `yaml:"volumes"`
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// publicImage: a registry image with an explicit, non-latest tag.
var publicImage = regexp.MustCompile(`^[a-z0-9./-]+:v?[0-9][A-Za-z0-9._-]*$`)

func TestComposeReferencesOnlyRealFiles(t *testing.T) {
	var c compose
	readYAML(t, "compose.yaml", &c)
	want := []string{"proxy", "hearth-api", "hearth-realtime", "hearth-voice", "postgres", "redis", "prometheus", "grafana", "tempo"}
	for _, name := range want {
		if _, ok := c.Services[name]; !ok {
			t.Errorf("compose lacks service %s", name)
		}
	}
	services := map[string]bool{}
	for name, s := range c.Services {
		switch {
		case s.Build != nil:
			ctx := filepath.Join(".", s.Build.Context)
			if _, err := os.Stat(filepath.Join(ctx, s.Build.Dockerfile)); err != nil {
				t.Errorf("%s builds from a missing Dockerfile: %v", name, err)
			}
		case !publicImage.MatchString(s.Image):
			t.Errorf("%s: image %q is not a public image with a pinned tag", name, s.Image)
		}
		for _, v := range s.Volumes {
			src := strings.SplitN(v, ":", 2)[0]
			if strings.HasPrefix(src, "./") {
				if _, err := os.Stat(src); err != nil {
					t.Errorf("%s mounts a missing file: %v", name, err)
				}
			} else if _, ok := c.Volumes[src]; !ok {
				t.Errorf("%s mounts undeclared volume %q", name, src)
			}
		}
		services[name] = true
	}
	// The hearth services split the process by --services.
	for name, svc := range map[string]string{"hearth-api": "api,web", "hearth-realtime": "realtime", "hearth-voice": "voice"} {
		cmd := strings.Join(c.Services[name].Command, " ")
		if !strings.Contains(cmd, "--services "+svc) {
			t.Errorf("%s runs %q, want --services %s", name, cmd, svc)
		}
		env := c.Services[name].Environment
		if !strings.HasPrefix(env["HEARTH_DATABASE_URL"], "postgres://") || !strings.HasPrefix(env["HEARTH_REDIS_URL"], "redis://") ||
			env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "" {
			t.Errorf("%s environment lacks PostgreSQL, Redis or OTLP: %v", name, env)
		}
	}

	// Prometheus scrapes services that exist and loads the mounted rules.
	var prom struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	readYAML(t, "prometheus/prometheus.yml", &prom)
	if len(prom.RuleFiles) != 1 || prom.RuleFiles[0] != "/etc/prometheus/alerts.yml" {
		t.Errorf("rule files %v", prom.RuleFiles)
	}
	for _, sc := range prom.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			for _, target := range st.Targets {
				if host := strings.Split(target, ":")[0]; !services[host] {
					t.Errorf("job %s scrapes %s, not a compose service", sc.JobName, target)
				}
			}
		}
	}

	// Grafana's provisioning is valid YAML and the dashboards exist.
	var dsCfg struct {
		Datasources []struct{ Name, Type, URL string } `yaml:"datasources"`
	}
	readYAML(t, "grafana/provisioning/datasources/datasources.yml", &dsCfg)
	if len(dsCfg.Datasources) != 2 {
		t.Errorf("datasources: %+v", dsCfg.Datasources)
	}
	var dbCfg map[string]any
	readYAML(t, "grafana/provisioning/dashboards/dashboards.yml", &dbCfg)
	for _, f := range []string{"overview", "api", "realtime", "voice"} {
		if _, err := os.Stat("grafana/dashboards/" + f + ".json"); err != nil {
			t.Error(err)
		}
	}
	var tempo map[string]any
	readYAML(t, "tempo/tempo.yml", &tempo)

	// Caddy routes to services that exist.
	caddy, err := os.ReadFile("caddy/Caddyfile")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`reverse_proxy ([a-z-]+):`).FindAllStringSubmatch(string(caddy), -1) {
		if !services[m[1]] {
			t.Errorf("Caddy proxies to %s, not a compose service", m[1])
		}
	}
}

// TestDockerfileCopiesExistingFiles checks every COPY source (outside the
// build stages) exists in the repository.
func TestDockerfileCopiesExistingFiles(t *testing.T) {
	b, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 || f[0] != "COPY" || strings.HasPrefix(f[1], "--from") {
			continue
		}
		for _, src := range f[1 : len(f)-1] {
			if src == "." {
				continue
			}
			if _, err := os.Stat(filepath.Join("..", src)); err != nil {
				t.Errorf("Dockerfile copies a missing path: %v", err)
			}
		}
	}
}
