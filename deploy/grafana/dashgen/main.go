// Command dashgen generates Hearth's Grafana dashboards (an overview, and
// one each for the API, realtime and voice services) with the Grafana
// Foundation SDK, into deploy/grafana/dashboards. Run it from the
// repository root after changing a panel:
//
//	go run ./deploy/grafana/dashgen
//
// A test fails when the committed JSON is stale, and cmd/hearth's tests
// check that every metric a panel queries is exposed by a running hearth.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

func main() {
	out := "deploy/grafana/dashboards"
	if len(os.Args) > 1 {
		out = os.Args[1]
	}
	files, err := render()
	if err != nil {
		fmt.Fprintln(os.Stderr, "dashgen:", err)
		os.Exit(1)
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(out, name), b, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "dashgen:", err)
			os.Exit(1)
		}
	}
}

// render builds every dashboard and returns file name → JSON.
func render() (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, d := range dashboards() {
		built, err := d.build()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", d.uid, err)
		}
		b, err := json.MarshalIndent(built, "", "  ")
		if err != nil {
			return nil, err
		}
		out[d.file] = append(b, '\n')
	}
	return out, nil
}

// query is one PromQL target.
type query struct {
	expr, legend string
}

// panel is one graph or stat. Every panel states its unit and what it means.
type panel struct {
	title, desc, unit string
	stat              bool
	span              uint32
	queries           []query
}

type row struct {
	title  string
	panels []panel
}

type board struct {
	uid, file, title, desc string
	rows                   []row
}

var ds = common.DataSourceRef{Type: cog.ToPtr("prometheus"), Uid: cog.ToPtr("${datasource}")}

func (b board) build() (dashboard.Dashboard, error) {
	d := dashboard.NewDashboardBuilder(b.title).
		Uid(b.uid).
		Description(b.desc).
		Tags([]string{"hearth"}).
		Refresh("30s").
		Time("now-1h", "now").
		Timezone(common.TimeZoneBrowser).
		WithVariable(dashboard.NewDatasourceVariableBuilder("datasource").Label("Data source").Type("prometheus")).
		WithVariable(dashboard.NewQueryVariableBuilder("job").Label("Job").
			Datasource(ds).
			Query(dashboard.StringOrMap{String: cog.ToPtr("label_values(hearth_build_info, job)")}).
			Multi(true).IncludeAll(true).
			Refresh(dashboard.VariableRefreshOnTimeRangeChanged)).
		Link(dashboard.NewDashboardLinkBuilder("Hearth dashboards").Type(dashboard.DashboardLinkTypeDashboards).
			Tags([]string{"hearth"}).AsDropdown(true).IncludeVars(true).KeepTime(true))
	for _, r := range b.rows {
		d = d.WithRow(dashboard.NewRowBuilder(r.title))
		for _, p := range r.panels {
			d = d.WithPanel(p.builder())
		}
	}
	return d.Build()
}

func (p panel) builder() cog.Builder[dashboard.Panel] {
	span := p.span
	if span == 0 {
		span = 12
	}
	if p.stat {
		s := stat.NewPanelBuilder().Title(p.title).Description(p.desc).Unit(p.unit).Datasource(ds).Span(span).Height(4)
		for _, q := range p.queries {
			s = s.WithTarget(prometheus.NewDataqueryBuilder().Expr(q.expr).LegendFormat(q.legend).Instant())
		}
		return s
	}
	t := timeseries.NewPanelBuilder().Title(p.title).Description(p.desc).Unit(p.unit).Datasource(ds).Span(span).Height(8).
		Legend(common.NewVizLegendOptionsBuilder().ShowLegend(true).DisplayMode(common.LegendDisplayModeList).Placement(common.LegendPlacementBottom)).
		Tooltip(common.NewVizTooltipOptionsBuilder().Mode(common.TooltipDisplayModeMulti).Sort(common.SortOrderDescending))
	for _, q := range p.queries {
		t = t.WithTarget(prometheus.NewDataqueryBuilder().Expr(q.expr).LegendFormat(q.legend))
	}
	return t
}

// Query helpers: every selector is scoped to the chosen jobs.
const job = `job=~"$job"`

func rate(metric, extra string) string {
	sel := job
	if extra != "" {
		sel += ", " + extra
	}
	return fmt.Sprintf("rate(%s{%s}[$__rate_interval])", metric, sel)
}

