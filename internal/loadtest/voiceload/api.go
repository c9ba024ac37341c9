package voiceload

import (
	"context"

	"github.com/hearth-space/hearth/internal/loadtest"
)

// api adds the calls this tool makes to the shared API client.
type api struct {
	loadtest.API
}

type guest struct {
	id, token string
}

type voiceEndpoint struct {
	URL   string `json:"url"`
	Token string `json:"token"`
}

func (a *api) guest(ctx context.Context, name string) (guest, error) {
	var r struct {
		AccessToken string `json:"access_token"`
		User        struct {
			ID string `json:"id"`
		} `json:"user"`
	}
	if err := a.Do(ctx, "POST", "/api/v1/auth/guest", "", map[string]string{"display_name": name}, &r); err != nil {
		return guest{}, err
	}
	return guest{id: r.User.ID, token: r.AccessToken}, nil
}

func (a *api) createRoom(ctx context.Context, g guest, name string, capacity int) (string, error) {
	var r struct {
		ID string `json:"id"`
	}
	err := a.Do(ctx, "POST", "/api/v1/rooms", g.token, map[string]any{"name": name, "capacity": capacity, "visibility": "unlisted"}, &r)
	return r.ID, err
}

// join answers the voice endpoint of a room join (the first time) or of
// fresh tokens (later).
func (a *api) join(ctx context.Context, g guest, roomID string, first bool) (voiceEndpoint, string, error) {
	var r struct {
		Voice       voiceEndpoint `json:"voice"`
		Traceparent string        `json:"traceparent"`
	}
	path := "/api/v1/rooms/" + roomID + "/tokens"
	if first {
		path = "/api/v1/rooms/" + roomID + "/join"
	}
	err := a.Do(ctx, "POST", path, g.token, nil, &r)
	return r.Voice, r.Traceparent, err
}
