package voiceload

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// api is the little of Hearth's HTTP API the tool needs: guests, a room,
// joins and fresh tokens. It waits out 429s (guest sign-ups are rate
// limited per IP) instead of failing.
type api struct {
	base string
	http *http.Client
}

type guest struct {
	id, token string
}

type voiceEndpoint struct {
	URL   string `json:"url"`
	Token string `json:"token"`
}

func (a *api) do(ctx context.Context, method, path, token string, body any, out any) error {
	for attempt := 0; ; attempt++ {
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
		if err != nil {
			return err
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := a.http.Do(req)
		if err != nil {
			return err
		}
		raw, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode == http.StatusTooManyRequests && attempt < 100 {
			wait, _ := strconv.Atoi(res.Header.Get("Retry-After"))
			if wait < 1 {
				wait = 1
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(wait) * time.Second):
			}
			continue
		}
		if res.StatusCode >= 300 {
			return fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, bytes.TrimSpace(raw))
		}
		if out != nil {
			return json.Unmarshal(raw, out)
		}
		return nil
	}
}

func (a *api) guest(ctx context.Context, name string) (guest, error) {
	var r struct {
		AccessToken string `json:"access_token"`
		User        struct {
			ID string `json:"id"`
		} `json:"user"`
	}
	if err := a.do(ctx, "POST", "/api/v1/auth/guest", "", map[string]string{"display_name": name}, &r); err != nil {
		return guest{}, err
	}
	return guest{id: r.User.ID, token: r.AccessToken}, nil
}

func (a *api) createRoom(ctx context.Context, g guest, name string, capacity int) (string, error) {
	var r struct {
		ID string `json:"id"`
	}
	err := a.do(ctx, "POST", "/api/v1/rooms", g.token, map[string]any{"name": name, "capacity": capacity, "visibility": "unlisted"}, &r)
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
	err := a.do(ctx, "POST", path, g.token, nil, &r)
	return r.Voice, r.Traceparent, err
}