func quantile(q float64, metric, by, extra string) string {
	return fmt.Sprintf("histogram_quantile(%g, sum by (le%s) (%s))", q, by, rate(metric+"_bucket", extra))
}

func quantiles(metric, by, extra, legendPrefix string, qs ...float64) []query {
	var out []query
	for _, q := range qs {
		legend := fmt.Sprintf("p%g", q*100)
		if legendPrefix != "" {
			legend = legendPrefix + " " + legend
		}
		out = append(out, query{quantile(q, metric, by, extra), legend})
	}
	return out
}

func runtimeRow() row {
	return row{title: "Process", panels: []panel{
		{title: "CPU", unit: "percentunit", span: 6,
			desc:    "CPU time per second of each hearth process: 100% is one full core.",
			queries: []query{{"sum by (job, instance) (" + rate("process_cpu_seconds_total", "") + ")", "{{job}} {{instance}}"}}},
		{title: "Resident memory", unit: "bytes", span: 6,
			desc:    "Resident set size of each hearth process.",
			queries: []query{{`process_resident_memory_bytes{` + job + `}`, "{{job}} {{instance}}"}}},
		{title: "Goroutines", unit: "short", span: 6,
			desc:    "Goroutines per process. Each realtime connection holds one; a climb with flat connections is a leak.",
			queries: []query{{`go_goroutines{` + job + `}`, "{{job}} {{instance}}"}}},
		{title: "GC pause p99", unit: "s", span: 6,
			desc:    "Longest Go garbage-collection pauses (p99 over the last collections).",
			queries: []query{{`go_gc_duration_seconds{` + job + `, quantile="1"}`, "{{job}} {{instance}}"}}},
	}}
}

func dashboards() []board {
	return []board{overview(), api(), realtime(), voice()}
}

func overview() board {
	return board{uid: "hearth-overview", file: "overview.json", title: "Hearth / Overview",
		desc: "Is Hearth healthy, and if not, where? One row per service; follow the links to the service dashboards.",
		rows: []row{
			{title: "Health now", panels: []panel{
				{title: "Targets up", unit: "short", stat: true, span: 4,
					desc:    "Hearth processes Prometheus scrapes successfully.",
					queries: []query{{`sum(up{` + job + `})`, "up"}}},
				{title: "HTTP 5xx ratio", unit: "percentunit", stat: true, span: 4,
					desc:    "Share of HTTP requests answered with a server error over the last 5 minutes. Alert: above 2%.",
					queries: []query{{`sum(rate(hearth_http_requests_total{` + job + `, code=~"5.."}[5m])) / sum(rate(hearth_http_requests_total{` + job + `}[5m]))`, "5xx"}}},
				{title: "Realtime connections", unit: "short", stat: true, span: 4,
					desc:    "Open room WebSockets.",
					queries: []query{{`sum(hearth_realtime_connections{` + job + `})`, "connections"}}},
				{title: "Active rooms", unit: "short", stat: true, span: 4,
					desc:    "Rooms with at least one member.",
					queries: []query{{`sum(hearth_rooms_active{` + job + `})`, "rooms"}}},
				{title: "Voice participants", unit: "short", stat: true, span: 4,
					desc:    "People connected to voice.",
					queries: []query{{`sum(hearth_voice_participants{` + job + `})`, "participants"}}},
				{title: "Fullest room", unit: "short", stat: true, span: 4,
					desc:    "Members in the fullest room.",
					queries: []query{{`max(hearth_room_users_max{` + job + `})`, "members"}}},
			}},
			{title: "Joins", panels: []panel{
				{title: "Join latency p95 by stage (server)", unit: "s",
					desc:    "How long each stage of joining a room takes: api (join request), realtime (hello to welcome), voice (signalling to ICE connected). Alert thresholds: 0.5 s, 0.5 s, 2 s.",
					queries: quantiles("hearth_room_join_duration_seconds", ", stage", "", "{{stage}}", 0.95)},
				{title: "Join latency from the client", unit: "s",
					desc:    "Click on join to the first frame with the room, as clients report it (telemetry, when enabled).",
					queries: quantiles("hearth_client_join_duration_seconds", "", "", "", 0.5, 0.95)},
			}},
			{title: "Experience", panels: []panel{
				{title: "Fan-out delay p99", unit: "s", span: 8,
					desc:    "Pose receipt to delivery for the slowest 1% of frames, tick wait included. Healthy: under one tick (50 ms) plus a little. Alert: 100 ms.",
					queries: quantiles("hearth_realtime_fanout_delay_seconds", "", "", "", 0.99)},
				{title: "Voice quality", unit: "short", span: 8,
					desc:    "Median and worst-decile voice quality score of participants (MOS from an E-model, 1 to 4.5; 4 and above is excellent).",
					queries: quantiles("hearth_voice_quality_score", "", "", "", 0.5, 0.1)},
				{title: "Client frame rate", unit: "suffix:fps", span: 8,
					desc: "Clients report each 30 s window's median frame rate and its slowest 5% (telemetry, when enabled); shown: the median over windows of each.",
					queries: []query{
						{quantile(0.5, "hearth_client_fps", "", `stat="p50"`), "typical (p50)"},
						{quantile(0.5, "hearth_client_fps", "", `stat="p5"`), "slow frames (p5)"},
					}},
			}},
			runtimeRow(),
		}}
}

