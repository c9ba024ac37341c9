// Package bus carries events between Hearth's services: room changes and
// moderation from the API to the realtime gateway and voice, player changes
// from the music service to rooms. In one process it is an in-memory fan-out;
// across nodes it is Redis pub/sub. Delivery is at most once and in order
// per topic and subscriber; subscribers never block publishers (a
// subscriber that falls too far behind loses events and is told so by a
// counter).
package bus

import (
	"context"
	"sync"
	"sync/atomic"
)

// Handler receives the payload of one event.
type Handler func(topic string, data []byte)

// Bus publishes events to topics and delivers them to subscribers.
type Bus interface {
	// Publish sends data to every subscriber of topic, on every node.
	Publish(ctx context.Context, topic string, data []byte) error
	// Subscribe calls h for every event on topic until the returned
	// function is called. h runs on one goroutine per subscription.
	Subscribe(topic string, h Handler) (unsubscribe func())
	// Close stops delivery.
	Close() error
}

// subscription queues events for one handler on its own goroutine.
type subscription struct {
	topic   string
	h       Handler
	ch      chan event
	done    chan struct{}
	once    sync.Once
	dropped *atomic.Int64
}

type event struct {
	topic string
	data  []byte
}

const queueLen = 1024

func newSubscription(topic string, h Handler, dropped *atomic.Int64) *subscription {
	s := &subscription{topic: topic, h: h, ch: make(chan event, queueLen), done: make(chan struct{}), dropped: dropped}
	go s.run()
	return s
}

func (s *subscription) run() {
	for {
		select {
		case ev := <-s.ch:
			s.h(ev.topic, ev.data)
		case <-s.done:
			return
		}
	}
}

func (s *subscription) deliver(topic string, data []byte) {
	select {
	case s.ch <- event{topic: topic, data: data}:
	case <-s.done:
	default:
		s.dropped.Add(1)
	}
}

func (s *subscription) stop() { s.once.Do(func() { close(s.done) }) }

// registry tracks local subscriptions by topic; both buses use it.
type registry struct {
	mu      sync.RWMutex
	subs    map[string]map[*subscription]struct{}
	dropped atomic.Int64
}

func newRegistry() *registry { return &registry{subs: map[string]map[*subscription]struct{}{}} }

// add registers a subscription and reports whether it is the topic's first.
func (r *registry) add(topic string, h Handler) (*subscription, bool) {
	s := newSubscription(topic, h, &r.dropped)
	r.mu.Lock()
	defer r.mu.Unlock()
	set, ok := r.subs[topic]
	if !ok {
		set = map[*subscription]struct{}{}
		r.subs[topic] = set
	}
	set[s] = struct{}{}
	return s, !ok
}

// remove unregisters s and reports whether its topic has no subscribers left.
func (r *registry) remove(s *subscription) bool {
	s.stop()
	r.mu.Lock()
	defer r.mu.Unlock()
	set := r.subs[s.topic]
	delete(set, s)
	if len(set) == 0 {
		delete(r.subs, s.topic)
		return true
	}
	return false
}

func (r *registry) dispatch(topic string, data []byte) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for s := range r.subs[topic] {
		s.deliver(topic, data)
	}
}

func (r *registry) closeAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, set := range r.subs {
		for s := range set {
			s.stop()
		}
	}
	r.subs = map[string]map[*subscription]struct{}{}
}

// Memory is the in-process bus of a single-node deployment.
type Memory struct{ reg *registry }

// NewMemory returns an in-process bus.
func NewMemory() *Memory { return &Memory{reg: newRegistry()} }

// Publish implements Bus.
func (m *Memory) Publish(_ context.Context, topic string, data []byte) error {
	m.reg.dispatch(topic, data)
	return nil
}

// Subscribe implements Bus.
func (m *Memory) Subscribe(topic string, h Handler) func() {
	s, _ := m.reg.add(topic, h)
	return func() { m.reg.remove(s) }
}

// Dropped reports events dropped because a subscriber fell behind.
func (m *Memory) Dropped() int64 { return m.reg.dropped.Load() }

// Close implements Bus.
func (m *Memory) Close() error {
	m.reg.closeAll()
	return nil
}
