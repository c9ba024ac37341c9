package store_test

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hearth-space/hearth/internal/errs"
	"github.com/hearth-space/hearth/internal/id"
	"github.com/hearth-space/hearth/internal/store"
)

func mustTrack(t *testing.T, db *store.DB, uploader, title, artist string) store.Track {
	t.Helper()
	tr := store.Track{
		ID: id.New(), ContentHash: id.Random(32), BlobKey: "tracks/x", Format: "mp3", ContentType: "audio/mpeg",
		Size: 1234, Duration: 3210 * time.Millisecond, Title: title, Artist: artist, Album: "Album", UploaderID: uploader,
	}
	tr.BlobKey = "tracks/" + tr.ID
	if err := db.CreateTrack(ctx(t), &tr); err != nil {
		t.Fatalf("create track: %v", err)
	}
	return tr
}

func mustMusicRoom(t *testing.T, db *store.DB, owner string) store.Room {
	t.Helper()
	r := store.Room{ID: id.New(), OwnerID: owner, Name: "Room", Scene: "lounge", Capacity: 10, Visibility: store.Public, MusicControl: "everyone"}
	if err := db.CreateRoom(ctx(t), &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestTracks(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB, clk *clock) {
		c := ctx(t)
		ada := mustUser(t, db, "ada")
		a := mustTrack(t, db, ada.ID, "Blue Monday", "New Order")
		clk.Advance(time.Second)
		b := mustTrack(t, db, ada.ID, "Blue in Green", "Miles Davis")
		clk.Advance(time.Second)
		c3 := mustTrack(t, db, "", "100% Pure_Love", "Crystal Waters")

		got, err := db.TrackByID(c, a.ID)
		if err != nil || got.Title != "Blue Monday" || got.Duration != 3210*time.Millisecond || got.UploaderID != ada.ID {
			t.Fatalf("by id: %+v %v", got, err)
		}
		if got, err := db.TrackByHash(c, b.ContentHash); err != nil || got.ID != b.ID {
			t.Fatalf("by hash: %+v %v", got, err)
		}
		_, err = db.TrackByID(c, id.New())
		wantCode(t, err, errs.NotFound)

		dup := a
		dup.ID = id.New()
		wantCode(t, db.CreateTrack(c, &dup), errs.Conflict)

		all, err := db.ListTracks(c, store.TrackQuery{Limit: 10})
		if err != nil || len(all) != 3 || all[0].ID != c3.ID || all[2].ID != a.ID {
			t.Fatalf("list: %v %v", all, err)
		}
		page, err := db.ListTracks(c, store.TrackQuery{Limit: 10, After: store.TrackCursor{CreatedAt: all[0].CreatedAt, ID: all[0].ID}})
		if err != nil || len(page) != 2 || page[0].ID != b.ID {
			t.Fatalf("after cursor: %v %v", page, err)
		}
		for q, want := range map[string]int{"blue": 2, "BLUE green": 1, "miles": 1, "100%": 1, "%": 1, "_": 1, "pure_": 1, "nothing": 0, "": 3} {
			got, err := db.ListTracks(c, store.TrackQuery{Search: q, Limit: 10})
			if err != nil || len(got) != want {
				t.Errorf("search %q: %d tracks (%v), want %d", q, len(got), err, want)
			}
		}
		mine, err := db.ListTracks(c, store.TrackQuery{UploaderID: ada.ID, Limit: 10})
		if err != nil || len(mine) != 2 {
			t.Fatalf("by uploader: %v %v", mine, err)
		}

		a.Title, a.Artist = "Ceremony", "Joy Division"
		if err := db.UpdateTrack(c, &a); err != nil {
			t.Fatal(err)
		}
		if got, _ := db.ListTracks(c, store.TrackQuery{Search: "joy", Limit: 10}); len(got) != 1 || got[0].Title != "Ceremony" {
			t.Fatalf("search after update: %v", got)
		}
		byIDs, err := db.TracksByIDs(c, []string{a.ID, b.ID, id.New()})
		if err != nil || len(byIDs) != 2 || byIDs[a.ID].Title != "Ceremony" {
			t.Fatalf("by ids: %v %v", byIDs, err)
		}
		if n, err := db.CountTracks(c); err != nil || n != 3 {
			t.Fatalf("count: %d %v", n, err)
		}
		if err := db.DeleteTrack(c, a.ID); err != nil {
			t.Fatal(err)
		}
		wantCode(t, db.DeleteTrack(c, a.ID), errs.NotFound)
		if n, _ := db.CountTracks(c); n != 2 {
			t.Fatalf("count after delete: %d", n)
		}
	})
}

