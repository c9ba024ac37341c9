-- Music: the track library, each room's player (one versioned document,
-- updated by compare-and-swap so several API nodes can drive it), and the
-- secret that signs stream URLs (shared by every node).

-- +goose Up
CREATE TABLE music_tracks (
    id           TEXT PRIMARY KEY,
    content_hash TEXT NOT NULL UNIQUE,      -- SHA-256 of the file, hex: identical uploads are stored once
    blob_key     TEXT NOT NULL,
    format       TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes   BIGINT NOT NULL,
    duration_ms  BIGINT NOT NULL,
    title        TEXT NOT NULL,
    artist       TEXT NOT NULL DEFAULT '',
    album        TEXT NOT NULL DEFAULT '',
    search_text  TEXT NOT NULL,              -- lower-cased title, artist, album
    uploader_id  TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX music_tracks_listing ON music_tracks (created_at, id);
CREATE INDEX music_tracks_uploader ON music_tracks (uploader_id);

CREATE TABLE music_players (
    room_id    TEXT PRIMARY KEY REFERENCES rooms (id) ON DELETE CASCADE,
    version    BIGINT NOT NULL,
    state      TEXT NOT NULL,                -- JSON: current entry, position, queue, skip votes
    ends_at    BIGINT,                       -- when the current track ends if nothing changes; NULL when paused or idle
    updated_at BIGINT NOT NULL
);
CREATE INDEX music_players_ends ON music_players (ends_at);

CREATE TABLE music_secrets (
    name       TEXT PRIMARY KEY,
    secret     TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE music_secrets;
DROP TABLE music_players;
DROP TABLE music_tracks;
