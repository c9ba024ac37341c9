package server_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hearth-space/hearth/internal/auth"
	"github.com/hearth-space/hearth/internal/roomevents"
	"github.com/hearth-space/hearth/internal/store"
)

func (e *env) nextEvent(t *testing.T) roomevents.Event {
	t.Helper()
	select {
	case ev := <-e.events:
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no room event published")
		return roomevents.Event{}
	}
}

func TestGuestCreateAndJoin(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		g := e.guest("Ada")
		room := g.createRoom(map[string]any{"name": "  Living   room ", "description": "line one\nline two", "scene": "plaza"})
		if room["name"] != "Living room" || room["capacity"] != float64(40) || room["visibility"] != "public" ||
			room["scene"] != "plaza" || room["my_role"] != "owner" || room["invite_code"] != nil || room["description"] != "line one\nline two" {
			t.Fatalf("room: %v", room)
		}
		rid := room["id"].(string)
		r := g.want(g.do("POST", "/api/v1/rooms/"+rid+"/join", nil), 200, "")
		rt := r.body["realtime"].(map[string]any)
		voice := r.body["voice"].(map[string]any)
		if rt["url"] != strings.Replace(e.srv.URL, "http://", "ws://", 1)+"/rt" || voice["url"] != strings.Replace(e.srv.URL, "http://", "ws://", 1)+"/voice/ws" {
			t.Fatalf("urls: %v %v", rt["url"], voice["url"])
		}
		if _, ok := voice["ice_servers"].([]any); !ok {
			t.Fatalf("ice_servers missing: %s", r.raw)
		}
		if !regexp.MustCompile(`^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$`).MatchString(r.str("traceparent")) {
			t.Fatalf("traceparent %q", r.str("traceparent"))
		}
		ctx := context.Background()
		rc, err := e.tokens.Verify(ctx, rt["token"].(string), auth.AudienceRealtime)
		if err != nil || rc.Room != rid || rc.Subject != g.id() || rc.Role != "owner" || rc.Name != "Ada" || !rc.Guest {
			t.Fatalf("realtime token: %+v %v", rc, err)
		}
		if ttl := time.Until(rc.ExpiresAt.Time); ttl > 11*time.Minute {
			t.Fatalf("realtime token lives %v", ttl)
		}
		if _, err := e.tokens.Verify(ctx, rt["token"].(string), auth.AudienceVoice); err == nil {
			t.Fatal("realtime token accepted as voice token")
		}
		vc, err := e.tokens.Verify(ctx, voice["token"].(string), auth.AudienceVoice)
		if err != nil || vc.Room != rid {
			t.Fatalf("voice token: %+v %v", vc, err)
		}

		// Another guest joins and becomes a member; the room lists occupancy.
		b := e.guest("Bob")
		b.want(b.do("POST", "/api/v1/rooms/"+rid+"/join", "{}"), 200, "")
		if role := b.want(b.do("GET", "/api/v1/rooms/"+rid, nil), 200, "").str("my_role"); role != "member" {
			t.Fatalf("joiner role %q", role)
		}
		e.presence.set(rid, g.id(), true)
		list := b.want(b.do("GET", "/api/v1/rooms", nil), 200, "")
		rooms := list.body["rooms"].([]any)
		if len(rooms) != 1 || rooms[0].(map[string]any)["occupancy"] != float64(1) {
			t.Fatalf("listing: %s", list.raw)
		}
		// Fresh tokens for a room one has joined.
		tk := b.want(b.do("POST", "/api/v1/rooms/"+rid+"/tokens", nil), 200, "")
		if tk.body["realtime"].(map[string]any)["token"] == "" {
			t.Fatalf("tokens: %s", tk.raw)
		}
		s := e.guest("Stranger")
		s.want(s.do("POST", "/api/v1/rooms/"+rid+"/tokens", nil), 403, "forbidden")

		// Not found and junk ids.
		b.want(b.do("POST", "/api/v1/rooms/aaaaaaaaaaaaaaaaaaaaaaaaaa/join", nil), 404, "not_found")
		b.want(b.do("POST", "/api/v1/rooms/'%20OR%201=1/join", nil), 404, "not_found")
		b.want(b.do("POST", "/api/v1/rooms/"+rid+"/join", `{"invite_code":`), 400, "malformed_body")
	})
}

