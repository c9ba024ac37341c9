package store_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hearth-space/hearth/internal/errs"
	"github.com/hearth-space/hearth/internal/id"
	"github.com/hearth-space/hearth/internal/store"
	"github.com/hearth-space/hearth/internal/store/storetest"
)

// clock is a controllable time source.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano())
	return c
}
func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// each runs fn against SQLite and PostgreSQL.
func each(t *testing.T, fn func(t *testing.T, db *store.DB, clk *clock)) {
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			clk := newClock()
			fn(t, storetest.Open(t, d, clk.Now), clk)
		})
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func mustUser(t *testing.T, db *store.DB, username string) store.User {
	t.Helper()
	u := store.User{ID: id.New(), Username: username, DisplayName: "User " + username, PasswordHash: "h"}
	if username == "" {
		u.Guest, u.PasswordHash = true, ""
	}
	if err := db.CreateUser(ctx(t), &u); err != nil {
		t.Fatalf("create user: %v", err)
	}
	return u
}

func wantCode(t *testing.T, err error, code errs.Code) {
	t.Helper()
	if got := errs.CodeOf(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

func TestMigrateIsIdempotent(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB, _ *clock) {
		applied, err := db.Migrate(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		if len(applied) != 0 {
			t.Fatalf("second migrate applied %v", applied)
		}
	})
}

func TestUsers(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB, _ *clock) {
		c := ctx(t)
		ada := mustUser(t, db, "ada")
		got, err := db.UserByUsername(c, "ada")
		if err != nil || got.ID != ada.ID || got.DisplayName != "User ada" || got.Guest {
			t.Fatalf("by username: %+v %v", got, err)
		}
		if _, err := db.UserByID(c, "nope"); errs.CodeOf(err) != errs.NotFound {
			t.Fatalf("missing user: %v", err)
		}
		dup := store.User{ID: id.New(), Username: "ada", DisplayName: "x"}
		wantCode(t, db.CreateUser(c, &dup), errs.UsernameTaken)

		// SQL-looking input is data, not SQL.
		evil := store.User{ID: id.New(), Username: "x'; drop table users; --", DisplayName: "Robert'); DROP TABLE users;--"}
		if err := db.CreateUser(c, &evil); err != nil {
			t.Fatal(err)
		}
		if got, err := db.UserByUsername(c, evil.Username); err != nil || got.DisplayName != evil.DisplayName {
			t.Fatalf("evil round trip: %+v %v", got, err)
		}

		guest := mustUser(t, db, "")
		if !guest.Guest {
			t.Fatal("guest flag lost")
		}
		up, err := db.UpgradeGuest(c, guest.ID, "grace", "hash", "Grace")
		if err != nil || up.Guest || up.Username != "grace" || up.ID != guest.ID {
			t.Fatalf("upgrade: %+v %v", up, err)
		}
		_, err = db.UpgradeGuest(c, guest.ID, "grace2", "hash", "Grace")
		wantCode(t, err, errs.AlreadyRegistered)
		g2 := mustUser(t, db, "")
		_, err = db.UpgradeGuest(c, g2.ID, "ada", "hash", "Ada 2")
		wantCode(t, err, errs.UsernameTaken)
		_, err = db.UpgradeGuest(c, "missing", "zed", "hash", "Zed")
		wantCode(t, err, errs.NotFound)

		if u, err := db.UpdateDisplayName(c, ada.ID, "Ada L."); err != nil || u.DisplayName != "Ada L." {
			t.Fatalf("rename: %+v %v", u, err)
		}
	})
}

