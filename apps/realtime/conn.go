package realtime

import (
	"errors"
	"net"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// conn is one WebSocket with Hearth's backpressure rules:
//   - reliable frames go through a lossless queue bounded in bytes; overflow
//     closes the connection as a slow consumer (the session can resume);
//   - pose frames go through a single latest-wins slot: a frame not yet
//     written when the next tick comes is taken back and folded into the
//     next one, so stale poses are never queued;
//   - writes run on a goroutine started only while there is something to
//     write (idle connections cost one goroutine, the reader), with a
//     deadline: a stalled write closes the connection as a slow consumer.
//
// A slow or stopped reader therefore costs the server at most
// SendQueueBytes and never delays anyone else.
type conn struct {
	ws      *websocket.Conn
	limit   int           // reliable queue bound, bytes
	timeout time.Duration // write deadline
	hooks   connHooks
	writers *sync.WaitGroup // the gateway waits for writer goroutines on close

	mu       sync.Mutex
	queue    []outMsg
	queued   int
	pose     *outFrame
	ping     bool
	writing  bool
	closing  bool   // a close frame is queued or sent; nothing more is accepted
	closeMsg []byte // close frame payload, written after the queue drains
	dead     bool
	reason   int // why the server closed it (a close code), first wins
	// closeSent is closed once the close frame is written (or the socket
	// is gone); nil until close is called.
	closeSent chan struct{}
	sentOnce  sync.Once
}

// outFrame is a pose frame waiting in the latest-wins slot.
type outFrame struct {
	buf    []byte
	slots  []uint32  // members it carries (to re-send if it is taken back)
	oldest time.Time // receipt time of its oldest pose (fan-out delay)
}

// connHooks report what the writer did; the gateway turns them into metrics
// and session state.
type connHooks struct {
	wrote    func(kind string, n int)
	poseSent func(f *outFrame, at time.Time)
}

func newConn(ws *websocket.Conn, limit int, timeout time.Duration, hooks connHooks, writers *sync.WaitGroup) *conn {
	return &conn{ws: ws, limit: limit, timeout: timeout, hooks: hooks, writers: writers}
}

// errSlowConsumer means the reliable queue overflowed.
var errSlowConsumer = errors.New("send queue full")

// send queues a message for the ordered, lossless queue. It fails with
// errSlowConsumer when the queue would exceed its bound, and silently drops
// messages once the connection is closing.
func (c *conn) send(m outMsg) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing || c.dead {
		return nil
	}
	if c.queued+m.size() > c.limit {
		return errSlowConsumer
	}
	c.queue = append(c.queue, m)
	c.queued += m.size()
	c.kick()
	return nil
}

// sendReliable queues an unnumbered payload (pong, error, welcome…).
func (c *conn) sendReliable(p payload) error { return c.send(outMsg{p: p}) }

// writeMsg writes one message as one binary frame: the seq, then the
// shared payload.
func (c *conn) writeMsg(m outMsg) error {
	w, err := c.ws.NextWriter(websocket.BinaryMessage)
	if err != nil {
		return err
	}
	if m.seq != 0 {
		var pre [11]byte
		if _, err := w.Write(seqPrefix(pre[:0], m.seq)); err != nil {
			return err
		}
	}
	if _, err := w.Write(m.p); err != nil {
		return err
	}
	return w.Close()
}

// setPose puts f in the latest-wins slot and returns the frame it replaced,
// if that one was never written.
func (c *conn) setPose(f *outFrame) (replaced *outFrame) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing || c.dead {
		return nil
	}
	replaced, c.pose = c.pose, f
	c.kick()
	return replaced
}

// takePose removes and returns an unwritten pose frame.
func (c *conn) takePose() *outFrame {
	c.mu.Lock()
	defer c.mu.Unlock()
	f := c.pose
	c.pose = nil
	return f
}

// sendPing asks the writer to send a WebSocket ping.
func (c *conn) sendPing() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing || c.dead {
		return
	}
	c.ping = true
	c.kick()
}

// close queues a close frame after whatever is queued (goodbye included) and
// then closes the socket. Further sends are dropped. Idempotent.
func (c *conn) close(code int, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing || c.dead {
		return
	}
	if len(reason) > 120 { // a close frame's reason must fit in 123 bytes
		reason = reason[:120]
	}
	if c.reason == 0 {
		c.reason = code
	}
	c.closing = true
	c.closeSent = make(chan struct{})
	c.closeMsg = websocket.FormatCloseMessage(code, reason)
	c.pose = nil
	c.kick()
}

// kill closes the socket at once, dropping anything queued, recording code
// as the reason unless one is set. The reader notices and reports the
// disconnect.
func (c *conn) kill(code int) {
	c.mu.Lock()
	if c.reason == 0 {
		c.reason = code
	}
	c.dead = true
	c.queue, c.queued, c.pose = nil, 0, nil
	sent := c.closeSent
	c.mu.Unlock()
	_ = c.ws.NetConn().Close()
	if sent != nil {
		c.sentOnce.Do(func() { close(sent) })
	}
}

// closeWritten returns a channel closed once the queued close frame is
// written, or nil when no close was queued.
func (c *conn) closeWritten() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closeSent
}

// kick starts the writer goroutine if it is not running. Called with mu held.
func (c *conn) kick() {
	if !c.writing && !c.dead {
		c.writing = true
		c.writers.Add(1)
		go func() {
			defer c.writers.Done()
			c.flush()
		}()
	}
}

// flush writes until there is nothing left, then exits.
func (c *conn) flush() {
	for {
		c.mu.Lock()
		queue, pose, ping, closeMsg := c.queue, c.pose, c.ping, []byte(nil)
		c.queue, c.queued, c.pose, c.ping = nil, 0, nil, false
		if len(queue) == 0 && pose == nil && !ping {
			closeMsg, c.closeMsg = c.closeMsg, nil
		}
		if (len(queue) == 0 && pose == nil && !ping && closeMsg == nil) || c.dead {
			c.writing = false
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()

		if err := c.ws.SetWriteDeadline(time.Now().Add(c.timeout)); err != nil {
			c.failed(err)
			return
		}
		if ping {
			if err := c.ws.WriteMessage(websocket.PingMessage, nil); err != nil {
				c.failed(err)
				return
			}
		}
		for _, m := range queue {
			if err := c.writeMsg(m); err != nil {
				c.failed(err)
				return
			}
			c.hooks.wrote("reliable", len(m.p))
		}
		if pose != nil {
			if err := c.ws.WriteMessage(websocket.BinaryMessage, pose.buf); err != nil {
				c.failed(err)
				return
			}
			c.hooks.wrote("poses", len(pose.buf))
			c.hooks.poseSent(pose, time.Now())
		}
		if closeMsg != nil {
			_ = c.ws.WriteMessage(websocket.CloseMessage, closeMsg)
			// Give the peer a moment to answer the close; the reader exits
			// on its reply or on the read deadline, and the socket goes.
			time.AfterFunc(time.Second, func() { _ = c.ws.NetConn().Close() })
			c.mu.Lock()
			c.writing = false
			sent := c.closeSent
			c.mu.Unlock()
			c.sentOnce.Do(func() { close(sent) })
			return
		}
	}
}

func (c *conn) failed(err error) {
	c.mu.Lock()
	c.writing = false
	c.mu.Unlock()
	code := closeNetwork
	if isTimeout(err) {
		code = closeSlowConsumer
	}
	c.kill(code)
}

// closeReason is the code the server closed the connection with, or 0.
func (c *conn) closeReason() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reason
}

// isTimeout reports whether err is a deadline expiry.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