func api() board {
	return board{uid: "hearth-api", file: "api.json", title: "Hearth / API",
		desc: "The API service: HTTP traffic by route, sign-ins and token refreshes, room joins, music, client telemetry.",
		rows: []row{
			{title: "HTTP", panels: []panel{
				{title: "Requests by route", unit: "reqps",
					desc:    "Requests per second by route pattern and method.",
					queries: []query{{"sum by (route, method) (" + rate("hearth_http_requests_total", "") + ")", "{{method}} {{route}}"}}},
				{title: "Errors by route", unit: "reqps",
					desc:    "4xx and 5xx answers per second by route and status code.",
					queries: []query{{"sum by (route, code) (" + rate("hearth_http_requests_total", `code=~"[45].."`) + ")", "{{code}} {{route}}"}}},
				{title: "Latency p95 by route", unit: "s",
					desc:    "95th percentile time to serve a request, by route (WebSocket sessions excluded). Exemplars link to traces.",
					queries: quantiles("hearth_http_request_duration_seconds", ", route", "", "{{route}}", 0.95)},
				{title: "Latency p50 / p99", unit: "s",
					desc:    "Median and 99th percentile over all routes.",
					queries: quantiles("hearth_http_request_duration_seconds", "", "", "", 0.5, 0.99)},
				{title: "In flight", unit: "short",
					desc:    "Requests being served right now.",
					queries: []query{{`sum by (job) (hearth_http_requests_in_flight{` + job + `})`, "{{job}}"}}},
			}},
			{title: "Accounts and joins", panels: []panel{
				{title: "Auth operations", unit: "ops",
					desc:    "Sign-ins, registrations, guests, refreshes and logouts per second, by result (ok or the error code).",
					queries: []query{{"sum by (operation, result) (" + rate("hearth_auth_duration_seconds_count", "") + ")", "{{operation}} {{result}}"}}},
				{title: "Auth latency p95", unit: "s",
					desc:    "Time per auth operation. Password hashing (argon2id) dominates login and register.",
					queries: quantiles("hearth_auth_duration_seconds", ", operation", "", "{{operation}}", 0.95)},
				{title: "Join, API stage", unit: "s",
					desc:    "Time to admit a join and mint its tokens.",
					queries: quantiles("hearth_room_join_duration_seconds", "", `stage="api"`, "", 0.5, 0.95)},
				{title: "Client reconnects", unit: "ops",
					desc:    "Reconnections clients report, by connection (realtime, voice) and result.",
					queries: []query{{"sum by (connection, result) (" + rate("hearth_client_reconnects_total", "") + ")", "{{connection}} {{result}}"}}},
				{title: "Client reconnect duration", unit: "s",
					desc:    "How long clients' reconnections take, drop to recovery.",
					queries: quantiles("hearth_client_reconnect_duration_seconds", "", "", "", 0.5, 0.95)},
				{title: "Client voice connect time", unit: "s",
					desc:    "Time from joining to voice media flowing, as clients report it.",
					queries: quantiles("hearth_client_voice_connect_duration_seconds", "", "", "", 0.5, 0.95)},
			}},
			{title: "Music", panels: []panel{
				{title: "Library size", unit: "short", span: 6,
					desc:    "Tracks in the music library.",
					queries: []query{{`max(hearth_music_tracks{` + job + `})`, "tracks"}}},
				{title: "Streaming", unit: "Bps", span: 6,
					desc:    "Bytes of audio streamed to clients per second.",
					queries: []query{{"sum(" + rate("hearth_music_stream_bytes_total", "") + ")", "streamed"}}},
				{title: "Queue operations", unit: "ops", span: 6,
					desc:    "Player and queue changes per second, by operation.",
					queries: []query{{"sum by (operation) (" + rate("hearth_music_queue_operations_total", "") + ")", "{{operation}}"}}},
				{title: "Uploads", unit: "s", span: 6,
					desc: "Upload processing time (p95) and rejected uploads by reason.",
					queries: append(quantiles("hearth_music_upload_duration_seconds", "", "", "", 0.95),
						query{"sum by (reason) (" + rate("hearth_music_rejected_uploads_total", "") + ")", "rejected {{reason}}"})},
			}},
			runtimeRow(),
		}}
}