func TestRoomFull(t *testing.T) {
	e := newEnv(t, store.SQLite)
	o := e.guest("Owner")
	rid := o.createRoom(map[string]any{"name": "Tiny", "capacity": 2})["id"].(string)
	e.presence.set(rid, "someone", true)
	e.presence.set(rid, o.id(), true)
	b := e.guest("Bob")
	b.want(b.do("POST", "/api/v1/rooms/"+rid+"/join", nil), 409, "room_full")
	// Someone already inside (a reconnect) still gets in.
	o.want(o.do("POST", "/api/v1/rooms/"+rid+"/join", nil), 200, "")
	e.presence.set(rid, "someone", false)
	b.want(b.do("POST", "/api/v1/rooms/"+rid+"/join", nil), 200, "")
}

func TestPrivateRoomsAndInvites(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		o := e.guest("Owner")
		room := o.createRoom(map[string]any{"name": "Secret", "visibility": "private"})
		rid, code := room["id"].(string), room["invite_code"].(string)
		if len(code) != 8 {
			t.Fatalf("invite code %q", code)
		}
		x := e.guest("X")
		if rooms := x.want(x.do("GET", "/api/v1/rooms", nil), 200, "").body["rooms"].([]any); len(rooms) != 0 {
			t.Fatalf("private room listed: %v", rooms)
		}
		x.want(x.do("GET", "/api/v1/rooms/"+rid, nil), 404, "not_found")
		x.want(x.do("POST", "/api/v1/rooms/"+rid+"/join", nil), 403, "invite_required")
		x.want(x.do("POST", "/api/v1/rooms/"+rid+"/join", map[string]string{"invite_code": "WRONGONE"}), 403, "invite_required")
		prev := x.want(x.do("GET", "/api/v1/invites/"+strings.ToLower(code), nil), 200, "")
		if prev.str("id") != rid || prev.str("invite_code") != "" {
			t.Fatalf("invite preview: %s", prev.raw)
		}
		x.want(x.do("GET", "/api/v1/invites/NOPE", nil), 404, "not_found")
		x.want(x.do("POST", "/api/v1/rooms/"+rid+"/join", map[string]string{"invite_code": strings.ToLower(code)}), 200, "")
		// Once a member, no code is needed; members do not see the code.
		got := x.want(x.do("GET", "/api/v1/rooms/"+rid, nil), 200, "")
		if got.str("invite_code") != "" {
			t.Fatal("member sees invite code")
		}
		x.want(x.do("POST", "/api/v1/rooms/"+rid+"/join", nil), 200, "")
		mine := x.want(x.do("GET", "/api/v1/me/rooms", nil), 200, "").body["rooms"].([]any)
		if len(mine) != 1 || mine[0].(map[string]any)["my_role"] != "member" {
			t.Fatalf("my rooms: %v", mine)
		}
		// Rotating the code invalidates the old one.
		x.want(x.do("POST", "/api/v1/rooms/"+rid+"/invite", nil), 403, "forbidden")
		newCode := o.want(o.do("POST", "/api/v1/rooms/"+rid+"/invite", nil), 200, "").str("invite_code")
		if newCode == code || newCode == "" {
			t.Fatalf("rotate: %q", newCode)
		}
		y := e.guest("Y")
		y.want(y.do("POST", "/api/v1/rooms/"+rid+"/join", map[string]string{"invite_code": code}), 403, "invite_required")
		// Making it public drops the code.
		pub := o.want(o.do("PATCH", "/api/v1/rooms/"+rid, map[string]string{"visibility": "public"}), 200, "")
		if pub.str("invite_code") != "" {
			t.Fatalf("public room kept code: %s", pub.raw)
		}
		y.want(y.do("POST", "/api/v1/rooms/"+rid+"/join", nil), 200, "")
	})
}

