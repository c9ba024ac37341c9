package config

// Realtime configures the room WebSocket gateway (apps/realtime).
type Realtime struct{}

// Music configures the music library and room players.
type Music struct{}
