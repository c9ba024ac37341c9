// Package client is a Go voice client that speaks the signalling protocol
// exactly as docs/protocol.md tells a browser to: join, one offer for the
// microphone, then answer every server offer, trickle candidates both ways,
// resume after a dropped WebSocket and answer ICE restarts. The tests and
// `hearth loadtest voice` use it; it publishes whatever RTP payloads its
// caller writes and hands received packets to a callback.
package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/logging"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/stdnet"
	"github.com/pion/webrtc/v4"

	"github.com/hearth-space/hearth/apps/voice/rtptrack"
	"github.com/hearth-space/hearth/apps/voice/signal"
	voicev1 "github.com/hearth-space/hearth/packages/shared/gen/go/hearth/voice/v1"
)

// Packet is one received RTP packet. Payload is only valid during the
// callback.
type Packet struct {
	From    string // publisher's user id
	Header  *rtp.Header
	Payload []byte
	Arrival time.Time
}

// Config configures a client.
type Config struct {
	URL         string // ws://host/voice/ws
	Token       string
	RoomID      string // optional check against the token
	Traceparent string
	Muted       bool
	ICEServers  []webrtc.ICEServer
	// RelayOnly uses TURN relays only (iceTransportPolicy "relay").
	RelayOnly bool
	// Net replaces the OS network (vnet); LoopbackOnly gathers only
	// 127.0.0.1 candidates (tests and load runs on one machine).
	Net          transport.Net
	LoopbackOnly bool
	// ReadBuffer sets the UDP receive buffer of the client's sockets (load
	// tools with many clients in one process; 0: the system default).
	ReadBuffer int
	// ICE timeouts (zero: Pion's defaults).
	DisconnectedTimeout, FailedTimeout, KeepAlive time.Duration
	// OnPacket receives every RTP packet from every other participant.
	OnPacket func(Packet)
	// OnMessage sees every server message after the client applied it.
	OnMessage func(*voicev1.ServerMessage)
	// OnSignallingLost is called when the WebSocket ends without a goodbye.
	OnSignallingLost func(error)
}

// Client is one participant.
type Client struct {
	cfg Config
	pc  *webrtc.PeerConnection
	mic *rtptrack.Track

	connMu sync.Mutex
	conn   *websocket.Conn
	connWG sync.WaitGroup

	mu          sync.Mutex
	sessionID   string
	userID      string
	resumeToken string
	tracks      map[string]*voicev1.TrackInfo // by mid
	byStream    map[string]string             // stream id -> user id
	goodbye     *voicev1.Goodbye
	revision    uint32
	done        map[*websocket.Conn]chan struct{} // per connection: its reader ended

	iceConnected chan struct{}
	iceOnce      sync.Once
	closed       atomic.Bool
	wg           sync.WaitGroup
}

// Dial joins voice: it opens the WebSocket, sends join, waits for joined,
// then offers its microphone.
func Dial(ctx context.Context, cfg Config) (*Client, error) {
	c := &Client{cfg: cfg, tracks: map[string]*voicev1.TrackInfo{}, byStream: map[string]string{}, iceConnected: make(chan struct{})}
	api, err := newAPI(cfg)
	if err != nil {
		return nil, err
	}
	pcc := webrtc.Configuration{ICEServers: cfg.ICEServers, BundlePolicy: webrtc.BundlePolicyMaxBundle}
	if cfg.RelayOnly {
		pcc.ICETransportPolicy = webrtc.ICETransportPolicyRelay
	}
	if c.pc, err = api.NewPeerConnection(pcc); err != nil {
		return nil, err
	}
	c.pc.OnICEConnectionStateChange(func(s webrtc.ICEConnectionState) {
		if s == webrtc.ICEConnectionStateConnected {
			c.iceOnce.Do(func() { close(c.iceConnected) })
		}
	})
	c.pc.OnTrack(c.onTrack)
	c.mic = rtptrack.New("mic", "local")
	if _, err := c.pc.AddTransceiverFromTrack(c.mic, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
		_ = c.pc.Close()
		return nil, err
	}
	joined, err := c.connect(ctx, "")
	if err != nil {
		_ = c.pc.Close()
		return nil, err
	}
	c.mu.Lock()
	c.sessionID, c.userID, c.resumeToken = joined.SessionId, joined.UserId, joined.ResumeToken
	c.mu.Unlock()
	c.pc.OnICECandidate(c.onCandidate)
	offer, err := c.pc.CreateOffer(nil)
	if err == nil {
		err = c.pc.SetLocalDescription(offer)
	}
	if err == nil {
		err = c.send(&voicev1.ClientMessage{Msg: &voicev1.ClientMessage_Offer{Offer: &voicev1.SessionDescription{Sdp: offer.SDP}}})
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func newAPI(cfg Config) (*webrtc.API, error) {
	me := &webrtc.MediaEngine{}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1;usedtx=1"},
		PayloadType:        111,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	for _, uri := range []string{sdp.AudioLevelURI, sdp.SDESMidURI} {
		if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: uri}, webrtc.RTPCodecTypeAudio); err != nil {
			return nil, err
		}
	}
	reg := &interceptor.Registry{}
	rr, err := report.NewReceiverInterceptor()
	if err != nil {
		return nil, err
	}
	sr, err := report.NewSenderInterceptor()
	if err != nil {
		return nil, err
	}
	reg.Add(rr)
	reg.Add(sr)
	se := webrtc.SettingEngine{}
	lf := logging.NewDefaultLoggerFactory()
	lf.DefaultLogLevel = logging.LogLevelDisabled
	se.LoggerFactory = lf
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	if cfg.Net != nil {
		se.SetNet(cfg.Net)
	} else if cfg.ReadBuffer > 0 {
		sn, err := stdnet.NewNet()
		if err != nil {
			return nil, err
		}
		se.SetNet(bufNet{Net: sn, size: cfg.ReadBuffer})
	}
	if cfg.LoopbackOnly {
		se.SetIncludeLoopbackCandidate(true)
		se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	}
	if cfg.DisconnectedTimeout > 0 || cfg.FailedTimeout > 0 || cfg.KeepAlive > 0 {
		se.SetICETimeouts(cfg.DisconnectedTimeout, cfg.FailedTimeout, cfg.KeepAlive)
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se)), nil
}