func TestRoomEditPermissionsAndModeration(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		o := e.guest("Owner")
		rid := o.createRoom(map[string]any{"name": "Hall"})["id"].(string)
		m := e.guest("Mod")
		u := e.guest("User")
		v := e.guest("Victim")
		for _, c := range []*client{m, u, v} {
			c.want(c.do("POST", "/api/v1/rooms/"+rid+"/join", nil), 200, "")
		}
		base := "/api/v1/rooms/" + rid

		// Roles: owner only.
		u.want(u.do("PUT", base+"/members/"+m.id(), map[string]string{"role": "moderator"}), 403, "forbidden")
		o.want(o.do("PUT", base+"/members/"+m.id(), map[string]string{"role": "moderator"}), 200, "")
		if ev := e.nextEvent(t); ev.Type != roomevents.RoleChanged || ev.UserID != m.id() || ev.Role != "moderator" {
			t.Fatalf("event: %+v", ev)
		}
		o.want(o.do("PUT", base+"/members/"+m.id(), map[string]string{"role": "owner"}), 400, "validation_failed")
		o.want(o.do("PUT", base+"/members/"+o.id(), map[string]string{"role": "member"}), 403, "forbidden")
		o.want(o.do("PUT", base+"/members/aaaaaaaaaaaaaaaaaaaaaaaaaa", map[string]string{"role": "member"}), 404, "not_found")
		members := o.want(o.do("GET", base+"/members", nil), 200, "").body["members"].([]any)
		if len(members) != 3 || members[0].(map[string]any)["role"] != "moderator" {
			t.Fatalf("members: %v", members)
		}

		// Edits: owner and moderators, validated.
		u.want(u.do("PATCH", base, map[string]string{"name": "Mine now"}), 403, "forbidden")
		r := m.want(m.do("PATCH", base, map[string]any{"name": "Great Hall", "capacity": 12, "music_control": "moderators"}), 200, "")
		if r.str("name") != "Great Hall" || r.body["capacity"] != float64(12) || r.body["settings"].(map[string]any)["music_control"] != "moderators" {
			t.Fatalf("patch: %s", r.raw)
		}
		if ev := e.nextEvent(t); ev.Type != roomevents.RoomUpdated {
			t.Fatalf("event: %+v", ev)
		}
		for _, bad := range []map[string]any{
			{"name": ""}, {"capacity": 0}, {"capacity": 101}, {"visibility": "secret"}, {"scene": "moon"},
			{"music_control": "anyone"}, {"name": strings.Repeat("n", 65)}, {"description": strings.Repeat("d", 501)},
		} {
			m.want(m.do("PATCH", base, bad), 400, "validation_failed")
		}
		m.want(m.do("PATCH", base, `{"capacity":"12"}`), 400, "validation_failed")
		m.want(m.do("PATCH", base, `{"owner_id":"me"}`), 400, "validation_failed")

		// Bans: moderators ban members, not the owner nor each other.
		u.want(u.do("PUT", base+"/bans/"+v.id(), map[string]string{"reason": "x"}), 403, "forbidden")
		m.want(m.do("PUT", base+"/bans/"+o.id(), nil), 403, "forbidden")
		m.want(m.do("PUT", base+"/bans/"+m.id(), nil), 403, "forbidden")
		m.want(m.do("PUT", base+"/bans/"+v.id(), map[string]string{"reason": "  spam\u0000 "}), 200, "")
		if ev := e.nextEvent(t); ev.Type != roomevents.UserBanned || ev.UserID != v.id() || ev.Reason != "spam" {
			t.Fatalf("event: %+v", ev)
		}
		v.want(v.do("POST", base+"/join", nil), 403, "banned")
		v.want(v.do("POST", base+"/tokens", nil), 403, "banned")
		bans := m.want(m.do("GET", base+"/bans", nil), 200, "").body["bans"].([]any)
		if len(bans) != 1 || bans[0].(map[string]any)["reason"] != "spam" {
			t.Fatalf("bans: %v", bans)
		}
		u.want(u.do("GET", base+"/bans", nil), 403, "forbidden")
		m.want(m.do("DELETE", base+"/bans/"+v.id(), nil), 204, "")
		m.want(m.do("DELETE", base+"/bans/"+v.id(), nil), 404, "not_found")
		v.want(v.do("POST", base+"/join", nil), 200, "")

		// Kicks.
		u.want(u.do("POST", base+"/kicks", map[string]string{"user_id": v.id()}), 403, "forbidden")
		m.want(m.do("POST", base+"/kicks", map[string]string{}), 400, "validation_failed")
		m.want(m.do("POST", base+"/kicks", map[string]string{"user_id": v.id(), "reason": "calm down"}), 202, "")
		if ev := e.nextEvent(t); ev.Type != roomevents.UserKicked || ev.UserID != v.id() {
			t.Fatalf("event: %+v", ev)
		}

		// Delete: owner only; everyone is told.
		m.want(m.do("DELETE", base, nil), 403, "forbidden")
		o.want(o.do("DELETE", base, nil), 204, "")
		if ev := e.nextEvent(t); ev.Type != roomevents.RoomDeleted || ev.RoomID != rid {
			t.Fatalf("event: %+v", ev)
		}
		u.want(u.do("POST", base+"/join", nil), 404, "not_found")
		o.want(o.do("DELETE", base, nil), 404, "not_found")
	})
}

