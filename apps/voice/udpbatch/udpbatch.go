// Package udpbatch wraps the SFU's shared media socket so that many
// writes leave in one sendmmsg(2) system call. One socket carries every
// participant's media (the ICE UDP mux), so without it each forwarded
// packet costs a system call and every forwarding goroutine contends for
// the socket's write lock.
//
// Writes are queued (the bytes copied) and return at once. Whoever calls
// Flush sends everything queued so far and returns once it is in the
// kernel, so a forwarder that flushes after its fan-out knows when its
// packets left. A background writer flushes writes nobody flushes (ICE,
// DTLS and RTCP traffic) after a short delay while a fan-out is corked,
// or at once otherwise.
package udpbatch

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// maxBatch is the most messages one sendmmsg carries.
const maxBatch = 64

// idleFlush is how long the background writer leaves queued packets to a
// corked forwarder's own Flush.
const idleFlush = 200 * time.Microsecond

type batchWriter interface {
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

// Conn is a batching net.PacketConn over a *net.UDPConn. It implements
// ice.AddrPortReaderWriter, so Pion's UDP mux writes to it without
// allocating addresses.
type Conn struct {
	conn *net.UDPConn
	bw   batchWriter

	mu     sync.Mutex
	queue  []ipv4.Message
	qbufs  []*[]byte // the pooled buffers of queue, index for index
	addrs  map[netip.AddrPort]*net.UDPAddr
	closed bool

	flushMu sync.Mutex // one flusher at a time: the socket is written only under it
	out     []ipv4.Message
	outBufs []*[]byte
	corked  atomic.Int32
	wake    chan struct{}
	done    chan struct{}
	wg      sync.WaitGroup

	bufs sync.Pool

	// Errors counts packets the kernel refused (they are dropped, as UDP
	// would drop them anyway).
	Errors atomic.Uint64
}

// New wraps c and starts its background writer.
func New(c *net.UDPConn) *Conn {
	b := &Conn{conn: c, addrs: map[netip.AddrPort]*net.UDPAddr{}, wake: make(chan struct{}, 1), done: make(chan struct{})}
	if la, ok := c.LocalAddr().(*net.UDPAddr); ok && la.IP.To4() == nil && la.IP != nil && !la.IP.IsUnspecified() {
		b.bw = v6writer{ipv6.NewPacketConn(c)}
	} else {
		b.bw = ipv4.NewPacketConn(c)
	}
	b.bufs.New = func() any { s := make([]byte, 0, 1500); return &s }
	b.wg.Add(1)
	go b.writer()
	return b
}

type v6writer struct{ pc *ipv6.PacketConn }

func (w v6writer) WriteBatch(ms []ipv4.Message, flags int) (int, error) {
	return w.pc.WriteBatch(ms, flags)
}

// ReadFrom implements net.PacketConn.
func (b *Conn) ReadFrom(p []byte) (int, net.Addr, error) { return b.conn.ReadFrom(p) }

// ReadFromAddrPort implements ice.AddrPortReaderWriter.
func (b *Conn) ReadFromAddrPort(p []byte) (int, netip.AddrPort, error) {
	return b.conn.ReadFromUDPAddrPort(p)
}

// WriteTo implements net.PacketConn.
func (b *Conn) WriteTo(p []byte, addr net.Addr) (int, error) {
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		return b.conn.WriteTo(p, addr)
	}
	return b.WriteToAddrPort(p, ua.AddrPort())
}

// WriteToAddrPort queues p for addr.
func (b *Conn) WriteToAddrPort(p []byte, addr netip.AddrPort) (int, error) {
	bp := b.bufs.Get().(*[]byte)
	*bp = append((*bp)[:0], p...)
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return 0, net.ErrClosed
	}
	ua := b.addrs[addr]
	if ua == nil {
		if len(b.addrs) > 1<<14 {
			clear(b.addrs) // peers come and go; keep the cache bounded
		}
		ua = net.UDPAddrFromAddrPort(addr)
		b.addrs[addr] = ua
	}
	b.queue = append(b.queue, ipv4.Message{Buffers: [][]byte{*bp}, Addr: ua})
	b.qbufs = append(b.qbufs, bp)
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
	return len(p), nil
}

// Cork tells the background writer that the caller will Flush soon.
func (b *Conn) Cork() { b.corked.Add(1) }

// Uncork flushes, then lets the background writer flush at once again.
func (b *Conn) Uncork() {
	b.Flush()
	b.corked.Add(-1)
}

// Flush sends every queued packet and returns once they are in the kernel
// (or, if another flusher is sending them, once it is done).
func (b *Conn) Flush() {
	b.flushMu.Lock()
	defer b.flushMu.Unlock()
	for {
		b.mu.Lock()
		b.queue, b.out = b.out[:0], b.queue
		b.qbufs, b.outBufs = b.outBufs[:0], b.qbufs
		b.mu.Unlock()
		if len(b.out) == 0 {
			return
		}
		for sent := 0; sent < len(b.out); {
			end := min(sent+maxBatch, len(b.out))
			n, err := b.bw.WriteBatch(b.out[sent:end], 0)
			if err != nil || n <= 0 {
				// Skip the message the kernel refused; the rest go on.
				b.Errors.Add(1)
				n = 1
			}
			sent += n
		}
		for i, bp := range b.outBufs {
			b.out[i] = ipv4.Message{}
			b.outBufs[i] = nil
			b.bufs.Put(bp)
		}
	}
}

// writer flushes what nobody else flushes.
func (b *Conn) writer() {
	defer b.wg.Done()
	t := time.NewTimer(time.Hour)
	t.Stop()
	for {
		select {
		case <-b.done:
			b.Flush()
			return
		case <-b.wake:
		}
		if b.corked.Load() > 0 {
			t.Reset(idleFlush)
			select {
			case <-b.done:
				t.Stop()
				b.Flush()
				return
			case <-t.C:
			}
		}
		b.Flush()
	}
}

// Close flushes, stops the writer and closes the socket.
func (b *Conn) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	b.mu.Unlock()
	close(b.done)
	b.wg.Wait()
	return b.conn.Close()
}

// LocalAddr implements net.PacketConn.
func (b *Conn) LocalAddr() net.Addr { return b.conn.LocalAddr() }

// SetDeadline implements net.PacketConn.
func (b *Conn) SetDeadline(t time.Time) error { return b.conn.SetDeadline(t) }

// SetReadDeadline implements net.PacketConn.
func (b *Conn) SetReadDeadline(t time.Time) error { return b.conn.SetReadDeadline(t) }

// SetWriteDeadline implements net.PacketConn; writes never block.
func (b *Conn) SetWriteDeadline(time.Time) error { return nil }

// Group is several Conns (one per local IP) flushed together.
type Group []*Conn

// Cork corks every conn.
func (g Group) Cork() {
	for _, c := range g {
		c.Cork()
	}
}

// Uncork flushes and uncorks every conn.
func (g Group) Uncork() {
	for _, c := range g {
		c.Uncork()
	}
}
