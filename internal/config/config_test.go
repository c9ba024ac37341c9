package config_test

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/alecthomas/kong"

	"github.com/hearth-space/hearth/internal/config"
)

// TestReadmeListsEveryFlag keeps the README's configuration table true:
// every flag of `hearth serve` and its environment variable must appear in
// it with its default.
func TestReadmeListsEveryFlag(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, line := range strings.Split(string(readme), "\n") {
		if strings.HasPrefix(line, "| `--") {
			rows = append(rows, line)
		}
	}
	var walk func(v reflect.Type)
	seen := 0
	walk = func(v reflect.Type) {
		for i := 0; i < v.NumField(); i++ {
			f := v.Field(i)
			if f.Type.Kind() == reflect.Struct && (f.Anonymous || f.Tag.Get("embed") != "") {
				walk(f.Type)
				continue
			}
			name, env := f.Tag.Get("name"), f.Tag.Get("env")
			if name == "" {
				continue
			}
			seen++
			if env == "" {
				t.Errorf("--%s has no environment variable", name)
			}
			var row string
			for _, r := range rows {
				if strings.HasPrefix(r, "| `--"+name+"`") {
					row = r
				}
			}
			if row == "" {
				t.Errorf("README configuration table lacks --%s", name)
				continue
			}
			if !strings.Contains(row, "`"+env+"`") {
				t.Errorf("README row for --%s lacks %s", name, env)
			}
			def := f.Tag.Get("default")
			if def != "" && !strings.Contains(row, "`"+def+"`") {
				t.Errorf("README row for --%s lacks its default %q", name, def)
			}
		}
	}
	walk(reflect.TypeOf(config.Serve{}))
	if seen < 10 {
		t.Fatalf("only %d flags found; the walk is broken", seen)
	}
}

func TestDefaultsAndValidate(t *testing.T) {
	var cli struct {
		Serve config.Serve `cmd:""`
	}
	p, err := kong.New(&cli)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Parse([]string{"serve"}); err != nil {
		t.Fatal(err)
	}
	c := cli.Serve
	if c.Addr != ":8080" || c.DataDir != "./data" || c.Format != "json" || !c.Has(config.ServiceAPI) || !c.Client.EnableLOD {
		t.Fatalf("defaults: %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := c
	bad.Services = []string{"api", "nope"}
	if bad.Validate() == nil {
		t.Fatal("unknown service accepted")
	}
	bad = c
	bad.PublicURL = "example.com"
	if bad.Validate() == nil {
		t.Fatal("relative public URL accepted")
	}
	bad = c
	bad.TrustedProxies = []string{"10.0.0.0/33"}
	if bad.Validate() == nil {
		t.Fatal("bad CIDR accepted")
	}
	if _, err := p.Parse([]string{"serve", "--log-format", "xml"}); err == nil {
		t.Fatal("bad log format accepted")
	}
	if _, err := p.Parse([]string{"serve", "--no-enable-lod"}); err != nil || cli.Serve.Client.EnableLOD {
		t.Fatalf("--no-enable-lod: %v %v", err, cli.Serve.Client.EnableLOD)
	}
}

func TestMusicFlags(t *testing.T) {
	var cli struct {
		Serve config.Serve `cmd:""`
	}
	p, err := kong.New(&cli)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Parse([]string{"serve"}); err != nil {
		t.Fatal(err)
	}
	m := cli.Serve.Music
	if m.MaxUploadBytes != 50<<20 || m.StreamURLTTL.Minutes() != 15 || m.MaxQueue != 200 || !m.S3TLS || m.UsesS3() {
		t.Fatalf("music defaults: %+v", m)
	}
	if got := m.BlobPath("/data"); got != "/data/blobs" {
		t.Fatalf("blob path: %s", got)
	}
	if _, err := p.Parse([]string{"serve", "--music-s3-endpoint", "minio:9000"}); err == nil || !strings.Contains(err.Error(), "--music-s3-bucket") {
		t.Fatalf("an S3 endpoint without a bucket: %v", err)
	}
	if _, err := p.Parse([]string{"serve", "--music-s3-endpoint", "minio:9000", "--music-s3-bucket", "music", "--no-music-s3-tls"}); err != nil {
		t.Fatal(err)
	}
	if cli.Serve.Music.S3TLS || !cli.Serve.Music.UsesS3() {
		t.Fatalf("--no-music-s3-tls: %+v", cli.Serve.Music)
	}
	cli.Serve.Music.MaxUploadBytes = -1
	if cli.Serve.Validate() == nil {
		t.Fatal("a negative upload limit was accepted")
	}
}