func TestListRoomsPagination(t *testing.T) {
	e := newEnv(t, store.SQLite)
	o := e.guest("Owner")
	for i := range 7 {
		o.createRoom(map[string]any{"name": fmt.Sprintf("Room %d", i)})
		e.clk.Advance(time.Millisecond)
	}
	var names []string
	cursor := ""
	for page := 0; page < 5; page++ {
		path := "/api/v1/rooms?limit=3"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		r := o.want(o.do("GET", path, nil), 200, "")
		for _, room := range r.body["rooms"].([]any) {
			names = append(names, room.(map[string]any)["name"].(string))
		}
		cursor = r.str("next_cursor")
		if cursor == "" {
			break
		}
	}
	if strings.Join(names, ",") != "Room 6,Room 5,Room 4,Room 3,Room 2,Room 1,Room 0" {
		t.Fatalf("pages: %v", names)
	}
	o.want(o.do("GET", "/api/v1/rooms?limit=0", nil), 400, "validation_failed")
	o.want(o.do("GET", "/api/v1/rooms?limit=abc", nil), 400, "validation_failed")
	o.want(o.do("GET", "/api/v1/rooms?cursor=%27%3B--", nil), 400, "validation_failed")
	o.want(o.do("DELETE", "/api/v1/rooms", nil), 405, "method_not_allowed")
	o.want(o.do("POST", "/api/v1/rooms", map[string]any{"name": "x", "capacity": 1000}), 400, "validation_failed")
	o.want(o.do("POST", "/api/v1/rooms", map[string]any{"name": "x", "capacity": "many"}), 400, "validation_failed")
	o.want(o.do("POST", "/api/v1/rooms", map[string]any{}), 400, "validation_failed")
}

func TestConfigAndJWKS(t *testing.T) {
	e := newEnv(t, store.SQLite)
	c := e.client()
	cfg := c.want(c.do("GET", "/api/v1/config", nil), 200, "")
	if cfg.str("quality_preset") != "auto" || cfg.body["enable_lod"] != true || cfg.body["enable_telemetry"] != false {
		t.Fatalf("config: %s", cfg.raw)
	}
	jwks := c.want(c.do("GET", "/api/v1/.well-known/jwks.json", nil), 200, "")
	keys := jwks.body["keys"].([]any)
	if len(keys) != 1 || keys[0].(map[string]any)["crv"] != "Ed25519" || keys[0].(map[string]any)["kid"] == "" {
		t.Fatalf("jwks: %s", jwks.raw)
	}
}

// TestNoSecretsInLogs signs in, registers, refreshes and joins, then greps
// every captured log line for the passwords, tokens and cookies involved.
func TestNoSecretsInLogs(t *testing.T) {
	e := newEnv(t, store.SQLite)
	secrets := []string{"correct horse battery", "hunter2hunter2"}
	c := e.client()
	r := c.do("POST", "/api/v1/auth/register", map[string]string{"username": "logcheck", "password": secrets[0]})
	c.signIn(r)
	secrets = append(secrets, c.token, refreshCookie(t, r).Value)
	c.want(c.do("POST", "/api/v1/auth/login", map[string]string{"username": "logcheck", "password": secrets[1]}), 401, "invalid_credentials")
	r = c.want(c.do("POST", "/api/v1/auth/refresh", nil), 200, "")
	c.signIn(r)
	secrets = append(secrets, c.token, refreshCookie(t, r).Value)
	rid := c.createRoom(map[string]any{"name": "Logs"})["id"].(string)
	j := c.want(c.do("POST", "/api/v1/rooms/"+rid+"/join", nil), 200, "")
	secrets = append(secrets, j.body["realtime"].(map[string]any)["token"].(string), j.body["voice"].(map[string]any)["token"].(string))
	c.want(c.do("GET", "/api/v1/me", nil, "Cookie", "session=cookie-secret-value"), 200, "")
	secrets = append(secrets, "cookie-secret-value")
	c.want(c.do("POST", "/api/v1/auth/logout", nil), 204, "")

	logs := e.logs.String()
	lines := strings.Split(strings.TrimSpace(logs), "\n")
	if len(lines) < 8 {
		t.Fatalf("too few log lines captured (%d): the test is not looking at the logs", len(lines))
	}
	for _, s := range secrets {
		if s == "" {
			t.Fatal("empty secret: the test is broken")
		}
		if strings.Contains(logs, s) {
			t.Errorf("a secret (%.12s…) appears in the logs", s)
		}
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "{") || !strings.Contains(l, `"request_id":`) {
			t.Errorf("log line without request_id or not JSON: %s", l)
		}
	}
}
