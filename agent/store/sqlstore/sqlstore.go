// Package sqlstore implements store.Store once, on database/sql, for every
// SQL backend. A Dialect supplies what differs: placeholders, column types,
// locking and change notification.
package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tajo/terraform-provider-tajo/agent/store"
)

// Dialect is what a backend contributes.
type Dialect struct {
	// Name is the backend name ("sqlite", "postgres").
	Name string
	// Numbered placeholders ($1, $2, …) instead of '?'.
	Numbered bool
	// Types replaces the type words of the migration files: BYTES, SERIAL.
	Types map[string]string
	// LockMigrations serialises migrations across processes (inside tx).
	LockMigrations func(ctx context.Context, tx *sql.Tx) error
	// ForeignTables lists tables in the target database; when some exist
	// but schema_version does not, the database belongs to something else.
	ForeignTables func(ctx context.Context, db *sql.DB) ([]string, error)
	// Notify is called inside the transaction that bumped the revision.
	Notify func(ctx context.Context, tx *sql.Tx, revision int64) error
	// ForUpdate locks the rows a transaction reads to decide on them
	// (" FOR UPDATE"); SQLite's write transactions are serial already.
	ForUpdate string
	// ForKeyShare locks a row against deletion and key changes only, not
	// against updates of its other columns (PostgreSQL: FOR KEY SHARE):
	// fenced batches hold it on the lease row, so renewals never wait for
	// them while a takeover (FOR UPDATE) does.
	ForKeyShare string
	// ClaimSuffix ends the query that claims inbox deliveries, e.g.
	// " FOR UPDATE SKIP LOCKED" where concurrent claimers must not wait
	// on each other's rows.
	ClaimSuffix string
}

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the migration scripts in order; script i brings the
// schema to version i+1.
func Migrations() ([]string, error) {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	out := make([]string, 0, len(names))
	for _, n := range names {
		b, err := migrationFiles.ReadFile(n)
		if err != nil {
			return nil, err
		}
		out = append(out, string(b))
	}
	return out, nil
}

// LatestSchema is the schema version this binary writes.
func LatestSchema() int {
	m, _ := Migrations()
	return len(m)
}

// Store is the shared SQL implementation of store.Store.
type Store struct {
	DB      *sql.DB
	dialect Dialect
	// OnClose runs after the database is closed (e.g. stop a listener).
	OnClose func()
}

var _ store.Store = (*Store)(nil)

