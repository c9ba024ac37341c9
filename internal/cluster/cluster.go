// Package cluster is Hearth's multi-node coordination over Redis, as
// LiveKit does it: a room lives on one realtime node and one voice node at
// a time. Nodes register themselves with a heartbeat; the first node to
// serve a room claims it; the API's join answer points clients at the
// claiming nodes; gateways publish who is in each room so any API node can
// show occupancy and enforce capacity. Every key expires, so a crashed
// node's rooms and presence fade out and are claimed again elsewhere.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Services that register nodes.
const (
	Realtime = "realtime"
	Voice    = "voice"
)

const (
	nodeTTL      = 15 * time.Second
	heartbeat    = 5 * time.Second
	claimTTL     = 60 * time.Second
	presenceTTL  = 60 * time.Second
	refreshEvery = 20 * time.Second
)

func nodeKey(service, id string) string    { return "hearth:node:" + service + ":" + id }
func nodesKey(service string) string       { return "hearth:nodes:" + service }
func claimKey(service, room string) string { return "hearth:room:" + service + ":" + room }
func presentKey(room string) string        { return "hearth:present:" + room }

// Node is one registered process.
type Node struct {
	ID      string
	Service string
	// URL is the base URL clients use to reach the node (scheme://host).
	URL string
}

// Registry registers this process's nodes and claims rooms for them.
type Registry struct {
	rdb *redis.Client
	log *slog.Logger

	mu     sync.Mutex
	nodes  []Node
	claims map[string]map[string]bool // service → room → claimed

	stop chan struct{}
	done chan struct{}
}

// NewRegistry registers nodes (one per service this process runs) and
// keeps them alive until Close.
func NewRegistry(ctx context.Context, rdb *redis.Client, log *slog.Logger, nodes ...Node) (*Registry, error) {
	r := &Registry{rdb: rdb, log: log, nodes: nodes, claims: map[string]map[string]bool{},
		stop: make(chan struct{}), done: make(chan struct{})}
	if err := r.beat(ctx); err != nil {
		return nil, fmt.Errorf("cluster: register: %w", err)
	}
	go r.loop()
	return r, nil
}

func (r *Registry) beat(ctx context.Context) error {
	pipe := r.rdb.Pipeline()
	for _, n := range r.nodes {
		pipe.Set(ctx, nodeKey(n.Service, n.ID), n.URL, nodeTTL)
		pipe.SAdd(ctx, nodesKey(n.Service), n.ID)
	}
	r.mu.Lock()
	for svc, rooms := range r.claims {
		for room := range rooms {
			pipe.Expire(ctx, claimKey(svc, room), claimTTL)
		}
	}
	r.mu.Unlock()
	_, err := pipe.Exec(ctx)
	return err
}

func (r *Registry) loop() {
	defer close(r.done)
	t := time.NewTicker(heartbeat)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), heartbeat)
			if err := r.beat(ctx); err != nil {
				r.log.Warn("cluster heartbeat failed", "err", err)
			}
			cancel()
		}
	}
}

// Close stops the heartbeat and deregisters the nodes and their claims, so
// their rooms move at once instead of after the claims expire.
func (r *Registry) Close(ctx context.Context) error {
	close(r.stop)
	<-r.done
	pipe := r.rdb.Pipeline()
	for _, n := range r.nodes {
		pipe.Del(ctx, nodeKey(n.Service, n.ID))
		pipe.SRem(ctx, nodesKey(n.Service), n.ID)
	}
	r.mu.Lock()
	for svc, rooms := range r.claims {
		for room := range rooms {
			r.releaseIn(ctx, pipe, svc, room)
		}
	}
	r.claims = map[string]map[string]bool{}
	r.mu.Unlock()
	_, err := pipe.Exec(ctx)
	return err
}

func (r *Registry) self(service string) (Node, bool) {
	for _, n := range r.nodes {
		if n.Service == service {
			return n, true
		}
	}
	return Node{}, false
}

// ErrElsewhere means another live node holds the room.
var ErrElsewhere = errors.New("the room is held by another node")

// claimScript sets the claim when it is free or held by a dead node, and
// refreshes it when it is already ours. It returns the holder.
var claimScript = redis.NewScript(`
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return holder
end
if holder and redis.call('EXISTS', ARGV[3] .. holder) == 1 then
  return holder
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return ARGV[1]
`)

// Claim makes this process's node of service the room's holder, unless
// another live node holds it (ErrElsewhere).
func (r *Registry) Claim(ctx context.Context, service, roomID string) error {
	n, ok := r.self(service)
	if !ok {
		return fmt.Errorf("cluster: this process runs no %s node", service)
	}
	holder, err := claimScript.Run(ctx, r.rdb, []string{claimKey(service, roomID)},
		n.ID, claimTTL.Milliseconds(), "hearth:node:"+service+":").Text()
	if err != nil {
		return fmt.Errorf("cluster: claim: %w", err)
	}
	if holder != n.ID {
		return ErrElsewhere
	}
	r.mu.Lock()
	if r.claims[service] == nil {
		r.claims[service] = map[string]bool{}
	}
	r.claims[service][roomID] = true
	r.mu.Unlock()
	return nil
}

