package config

// The services' settings live in their own files: Realtime in realtime.go,
// Voice in voice.go, Music in music.go.
