package config

// Voice configures the voice SFU (apps/voice).
type Voice struct{}

// Music configures the music library and room players.
type Music struct{}