var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`)

// releaseIn releases a claim with EVAL (not EVALSHA: in a pipeline there
// is no fallback when the script is not cached yet).
func (r *Registry) releaseIn(ctx context.Context, c redis.Scripter, service, roomID string) {
	if n, ok := r.self(service); ok {
		releaseScript.Eval(ctx, c, []string{claimKey(service, roomID)}, n.ID)
	}
}

// Release gives a room up (its last member left).
func (r *Registry) Release(ctx context.Context, service, roomID string) {
	r.mu.Lock()
	delete(r.claims[service], roomID)
	r.mu.Unlock()
	r.releaseIn(ctx, r.rdb, service, roomID)
}

// Locator answers where a room's nodes are, for the API's join answer.
type Locator struct {
	rdb *redis.Client
}

// NewLocator returns a Locator over rdb.
func NewLocator(rdb *redis.Client) *Locator { return &Locator{rdb: rdb} }

// Locate returns the base URLs of the realtime and voice nodes for a room,
// picking (and claiming) live nodes for a room nobody holds. An empty URL
// means no node of that service is registered: the client should use the
// deployment's own address.
func (l *Locator) Locate(ctx context.Context, roomID string) (string, string, error) {
	rt, err := l.locate(ctx, Realtime, roomID)
	if err != nil {
		return "", "", err
	}
	v, err := l.locate(ctx, Voice, roomID)
	if err != nil {
		return "", "", err
	}
	return rt, v, nil
}

func (l *Locator) locate(ctx context.Context, service, roomID string) (string, error) {
	if holder, err := l.rdb.Get(ctx, claimKey(service, roomID)).Result(); err == nil {
		if url, err := l.rdb.Get(ctx, nodeKey(service, holder)).Result(); err == nil {
			return url, nil
		}
	} else if !errors.Is(err, redis.Nil) {
		return "", fmt.Errorf("cluster: locate: %w", err)
	}
	live, err := LiveNodes(ctx, l.rdb, service)
	if err != nil {
		return "", err
	}
	if len(live) == 0 {
		return "", nil
	}
	pick := live[rand.IntN(len(live))]
	// Whoever claims first wins; a node that loses the race sees the
	// claim when the client connects and sends it to the winner.
	ok, err := l.rdb.SetNX(ctx, claimKey(service, roomID), pick.ID, claimTTL).Result()
	if err != nil {
		return "", fmt.Errorf("cluster: locate: %w", err)
	}
	if !ok {
		return l.locate(ctx, service, roomID)
	}
	return pick.URL, nil
}

// LiveNodes lists a service's nodes with a current heartbeat, pruning dead
// ones from the index.
func LiveNodes(ctx context.Context, rdb *redis.Client, service string) ([]Node, error) {
	ids, err := rdb.SMembers(ctx, nodesKey(service)).Result()
	if err != nil {
		return nil, fmt.Errorf("cluster: nodes: %w", err)
	}
	var out []Node
	for _, id := range ids {
		url, err := rdb.Get(ctx, nodeKey(service, id)).Result()
		if errors.Is(err, redis.Nil) {
			rdb.SRem(ctx, nodesKey(service), id)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("cluster: nodes: %w", err)
		}
		out = append(out, Node{ID: id, Service: service, URL: url})
	}
	return out, nil
}

// Presence is room occupancy as the realtime nodes publish it, for the API
// (it implements server.Presence).
type Presence struct {
	rdb *redis.Client
}

// NewPresence returns a Presence over rdb.
func NewPresence(rdb *redis.Client) *Presence { return &Presence{rdb: rdb} }

// Occupancy returns the member count of each room.
func (p *Presence) Occupancy(ctx context.Context, roomIDs []string) (map[string]int, error) {
	out := make(map[string]int, len(roomIDs))
	if len(roomIDs) == 0 {
		return out, nil
	}
	pipe := p.rdb.Pipeline()
	cmds := make([]*redis.IntCmd, len(roomIDs))
	for i, id := range roomIDs {
		cmds[i] = pipe.SCard(ctx, presentKey(id))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("cluster: occupancy: %w", err)
	}
	for i, id := range roomIDs {
		if n := cmds[i].Val(); n > 0 {
			out[id] = int(n)
		}
	}
	return out, nil
}

// IsPresent reports whether a user is in a room on any node.
func (p *Presence) IsPresent(ctx context.Context, roomID, userID string) (bool, error) {
	ok, err := p.rdb.SIsMember(ctx, presentKey(roomID), userID).Result()
	if err != nil {
		return false, fmt.Errorf("cluster: presence: %w", err)
	}
	return ok, nil
}

// Publish replaces a room's member list (an empty list removes it). The
// realtime gateway calls it whenever membership changes and periodically,
// which keeps the keys from expiring while the room lives.
func (p *Presence) Publish(ctx context.Context, roomID string, userIDs []string) error {
	pipe := p.rdb.TxPipeline()
	pipe.Del(ctx, presentKey(roomID))
	if len(userIDs) > 0 {
		members := make([]any, len(userIDs))
		for i, u := range userIDs {
			members[i] = u
		}
		pipe.SAdd(ctx, presentKey(roomID), members...)
		pipe.Expire(ctx, presentKey(roomID), presenceTTL)
	}
	_, err := pipe.Exec(ctx)
	if err != nil {
		return fmt.Errorf("cluster: publish presence: %w", err)
	}
	return nil
}

// RefreshInterval is how often a holder should re-publish presence.
func RefreshInterval() time.Duration { return refreshEvery }
