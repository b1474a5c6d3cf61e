// Package sqlite is the embedded store backend: one SQLite file in WAL mode,
// through the pure-Go modernc.org/sqlite driver (no cgo). Import it for its
// side effect of registering the "sqlite" store URL scheme:
//
//	sqlite:///var/lib/tajo/tajo.db   (absolute path)
//	sqlite:tajo.db                   (relative to the working directory)
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/tajo/terraform-provider-tajo/agent/store"
	"github.com/tajo/terraform-provider-tajo/agent/store/sqlstore"
)

func init() {
	store.Register(func(ctx context.Context, u *url.URL) (store.Store, error) {
		path, err := PathOf(u)
		if err != nil {
			return nil, err
		}
		return Open(ctx, path)
	}, "sqlite", "sqlite3")
}

// DefaultBusyTimeout is how long a writer waits for another process (the
// provider applying while the agent writes status) before giving up.
const DefaultBusyTimeout = 30 * time.Second

// PathOf extracts the file path from a sqlite store URL.
func PathOf(u *url.URL) (string, error) {
	var p string
	switch {
	case u.Opaque != "":
		p = u.Opaque
	case u.Host != "" && u.Host != "localhost":
		// sqlite://relative/path — an easy slip for sqlite:///absolute.
		return "", fmt.Errorf("store URL %q: the host part must be empty; write sqlite:///absolute/path/tajo.db or sqlite:relative/tajo.db", u.String())
	default:
		p = u.Path
	}
	if p == "" {
		return "", errors.New("store URL has no file path; write sqlite:///var/lib/tajo/tajo.db")
	}
	return p, nil
}

// Open opens (creating when absent) the store file at path and migrates it.
func Open(ctx context.Context, path string) (*sqlstore.Store, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create store directory: %w", err)
		}
	}
	// The store holds contact emails and ids: keep it private to the user.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open store file: %w", err)
	}
	_ = f.Close()

	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", DefaultBusyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(ON)")
	q.Set("_txlock", "immediate")
	dsn := "file:" + path + "?" + q.Encode()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, explain(path, err)
	}
	s, err := sqlstore.Open(ctx, db, Dialect)
	if err != nil {
		db.Close()
		return nil, explain(path, err)
	}
	return s, nil
}

// explain turns SQLite's terse errors about foreign files into advice.
func explain(path string, err error) error {
	msg := err.Error()
	if strings.Contains(msg, "file is not a database") || strings.Contains(msg, "database disk image is malformed") {
		return fmt.Errorf("store file %s is not a usable SQLite database (corrupted, or another kind of file): %w; "+
			"restore it from a backup or point the store URL at a new file", path, err)
	}
	return fmt.Errorf("store %s: %w", path, err)
}

// Dialect is SQLite's contribution to sqlstore.
var Dialect = sqlstore.Dialect{
	Name:  "sqlite",
	Types: map[string]string{"BYTES": "BLOB", "SERIAL_PK": "INTEGER PRIMARY KEY AUTOINCREMENT"},
	ForeignTables: func(ctx context.Context, db *sql.DB) ([]string, error) {
		rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`)
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
}
