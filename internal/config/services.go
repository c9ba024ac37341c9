package config

// Voice configures the voice SFU (apps/voice).
type Voice struct{}

// Music is in music.go.