// connect opens a WebSocket, sends join (resuming when tok is set), waits
// for joined and starts the reader.
func (c *Client) connect(ctx context.Context, resumeTok string) (*voicev1.Joined, error) {
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	conn, resp, err := d.DialContext(ctx, c.cfg.URL, http.Header{})
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", c.cfg.URL, err)
	}
	b, _ := signal.EncodeClient(&voicev1.ClientMessage{Msg: &voicev1.ClientMessage_Join{Join: &voicev1.Join{
		Token: c.cfg.Token, Traceparent: c.cfg.Traceparent, ResumeToken: resumeTok, Muted: c.cfg.Muted,
		ProtocolVersion: signal.ProtocolVersion, RoomId: c.cfg.RoomID,
	}}})
	if err := conn.WriteMessage(websocket.BinaryMessage, b); err != nil {
		_ = conn.Close()
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetReadDeadline(dl)
	}
	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			_ = conn.Close()
			return nil, c.joinError(err)
		}
		m, err := signal.DecodeServer(data)
		if err != nil {
			_ = conn.Close()
			return nil, err
		}
		switch x := m.Msg.(type) {
		case *voicev1.ServerMessage_Joined:
			_ = conn.SetReadDeadline(time.Time{})
			c.connMu.Lock()
			c.conn = conn
			c.connMu.Unlock()
			c.connWG.Add(2)
			go func() {
				defer c.connWG.Done()
				c.reader(conn)
			}()
			go func() {
				defer c.connWG.Done()
				c.pinger(conn, time.Duration(x.Joined.GetLimits().GetPingIntervalMs())*time.Millisecond)
			}()
			return x.Joined, nil
		case *voicev1.ServerMessage_Error:
			c.mu.Lock()
			c.goodbye = &voicev1.Goodbye{Code: x.Error.Code, Message: x.Error.Message}
			c.mu.Unlock()
		case *voicev1.ServerMessage_Goodbye:
			c.mu.Lock()
			c.goodbye = x.Goodbye
			c.mu.Unlock()
		}
	}
}

// JoinError is a refused join: the server's error code and close code.
type JoinError struct {
	Code      string
	CloseCode int
	Message   string
}

func (e *JoinError) Error() string {
	return fmt.Sprintf("voice join refused: %s (close %d): %s", e.Code, e.CloseCode, e.Message)
}

func (c *Client) joinError(err error) error {
	c.mu.Lock()
	g := c.goodbye
	c.mu.Unlock()
	je := &JoinError{}
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		je.CloseCode = ce.Code
		je.Message = ce.Text
	}
	if g != nil {
		je.Code = g.Code
		if g.Message != "" {
			je.Message = g.Message
		}
	}
	if je.CloseCode == 0 && je.Code == "" {
		return err
	}
	return je
}

// pinger keeps the signalling connection alive, as the protocol asks.
func (c *Client) pinger(conn *websocket.Conn, every time.Duration) {
	if every <= 0 {
		every = 10 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-c.readerDone(conn):
			return
		case <-t.C:
			_ = c.sendOn(conn, &voicev1.ClientMessage{Msg: &voicev1.ClientMessage_Ping{Ping: &voicev1.Ping{ClientTimeMs: float64(time.Now().UnixNano()) / 1e6}}})
		}
	}
}

