package turn

import (
	"net"
	"testing"
	"time"

	"github.com/pion/logging"
	pionturn "github.com/pion/turn/v5"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestMintMatchesTURNREST(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	c := Credentials{Secret: "s3cret", TTL: time.Hour, Now: func() time.Time { return now }}
	u, cred := c.Mint("alice")
	if u != "1700003600:alice" {
		t.Fatalf("username %q", u)
	}
	// Pion's own generator is the reference of the scheme.
	_, want, err := pionturn.GenerateLongTermTURNRESTCredentials("s3cret", "x", 0)
	if err != nil || want == "" {
		t.Fatal(err)
	}
	u2, c2 := Credentials{Secret: "s3cret", TTL: 0}.Mint("x")
	wantU, wantC, _ := pionturn.GenerateLongTermTURNRESTCredentials("s3cret", "x", 0)
	if u2 != wantU || c2 != wantC {
		t.Fatalf("minted %q/%q, pion mints %q/%q", u2, c2, wantU, wantC)
	}
	if cred == "" {
		t.Fatal("empty credential")
	}
}

// TestAllocate allocates a relay on the embedded server with minted
// credentials, and fails to with expired or forged ones.
func TestAllocate(t *testing.T) {
	srv, err := Start(ServerConfig{Addr: "127.0.0.1:0", RelayIP: net.IPv4(127, 0, 0, 1), Realm: "hearth", Secret: "k"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	allocate := func(user, pass string) error {
		conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		lf := logging.NewDefaultLoggerFactory()
		lf.DefaultLogLevel = logging.LogLevelDisabled
		cl, err := pionturn.NewClient(&pionturn.ClientConfig{
			TURNServerAddr: srv.Addr().String(), STUNServerAddr: srv.Addr().String(),
			Conn: conn, Username: user, Password: pass, Realm: "hearth", LoggerFactory: lf,
			RTO: 100 * time.Millisecond,
		})
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		if err := cl.Listen(); err != nil {
			t.Fatal(err)
		}
		relay, err := cl.Allocate()
		if err != nil {
			return err
		}
		return relay.Close()
	}
	good := Credentials{Secret: "k", TTL: time.Minute}
	if err := allocate(good.Mint("alice")); err != nil {
		t.Fatalf("valid credentials: %v", err)
	}
	if err := allocate(Credentials{Secret: "k", TTL: -time.Minute}.Mint("alice")); err == nil {
		t.Fatal("expired credentials allocated a relay")
	}
	if err := allocate(Credentials{Secret: "wrong", TTL: time.Minute}.Mint("alice")); err == nil {
		t.Fatal("forged credentials allocated a relay")
	}
}

func TestProvider(t *testing.T) {
	p := &Provider{STUN: []string{"stun:a:3478"}, TURN: []string{"turn:a:3478?transport=udp"}, Creds: Credentials{Secret: "k", TTL: time.Hour}}
	got := p.ICEServers("bob")
	if len(got) != 2 || got[0].Username != "" || got[1].Username == "" || got[1].Credential == "" {
		t.Fatalf("ice servers %+v", got)
	}
	if (&Provider{}).ICEServers("bob") != nil {
		t.Fatal("no servers configured, some handed out")
	}
}
