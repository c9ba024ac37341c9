// Package store is Hearth's database: one SQL implementation over
// database/sql that runs on SQLite (modernc.org/sqlite, the embedded default)
// and PostgreSQL (pgx), with one set of goose migrations. Queries are written
// with ? placeholders and rebound for PostgreSQL. Methods return *errs.Error
// with NotFound or Conflict codes where the caller can act on them.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/hearth-space/hearth/internal/errs"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Dialect names the database flavour.
type Dialect string

// Supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DB is Hearth's database handle.
type DB struct {
	db      *sql.DB
	dialect Dialect
	now     func() time.Time
}

// Options tune Open.
type Options struct {
	// Now replaces the clock, for tests. Defaults to time.Now.
	Now func() time.Time
	// MaxOpenConns caps the pool (PostgreSQL; SQLite uses its own default).
	MaxOpenConns int
}

// Open connects to the database named by url: "" means a SQLite file in
// dataDir, postgres:// or postgresql:// means PostgreSQL, and sqlite:<path>
// names a SQLite file explicitly. It does not migrate; call Migrate.
func Open(ctx context.Context, url, dataDir string, opts Options) (*DB, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	var (
		db      *sql.DB
		dialect Dialect
		err     error
	)
	switch {
	case url == "" || strings.HasPrefix(url, "sqlite:"):
		path := strings.TrimPrefix(strings.TrimPrefix(url, "sqlite:"), "//")
		if path == "" {
			if err := os.MkdirAll(dataDir, 0o750); err != nil {
				return nil, fmt.Errorf("create data dir: %w", err)
			}
			path = filepath.Join(dataDir, "hearth.db")
		}
		// WAL lets readers run beside the writer; the busy timeout makes
		// writers queue instead of failing; immediate transactions take the
		// write lock up front so two read-then-write transactions cannot
		// deadlock on lock upgrade.
		dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)" +
			"&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
		db, err = sql.Open("sqlite", dsn)
		dialect = SQLite
		if err == nil {
			db.SetMaxOpenConns(8)
			db.SetConnMaxIdleTime(5 * time.Minute)
		}
	case strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://"):
		db, err = sql.Open("pgx", url)
		dialect = Postgres
		if err == nil {
			n := opts.MaxOpenConns
			if n <= 0 {
				n = 20
			}
			db.SetMaxOpenConns(n)
			db.SetMaxIdleConns(n / 2)
			db.SetConnMaxIdleTime(5 * time.Minute)
			db.SetConnMaxLifetime(time.Hour)
		}
	default:
		return nil, fmt.Errorf("database url: unsupported scheme (want postgres:// or sqlite:)")
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", dialect, err)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("connect to %s: %w", dialect, err)
	}
	return &DB{db: db, dialect: dialect, now: opts.Now}, nil
}

// Close closes the pool.
func (s *DB) Close() error { return s.db.Close() }

// Dialect reports which database this is.
func (s *DB) Dialect() Dialect { return s.dialect }

// Ping checks the database is reachable (for /readyz).
func (s *DB) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// Migrate applies every pending migration. On PostgreSQL a session advisory
// lock makes concurrent start-ups of several nodes safe.
func (s *DB) Migrate(ctx context.Context) ([]string, error) {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	var popts []goose.ProviderOption
	dialect := goose.DialectSQLite3
	if s.dialect == Postgres {
		dialect = goose.DialectPostgres
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return nil, err
		}
		popts = append(popts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(dialect, s.db, sub, popts...)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	applied := make([]string, 0, len(results))
	for _, r := range results {
		applied = append(applied, r.Source.Path)
	}
	return applied, nil
}

// rebind rewrites ? placeholders as $1, $2, … for PostgreSQL. Queries in this
// package never contain a literal question mark.
func (s *DB) rebind(q string) string {
	if s.dialect != Postgres {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 8)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// querier is what both *sql.DB and *sql.Tx offer.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Tx runs fn in a transaction, committing when it returns nil.
func (s *DB) tx(ctx context.Context, fn func(q querier) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", mapErr(err))
	}
	return nil
}

func (s *DB) exec(ctx context.Context, q querier, query string, args ...any) (sql.Result, error) {
	res, err := q.ExecContext(ctx, s.rebind(query), args...)
	return res, mapErr(err)
}

func (s *DB) queryRow(ctx context.Context, q querier, query string, args ...any) *sql.Row {
	return q.QueryRowContext(ctx, s.rebind(query), args...)
}

func (s *DB) query(ctx context.Context, q querier, query string, args ...any) (*sql.Rows, error) {
	rows, err := q.QueryContext(ctx, s.rebind(query), args...)
	return rows, mapErr(err)
}

// column runs a query whose rows are one string each.
func (s *DB) column(ctx context.Context, query string, args ...any) ([]string, error) {
	rows, err := s.query(ctx, s.db, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// mapErr turns constraint violations into coded errors; everything else is
// wrapped unchanged.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	var serr *sqlite.Error
	if errors.As(err, &serr) {
		switch serr.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return errs.Wrap(errs.Conflict, err, "already exists")
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return errs.Wrap(errs.NotFound, err, "a referenced record does not exist")
		}
	}
	var perr *pgconn.PgError
	if errors.As(err, &perr) {
		switch perr.Code {
		case "23505":
			return errs.Wrap(errs.Conflict, err, "already exists")
		case "23503":
			return errs.Wrap(errs.NotFound, err, "a referenced record does not exist")
		}
	}
	return err
}

// notFound maps sql.ErrNoRows to a NotFound error naming what was missing.
func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return errs.Wrap(errs.NotFound, err, "%s not found", what)
	}
	return mapErr(err)
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

func fromNullMS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMS(v.Int64)
}