func TestMusicPlayerCompareAndSwap(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB, clk *clock) {
		c := ctx(t)
		owner := mustUser(t, db, "owner")
		room := mustMusicRoom(t, db, owner.ID)
		_, err := db.MusicPlayer(c, room.ID)
		wantCode(t, err, errs.NotFound)

		ends := clk.Now().Add(3 * time.Second)
		p := store.MusicPlayer{RoomID: room.ID, Version: 1, State: []byte(`{"v":1}`), EndsAt: ends}
		if err := db.SaveMusicPlayer(c, &p, 0); err != nil {
			t.Fatal(err)
		}
		again := store.MusicPlayer{RoomID: room.ID, Version: 1, State: []byte(`{}`)}
		wantCode(t, db.SaveMusicPlayer(c, &again, 0), errs.Conflict)

		got, err := db.MusicPlayer(c, room.ID)
		if err != nil || got.Version != 1 || string(got.State) != `{"v":1}` || !got.EndsAt.Equal(ends.Truncate(time.Millisecond)) {
			t.Fatalf("load: %+v %v", got, err)
		}
		// Two writers from version 1: exactly one wins.
		var wg sync.WaitGroup
		results := make([]error, 8)
		for i := range results {
			wg.Add(1)
			go func() {
				defer wg.Done()
				next := store.MusicPlayer{RoomID: room.ID, Version: 2, State: []byte(fmt.Sprintf(`{"w":%d}`, i))}
				results[i] = db.SaveMusicPlayer(c, &next, 1)
			}()
		}
		wg.Wait()
		wins := 0
		for _, err := range results {
			switch errs.CodeOf(err) {
			case "":
				wins++
			case errs.Conflict:
			default:
				t.Fatalf("save: %v", err)
			}
		}
		if wins != 1 {
			t.Fatalf("%d writers won", wins)
		}

		if due, err := db.DueMusicPlayers(c, clk.Now(), 10); err != nil || len(due) != 0 {
			t.Fatalf("due: %v %v", due, err)
		}
		p3 := store.MusicPlayer{RoomID: room.ID, Version: 3, State: []byte(`{"current":{"track_id":"TRACKID1"}}`), EndsAt: ends}
		if err := db.SaveMusicPlayer(c, &p3, 2); err != nil {
			t.Fatal(err)
		}
		if next, ok, err := db.NextMusicDeadline(c); err != nil || !ok || !next.Equal(ends.Truncate(time.Millisecond)) {
			t.Fatalf("next deadline: %v %v %v", next, ok, err)
		}
		clk.Advance(3 * time.Second)
		if due, err := db.DueMusicPlayers(c, clk.Now(), 10); err != nil || len(due) != 1 || due[0] != room.ID {
			t.Fatalf("due: %v %v", due, err)
		}
		if rooms, err := db.MusicPlayersWithTrack(c, "TRACKID1"); err != nil || len(rooms) != 1 {
			t.Fatalf("with track: %v %v", rooms, err)
		}
		if rooms, err := db.MusicPlayersWithTrack(c, "TRACKID"); err != nil || len(rooms) != 0 {
			t.Fatalf("with a prefix of a track id: %v %v", rooms, err)
		}
		idle := store.MusicPlayer{RoomID: room.ID, Version: 4, State: []byte(`{}`)}
		if err := db.SaveMusicPlayer(c, &idle, 3); err != nil {
			t.Fatal(err)
		}
		if _, ok, err := db.NextMusicDeadline(c); err != nil || ok {
			t.Fatalf("deadline while idle: %v %v", ok, err)
		}
		if err := db.DeleteRoom(c, room.ID); err != nil {
			t.Fatal(err)
		}
		_, err = db.MusicPlayer(c, room.ID)
		wantCode(t, err, errs.NotFound)
	})
}

func TestMusicSecret(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB, _ *clock) {
		first, err := db.MusicSecret(ctx(t), "stream", func() []byte { return []byte("one") })
		if err != nil || string(first) != "one" {
			t.Fatalf("%q %v", first, err)
		}
		second, err := db.MusicSecret(ctx(t), "stream", func() []byte { return []byte("two") })
		if err != nil || !bytes.Equal(first, second) {
			t.Fatalf("second node got %q %v", second, err)
		}
	})
}
