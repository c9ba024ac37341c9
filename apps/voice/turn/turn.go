// Package turn runs Hearth's optional embedded TURN server (pion/turn) and
// mints time-limited credentials for it in the TURN REST API scheme:
// username "expiry:userid" (expiry in Unix seconds), credential
// base64(HMAC-SHA1(secret, username)). Any TURN server configured with the
// same shared secret (coturn's use-auth-secret) accepts the same
// credentials, so the minting also serves external TURN servers.
package turn

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"

	"github.com/pion/logging"
	pionturn "github.com/pion/turn/v5"
)

// ICEServer is one RTCIceServer entry.
type ICEServer struct {
	URLs       []string
	Username   string
	Credential string
}

// Credentials mints TURN REST credentials.
type Credentials struct {
	Secret string
	TTL    time.Duration
	Now    func() time.Time // optional
}

// Mint returns the username and credential of userID, valid for TTL.
func (c Credentials) Mint(userID string) (username, credential string) {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	username = strconv.FormatInt(now().Add(c.TTL).Unix(), 10) + ":" + userID
	mac := hmac.New(sha1.New, []byte(c.Secret))
	mac.Write([]byte(username))
	return username, base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// RandomSecret returns a fresh secret for a single-node deployment.
func RandomSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := io.ReadFull(rand.Reader, b); err != nil {
		return "", fmt.Errorf("turn secret: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// ServerConfig configures the embedded server.
type ServerConfig struct {
	// Addr is the UDP listen address, e.g. ":3478".
	Addr string
	// RelayIP is the address relays are allocated on and announced with.
	RelayIP net.IP
	Realm   string
	Secret  string
}

// Server is a running embedded TURN server.
type Server struct {
	srv  *pionturn.Server
	addr net.Addr
}

// Start listens and serves TURN over UDP.
func Start(cfg ServerConfig) (*Server, error) {
	pc, err := net.ListenPacket("udp4", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("turn listen %s: %w", cfg.Addr, err)
	}
	lf := logging.NewDefaultLoggerFactory()
	lf.DefaultLogLevel = logging.LogLevelDisabled
	srv, err := pionturn.NewServer(pionturn.ServerConfig{
		Realm:         cfg.Realm,
		AuthHandler:   pionturn.LongTermTURNRESTAuthHandler(cfg.Secret, lf.NewLogger("turn")),
		LoggerFactory: lf,
		PacketConnConfigs: []pionturn.PacketConnConfig{{
			PacketConn: pc,
			RelayAddressGenerator: &pionturn.RelayAddressGeneratorStatic{
				RelayAddress: cfg.RelayIP, Address: cfg.RelayIP.String(),
			},
		}},
	})
	if err != nil {
		_ = pc.Close()
		return nil, fmt.Errorf("turn server: %w", err)
	}
	return &Server{srv: srv, addr: pc.LocalAddr()}, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.addr }

// Close stops the server and its relays.
func (s *Server) Close() error { return s.srv.Close() }

// Provider hands each user the configured STUN URLs and TURN URLs with
// fresh credentials.
type Provider struct {
	STUN  []string
	TURN  []string
	Creds Credentials
}

// ICEServers implements what the API's join answer needs.
func (p *Provider) ICEServers(userID string) []ICEServer {
	var out []ICEServer
	if len(p.STUN) > 0 {
		out = append(out, ICEServer{URLs: append([]string(nil), p.STUN...)})
	}
	if len(p.TURN) > 0 {
		u, c := p.Creds.Mint(userID)
		out = append(out, ICEServer{URLs: append([]string(nil), p.TURN...), Username: u, Credential: c})
	}
	return out
}