func realtime() board {
	return board{uid: "hearth-realtime", file: "realtime.json", title: "Hearth / Realtime",
		desc: "The room WebSocket gateway: connections, rooms, messages, drops, fan-out latency, resumes and disconnects.",
		rows: []row{
			{title: "Load", panels: []panel{
				{title: "Connections", unit: "short", span: 8,
					desc:    "Open room WebSockets per gateway.",
					queries: []query{{`sum by (job, instance) (hearth_realtime_connections{` + job + `})`, "{{instance}}"}}},
				{title: "Active rooms", unit: "short", span: 8,
					desc:    "Rooms with members (connected or held for resume) per gateway.",
					queries: []query{{`sum by (job, instance) (hearth_rooms_active{` + job + `})`, "{{instance}}"}}},
				{title: "Users per room", unit: "short", span: 8,
					desc: "Members in the fullest room, and the median and 95th percentile room size (sampled every 10 s).",
					queries: append([]query{{`max(hearth_room_users_max{` + job + `})`, "fullest"}},
						quantiles("hearth_room_users", "", "", "", 0.5, 0.95)...)},
			}},
			{title: "Traffic", panels: []panel{
				{title: "Messages in and out", unit: "short",
					desc:    "WebSocket messages per second by direction and type (out: poses are pose frames, events are everything else).",
					queries: []query{{"sum by (direction, type) (" + rate("hearth_realtime_messages_total", "") + ")", "{{direction}} {{type}}"}}},
				{title: "Bytes in and out", unit: "Bps",
					desc:    "WebSocket payload bytes per second.",
					queries: []query{{"sum by (direction) (" + rate("hearth_realtime_bytes_total", "") + ")", "{{direction}}"}}},
				{title: "Drops by reason", unit: "short",
					desc: "Messages dropped on purpose per second: poses over the rate limit or invalid, slow consumers, malformed frames, chat over the limit or repeated; and, not lost, poses clamped and frames coalesced into the next one (a sign the writer is behind).",
					queries: []query{
						{"sum by (reason) (" + rate("hearth_realtime_dropped_total", "") + ")", "{{reason}}"},
						{"sum(" + rate("hearth_realtime_poses_clamped_total", "") + ")", "poses clamped"},
						{"sum(" + rate("hearth_realtime_frames_coalesced_total", "") + ")", "frames coalesced"},
					}},
				{title: "Fan-out delay", unit: "s",
					desc:    "Pose receipt to write, tick wait included, per frame. p99 alert: 100 ms.",
					queries: quantiles("hearth_realtime_fanout_delay_seconds", "", "", "", 0.5, 0.95, 0.99)},
			}},
			{title: "Sessions", panels: []panel{
				{title: "Connects by result", unit: "ops", span: 6,
					desc:    "Handshakes per second: ok, or the code that refused them. Alert: more than 10% refused.",
					queries: []query{{"sum by (result) (" + rate("hearth_realtime_connects_total", "") + ")", "{{result}}"}}},
				{title: "Join, realtime stage", unit: "s", span: 6,
					desc:    "Hello received to welcome sent.",
					queries: quantiles("hearth_room_join_duration_seconds", "", `stage="realtime"`, "", 0.5, 0.95)},
				{title: "Resumes", unit: "ops", span: 6,
					desc:    "Session resumes per second: resumed exactly, or fell back to a snapshot.",
					queries: []query{{"sum by (result) (" + rate("hearth_realtime_resumes_total", "") + ")", "{{result}}"}}},
				{title: "Disconnects by reason", unit: "ops", span: 6,
					desc:    "Connections ended per second and why (network, idle_timeout, slow_consumer, token_expired, left, kicked…).",
					queries: []query{{"sum by (reason) (" + rate("hearth_realtime_disconnects_total", "") + ")", "{{reason}}"}}},
				{title: "In-band token refreshes", unit: "ops", span: 6,
					desc:    "Realtime tokens refreshed without reconnecting, by result.",
					queries: []query{{"sum by (result) (" + rate("hearth_realtime_token_refreshes_total", "") + ")", "{{result}}"}}},
			}},
			runtimeRow(),
		}}
}

