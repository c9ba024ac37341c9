package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"google.golang.org/protobuf/proto"

	"github.com/hearth-space/hearth/apps/voice/client"
	"github.com/hearth-space/hearth/internal/audio/audiotest"
	rtv1 "github.com/hearth-space/hearth/packages/shared/gen/go/hearth/realtime/v1"
)

var metricName = regexp.MustCompile(`\bhearth_[a-z0-9_]+`)

// queriedMetrics returns every hearth_ metric the dashboards and alert
// rules query, as family names (histogram suffixes stripped).
func queriedMetrics(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	add := func(where string, text string) {
		for _, m := range metricName.FindAllString(text, -1) {
			for _, suf := range []string{"_bucket", "_count", "_sum"} {
				m = strings.TrimSuffix(m, suf)
			}
			out[m] = append(out[m], where)
		}
	}
	files, _ := filepath.Glob("../../deploy/grafana/dashboards/*.json")
	if len(files) < 4 {
		t.Fatalf("dashboards not found: %v", files)
	}
	for _, f := range files {
		var d struct {
			Panels []struct {
				Targets []struct {
					Expr string `json:"expr"`
				} `json:"targets"`
			} `json:"panels"`
		}
		b, _ := os.ReadFile(f)
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatal(err)
		}
		for _, p := range d.Panels {
			for _, q := range p.Targets {
				add(filepath.Base(f), q.Expr)
			}
		}
	}
	rules, err := os.ReadFile("../../deploy/prometheus/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(rules), "\n") {
		if strings.Contains(line, "runbook_url") || strings.Contains(line, "description") || strings.Contains(line, "summary") {
			continue
		}
		add("alerts.yml", line)
	}
	return out
}

// exposedFamilies returns the metric families in a text scrape.
func exposedFamilies(scrape []byte) map[string]bool {
	out := map[string]bool{}
	for _, line := range strings.Split(string(scrape), "\n") {
		if strings.HasPrefix(line, "# TYPE ") {
			out[strings.Fields(line)[2]] = true
		}
	}
	return out
}

