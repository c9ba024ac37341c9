package ratelimit_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/hearth-space/hearth/internal/ratelimit"
)

func TestKeyed(t *testing.T) {
	now := time.Unix(1000, 0)
	clock := func() time.Time { return now }
	k := ratelimit.NewKeyed(1, 3, clock) // 1/s, burst 3
	for i := range 3 {
		if ok, _ := k.Allow("a"); !ok {
			t.Fatalf("burst token %d refused", i)
		}
	}
	ok, wait := k.Allow("a")
	if ok || wait <= 0 || wait > time.Second {
		t.Fatalf("over burst: ok=%v wait=%v", ok, wait)
	}
	// A refused attempt does not consume: after the wait there is a token.
	if ok, _ := k.Allow("b"); !ok {
		t.Fatal("keys are not independent")
	}
	now = now.Add(wait)
	if ok, _ := k.Allow("a"); !ok {
		t.Fatal("no token after the advertised wait")
	}
	// Idle keys are swept.
	now = now.Add(10 * time.Minute)
	k.Allow("c")
	if n := k.Len(); n != 1 {
		t.Fatalf("idle keys kept: %d", n)
	}
}

func TestKeyedBoundedMemory(t *testing.T) {
	k := ratelimit.NewKeyed(1, 1, nil)
	for i := range 250_000 {
		k.Allow(fmt.Sprint(i))
	}
	if n := k.Len(); n > 100_000 {
		t.Fatalf("%d keys tracked, want at most 100000", n)
	}
}
