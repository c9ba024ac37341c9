package store

import (
	"context"
	"fmt"
	"time"
)

// ChatMessage is one persisted chat line.
type ChatMessage struct {
	RoomID      string
	Seq         int64
	UserID      string
	DisplayName string
	Body        string
	ClientID    string
	CreatedAt   time.Time
}

// AddChat stores a chat message and trims the room's history to the newest
// keep messages. Seq must be unique in the room (the room's node assigns it).
func (s *DB) AddChat(ctx context.Context, m *ChatMessage, keep int) error {
	if m.CreatedAt.IsZero() {
		m.CreatedAt = s.now()
	}
	return s.tx(ctx, func(q querier) error {
		if _, err := s.exec(ctx, q, `INSERT INTO chat_messages (room_id, seq, user_id, display_name, body, client_id, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, m.RoomID, m.Seq, m.UserID, m.DisplayName, m.Body, m.ClientID, ms(m.CreatedAt)); err != nil {
			return fmt.Errorf("add chat: %w", err)
		}
		// Seqs are dense and increasing, so everything at or below
		// seq-keep is out of the window.
		if _, err := s.exec(ctx, q, `DELETE FROM chat_messages WHERE room_id = ? AND seq <= ?`, m.RoomID, m.Seq-int64(keep)); err != nil {
			return fmt.Errorf("trim chat: %w", err)
		}
		return nil
	})
}

// RecentChat returns up to limit of the room's newest messages, oldest
// first.
func (s *DB) RecentChat(ctx context.Context, roomID string, limit int) ([]ChatMessage, error) {
	rows, err := s.query(ctx, s.db, `SELECT room_id, seq, user_id, display_name, body, client_id, created_at
		FROM chat_messages WHERE room_id = ? ORDER BY seq DESC LIMIT ?`, roomID, limit)
	if err != nil {
		return nil, fmt.Errorf("recent chat: %w", err)
	}
	defer rows.Close()
	var out []ChatMessage
	for rows.Next() {
		var m ChatMessage
		var created int64
		if err := rows.Scan(&m.RoomID, &m.Seq, &m.UserID, &m.DisplayName, &m.Body, &m.ClientID, &created); err != nil {
			return nil, fmt.Errorf("scan chat: %w", err)
		}
		m.CreatedAt = fromMS(created)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}
