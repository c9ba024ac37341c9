package sfu

import (
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/hearth-space/hearth/apps/voice/rtptrack"
)

// upTrack is a participant's microphone as the SFU receives it, and the
// down tracks it fans out to.
type upTrack struct {
	pub     *Participant
	remote  *webrtc.TrackRemote
	levelID uint8

	mu    sync.Mutex                   // serialises changes to downs
	downs atomic.Pointer[[]*downTrack] // copy-on-write: the read loop never locks

	// skipped counts packets not forwarded while server-muted, so down
	// tracks can renumber around the gap (a gap would read as loss).
	skipped atomic.Uint32

	packets, bytes atomic.Uint64
	// Audio levels since the speaker detector last looked: the sum of
	// linear amplitudes (×1e6), the packet count and the count of packets
	// above the activity threshold.
	lvlSum, lvlCount, lvlActive atomic.Uint64
	lastPacket                  atomic.Int64 // unix ns
}

// activeDBov: a packet at least this loud (RFC 6464 -dBov, smaller is
// louder) counts as speech.
const activeDBov = 50

func newUpTrack(p *Participant, remote *webrtc.TrackRemote, receiver *webrtc.RTPReceiver) *upTrack {
	u := &upTrack{pub: p, remote: remote}
	for _, e := range receiver.GetParameters().HeaderExtensions {
		if e.URI == sdp.AudioLevelURI {
			u.levelID = uint8(e.ID)
		}
	}
	empty := []*downTrack{}
	u.downs.Store(&empty)
	return u
}

func (u *upTrack) addDown(d *downTrack) {
	u.mu.Lock()
	defer u.mu.Unlock()
	old := *u.downs.Load()
	next := make([]*downTrack, 0, len(old)+1)
	next = append(next, old...)
	next = append(next, d)
	u.downs.Store(&next)
}

func (u *upTrack) removeDown(d *downTrack) {
	u.mu.Lock()
	defer u.mu.Unlock()
	old := *u.downs.Load()
	next := make([]*downTrack, 0, len(old))
	for _, x := range old {
		if x != d {
			next = append(next, x)
		}
	}
	u.downs.Store(&next)
}

// readLoop forwards every packet of the microphone until the track ends.
// It reuses one buffer and one header: the hot path allocates nothing.
func (u *upTrack) readLoop() {
	m := u.pub.room.sfu.cfg.Metrics
	batch := u.pub.room.sfu.cfg.Batch
	buf := make([]byte, 1500)
	var h rtp.Header
	for {
		n, _, err := u.remote.Read(buf)
		if err != nil {
			if !errors.Is(err, io.EOF) {
				u.pub.log.Debug("voice track read ended", "err", err)
			}
			return
		}
		t0 := time.Now()
		hl, err := h.Unmarshal(buf[:n])
		if err != nil {
			continue
		}
		end := n
		if h.Padding && end > hl {
			end -= int(buf[n-1])
			if end < hl {
				continue
			}
		}
		u.packets.Add(1)
		u.bytes.Add(uint64(n))
		u.lastPacket.Store(t0.UnixNano())
		m.packetsIn.Inc()
		m.bytesIn.Add(float64(n))
		lvl := rtptrack.AudioLevel(&h, u.levelID)
		if lvl >= 0 {
			dbov := lvl & 0x7f
			u.lvlSum.Add(uint64(amplitude(dbov) * 1e6))
			u.lvlCount.Add(1)
			if dbov <= activeDBov {
				u.lvlActive.Add(1)
			}
		}
		if u.pub.serverMuted.Load() {
			u.skipped.Add(1)
			continue
		}
		downs := *u.downs.Load()
		if len(downs) == 0 {
			continue
		}
		seq := h.SequenceNumber - uint16(u.skipped.Load())
		payload := buf[hl:end]
		// With a batching socket the whole fan-out leaves in one system
		// call when Uncork returns, which is when it counts as written.
		if batch != nil {
			batch.Cork()
		}
		sent := 0
		for _, d := range downs {
			if d.write(seq, h.Timestamp, h.Marker, lvl, payload) {
				sent++
			}
		}
		if batch != nil {
			batch.Uncork()
		}
		if sent > 0 {
			delay := time.Since(t0).Seconds()
			for range sent {
				m.forward.Observe(delay)
			}
		}
	}
}

// downTrack is one publisher's audio on one subscriber's transceiver.
type downTrack struct {
	up     *upTrack
	sub    *Participant
	track  *rtptrack.Track
	tr     *webrtc.RTPTransceiver
	sender *webrtc.RTPSender

	packets, bytes atomic.Uint64
}

func (d *downTrack) write(seq uint16, ts uint32, marker bool, level int, payload []byte) bool {
	ok, err := d.track.Write(seq, ts, marker, level, payload)
	if err != nil || !ok {
		return false
	}
	m := d.up.pub.room.sfu.cfg.Metrics
	d.packets.Add(1)
	d.bytes.Add(uint64(len(payload) + 12))
	m.packetsOut.Inc()
	m.bytesOut.Add(float64(len(payload) + 12))
	return true
}

// readRTCP drains the sender's RTCP so the interceptors (reports, stats)
// see the subscriber's receiver reports.
func (d *downTrack) readRTCP(sender *webrtc.RTPSender) {
	buf := make([]byte, 1500)
	for {
		if _, _, err := sender.Read(buf); err != nil {
			return
		}
	}
}

// SSRC is the SSRC the subscriber receives this track with, 0 before
// negotiation.
func (d *downTrack) SSRC() uint32 {
	if b := d.track.Bound(); b != nil {
		return b.SSRC
	}
	if d.sender != nil {
		if enc := d.sender.GetParameters().Encodings; len(enc) > 0 {
			return uint32(enc[0].SSRC)
		}
	}
	return 0
}