func TestRefreshRotationAndReuse(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB, clk *clock) {
		c := ctx(t)
		u := mustUser(t, db, "ada")
		sess := store.AuthSession{ID: id.New(), UserID: u.ID, ExpiresAt: clk.Now().Add(time.Hour)}
		if err := db.CreateSession(c, &sess, "h1"); err != nil {
			t.Fatal(err)
		}
		got, err := db.RotateRefresh(c, "h1", "h2")
		if err != nil || got.ID != sess.ID || got.UserID != u.ID {
			t.Fatalf("rotate: %+v %v", got, err)
		}
		if _, err := db.RotateRefresh(c, "h2", "h3"); err != nil {
			t.Fatalf("rotate again: %v", err)
		}
		// h1 was used: presenting it revokes the family, so h3 dies too.
		_, err = db.RotateRefresh(c, "h1", "hx")
		wantCode(t, err, errs.RefreshReused)
		if ok, _ := db.SessionActive(c, sess.ID); ok {
			t.Fatal("session survived refresh reuse")
		}
		_, err = db.RotateRefresh(c, "h3", "h4")
		wantCode(t, err, errs.TokenInvalid)
		_, err = db.RotateRefresh(c, "unknown", "h5")
		wantCode(t, err, errs.TokenInvalid)

		// Expiry.
		s2 := store.AuthSession{ID: id.New(), UserID: u.ID, ExpiresAt: clk.Now().Add(time.Minute)}
		if err := db.CreateSession(c, &s2, "e1"); err != nil {
			t.Fatal(err)
		}
		clk.Advance(2 * time.Minute)
		_, err = db.RotateRefresh(c, "e1", "e2")
		wantCode(t, err, errs.TokenExpired)

		// Logout.
		s3 := store.AuthSession{ID: id.New(), UserID: u.ID, ExpiresAt: clk.Now().Add(time.Hour)}
		if err := db.CreateSession(c, &s3, "l1"); err != nil {
			t.Fatal(err)
		}
		if sid, err := db.SessionByRefresh(c, "l1"); err != nil || sid != s3.ID {
			t.Fatalf("session by refresh: %q %v", sid, err)
		}
		if err := db.RevokeSession(c, s3.ID, store.RevokeLogout); err != nil {
			t.Fatal(err)
		}
		if err := db.RevokeSession(c, s3.ID, store.RevokeLogout); err != nil {
			t.Fatalf("second revoke: %v", err)
		}
		_, err = db.RotateRefresh(c, "l1", "l2")
		wantCode(t, err, errs.TokenInvalid)

		clk.Advance(48 * time.Hour)
		n, err := db.PruneSessions(c, clk.Now().Add(-24*time.Hour))
		if err != nil || n != 3 {
			t.Fatalf("prune: %d %v", n, err)
		}
	})
}

// TestRefreshRace: of many concurrent rotations of one token exactly one
// wins; the first loser revokes the family as a reuse, and the others find
// it revoked.
func TestRefreshRace(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB, clk *clock) {
		c := ctx(t)
		u := mustUser(t, db, "ada")
		sess := store.AuthSession{ID: id.New(), UserID: u.ID, ExpiresAt: clk.Now().Add(time.Hour)}
		if err := db.CreateSession(c, &sess, "r0"); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var ok, reused, revoked atomic.Int32
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := db.RotateRefresh(c, "r0", "r1-"+string(rune('a'+i)))
				switch errs.CodeOf(err) {
				case "":
					ok.Add(1)
				case errs.RefreshReused:
					reused.Add(1)
				case errs.TokenInvalid:
					revoked.Add(1)
				default:
					t.Errorf("rotate: %v", err)
				}
			}()
		}
		wg.Wait()
		if ok.Load() != 1 || reused.Load() < 1 || ok.Load()+reused.Load()+revoked.Load() != 8 {
			t.Fatalf("ok=%d reused=%d revoked=%d, want exactly 1 ok and at least 1 reuse", ok.Load(), reused.Load(), revoked.Load())
		}
		if active, _ := db.SessionActive(c, sess.ID); active {
			t.Fatal("session survived the race")
		}
	})
}

