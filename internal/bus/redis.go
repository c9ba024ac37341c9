package bus

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

const redisPrefix = "hearth:bus:"

// Redis is the bus of a multi-node deployment: Redis pub/sub, one
// connection per process, with local fan-out to subscribers. go-redis
// reconnects and re-subscribes on its own after a connection drop; events
// published meanwhile are lost (at most once, as documented).
type Redis struct {
	rdb *redis.Client
	ps  *redis.PubSub
	reg *registry

	// subMu orders Redis SUBSCRIBE/UNSUBSCRIBE with the local registry so a
	// topic's last unsubscribe cannot overtake the next first subscribe.
	subMu sync.Mutex
	wg    sync.WaitGroup
	once  sync.Once
}

// NewRedis starts a bus on rdb.
func NewRedis(ctx context.Context, rdb *redis.Client) (*Redis, error) {
	ps := rdb.Subscribe(ctx)
	// An empty Subscribe connects lazily; a ping proves the server is there.
	if err := rdb.Ping(ctx).Err(); err != nil {
		_ = ps.Close()
		return nil, fmt.Errorf("redis bus: %w", err)
	}
	b := &Redis{rdb: rdb, ps: ps, reg: newRegistry()}
	ch := ps.Channel(redis.WithChannelSize(4096))
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		for msg := range ch {
			b.reg.dispatch(strings.TrimPrefix(msg.Channel, redisPrefix), []byte(msg.Payload))
		}
	}()
	return b, nil
}

// Publish implements Bus.
func (b *Redis) Publish(ctx context.Context, topic string, data []byte) error {
	if err := b.rdb.Publish(ctx, redisPrefix+topic, data).Err(); err != nil {
		return fmt.Errorf("publish %s: %w", topic, err)
	}
	return nil
}

// Subscribe implements Bus.
func (b *Redis) Subscribe(topic string, h Handler) func() {
	b.subMu.Lock()
	defer b.subMu.Unlock()
	s, first := b.reg.add(topic, h)
	if first {
		// Subscribe errors only when the connection is closed; go-redis
		// re-subscribes every channel after it reconnects.
		_ = b.ps.Subscribe(context.Background(), redisPrefix+topic)
	}
	return func() {
		b.subMu.Lock()
		defer b.subMu.Unlock()
		if b.reg.remove(s) {
			_ = b.ps.Unsubscribe(context.Background(), redisPrefix+topic)
		}
	}
}

// Dropped reports events dropped because a subscriber fell behind.
func (b *Redis) Dropped() int64 { return b.reg.dropped.Load() }

// Close implements Bus.
func (b *Redis) Close() error {
	var err error
	b.once.Do(func() {
		err = b.ps.Close()
		b.wg.Wait()
		b.reg.closeAll()
	})
	return err
}
