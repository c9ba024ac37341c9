// Package storetest opens real, migrated databases for tests: a SQLite file
// in the test's temp dir, and a throwaway schema on the machine's
// PostgreSQL, so one suite runs against both dialects.
package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hearth-space/hearth/internal/id"
	"github.com/hearth-space/hearth/internal/store"
	"github.com/hearth-space/hearth/internal/testenv"
)

// Dialects are the databases every store test runs on.
func Dialects() []store.Dialect { return []store.Dialect{store.SQLite, store.Postgres} }

// Open returns a migrated database of the given dialect that lives as long
// as the test. now may be nil.
func Open(tb testing.TB, d store.Dialect, now func() time.Time) *store.DB {
	tb.Helper()
	url := URL(tb, d)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := store.Open(ctx, url, tb.TempDir(), store.Options{Now: now, MaxOpenConns: 8})
	if err != nil {
		tb.Fatalf("open %s: %v", d, err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		tb.Fatalf("migrate %s: %v", d, err)
	}
	return db
}

// URL returns a database URL for a fresh, empty database of dialect d: a
// SQLite file in the test's temp dir, or a new PostgreSQL schema dropped
// when the test ends.
func URL(tb testing.TB, d store.Dialect) string {
	tb.Helper()
	if d == store.SQLite {
		return "sqlite:" + tb.TempDir() + "/test.db"
	}
	testenv.NeedPostgres(tb)
	base := testenv.PostgresURL()
	schema := "t_" + id.Random(8)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		tb.Fatalf("postgres: %v", err)
	}
	defer admin.Close()
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		tb.Fatalf("postgres: create schema: %v", err)
	}
	tb.Cleanup(func() {
		c, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = c.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
	})
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return fmt.Sprintf("%s%ssearch_path=%s", base, sep, schema)
}
