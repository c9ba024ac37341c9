package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestDashboardsAreFresh fails when deploy/grafana/dashboards differs from
// what the generator produces: run `go run ./deploy/grafana/dashgen`.
func TestDashboardsAreFresh(t *testing.T) {
	files, err := render()
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 4 {
		t.Fatalf("%d dashboards, want overview, api, realtime and voice", len(files))
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join("..", "dashboards", name))
		if err != nil {
			t.Fatalf("%s: %v (run go run ./deploy/grafana/dashgen)", name, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run go run ./deploy/grafana/dashgen from the repository root", name)
		}
	}
}

// TestEveryPanelHasUnitAndDescription keeps the dashboards readable.
func TestEveryPanelHasUnitAndDescription(t *testing.T) {
	files, err := render()
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range files {
		var d struct {
			Panels []struct {
				Type        string `json:"type"`
				Title       string `json:"title"`
				Description string `json:"description"`
				Targets     []struct {
					Expr string `json:"expr"`
				} `json:"targets"`
				FieldConfig struct {
					Defaults struct {
						Unit string `json:"unit"`
					} `json:"defaults"`
				} `json:"fieldConfig"`
			} `json:"panels"`
		}
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, p := range d.Panels {
			if p.Type == "row" {
				continue
			}
			n++
			if p.Description == "" || p.FieldConfig.Defaults.Unit == "" || len(p.Targets) == 0 || p.Targets[0].Expr == "" {
				t.Errorf("%s: panel %q lacks a description, unit or query", name, p.Title)
			}
		}
		if n < 8 {
			t.Errorf("%s has only %d panels", name, n)
		}
	}
}
