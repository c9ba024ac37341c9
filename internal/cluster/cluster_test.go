package cluster_test

import (
	"context"
	"errors"
	"testing"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/hearth-space/hearth/internal/cluster"
	"github.com/hearth-space/hearth/internal/id"
	"github.com/hearth-space/hearth/internal/obs"
	"github.com/hearth-space/hearth/internal/testenv"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func redisClient(t *testing.T) *redis.Client {
	t.Helper()
	testenv.NeedRedis(t)
	opts, err := redis.ParseURL(testenv.RedisURL())
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

func TestClaimsMoveWithNodes(t *testing.T) {
	ctx := context.Background()
	rdb := redisClient(t)
	a, err := cluster.NewRegistry(ctx, rdb, obs.Discard(), cluster.Node{ID: "a-" + id.Random(4), Service: cluster.Realtime, URL: "http://a"})
	if err != nil {
		t.Fatal(err)
	}
	bNode := cluster.Node{ID: "b-" + id.Random(4), Service: cluster.Realtime, URL: "http://b"}
	b, err := cluster.NewRegistry(ctx, rdb, obs.Discard(), bNode)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(ctx)
	room := id.New()
	if err := a.Claim(ctx, cluster.Realtime, room); err != nil {
		t.Fatal(err)
	}
	if err := a.Claim(ctx, cluster.Realtime, room); err != nil {
		t.Fatalf("reclaim by the holder: %v", err)
	}
	if err := b.Claim(ctx, cluster.Realtime, room); !errors.Is(err, cluster.ErrElsewhere) {
		t.Fatalf("second node claimed a held room: %v", err)
	}
	if err := b.Claim(ctx, cluster.Voice, room); err == nil {
		t.Fatal("claimed for a service the node does not run")
	}
	loc := cluster.NewLocator(rdb)
	rt, voice, err := loc.Locate(ctx, room)
	if err != nil || rt != "http://a" || voice != "" {
		t.Fatalf("locate: %q %q %v", rt, voice, err)
	}
	// A node that leaves gives its rooms up at once.
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.Claim(ctx, cluster.Realtime, room); err != nil {
		t.Fatalf("claim after the holder left: %v", err)
	}
	// A node that dies (no heartbeat) loses its rooms too.
	room2 := id.New()
	if err := b.Claim(ctx, cluster.Realtime, room2); err != nil {
		t.Fatal(err)
	}
	c, err := cluster.NewRegistry(ctx, rdb, obs.Discard(), cluster.Node{ID: "c-" + id.Random(4), Service: cluster.Realtime, URL: "http://c"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	rdb.Del(ctx, "hearth:node:realtime:"+bNode.ID) // b's heartbeat key expired
	if err := c.Claim(ctx, cluster.Realtime, room2); err != nil {
		t.Fatalf("claim from a dead node: %v", err)
	}
	// A room nobody holds is placed on a live node.
	room3 := id.New()
	rt, _, err = loc.Locate(ctx, room3)
	if err != nil || (rt != "http://c" && rt != "http://b") {
		t.Fatalf("placement: %q %v", rt, err)
	}
	rt2, _, _ := loc.Locate(ctx, room3)
	if rt2 != rt {
		t.Fatalf("placement not sticky: %q then %q", rt, rt2)
	}
	b.Release(ctx, cluster.Realtime, room2) // not b's any more: no effect
	if err := b.Claim(ctx, cluster.Realtime, room2); !errors.Is(err, cluster.ErrElsewhere) {
		t.Fatalf("release by a non-holder freed the room: %v", err)
	}
	live, err := cluster.LiveNodes(ctx, rdb, cluster.Realtime)
	if err != nil || len(live) < 1 {
		t.Fatalf("live nodes: %v %v", live, err)
	}
}

func TestPresence(t *testing.T) {
	ctx := context.Background()
	p := cluster.NewPresence(redisClient(t))
	r1, r2 := id.New(), id.New()
	if err := p.Publish(ctx, r1, []string{"u1", "u2"}); err != nil {
		t.Fatal(err)
	}
	occ, err := p.Occupancy(ctx, []string{r1, r2})
	if err != nil || occ[r1] != 2 || occ[r2] != 0 {
		t.Fatalf("occupancy: %v %v", occ, err)
	}
	if in, _ := p.IsPresent(ctx, r1, "u2"); !in {
		t.Fatal("u2 not present")
	}
	if err := p.Publish(ctx, r1, []string{"u1"}); err != nil {
		t.Fatal(err)
	}
	if in, _ := p.IsPresent(ctx, r1, "u2"); in {
		t.Fatal("u2 still present")
	}
	if err := p.Publish(ctx, r1, nil); err != nil {
		t.Fatal(err)
	}
	occ, _ = p.Occupancy(ctx, []string{r1})
	if occ[r1] != 0 {
		t.Fatalf("empty room occupancy %v", occ)
	}
}