func TestSigningKeys(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB, clk *clock) {
		c := ctx(t)
		keys, err := db.SigningKeys(c)
		if err != nil || len(keys) != 0 {
			t.Fatalf("fresh keys: %v %v", keys, err)
		}
		k := store.SigningKey{KID: "k1", Algorithm: "EdDSA", PrivateKey: []byte{1, 2, 3}, PublicKey: []byte{4, 5}}
		if err := db.AddSigningKey(c, k); err != nil {
			t.Fatal(err)
		}
		if err := db.AddSigningKey(c, store.SigningKey{KID: "k1", Algorithm: "EdDSA", PrivateKey: []byte{9}, PublicKey: []byte{9}}); err != nil {
			t.Fatalf("duplicate kid must be ignored: %v", err)
		}
		clk.Advance(time.Second)
		if err := db.AddSigningKey(c, store.SigningKey{KID: "k2", Algorithm: "EdDSA", PrivateKey: []byte{7}, PublicKey: []byte{8}}); err != nil {
			t.Fatal(err)
		}
		keys, err = db.SigningKeys(c)
		if err != nil || len(keys) != 2 || keys[0].KID != "k2" || string(keys[1].PrivateKey) != string([]byte{1, 2, 3}) {
			t.Fatalf("keys: %+v %v", keys, err)
		}
	})
}

func TestRooms(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB, clk *clock) {
		c := ctx(t)
		owner := mustUser(t, db, "owner")
		mod := mustUser(t, db, "mod")
		member := mustUser(t, db, "member")

		var ids []string
		for i := range 5 {
			r := store.Room{ID: id.New(), OwnerID: owner.ID, Name: "Room", Scene: "lounge", Capacity: 40, Visibility: store.Public, MusicControl: "everyone"}
			if i == 4 {
				r.Visibility, r.InviteCode = store.Private, "ABCDEFGH"
			}
			if err := db.CreateRoom(c, &r); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, r.ID)
			clk.Advance(time.Millisecond)
		}
		// Paging, newest first, private rooms excluded.
		page1, err := db.ListPublicRooms(c, store.RoomCursor{}, 2)
		if err != nil || len(page1) != 2 || page1[0].ID != ids[3] || page1[1].ID != ids[2] {
			t.Fatalf("page 1: %v %v", page1, err)
		}
		last := page1[1]
		page2, err := db.ListPublicRooms(c, store.RoomCursor{CreatedAt: last.CreatedAt, ID: last.ID}, 10)
		if err != nil || len(page2) != 2 || page2[0].ID != ids[1] || page2[1].ID != ids[0] {
			t.Fatalf("page 2: %v %v", page2, err)
		}
		priv, err := db.RoomByInvite(c, "ABCDEFGH")
		if err != nil || priv.ID != ids[4] {
			t.Fatalf("by invite: %v %v", priv, err)
		}
		_, err = db.RoomByInvite(c, "NOPE")
		wantCode(t, err, errs.NotFound)

		room, err := db.RoomByID(c, ids[0])
		if err != nil {
			t.Fatal(err)
		}
		room.Name, room.Capacity, room.Visibility, room.InviteCode = "Renamed", 10, store.Private, "ZZZZZZZZ"
		if err := db.UpdateRoom(c, &room); err != nil {
			t.Fatal(err)
		}
		if got, _ := db.RoomByID(c, ids[0]); got.Name != "Renamed" || got.Capacity != 10 || got.InviteCode != "ZZZZZZZZ" {
			t.Fatalf("update: %+v", got)
		}

		// Roles.
		if role, _ := db.RoleOf(c, room.ID, owner.ID); role != store.RoleOwner {
			t.Fatalf("owner role = %q", role)
		}
		if role, _ := db.RoleOf(c, room.ID, member.ID); role != "" {
			t.Fatalf("stranger role = %q", role)
		}
		if err := db.AddMember(c, room.ID, member.ID); err != nil {
			t.Fatal(err)
		}
		if err := db.SetRole(c, room.ID, mod.ID, store.RoleModerator); err != nil {
			t.Fatal(err)
		}
		if err := db.AddMember(c, room.ID, mod.ID); err != nil { // a later join keeps the role
			t.Fatal(err)
		}
		if role, _ := db.RoleOf(c, room.ID, mod.ID); role != store.RoleModerator {
			t.Fatalf("mod role = %q", role)
		}
		members, err := db.Members(c, room.ID, 10)
		if err != nil || len(members) != 2 || members[0].UserID != mod.ID {
			t.Fatalf("members: %+v %v", members, err)
		}
		mine, err := db.RoomsOfUser(c, member.ID, 10)
		if err != nil || len(mine) != 1 || mine[0].ID != room.ID {
			t.Fatalf("rooms of member: %+v %v", mine, err)
		}
		_, err = db.RoleOf(c, "missing", owner.ID)
		wantCode(t, err, errs.NotFound)

		// Bans drop the role and are idempotent.
		b := store.Ban{RoomID: room.ID, UserID: member.ID, Reason: "spam", BannedBy: mod.ID}
		if err := db.BanUser(c, &b); err != nil {
			t.Fatal(err)
		}
		b.Reason = "more spam"
		if err := db.BanUser(c, &b); err != nil {
			t.Fatal(err)
		}
		if banned, _ := db.IsBanned(c, room.ID, member.ID); !banned {
			t.Fatal("not banned")
		}
		if role, _ := db.RoleOf(c, room.ID, member.ID); role != "" {
			t.Fatalf("banned user kept role %q", role)
		}
		bans, err := db.Bans(c, room.ID, 10)
		if err != nil || len(bans) != 1 || bans[0].Reason != "more spam" || bans[0].DisplayName != "User member" {
			t.Fatalf("bans: %+v %v", bans, err)
		}
		if err := db.UnbanUser(c, room.ID, member.ID); err != nil {
			t.Fatal(err)
		}
		wantCode(t, db.UnbanUser(c, room.ID, member.ID), errs.NotFound)
		if banned, _ := db.IsBanned(c, room.ID, member.ID); banned {
			t.Fatal("still banned")
		}

		// Delete cascades.
		if err := db.DeleteRoom(c, room.ID); err != nil {
			t.Fatal(err)
		}
		wantCode(t, db.DeleteRoom(c, room.ID), errs.NotFound)
		if m, _ := db.Members(c, room.ID, 10); len(m) != 0 {
			t.Fatalf("members survived delete: %v", m)
		}
		orphan := store.Room{ID: id.New(), OwnerID: "nobody", Name: "x", Scene: "lounge", Capacity: 1, Visibility: store.Public, MusicControl: "everyone"}
		wantCode(t, db.CreateRoom(c, &orphan), errs.NotFound)
	})
}

