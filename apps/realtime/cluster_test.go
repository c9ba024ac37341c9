package realtime_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/hearth-space/hearth/apps/realtime"
	"github.com/hearth-space/hearth/internal/auth"
	"github.com/hearth-space/hearth/internal/cluster"
	"github.com/hearth-space/hearth/internal/id"
	"github.com/hearth-space/hearth/internal/obs"
	"github.com/hearth-space/hearth/internal/testenv"
	rtv1 "github.com/hearth-space/hearth/packages/shared/gen/go/hearth/realtime/v1"
)

// TestRoomLivesOnOneNode: with two gateways sharing Redis, the first to
// serve a room holds it; the other sends clients back to the API (4012),
// and presence is published for API nodes to read.
func TestRoomLivesOnOneNode(t *testing.T) {
	testenv.NeedRedis(t)
	opts, _ := redis.ParseURL(testenv.RedisURL())
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	ctx := context.Background()

	e := newEnv(t) // node A's store, tokens and bus; we add two clustered gateways
	presence := cluster.NewPresence(rdb)
	gateway := func(name string) (*httptest.Server, func()) {
		reg, err := cluster.NewRegistry(ctx, rdb, obs.Discard(), cluster.Node{ID: name + "-" + id.Random(4), Service: cluster.Realtime, URL: "http://" + name})
		if err != nil {
			t.Fatal(err)
		}
		gw := realtime.New(realtime.Options{Tokens: e.tokens, Store: e.db, Log: obs.Discard(), Registry: prometheus.NewRegistry(),
			Config: e.cfg, Now: e.clk.Now, Cluster: reg, Presence: presence})
		mux := http.NewServeMux()
		mux.Handle("GET /rt", gw)
		srv := httptest.NewServer(mux)
		return srv, func() { gw.Close(); srv.Close(); _ = reg.Close(ctx) }
	}
	srvA, closeA := gateway("a")
	srvB, closeB := gateway("b")
	defer closeB()

	dialTo := func(srv *httptest.Server) *client {
		ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http")+"/rt", nil)
		if err != nil {
			t.Fatal(err)
		}
		c := &client{t: t, e: e, ws: ws, in: make(chan *rtv1.ServerMessage, 256), done: make(chan struct{})}
		t.Cleanup(c.kill)
		return c
	}
	ada, bob := e.user("Ada"), e.user("Bob")
	a := dialTo(srvA)
	a.u = ada
	a.hello(e.token(ada, e.room.ID, auth.AudienceRealtime, time.Minute), "", 0)

	b := dialTo(srvB)
	b.u = bob
	b.start()
	b.send(helloMsg(e.token(bob, e.room.ID, auth.AudienceRealtime, time.Minute)))
	code, bye := b.waitClose()
	if code != 4012 || bye.GetCode() != "room_moved" || bye.GetFinal() {
		t.Fatalf("second node: %d %v", code, bye)
	}
	// Presence reaches Redis for the API.
	deadline := time.Now().Add(10 * time.Second)
	for {
		occ, err := presence.Occupancy(ctx, []string{e.room.ID})
		if err == nil && occ[e.room.ID] == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("presence not published: %v %v", occ, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if in, _ := presence.IsPresent(ctx, e.room.ID, ada.ID); !in {
		t.Fatal("ada not present in Redis")
	}
	// When node A goes, the room can move to B.
	closeA()
	b2 := dialTo(srvB)
	b2.u = bob
	if w := b2.hello(e.token(bob, e.room.ID, auth.AudienceRealtime, time.Minute), "", 0); w.GetRoom() == nil {
		t.Fatalf("room did not move: %v", w)
	}
}