// readerDone is closed when conn's reader ends.
func (c *Client) readerDone(conn *websocket.Conn) chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		c.done = map[*websocket.Conn]chan struct{}{}
	}
	ch := c.done[conn]
	if ch == nil {
		ch = make(chan struct{})
		c.done[conn] = ch
	}
	return ch
}

func (c *Client) reader(conn *websocket.Conn) {
	done := c.readerDone(conn)
	defer func() {
		close(done)
		c.mu.Lock()
		delete(c.done, conn)
		c.mu.Unlock()
	}()
	var err error
	for {
		var data []byte
		if _, data, err = conn.ReadMessage(); err != nil {
			break
		}
		m, derr := signal.DecodeServer(data)
		if derr != nil {
			continue
		}
		c.apply(m)
	}
	c.mu.Lock()
	g := c.goodbye
	c.mu.Unlock()
	if g == nil && !c.closed.Load() && c.cfg.OnSignallingLost != nil {
		c.cfg.OnSignallingLost(err)
	}
}

func (c *Client) apply(m *voicev1.ServerMessage) {
	switch x := m.Msg.(type) {
	case *voicev1.ServerMessage_Answer:
		if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: x.Answer.Sdp}); err != nil {
			c.fail(fmt.Errorf("apply answer: %w", err))
		}
	case *voicev1.ServerMessage_Offer:
		c.answer(x.Offer)
	case *voicev1.ServerMessage_Candidate:
		if x.Candidate.Candidate != "" {
			_ = c.pc.AddICECandidate(signal.CandidateFromProto(x.Candidate))
		}
	case *voicev1.ServerMessage_Tracks:
		c.mu.Lock()
		c.tracks = map[string]*voicev1.TrackInfo{}
		for _, t := range x.Tracks.Tracks {
			c.tracks[t.Mid] = t
			c.byStream[t.StreamId] = t.UserId
		}
		c.mu.Unlock()
	case *voicev1.ServerMessage_Goodbye:
		c.mu.Lock()
		c.goodbye = x.Goodbye
		c.mu.Unlock()
	}
	if c.cfg.OnMessage != nil {
		c.cfg.OnMessage(m)
	}
}

func (c *Client) answer(o *voicev1.SessionDescription) {
	err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: o.Sdp})
	var ans webrtc.SessionDescription
	if err == nil {
		ans, err = c.pc.CreateAnswer(nil)
	}
	if err == nil {
		err = c.pc.SetLocalDescription(ans)
	}
	if err != nil {
		c.fail(fmt.Errorf("answer offer %d: %w", o.Revision, err))
		return
	}
	c.mu.Lock()
	c.revision = o.Revision
	c.mu.Unlock()
	_ = c.send(&voicev1.ClientMessage{Msg: &voicev1.ClientMessage_Answer{Answer: &voicev1.SessionDescription{Sdp: ans.SDP, Revision: o.Revision}}})
}

func (c *Client) fail(err error) {
	c.mu.Lock()
	if c.goodbye == nil {
		c.goodbye = &voicev1.Goodbye{Code: "client_error", Message: err.Error()}
	}
	c.mu.Unlock()
}

func (c *Client) onCandidate(cand *webrtc.ICECandidate) {
	msg := signal.CandidateToProto(cand)
	_ = c.send(&voicev1.ClientMessage{Msg: &voicev1.ClientMessage_Candidate{Candidate: msg}})
}

func (c *Client) onTrack(t *webrtc.TrackRemote, tr *webrtc.RTPReceiver) {
	if c.closed.Load() {
		return
	}
	c.wg.Add(2)
	go func() {
		defer c.wg.Done()
		buf := make([]byte, 1500)
		for {
			if _, _, err := tr.Read(buf); err != nil {
				return
			}
		}
	}()
	go func() {
		defer c.wg.Done()
		buf := make([]byte, 1500)
		var h rtp.Header
		from := t.StreamID()
		for {
			n, _, err := t.Read(buf)
			if err != nil {
				return
			}
			hl, err := h.Unmarshal(buf[:n])
			if err != nil || c.cfg.OnPacket == nil {
				continue
			}
			c.cfg.OnPacket(Packet{From: from, Header: &h, Payload: buf[hl:n], Arrival: time.Now()})
		}
	}()
}

// Send publishes one Opus packet; level is the RFC 6464 byte (-1: none).
func (c *Client) Send(seq uint16, ts uint32, level int, payload []byte) (bool, error) {
	return c.mic.Write(seq, ts, false, level, payload)
}

func (c *Client) send(m *voicev1.ClientMessage) error { return c.sendOn(nil, m) }