func TestChat(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB, clk *clock) {
		c := ctx(t)
		u := mustUser(t, db, "ada")
		r := store.Room{ID: id.New(), OwnerID: u.ID, Name: "R", Scene: "lounge", Capacity: 4, Visibility: store.Public, MusicControl: "everyone"}
		if err := db.CreateRoom(c, &r); err != nil {
			t.Fatal(err)
		}
		for i := int64(1); i <= 12; i++ {
			m := store.ChatMessage{RoomID: r.ID, Seq: i, UserID: u.ID, DisplayName: "Ada", Body: "msg'; --" + string(rune('a'+i)), ClientID: "c"}
			if err := db.AddChat(c, &m, 10); err != nil {
				t.Fatal(err)
			}
			clk.Advance(time.Millisecond)
		}
		got, err := db.RecentChat(c, r.ID, 100)
		if err != nil || len(got) != 10 || got[0].Seq != 3 || got[9].Seq != 12 || got[9].Body != "msg'; --m" {
			t.Fatalf("recent: %d %v", len(got), err)
		}
		got, _ = db.RecentChat(c, r.ID, 3)
		if len(got) != 3 || got[0].Seq != 10 {
			t.Fatalf("limited: %+v", got)
		}
		dup := store.ChatMessage{RoomID: r.ID, Seq: 12, UserID: u.ID, DisplayName: "Ada", Body: "x"}
		wantCode(t, db.AddChat(c, &dup, 10), errs.Conflict)
	})
}
