// Package rtptrack is a minimal webrtc.TrackLocal for Opus that exposes its
// binding: the negotiated SSRC, payload type and audio-level header
// extension id. The SFU's down tracks and the Go voice client write through
// it with one header they own, so forwarding allocates nothing and header
// extension ids are the receiver's, not the sender's.
package rtptrack

import (
	"errors"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// OpusMime is the only codec Hearth's voice carries.
const OpusMime = webrtc.MimeTypeOpus

// ErrNoOpus is returned by Bind when the other side did not accept Opus.
var ErrNoOpus = errors.New("rtptrack: opus was not negotiated")

// Binding is what a negotiation settled for one track.
type Binding struct {
	SSRC        uint32
	PayloadType uint8
	// AudioLevelID is the RFC 6464 header extension id, 0 when not negotiated.
	AudioLevelID uint8
	writer       webrtc.TrackLocalWriter
}

// Track is an Opus TrackLocal bound to at most one sender.
type Track struct {
	id, streamID string
	binding      atomic.Pointer[Binding]

	// mu serialises writes, which reuse hdr and ext.
	mu  sync.Mutex
	hdr rtp.Header
	lvl [1]byte
}

// New returns an unbound track with msid "streamID id".
func New(id, streamID string) *Track {
	return &Track{id: id, streamID: streamID}
}

// Bind implements webrtc.TrackLocal.
func (t *Track) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	for _, c := range ctx.CodecParameters() {
		if !strings.EqualFold(c.MimeType, OpusMime) {
			continue
		}
		b := &Binding{SSRC: uint32(ctx.SSRC()), PayloadType: uint8(c.PayloadType), writer: ctx.WriteStream()}
		for _, e := range ctx.HeaderExtensions() {
			if e.URI == sdp.AudioLevelURI {
				b.AudioLevelID = uint8(e.ID)
			}
		}
		t.binding.Store(b)
		return c, nil
	}
	return webrtc.RTPCodecParameters{}, ErrNoOpus
}

// Unbind implements webrtc.TrackLocal.
func (t *Track) Unbind(webrtc.TrackLocalContext) error {
	t.binding.Store(nil)
	return nil
}

// ID implements webrtc.TrackLocal.
func (t *Track) ID() string { return t.id }

// RID implements webrtc.TrackLocal.
func (t *Track) RID() string { return "" }

// StreamID implements webrtc.TrackLocal.
func (t *Track) StreamID() string { return t.streamID }

// Kind implements webrtc.TrackLocal.
func (t *Track) Kind() webrtc.RTPCodecType { return webrtc.RTPCodecTypeAudio }

// Bound returns the current binding, or nil before negotiation completes.
func (t *Track) Bound() *Binding { return t.binding.Load() }

// Write sends one Opus packet. level is the RFC 6464 level byte (voice
// activity bit and -dBov); it is sent only when the receiver negotiated the
// extension and level >= 0. Write on an unbound track drops the packet and
// reports false.
func (t *Track) Write(seq uint16, ts uint32, marker bool, level int, payload []byte) (bool, error) {
	b := t.binding.Load()
	if b == nil {
		return false, nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	h := &t.hdr
	h.Version = 2
	h.PayloadType = b.PayloadType
	h.SequenceNumber = seq
	h.Timestamp = ts
	h.SSRC = b.SSRC
	h.Marker = marker
	h.Extension = false
	h.Extensions = h.Extensions[:0]
	if b.AudioLevelID != 0 && level >= 0 {
		t.lvl[0] = byte(level)
		// Reuses h.Extensions' backing array: no allocation per packet.
		if err := h.SetExtension(b.AudioLevelID, t.lvl[:]); err != nil {
			return false, err
		}
	}
	if _, err := b.writer.WriteRTP(h, payload); err != nil {
		return false, err
	}
	return true, nil
}

// AudioLevel returns the RFC 6464 level byte of a packet header carrying the
// extension with id, or -1.
func AudioLevel(h *rtp.Header, id uint8) int {
	if id == 0 || !h.Extension {
		return -1
	}
	p := h.GetExtension(id)
	if len(p) < 1 {
		return -1
	}
	return int(p[0])
}