// sendOn writes m on the current connection; with only set, only if that
// is still the current one.
func (c *Client) sendOn(only *websocket.Conn, m *voicev1.ClientMessage) error {
	b, err := signal.EncodeClient(m)
	if err != nil {
		return err
	}
	c.connMu.Lock()
	defer c.connMu.Unlock()
	if c.conn == nil || (only != nil && c.conn != only) {
		return errors.New("voice client: no signalling connection")
	}
	_ = c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return c.conn.WriteMessage(websocket.BinaryMessage, b)
}

// SendRaw writes an arbitrary frame (tests of bad input).
func (c *Client) SendRaw(typ int, b []byte) error {
	c.connMu.Lock()
	defer c.connMu.Unlock()
	if c.conn == nil {
		return errors.New("voice client: no signalling connection")
	}
	return c.conn.WriteMessage(typ, b)
}

// SendMessage sends a client message as is (tests).
func (c *Client) SendMessage(m *voicev1.ClientMessage) error { return c.send(m) }

// WaitConnected waits for ICE to connect.
func (c *Client) WaitConnected(ctx context.Context) error {
	select {
	case <-c.iceConnected:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("voice client: ICE did not connect: %w", ctx.Err())
	}
}

// UserID is the client's user id.
func (c *Client) UserID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.userID
}

// ResumeToken is the current resume token.
func (c *Client) ResumeToken() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.resumeToken
}

// Goodbye is the server's goodbye (or a client-side failure), nil while
// the session is fine.
func (c *Client) Goodbye() *voicev1.Goodbye {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.goodbye
}

// Tracks returns the current track map, by mid.
func (c *Client) Tracks() map[string]*voicev1.TrackInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]*voicev1.TrackInfo, len(c.tracks))
	for k, v := range c.tracks {
		out[k] = v
	}
	return out
}

// PeerConnection is the client's peer connection (tests).
func (c *Client) PeerConnection() *webrtc.PeerConnection { return c.pc }

// DropSignalling closes the WebSocket abruptly, as a network drop would.
func (c *Client) DropSignalling() {
	c.connMu.Lock()
	conn := c.conn
	c.conn = nil
	c.connMu.Unlock()
	if conn != nil {
		_ = conn.UnderlyingConn().Close()
	}
	c.connWG.Wait()
}

// Resume opens a new WebSocket and takes the held session over with the
// resume token; the peer connection is kept.
func (c *Client) Resume(ctx context.Context) error {
	c.DropSignalling()
	c.mu.Lock()
	tok := c.resumeToken
	c.goodbye = nil
	c.mu.Unlock()
	j, err := c.connect(ctx, tok)
	if err != nil {
		return err
	}
	if !j.Resumed {
		return errors.New("voice client: the server did not resume the session")
	}
	return nil
}

// SetMute tells the server about the microphone's mute.
func (c *Client) SetMute(m bool) error {
	return c.send(&voicev1.ClientMessage{Msg: &voicev1.ClientMessage_SetMute{SetMute: &voicev1.SetMute{Muted: m}}})
}

// ModerateMute asks the server to mute (or unmute) userID for everyone.
func (c *Client) ModerateMute(userID string, m bool) error {
	return c.send(&voicev1.ClientMessage{Msg: &voicev1.ClientMessage_ModerateMute{ModerateMute: &voicev1.ModerateMute{UserId: userID, Muted: m}}})
}

// RestartICE asks the server for an ICE-restart offer.
func (c *Client) RestartICE() error {
	return c.send(&voicev1.ClientMessage{Msg: &voicev1.ClientMessage_RestartIce{RestartIce: &voicev1.RestartIce{}}})
}

// Leave leaves voice and closes the client.
func (c *Client) Leave() {
	_ = c.send(&voicev1.ClientMessage{Msg: &voicev1.ClientMessage_Leave{Leave: &voicev1.Leave{}}})
	c.Close()
}

// Close closes the signalling connection and the peer connection and
// waits for the client's goroutines.
func (c *Client) Close() {
	if !c.closed.CompareAndSwap(false, true) {
		return
	}
	c.connMu.Lock()
	conn := c.conn
	c.conn = nil
	c.connMu.Unlock()
	if conn != nil {
		_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		_ = conn.Close()
	}
	c.connWG.Wait()
	_ = c.pc.Close()
	c.wg.Wait()
}

// bufNet is the OS network with bigger socket receive buffers.
type bufNet struct {
	*stdnet.Net
	size int
}

func (n bufNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := n.Net.ListenUDP(network, laddr)
	if err == nil {
		if b, ok := c.(interface{ SetReadBuffer(int) error }); ok {
			_ = b.SetReadBuffer(n.size)
		}
	}
	return c, err
}

func (n bufNet) ListenPacket(network, address string) (net.PacketConn, error) {
	c, err := n.Net.ListenPacket(network, address)
	if err == nil {
		if b, ok := c.(interface{ SetReadBuffer(int) error }); ok {
			_ = b.SetReadBuffer(n.size)
		}
	}
	return c, err
}