// driveTraffic exercises every service the way users do: accounts, rooms,
// a realtime session with a drop and resume and an in-band refresh, voice,
// music (a good and a rejected upload), client telemetry.
func driveTraffic(t *testing.T, base string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 20 * time.Second}
	do := func(method, path, tok, ct string, body io.Reader) (int, map[string]any) {
		req, _ := http.NewRequest(method, base+path, body)
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		res, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var m map[string]any
		raw, _ := io.ReadAll(res.Body)
		_ = json.Unmarshal(raw, &m)
		return res.StatusCode, m
	}
	js := func(s string) io.Reader { return strings.NewReader(s) }
	const ctJSON = "application/json"

	code, reg := do("POST", "/api/v1/auth/register", "", ctJSON, js(`{"username":"ada","password":"a long enough password"}`))
	if code != 201 {
		t.Fatalf("register: %d %v", code, reg)
	}
	do("POST", "/api/v1/auth/login", "", ctJSON, js(`{"username":"ada","password":"wrong password!"}`))
	_, login := do("POST", "/api/v1/auth/login", "", ctJSON, js(`{"username":"ada","password":"a long enough password"}`))
	_, ref := do("POST", "/api/v1/auth/refresh", "", "", nil)
	tok := ref["access_token"].(string)
	_ = login
	do("GET", "/api/v1/nope", tok, "", nil)
	_, room := do("POST", "/api/v1/rooms", tok, ctJSON, js(`{"name":"Coverage"}`))
	rid := room["id"].(string)
	_, join := do("POST", "/api/v1/rooms/"+rid+"/join", tok, "", nil)

	// Realtime: hello, pose, chat, ping; a dropped connection resumed; an
	// in-band token refresh.
	rt := join["realtime"].(map[string]any)
	dial := func() *websocket.Conn {
		ws, _, err := websocket.DefaultDialer.Dial(rt["url"].(string), nil)
		if err != nil {
			t.Fatal(err)
		}
		return ws
	}
	send := func(ws *websocket.Conn, m *rtv1.ClientMessage) {
		b, _ := proto.Marshal(m)
		if err := ws.WriteMessage(websocket.BinaryMessage, b); err != nil {
			t.Fatal(err)
		}
	}
	recvUntil := func(ws *websocket.Conn, pred func(*rtv1.ServerMessage) bool) *rtv1.ServerMessage {
		_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
		for {
			_, data, err := ws.ReadMessage()
			if err != nil {
				t.Fatal(err)
			}
			var m rtv1.ServerMessage
			if proto.Unmarshal(data, &m) == nil && pred(&m) {
				return &m
			}
		}
	}
	ws := dial()
	send(ws, &rtv1.ClientMessage{Msg: &rtv1.ClientMessage_Hello{Hello: &rtv1.Hello{Token: rt["token"].(string), Traceparent: join["traceparent"].(string)}}})
	w := recvUntil(ws, func(m *rtv1.ServerMessage) bool { return m.GetWelcome() != nil }).GetWelcome()
	send(ws, &rtv1.ClientMessage{Msg: &rtv1.ClientMessage_Pose{Pose: &rtv1.PoseUpdate{X: 1, Z: 1}}})
	send(ws, &rtv1.ClientMessage{Msg: &rtv1.ClientMessage_Chat{Chat: &rtv1.ChatSend{Text: "hello"}}})
	last := recvUntil(ws, func(m *rtv1.ServerMessage) bool { return m.GetChat() != nil }).GetSeq()
	_ = ws.NetConn().Close()
	ws = dial()
	defer ws.Close()
	send(ws, &rtv1.ClientMessage{Msg: &rtv1.ClientMessage_Hello{Hello: &rtv1.Hello{Token: rt["token"].(string), ResumeToken: w.GetResumeToken(), LastSeq: last}}})
	recvUntil(ws, func(m *rtv1.ServerMessage) bool { return m.GetWelcome() != nil })
	_, fresh := do("POST", "/api/v1/rooms/"+rid+"/tokens", tok, "", nil)
	send(ws, &rtv1.ClientMessage{Msg: &rtv1.ClientMessage_RefreshToken{RefreshToken: &rtv1.RefreshToken{Token: fresh["realtime"].(map[string]any)["token"].(string)}}})
	send(ws, &rtv1.ClientMessage{Msg: &rtv1.ClientMessage_Ping{Ping: &rtv1.Ping{ClientTimeMs: 1}}})
	recvUntil(ws, func(m *rtv1.ServerMessage) bool { return m.GetTokenRefreshed() != nil })

	// Voice until media flows.
	v := join["voice"].(map[string]any)
	vctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	vc, err := client.Dial(vctx, client.Config{URL: v["url"].(string), Token: v["token"].(string), LoopbackOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer vc.Close()
	if err := vc.WaitConnected(vctx); err != nil {
		t.Fatal(err)
	}

	// Music: one good upload played in the room, one rejected.
	upload := func(name string, data []byte) (int, map[string]any) {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		fw, _ := mw.CreateFormFile("file", name)
		_, _ = fw.Write(data)
		_ = mw.Close()
		return do("POST", "/api/v1/music/tracks", tok, mw.FormDataContentType(), &b)
	}
	code, track := upload("hum.wav", audiotest.WAV(8000, 1, 2*time.Second, &audiotest.Tags{Title: "Hum"}))
	if code != 201 {
		t.Fatalf("upload: %d %v", code, track)
	}
	if code, _ := upload("fake.mp3", []byte("not audio at all")); code < 400 {
		t.Fatalf("junk upload accepted: %d", code)
	}
	if code, m := do("POST", "/api/v1/rooms/"+rid+"/music/queue", tok, ctJSON, js(`{"track_id":"`+trackID(track)+`"}`)); code != 200 {
		t.Fatalf("queue: %d %v", code, m)
	}
	_, player := do("GET", "/api/v1/rooms/"+rid+"/music", tok, "", nil)
	if s, ok := player["stream"].(map[string]any); ok {
		do("GET", s["url"].(string), "", "", nil)
	}

	// Client telemetry.
	now := float64(time.Now().UnixMilli())
	batch := fmt.Sprintf(`{"events":[
	 {"atMs":%f,"roomId":%q,"preset":"low","join":{"durationMs":420,"scene":"lounge"}},
	 {"atMs":%f,"roomId":%q,"preset":"low","voiceConnect":{"durationMs":300,"ok":true}},
	 {"atMs":%f,"roomId":%q,"preset":"low","reconnect":{"connection":"realtime","cause":"network","attempts":1,"durationMs":900,"result":"success"}},
	 {"atMs":%f,"roomId":%q,"preset":"low","frameRate":{"fpsP50":58,"fpsP5":41,"frames":1700,"windowS":30}}]}`,
		now, rid, now, rid, now, rid, now, rid)
	if code, m := do("POST", "/api/v1/telemetry", tok, ctJSON, js(batch)); code >= 300 {
		t.Fatalf("telemetry: %d %v", code, m)
	}
}

// TestDashboardsAndAlertsQueryRealMetrics runs traffic through every
// service and checks that every metric a dashboard panel or an alert
// queries is exposed, so no panel is silently empty, and that
// docs/operations.md catalogues every hearth_ metric.
func TestDashboardsAndAlertsQueryRealMetrics(t *testing.T) {
	cfg := testServeConfig(t)
	cfg.Client.EnableTelemetry = true
	r := start(t, cfg)
	driveTraffic(t, r.base)
	var fams map[string]bool
	queried := queriedMetrics(t)
	deadline := time.Now().Add(20 * time.Second)
	for {
		fams = exposedFamilies(scrape(t, r.base))
		missing := 0
		for m := range queried {
			if !fams[m] {
				missing++
			}
		}
		if missing == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	var missing []string
	for m, where := range queried {
		if !fams[m] {
			missing = append(missing, fmt.Sprintf("%s (in %s)", m, strings.Join(uniq(where), ", ")))
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("queried but not exposed after traffic:\n  %s", strings.Join(missing, "\n  "))
	}

	if out := os.Getenv("HEARTH_METRIC_CATALOGUE"); out != "" {
		writeCatalogue(t, scrape(t, r.base), out)
	}
	doc, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	var undocumented []string
	for f := range fams {
		if strings.HasPrefix(f, "hearth_") && !strings.Contains(string(doc), "`"+f+"`") {
			undocumented = append(undocumented, f)
		}
	}
	sort.Strings(undocumented)
	if len(undocumented) > 0 {
		t.Errorf("docs/operations.md does not catalogue:\n  %s", strings.Join(undocumented, "\n  "))
	}
}

func uniq(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// trackID reads the id from an upload answer, whether the track is at the
// top level or under "track".
func trackID(m map[string]any) string {
	if tr, ok := m["track"].(map[string]any); ok {
		m = tr
	}
	id, _ := m["id"].(string)
	return id
}

// writeCatalogue writes a markdown table of the hearth_ metric families in
// a scrape (name, type, labels, help), to start docs/operations.md's
// catalogue from: HEARTH_METRIC_CATALOGUE=/tmp/cat.md go test -run TestDashboards ./cmd/hearth
func writeCatalogue(t *testing.T, scrape []byte, path string) {
	type fam struct {
		typ, help string
		labels    map[string]bool
	}
	fams := map[string]*fam{}
	get := func(n string) *fam {
		if fams[n] == nil {
			fams[n] = &fam{labels: map[string]bool{}}
		}
		return fams[n]
	}
	sample := regexp.MustCompile(`^(hearth_[a-z0-9_]+?)(_bucket|_count|_sum)?\{([^}]*)\}`)
	for _, line := range strings.Split(string(scrape), "\n") {
		f := strings.Fields(line)
		switch {
		case strings.HasPrefix(line, "# HELP hearth_"):
			get(f[2]).help = strings.Join(f[3:], " ")
		case strings.HasPrefix(line, "# TYPE hearth_"):
			get(f[2]).typ = f[3]
		default:
			if m := sample.FindStringSubmatch(line); m != nil {
				for _, kv := range strings.Split(m[3], ",") {
					k := strings.SplitN(kv, "=", 2)[0]
					if k != "le" && k != "" {
						if fams[m[1]] != nil {
							fams[m[1]].labels[k] = true
						}
					}
				}
			}
		}
	}
	names := make([]string, 0, len(fams))
	for n := range fams {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("| metric | type | labels | meaning |\n|---|---|---|---|\n")
	for _, n := range names {
		f := fams[n]
		var ls []string
		for l := range f.labels {
			ls = append(ls, "`"+l+"`")
		}
		sort.Strings(ls)
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", n, f.typ, strings.Join(ls, ", "), f.help)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}
