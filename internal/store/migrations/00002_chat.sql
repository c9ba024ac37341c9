-- Room chat: the recent backlog of each room (the realtime gateway keeps the
-- last 200 per room). seq is assigned by the node holding the room.

-- +goose Up
CREATE TABLE chat_messages (
    room_id      TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    seq          BIGINT NOT NULL,
    user_id      TEXT NOT NULL,
    display_name TEXT NOT NULL,
    body         TEXT NOT NULL,
    client_id    TEXT NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (room_id, seq)
);

-- +goose Down
DROP TABLE chat_messages;
