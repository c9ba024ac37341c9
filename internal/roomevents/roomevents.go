// Package roomevents defines the events the API publishes on the bus when a
// room or someone's standing in it changes, so the realtime gateway and the
// voice service (on whatever node holds the room) can act on them: close a
// deleted room, disconnect a banned or kicked member, update roles and
// settings.
package roomevents

import (
	"context"
	"encoding/json"
	"fmt"
)

// Topic is the bus topic of room events.
const Topic = "rooms"

// Event types.
const (
	RoomUpdated = "room.updated"
	RoomDeleted = "room.deleted"
	UserBanned  = "member.banned"
	UserKicked  = "member.kicked"
	RoleChanged = "member.role_changed"
)

// Event is one change to a room.
type Event struct {
	Type   string `json:"type"`
	RoomID string `json:"room_id"`
	UserID string `json:"user_id,omitempty"`
	Role   string `json:"role,omitempty"`
	Reason string `json:"reason,omitempty"`
	// By is the user who made the change.
	By string `json:"by,omitempty"`
}

// Publisher is what publishing needs from a bus.
type Publisher interface {
	Publish(ctx context.Context, topic string, data []byte) error
}

// Publish encodes and publishes ev.
func Publish(ctx context.Context, p Publisher, ev Event) error {
	b, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("encode room event: %w", err)
	}
	return p.Publish(ctx, Topic, b)
}

// Decode parses an event published by Publish.
func Decode(data []byte) (Event, error) {
	var ev Event
	if err := json.Unmarshal(data, &ev); err != nil {
		return Event{}, fmt.Errorf("decode room event: %w", err)
	}
	return ev, nil
}
