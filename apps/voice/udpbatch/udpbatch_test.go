package udpbatch

import (
	"encoding/binary"
	"net"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func listen(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadBuffer(4 << 20)
	return c
}

// TestDelivery: packets written from several goroutines, corked and not,
// all arrive intact; a flushed batch is in the kernel when Flush returns.
func TestDelivery(t *testing.T) {
	src, dst := listen(t), listen(t)
	defer dst.Close()
	b := New(src)
	to := dst.LocalAddr().(*net.UDPAddr).AddrPort()
	const writers, each = 4, 300
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := make([]byte, 100)
			for i := range each {
				binary.BigEndian.PutUint32(p, uint32(w*each+i))
				if w%2 == 0 {
					b.Cork()
				}
				if _, err := b.WriteToAddrPort(p, to); err != nil {
					t.Error(err)
				}
				if w%2 == 0 {
					b.Uncork()
				}
			}
		}()
	}
	seen := map[uint32]bool{}
	buf := make([]byte, 1500)
	_ = dst.SetReadDeadline(time.Now().Add(10 * time.Second))
	for len(seen) < writers*each {
		n, _, err := dst.ReadFromUDPAddrPort(buf)
		if err != nil {
			t.Fatalf("after %d packets: %v", len(seen), err)
		}
		if n != 100 {
			t.Fatalf("packet of %d bytes", n)
		}
		seen[binary.BigEndian.Uint32(buf)] = true
	}
	wg.Wait()

	// Flush returns with the packet already receivable.
	b.Cork()
	if _, err := b.WriteTo([]byte("flushed"), dst.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	b.Uncork()
	_ = dst.SetReadDeadline(time.Now().Add(time.Millisecond * 500))
	n, _, err := dst.ReadFromUDPAddrPort(buf)
	if err != nil || string(buf[:n]) != "flushed" {
		t.Fatalf("after Uncork: %q %v", buf[:n], err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WriteToAddrPort([]byte("x"), to); err == nil {
		t.Fatal("write after close succeeded")
	}
}
