package voice_test

import (
	"net"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/hearth-space/hearth/apps/voice"
	"github.com/hearth-space/hearth/apps/voice/client"
)

// TestTURNRelay runs the embedded TURN server and connects a client that
// may only use relays, with the credentials the service hands out: media
// flows through the relay.
func TestTURNRelay(t *testing.T) {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := pc.LocalAddr().(*net.UDPAddr).Port
	_ = pc.Close()
	e := newEnv(t, func(o *voice.Options) {
		o.Config.VoiceTURN, o.Config.VoiceTURNPort, o.Config.VoiceTURNRelayIP = true, port, "127.0.0.1"
		o.Config.VoiceTURNRealm = "hearth"
	})
	servers := e.svc.ICEServers("alice")
	if len(servers) != 1 || servers[0].Username == "" {
		t.Fatalf("ice servers %+v", servers)
	}
	relay := func(c *client.Config) {
		c.RelayOnly = true
		c.ICEServers = []webrtc.ICEServer{{URLs: servers[0].URLs, Username: servers[0].Username, Credential: servers[0].Credential}}
	}
	ctx := testCtx(t, 30*time.Second)
	a := e.join(ctx, "alice", "r", "member", relay)
	b := e.join(ctx, "bob", "r", "member")
	connectAll(ctx, t, a, b)
	b.startSending(20 * time.Millisecond)
	a.waitFor(ctx, t, "bob's audio through the relay", func() bool { return a.count("bob") >= 10 })
	pair, err := a.PeerConnection().SCTP().Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil || pair.Local.Typ != webrtc.ICECandidateTypeRelay {
		t.Fatalf("alice's selected pair is not relayed: %v %v", pair, err)
	}
}
