package config

import (
	"fmt"
	"net"
	"time"
)

// Voice configures the voice SFU (apps/voice). VOICE_QOS_DEBUG keeps the
// product's spelling.
type Voice struct {
	VoiceUDPPort      int           `name:"voice-udp-port" env:"HEARTH_VOICE_UDP_PORT" default:"7882" help:"UDP port that carries all voice media (ICE UDP mux), on every local IP."`
	VoiceTCPPort      int           `name:"voice-tcp-port" env:"HEARTH_VOICE_TCP_PORT" default:"7881" help:"TCP port for ICE over TCP, the fallback when UDP is blocked. 0 disables."`
	VoicePublicIPs    []string      `name:"voice-public-ip" env:"HEARTH_VOICE_PUBLIC_IP" default:"" help:"Public IPs announced instead of the host's (1:1 NAT, e.g. a cloud VM's elastic IP)."`
	VoiceIPs          []string      `name:"voice-ips" env:"HEARTH_VOICE_IPS" default:"" help:"Local IPs to gather ICE candidates on. Empty: every interface's."`
	VoiceSTUNURLs     []string      `name:"voice-stun-urls" env:"HEARTH_VOICE_STUN_URLS" default:"" help:"STUN URLs handed to clients in the join answer (stun:host:port)."`
	VoiceTURN         bool          `name:"voice-turn" env:"HEARTH_VOICE_TURN" default:"false" help:"Run the embedded TURN server and hand out time-limited credentials for it."`
	VoiceTURNPort     int           `name:"voice-turn-port" env:"HEARTH_VOICE_TURN_PORT" default:"3478" help:"UDP port of the embedded TURN server."`
	VoiceTURNHost     string        `name:"voice-turn-host" env:"HEARTH_VOICE_TURN_HOST" default:"" help:"Host name or IP clients reach the embedded TURN server at. Empty: the first --voice-public-ip, else the relay IP."`
	VoiceTURNRelayIP  string        `name:"voice-turn-relay-ip" env:"HEARTH_VOICE_TURN_RELAY_IP" default:"" help:"IP the embedded TURN server relays from and announces. Empty: the first --voice-public-ip, else 127.0.0.1."`
	VoiceTURNRealm    string        `name:"voice-turn-realm" env:"HEARTH_VOICE_TURN_REALM" default:"hearth" help:"Realm of the embedded TURN server."`
	VoiceTURNSecret   string        `name:"voice-turn-secret" env:"HEARTH_VOICE_TURN_SECRET" default:"" help:"Shared secret of TURN REST credentials (HMAC-SHA1). Empty: random per process; set it when several nodes or an external TURN server share credentials."`
	VoiceTURNURLs     []string      `name:"voice-turn-urls" env:"HEARTH_VOICE_TURN_URLS" default:"" help:"External TURN URLs to hand out with credentials minted from --voice-turn-secret (instead of, or besides, the embedded server)."`
	VoiceTURNTTL      time.Duration `name:"voice-turn-ttl" env:"HEARTH_VOICE_TURN_TTL" default:"6h" help:"Lifetime of TURN credentials."`
	VoiceResumeGrace  time.Duration `name:"voice-resume-grace" env:"HEARTH_VOICE_RESUME_GRACE" default:"20s" help:"How long a voice participant whose signalling dropped is held for a resume."`
	VoiceMediaTimeout time.Duration `name:"voice-media-timeout" env:"HEARTH_VOICE_MEDIA_TIMEOUT" default:"30s" help:"A participant whose ICE stays disconnected this long (ICE restarts included) is ended."`
	VoiceQoSDebug     bool          `name:"voice-qos-debug" env:"VOICE_QOS_DEBUG" default:"false" help:"Log every voice participant's QoS every 5 s and serve GET /voice/debug/qos."`
}

// ValidateVoice checks the voice settings.
func (v *Voice) ValidateVoice() error {
	for name, port := range map[string]int{"--voice-udp-port": v.VoiceUDPPort, "--voice-tcp-port": v.VoiceTCPPort, "--voice-turn-port": v.VoiceTURNPort} {
		if port < 0 || port > 65535 {
			return fmt.Errorf("%s %d: want 0..65535", name, port)
		}
	}
	for _, list := range [][]string{v.VoicePublicIPs, v.VoiceIPs} {
		for _, s := range list {
			if s != "" && net.ParseIP(s) == nil {
				return fmt.Errorf("voice IP %q is not an IP address", s)
			}
		}
	}
	if v.VoiceTURNRelayIP != "" && net.ParseIP(v.VoiceTURNRelayIP) == nil {
		return fmt.Errorf("--voice-turn-relay-ip %q is not an IP address", v.VoiceTURNRelayIP)
	}
	// Zero durations take the defaults (tests build configs by hand).
	if v.VoiceResumeGrace != 0 && v.VoiceResumeGrace < time.Second {
		return fmt.Errorf("--voice-resume-grace must be at least 1s")
	}
	if v.VoiceTURNTTL != 0 && v.VoiceTURNTTL < time.Minute {
		return fmt.Errorf("--voice-turn-ttl must be at least 1m")
	}
	if v.VoiceTURN && v.VoiceTURNPort == 0 {
		return fmt.Errorf("--voice-turn needs a --voice-turn-port")
	}
	return nil
}
