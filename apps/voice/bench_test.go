package voice_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"testing"
	"time"
)

// BenchmarkFanout publishes b.N packets from one participant to 9 others
// through the SFU over loopback and reports the forwarded packets per
// second. The profile of this benchmark (-cpuprofile) shows the SFU's
// forwarding path beside the clients' receive path; hearth loadtest voice
// measures the SFU alone in its own process.
func BenchmarkFanout(b *testing.B) {
	for _, subs := range []int{9} {
		b.Run(fmt.Sprintf("subscribers=%d", subs), func(b *testing.B) {
			e := newEnvB(b)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			pub := e.joinB(ctx, b, "pub")
			var peers []*peer
			for i := 0; i < subs; i++ {
				peers = append(peers, e.joinB(ctx, b, fmt.Sprintf("s%d", i)))
			}
			for _, p := range append(peers, pub) {
				if err := p.WaitConnected(ctx); err != nil {
					b.Fatal(err)
				}
			}
			for _, p := range peers {
				for len(p.Tracks()) < 1 {
					time.Sleep(10 * time.Millisecond)
				}
			}
			time.Sleep(200 * time.Millisecond)
			payload := make([]byte, 80)
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				binary.BigEndian.PutUint32(payload, uint32(i+1))
				_, _ = pub.Send(uint16(i+1), uint32(i)*960, 0x80|30, payload)
				if i%50 == 49 {
					time.Sleep(time.Millisecond) // stay under the sockets' buffers
				}
			}
			last := peers[len(peers)-1]
			for deadline := time.Now().Add(5 * time.Second); last.count("pub") < b.N*9/10 && time.Now().Before(deadline); {
				time.Sleep(5 * time.Millisecond)
			}
			b.ReportMetric(float64(b.N*subs)/time.Since(start).Seconds(), "fwd/s")
		})
	}
}
