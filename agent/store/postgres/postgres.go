// Package postgres is the store backend for teams that plan in CI runners
// and run several agents: a PostgreSQL database, through pgx's database/sql
// adapter, served by the shared implementation in sqlstore. Import it for
// its side effect of registering the "postgres" and "postgresql" store URL
// schemes:
//
//	postgres://tajo:secret@db.internal:5432/tajo?sslmode=verify-full&sslrootcert=/etc/tajo/ca.pem
//	postgres:///tajo?host=/var/run/postgresql   (unix socket)
//
// Besides pgx's own parameters (passed through unchanged) the URL takes the
// settings of Options: pool_max_conns, pool_max_idle_conns,
// pool_max_conn_lifetime, pool_max_conn_idle_time and statement_timeout.
// The tables live in the first schema of the search_path; add
// search_path=tajo to keep them in a schema of their own.
//
// Writes of configuration documents notify channel "tajo_revision" in the
// same transaction, and Store.WatchRevisions listens to it, so agents
// reload within a second of terraform apply.
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/tajo/terraform-provider-tajo/agent/store"
	"github.com/tajo/terraform-provider-tajo/agent/store/sqlstore"
)

func init() {
	store.Register(func(ctx context.Context, u *url.URL) (store.Store, error) {
		return openURL(ctx, u)
	}, "postgres", "postgresql")
}

// Channel is the LISTEN/NOTIFY channel that carries new revisions; the
// payload is the revision in decimal.
const Channel = "tajo_revision"

// MigrationLockKey is the pg_advisory_xact_lock key that serialises
// migrations of one database across processes ("tajomigr" in ASCII).
// Advisory locks are per database, so stores in different databases of
// one server do not wait for each other.
const MigrationLockKey int64 = 0x74616a6f_6d696772

// Store is a PostgreSQL store: the shared SQL implementation plus a
// revision watcher.
type Store struct {
	*sqlstore.Store

	// cfg is the parsed connection configuration; watchers open their own
	// connections from copies of it.
	cfg     *pgx.ConnConfig
	opts    Options
	secrets []string

	mu sync.Mutex // orders Watch's start against Close
	// closing ends the watchers when the store is closed.
	closing context.Context
	stop    context.CancelFunc
	watches sync.WaitGroup
}

var (
	_ store.Store   = (*Store)(nil)
	_ store.Watcher = (*Store)(nil)
)

// Open opens the store at a postgres:// URL and migrates it. Errors never
// contain the password.
func Open(ctx context.Context, rawURL string) (*Store, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("store URL %s is not a URL", store.Redact(rawURL))
	}
	return openURL(ctx, u)
}

func openURL(ctx context.Context, u *url.URL) (*Store, error) {
	secrets := secretsOf(u)
	shown := store.Redact(u.String())
	connString, opts, err := splitURL(u)
	if err != nil {
		return nil, redact(err, secrets)
	}
	cfg, err := pgx.ParseConfig(connString)
	if err != nil {
		return nil, redact(fmt.Errorf("store URL %s: %w", shown, err), secrets)
	}
	cfg.RuntimeParams["statement_timeout"] = strconv.FormatInt(timeoutMillis(opts), 10)
	if cfg.RuntimeParams["application_name"] == "" {
		cfg.RuntimeParams["application_name"] = DefaultApplicationName
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}

	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(opts.MaxConns)
	db.SetMaxIdleConns(opts.MaxIdleConns)
	db.SetConnMaxLifetime(opts.MaxConnLifetime)
	db.SetConnMaxIdleTime(opts.MaxConnIdleTime)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, redact(fmt.Errorf("connect to store %s: %w", shown, err), secrets)
	}
	inner, err := sqlstore.Open(ctx, db, Dialect)
	if err != nil {
		db.Close()
		return nil, redact(fmt.Errorf("store %s: %w", shown, err), secrets)
	}
	closing, stop := context.WithCancel(context.Background())
	return &Store{Store: inner, cfg: cfg, opts: opts, secrets: secrets, closing: closing, stop: stop}, nil
}

// timeoutMillis is the statement_timeout sent to the server; a positive
// timeout below a millisecond rounds up rather than to "disabled".
func timeoutMillis(o Options) int64 {
	ms := o.StatementTimeout.Milliseconds()
	if ms == 0 && o.StatementTimeout > 0 {
		ms = 1
	}
	return ms
}

// Options returns the settings the store was opened with.
func (s *Store) Options() Options { return s.opts }

// Close stops the watchers and closes the connection pool.
func (s *Store) Close() error {
	s.mu.Lock()
	s.stop()
	s.mu.Unlock()
	s.watches.Wait()
	return s.Store.Close()
}

// Dialect is PostgreSQL's contribution to sqlstore.
var Dialect = sqlstore.Dialect{
	Name:     "postgres",
	Numbered: true,
	Types:    map[string]string{"BYTES": "BYTEA"},
	// A transaction-scoped advisory lock: two agents starting together on a
	// new database migrate it once; the second waits, then finds the
	// schema current. The lock goes with the transaction, also when the
	// process dies.
	LockMigrations: func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, MigrationLockKey)
		return err
	},
	// Relations of the schema the store creates its tables in (the first
	// of search_path), whoever owns them.
	ForeignTables: func(ctx context.Context, db *sql.DB) ([]string, error) {
		rows, err := db.QueryContext(ctx, `SELECT c.relname FROM pg_catalog.pg_class c
			JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'f')`)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var names []string
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				return nil, err
			}
			names = append(names, n)
		}
		return names, rows.Err()
	},
	// Delivered to listeners when (and only if) the transaction commits.
	Notify: func(ctx context.Context, tx *sql.Tx, revision int64) error {
		_, err := tx.ExecContext(ctx, `SELECT pg_notify($1, $2)`, Channel, strconv.FormatInt(revision, 10))
		return err
	},
}

// secretsOf lists the forms in which the URL's password could appear in
// a message: as written and decoded.
func secretsOf(u *url.URL) []string {
	var pws []string
	if pw, ok := u.User.Password(); ok && pw != "" {
		pws = append(pws, pw)
	}
	if pw := u.Query().Get("password"); pw != "" {
		pws = append(pws, pw)
	}
	var out []string
	for _, pw := range pws {
		out = append(out, pw, url.QueryEscape(pw), url.PathEscape(pw), url.UserPassword("", pw).String())
	}
	return out
}

// redactedError carries the message of an error with the password replaced,
// and still unwraps to it, so errors.Is and errors.As keep working.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redact replaces every occurrence of a secret in err's message. pgx does
// not put passwords in its messages; this makes sure none of ours, nor a
// future pgx message, does.
func redact(err error, secrets []string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	changed := false
	for _, s := range secrets {
		if len(s) > 1 && strings.Contains(msg, s) {
			msg = strings.ReplaceAll(msg, s, "xxxxx")
			changed = true
		}
	}
	if !changed {
		return err
	}
	return &redactedError{msg: msg, err: err}
}

// errClosed is returned by WatchRevisions on a closed store.
var errClosed = errors.New("store is closed")