func voice() board {
	return board{uid: "hearth-voice", file: "voice.json", title: "Hearth / Voice",
		desc: "The voice SFU: participants, bandwidth, packet loss, jitter, round-trip time, forwarding delay, quality and the connection funnel.",
		rows: []row{
			{title: "Load", panels: []panel{
				{title: "Participants", unit: "short", span: 6,
					desc:    "People connected to voice per node.",
					queries: []query{{`sum by (job, instance) (hearth_voice_participants{` + job + `})`, "{{instance}}"}}},
				{title: "Rooms with voice", unit: "short", span: 6,
					desc:    "Rooms with at least one voice participant.",
					queries: []query{{`sum by (job, instance) (hearth_voice_rooms_active{` + job + `})`, "{{instance}}"}}},
				{title: "Bandwidth", unit: "bps", span: 6,
					desc:    "Media bits per second in (from publishers) and out (to subscribers). Alert: twice the last hour's average.",
					queries: []query{{"8 * sum by (direction) (" + rate("hearth_voice_bytes_total", "") + ")", "{{direction}}"}}},
				{title: "Packets", unit: "pps", span: 6,
					desc:    "RTP packets per second in and out.",
					queries: []query{{"sum by (direction) (" + rate("hearth_voice_packets_total", "") + ")", "{{direction}}"}}},
			}},
			{title: "Quality", panels: []panel{
				{title: "Packet loss", unit: "percentunit", span: 8,
					desc:    "Loss fraction per participant stream (median and p95). Alert: p95 above 5%.",
					queries: quantiles("hearth_voice_packet_loss_ratio", "", "", "", 0.5, 0.95)},
				{title: "Jitter", unit: "s", span: 8,
					desc:    "Interarrival jitter per stream (median and p95). Alert: p95 above 30 ms.",
					queries: quantiles("hearth_voice_jitter_seconds", "", "", "", 0.5, 0.95)},
				{title: "Round-trip time", unit: "s", span: 8,
					desc:    "RTT between the SFU and participants, from RTCP.",
					queries: quantiles("hearth_voice_rtt_seconds", "", "", "", 0.5, 0.95)},
				{title: "Forwarding delay", unit: "s", span: 8,
					desc:    "Time inside the SFU from reading a packet to writing it to a subscriber.",
					queries: quantiles("hearth_voice_forward_delay_seconds", "", "", "", 0.5, 0.99)},
				{title: "Quality score", unit: "short", span: 8,
					desc:    "MOS per participant from an E-model (1 to 4.5; 4 and above excellent, under 3 poor): median and worst decile.",
					queries: quantiles("hearth_voice_quality_score", "", "", "", 0.5, 0.1)},
				{title: "Join, voice stage", unit: "s", span: 8,
					desc:    "Signalling connected to ICE connected. Alert: p95 above 2 s.",
					queries: quantiles("hearth_room_join_duration_seconds", "", `stage="voice"`, "", 0.5, 0.95)},
			}},
			{title: "Connections", panels: []panel{
				{title: "Connection funnel", unit: "ops",
					desc:    "Voice sessions per second that reached each state: signal_connected, ice_connected, failed. A gap between the first two is users who signal but never get media. Alert: failed above 20% of signalled.",
					queries: []query{{"sum by (state) (" + rate("hearth_voice_connections_total", "") + ")", "{{state}}"}}},
				{title: "ICE restarts", unit: "ops",
					desc:    "ICE restarts per second (transport failed or disconnected and recovered in place).",
					queries: []query{{"sum(" + rate("hearth_voice_ice_restarts_total", "") + ")", "restarts"}}},
			}},
			runtimeRow(),
		}}
}