// Open migrates db and returns the store over it.
func Open(ctx context.Context, db *sql.DB, d Dialect) (*Store, error) {
	s := &Store{DB: db, dialect: d}
	if err := s.migrate(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Q rewrites '?' placeholders for the dialect. Queries never contain '?'
// inside literals.
func (s *Store) Q(q string) string {
	if !s.dialect.Numbered {
		return q
	}
	var b strings.Builder
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

func (s *Store) migrate(ctx context.Context) error {
	scripts, err := Migrations()
	if err != nil {
		return fmt.Errorf("read migrations: %w", err)
	}
	if s.dialect.ForeignTables != nil {
		tables, err := s.dialect.ForeignTables(ctx, s.DB)
		if err != nil {
			return fmt.Errorf("inspect store: %w", err)
		}
		if len(tables) > 0 && !contains(tables, "schema_version") {
			sort.Strings(tables)
			if len(tables) > 5 {
				tables = append(tables[:5], "…")
			}
			return fmt.Errorf("%w: the database holds tables (%s) but no Tajo schema; point the store URL at a new file or an empty database", store.ErrForeign, strings.Join(tables, ", "))
		}
	}
	return s.WithTx(ctx, func(tx *sql.Tx) error {
		if s.dialect.LockMigrations != nil {
			if err := s.dialect.LockMigrations(ctx, tx); err != nil {
				return fmt.Errorf("lock migrations: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
			return fmt.Errorf("create schema_version: %w", err)
		}
		var version int
		err := tx.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&version)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (0)`); err != nil {
				return fmt.Errorf("init schema_version: %w", err)
			}
		case err != nil:
			return fmt.Errorf("read schema version: %w", err)
		}
		if version > len(scripts) {
			return fmt.Errorf("%w: the store is at schema version %d, this binary knows up to %d; upgrade tajo-agent and the tajo provider to the same release", store.ErrSchemaTooNew, version, len(scripts))
		}
		for i := version; i < len(scripts); i++ {
			for _, stmt := range statements(s.typed(scripts[i])) {
				if _, err := tx.ExecContext(ctx, stmt); err != nil {
					return fmt.Errorf("migrate to schema version %d: %w", i+1, err)
				}
			}
		}
		if _, err := tx.ExecContext(ctx, s.Q(`UPDATE schema_version SET version = ?`), len(scripts)); err != nil {
			return fmt.Errorf("record schema version: %w", err)
		}
		return nil
	})
}

func (s *Store) typed(script string) string {
	for word, typ := range s.dialect.Types {
		script = strings.ReplaceAll(script, word, typ)
	}
	return script
}

// statements splits a script at semicolons that end a line and drops
// comment-only lines.
func statements(script string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(script, "\n") {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(t, ";") {
			out = append(out, strings.TrimSpace(cur.String()))
			cur.Reset()
		}
	}
	if strings.TrimSpace(cur.String()) != "" {
		out = append(out, strings.TrimSpace(cur.String()))
	}
	return out
}

func contains(vs []string, v string) bool {
	for _, x := range vs {
		if x == v {
			return true
		}
	}
	return false
}

// WithTx runs fn in a transaction, committing when it returns nil.
func (s *Store) WithTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.DB.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// Backend names the dialect.
func (s *Store) Backend() string { return s.dialect.Name }

// Close closes the database.
func (s *Store) Close() error {
	err := s.DB.Close()
	if s.OnClose != nil {
		s.OnClose()
	}
	return err
}

// SchemaVersion reads the migration level.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	if err := s.DB.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&v); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}

func now() int64 { return time.Now().UnixMicro() }

func fromMicros(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

func (s *Store) bumpRevision(ctx context.Context, tx *sql.Tx) (int64, error) {
	var rev int64
	if err := tx.QueryRowContext(ctx, `UPDATE revision SET value = value + 1 WHERE id = 1 RETURNING value`).Scan(&rev); err != nil {
		return 0, fmt.Errorf("bump revision: %w", err)
	}
	if s.dialect.Notify != nil {
		if err := s.dialect.Notify(ctx, tx, rev); err != nil {
			return 0, fmt.Errorf("notify revision: %w", err)
		}
	}
	return rev, nil
}

func (s *Store) currentVersion(ctx context.Context, tx *sql.Tx, kind, id string) (int64, bool, error) {
	var v int64
	err := tx.QueryRowContext(ctx, s.Q(`SELECT version FROM documents WHERE kind = ? AND id = ?`), kind, id).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	return v, err == nil, err
}

func checkVersion(kind, id string, cur int64, exists bool, expect int64) error {
	switch {
	case expect == store.MustNotExist && exists:
		return fmt.Errorf("%s %q already exists: %w", kind, id, store.ErrConflict)
	case expect == store.AnyVersion, expect == store.MustNotExist:
		return nil
	case !exists:
		return fmt.Errorf("%s %q: %w", kind, id, store.ErrNotFound)
	case cur != expect:
		return fmt.Errorf("%s %q changed in the store (version %d, expected %d): %w", kind, id, cur, expect, store.ErrConflict)
	}
	return nil
}

// PutDocument implements store.Store.
func (s *Store) PutDocument(ctx context.Context, doc store.Document, expect int64) (store.Document, error) {
	if !json.Valid(doc.Body) {
		return store.Document{}, fmt.Errorf("put %s %q: body is not JSON", doc.Kind, doc.ID)
	}
	err := s.WithTx(ctx, func(tx *sql.Tx) error {
		rev, err := s.bumpRevision(ctx, tx)
		if err != nil {
			return err
		}
		cur, exists, err := s.currentVersion(ctx, tx, doc.Kind, doc.ID)
		if err != nil {
			return err
		}
		if err := checkVersion(doc.Kind, doc.ID, cur, exists, expect); err != nil {
			return err
		}
		ts := now()
		doc.Version, doc.Revision, doc.UpdatedAt = cur+1, rev, fromMicros(ts)
		_, err = tx.ExecContext(ctx, s.Q(`INSERT INTO documents (kind, id, connector_id, version, revision, body, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (kind, id) DO UPDATE SET connector_id = excluded.connector_id, version = excluded.version,
				revision = excluded.revision, body = excluded.body, updated_at = excluded.updated_at`),
			doc.Kind, doc.ID, doc.ConnectorID, doc.Version, rev, string(doc.Body), ts, ts)
		return err
	})
	if err != nil {
		if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
			return store.Document{}, err
		}
		return store.Document{}, fmt.Errorf("put %s %q: %w", doc.Kind, doc.ID, err)
	}
	return doc, nil
}

// GetDocument implements store.Store.
func (s *Store) GetDocument(ctx context.Context, kind, id string) (store.Document, error) {
	row := s.DB.QueryRowContext(ctx, s.Q(`SELECT kind, id, connector_id, version, revision, body, updated_at FROM documents WHERE kind = ? AND id = ?`), kind, id)
	d, err := scanDocument(row)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Document{}, fmt.Errorf("%s %q: %w", kind, id, store.ErrNotFound)
	}
	if err != nil {
		return store.Document{}, fmt.Errorf("get %s %q: %w", kind, id, err)
	}
	return d, nil
}

type scanner interface{ Scan(...any) error }

func scanDocument(r scanner) (store.Document, error) {
	var d store.Document
	var body string
	var updated int64
	if err := r.Scan(&d.Kind, &d.ID, &d.ConnectorID, &d.Version, &d.Revision, &body, &updated); err != nil {
		return d, err
	}
	d.Body, d.UpdatedAt = json.RawMessage(body), fromMicros(updated)
	return d, nil
}

// DeleteDocument implements store.Store.
func (s *Store) DeleteDocument(ctx context.Context, kind, id string, expect int64) error {
	err := s.WithTx(ctx, func(tx *sql.Tx) error {
		if _, err := s.bumpRevision(ctx, tx); err != nil {
			return err
		}
		cur, exists, err := s.currentVersion(ctx, tx, kind, id)
		if err != nil {
			return err
		}
		if !exists {
			return fmt.Errorf("%s %q: %w", kind, id, store.ErrNotFound)
		}
		if expect > 0 && cur != expect {
			return checkVersion(kind, id, cur, exists, expect)
		}
		_, err = tx.ExecContext(ctx, s.Q(`DELETE FROM documents WHERE kind = ? AND id = ?`), kind, id)
		return err
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("delete %s %q: %w", kind, id, err)
	}
	return err
}

// ListDocuments implements store.Store.
func (s *Store) ListDocuments(ctx context.Context, opts store.ListOptions) ([]store.Document, error) {
	q := `SELECT kind, id, connector_id, version, revision, body, updated_at FROM documents WHERE 1 = 1`
	var args []any
	if opts.Kind != "" {
		q += ` AND kind = ?`
		args = append(args, opts.Kind)
	}
	if opts.ConnectorID != "" {
		q += ` AND connector_id = ?`
		args = append(args, opts.ConnectorID)
	}
	rows, err := s.DB.QueryContext(ctx, s.Q(q+` ORDER BY kind, id`), args...)
	if err != nil {
		return nil, fmt.Errorf("list documents: %w", err)
	}
	defer rows.Close()
	var out []store.Document
	for rows.Next() {
		d, err := scanDocument(rows)
		if err != nil {
			return nil, fmt.Errorf("list documents: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list documents: %w", err)
	}
	// ORDER BY follows the database's collation: bytewise in SQLite, often
	// linguistic in PostgreSQL (en_US: "a_b" before "aZ" before "B").
	// Sort bytewise here so every backend lists in the same order.
	slices.SortFunc(out, func(a, b store.Document) int {
		return cmp.Or(strings.Compare(a.Kind, b.Kind), strings.Compare(a.ID, b.ID))
	})
	return out, nil
}

// Revision implements store.Store.
func (s *Store) Revision(ctx context.Context) (int64, error) {
	var rev int64
	if err := s.DB.QueryRowContext(ctx, `SELECT value FROM revision WHERE id = 1`).Scan(&rev); err != nil {
		return 0, fmt.Errorf("read revision: %w", err)
	}
	return rev, nil
}

// PutStatus implements store.Store.
func (s *Store) PutStatus(ctx context.Context, st store.Status) error {
	if st.UpdatedAt.IsZero() {
		st.UpdatedAt = time.Now().UTC()
	}
	body, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("encode status of %q: %w", st.ConnectorID, err)
	}
	_, err = s.DB.ExecContext(ctx, s.Q(`INSERT INTO status (connector_id, body, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (connector_id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at`),
		st.ConnectorID, string(body), st.UpdatedAt.UnixMicro())
	if err != nil {
		return fmt.Errorf("put status of %q: %w", st.ConnectorID, err)
	}
	return nil
}

// GetStatus implements store.Store.
func (s *Store) GetStatus(ctx context.Context, connectorID string) (store.Status, error) {
	var body string
	err := s.DB.QueryRowContext(ctx, s.Q(`SELECT body FROM status WHERE connector_id = ?`), connectorID).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Status{}, fmt.Errorf("status of %q: %w", connectorID, store.ErrNotFound)
	}
	if err != nil {
		return store.Status{}, fmt.Errorf("get status of %q: %w", connectorID, err)
	}
	var st store.Status
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		return store.Status{}, fmt.Errorf("status of %q in the store is not valid: %w", connectorID, err)
	}
	return st, nil
}

// GetCheckpoint implements store.Store.
func (s *Store) GetCheckpoint(ctx context.Context, connectorID, name string) ([]byte, error) {
	var v []byte
	err := s.DB.QueryRowContext(ctx, s.Q(`SELECT value FROM checkpoints WHERE connector_id = ? AND name = ?`), connectorID, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("checkpoint %s of %q: %w", name, connectorID, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get checkpoint %s of %q: %w", name, connectorID, err)
	}
	return v, nil
}

// PutCheckpoint implements store.Store.
func (s *Store) PutCheckpoint(ctx context.Context, connectorID, name string, value []byte) error {
	if value == nil {
		value = []byte{}
	}
	_, err := s.DB.ExecContext(ctx, s.Q(`INSERT INTO checkpoints (connector_id, name, value, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (connector_id, name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`),
		connectorID, name, value, now())
	if err != nil {
		return fmt.Errorf("put checkpoint %s of %q: %w", name, connectorID, err)
	}
	return nil
}

// DeleteCheckpoint implements store.Store.
func (s *Store) DeleteCheckpoint(ctx context.Context, connectorID, name string) error {
	if _, err := s.DB.ExecContext(ctx, s.Q(`DELETE FROM checkpoints WHERE connector_id = ? AND name = ?`), connectorID, name); err != nil {
		return fmt.Errorf("delete checkpoint %s of %q: %w", name, connectorID, err)
	}
	return nil
}

// runtimeTables hold the agent's per-connector state.
var runtimeTables = []string{"status", "checkpoints", "links", "pending", "members", "failures", "inbox", "conversations", "events", "leases"}

// PurgeConnector implements store.Store.
func (s *Store) PurgeConnector(ctx context.Context, connectorID string) error {
	return s.WithTx(ctx, func(tx *sql.Tx) error {
		for _, t := range runtimeTables {
			if _, err := tx.ExecContext(ctx, s.Q(`DELETE FROM `+t+` WHERE connector_id = ?`), connectorID); err != nil {
				return fmt.Errorf("purge %s of %q: %w", t, connectorID, err)
			}
		}
		return nil
	})
}

// SQL exposes the database handle to backend tests.
func (s *Store) SQL() *sql.DB { return s.DB }
