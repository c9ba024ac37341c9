package bus_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/hearth-space/hearth/internal/bus"
	"github.com/hearth-space/hearth/internal/id"
	"github.com/hearth-space/hearth/internal/testenv"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type collector chan string

func (c collector) handler(topic string, data []byte) { c <- topic + ":" + string(data) }

func (c collector) next(t *testing.T) string {
	t.Helper()
	select {
	case s := <-c:
		return s
	case <-time.After(5 * time.Second):
		t.Fatal("no event delivered")
		return ""
	}
}

func (c collector) none(t *testing.T) {
	t.Helper()
	select {
	case s := <-c:
		t.Fatalf("unexpected event %q", s)
	case <-time.After(100 * time.Millisecond):
	}
}

// suite runs the same checks against any Bus. second is another node on
// the same bus (the same value for the in-memory bus).
func suite(t *testing.T, a, b bus.Bus) {
	ctx := context.Background()
	topic := "t-" + id.Random(4)
	c1, c2 := make(collector, 100), make(collector, 100)
	un1 := a.Subscribe(topic, c1.handler)
	un2 := b.Subscribe(topic, c2.handler)
	time.Sleep(50 * time.Millisecond) // Redis SUBSCRIBE is asynchronous
	for i := range 3 {
		if err := a.Publish(ctx, topic, []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		if got := c1.next(t); got != fmt.Sprintf("%s:%d", topic, i) {
			t.Fatalf("node a got %q", got)
		}
		if got := c2.next(t); got != fmt.Sprintf("%s:%d", topic, i) {
			t.Fatalf("node b got %q", got)
		}
	}
	// Other topics are not delivered; unsubscribed handlers get nothing.
	_ = a.Publish(ctx, topic+"-other", []byte("x"))
	un1()
	time.Sleep(50 * time.Millisecond)
	_ = b.Publish(ctx, topic, []byte("after"))
	if got := c2.next(t); got != topic+":after" {
		t.Fatalf("got %q", got)
	}
	c1.none(t)
	un2()
}

func TestMemory(t *testing.T) {
	m := bus.NewMemory()
	defer m.Close()
	suite(t, m, m)

	// A stuck subscriber loses events instead of blocking publishers.
	block := make(chan struct{})
	un := m.Subscribe("slow", func(string, []byte) { <-block })
	done := make(chan struct{})
	go func() {
		for range 5000 {
			_ = m.Publish(context.Background(), "slow", nil)
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("publisher blocked by a slow subscriber")
	}
	if m.Dropped() == 0 {
		t.Fatal("drops not counted")
	}
	close(block)
	un()
}

func TestRedis(t *testing.T) {
	testenv.NeedRedis(t)
	ctx := context.Background()
	opts, _ := redis.ParseURL(testenv.RedisURL())
	r1, r2 := redis.NewClient(opts), redis.NewClient(opts)
	defer r1.Close()
	defer r2.Close()
	a, err := bus.NewRedis(ctx, r1)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := bus.NewRedis(ctx, r2)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	suite(t, a, b)
}

func TestRedisUnreachable(t *testing.T) {
	r := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	defer r.Close()
	if _, err := bus.NewRedis(context.Background(), r); err == nil {
		t.Fatal("bus started without Redis")
	}
}
