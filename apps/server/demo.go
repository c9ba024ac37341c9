package server

import (
	"context"
	"fmt"

	"github.com/hearth-space/hearth/internal/errs"
	"github.com/hearth-space/hearth/internal/store"
)

// DemoOwnerID owns the rooms --demo seeds. It is a fixed id with no
// username or password, so nobody can sign in as it.
const DemoOwnerID = "demodemodemodemodemodemo22"

// DemoStore is what seeding needs from the database.
type DemoStore interface {
	CreateUser(ctx context.Context, u *store.User) error
	UserByID(ctx context.Context, id string) (store.User, error)
	RoomsOfUser(ctx context.Context, userID string, limit int) ([]store.Room, error)
	CreateRoom(ctx context.Context, r *store.Room) error
}

// SeedDemo creates two public rooms for a demo deployment (--demo): a
// lounge and a plaza, owned by a user nobody can sign in as. It does
// nothing when they exist, so every start may call it.
func SeedDemo(ctx context.Context, st DemoStore, capacity int) error {
	if _, err := st.UserByID(ctx, DemoOwnerID); errs.CodeOf(err) == errs.NotFound {
		u := store.User{ID: DemoOwnerID, DisplayName: "Hearth"}
		if err := st.CreateUser(ctx, &u); err != nil {
			return fmt.Errorf("seed demo owner: %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("seed demo owner: %w", err)
	}
	rooms, err := st.RoomsOfUser(ctx, DemoOwnerID, 10)
	if err != nil {
		return fmt.Errorf("seed demo rooms: %w", err)
	}
	have := map[string]bool{}
	for _, r := range rooms {
		have[r.Scene] = true
	}
	seeds := []store.Room{
		{ID: "demoloungedemoloungedemolo", Name: "Welcome lounge", Description: "A small room to meet in. Walk with WASD, chat with Enter.", Scene: "lounge"},
		{ID: "demoplazademoplazademoplaz", Name: "Town plaza", Description: "A big square with room to wander.", Scene: "plaza"},
	}
	for _, r := range seeds {
		if have[r.Scene] {
			continue
		}
		r.OwnerID, r.Capacity, r.Visibility, r.MusicControl = DemoOwnerID, capacity, store.Public, MusicControlEveryone
		if err := st.CreateRoom(ctx, &r); err != nil {
			return fmt.Errorf("seed demo room %s: %w", r.Name, err)
		}
	}
	return nil
}
