// Package testenv gives tests the machine's real PostgreSQL and Redis,
// starting them when they are down rather than skipping: a test that needs
// a service either gets it or fails loudly.
package testenv

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// PostgresURL is the server tests use; HEARTH_TEST_POSTGRES_URL overrides.
func PostgresURL() string {
	if u := os.Getenv("HEARTH_TEST_POSTGRES_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// RedisURL is the server tests use; HEARTH_TEST_REDIS_URL overrides.
func RedisURL() string {
	if u := os.Getenv("HEARTH_TEST_REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

var (
	pgOnce, redisOnce sync.Once
	pgErr, redisErr   string
)

// NeedPostgres makes sure PostgreSQL accepts connections on 127.0.0.1:5432,
// starting the machine's cluster if it is down.
func NeedPostgres(tb testing.TB) {
	tb.Helper()
	pgOnce.Do(func() {
		pgErr = ensure("127.0.0.1:5432", func() error {
			versions, _ := filepath.Glob("/etc/postgresql/*")
			if len(versions) == 0 {
				return exec.ErrNotFound
			}
			return exec.Command("pg_ctlcluster", "--skip-systemctl-redirect", filepath.Base(versions[0]), "main", "start").Run()
		})
	})
	if pgErr != "" {
		tb.Fatalf("PostgreSQL is not available and could not be started: %s", pgErr)
	}
}

// NeedRedis makes sure Redis accepts connections on 127.0.0.1:6379,
// starting a throwaway server if it is down.
func NeedRedis(tb testing.TB) {
	tb.Helper()
	redisOnce.Do(func() {
		redisErr = ensure("127.0.0.1:6379", func() error {
			return exec.Command("redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "--port", "6379",
				"--save", "", "--appendonly", "no").Run()
		})
	})
	if redisErr != "" {
		tb.Fatalf("Redis is not available and could not be started: %s", redisErr)
	}
}

// ensure dials addr, runs start when nothing answers, and waits up to 30 s.
func ensure(addr string, start func() error) string {
	if dial(addr) {
		return ""
	}
	if err := start(); err != nil {
		return "start: " + err.Error()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		if dial(addr) {
			return ""
		}
		time.Sleep(200 * time.Millisecond)
	}
	return strings.TrimSpace("nothing listens on " + addr + " after starting it")
}

func dial(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	_ = c.Close()
	return true
}
