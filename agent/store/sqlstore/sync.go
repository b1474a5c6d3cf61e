package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tajo/terraform-provider-tajo/agent/store"
)

func encodeLists(ls []int64) string {
	if len(ls) == 0 {
		return ""
	}
	sorted := append([]int64(nil), ls...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	parts := make([]string, 0, len(sorted))
	for i, l := range sorted {
		if i > 0 && l == sorted[i-1] {
			continue
		}
		parts = append(parts, strconv.FormatInt(l, 10))
	}
	return strings.Join(parts, ",")
}

func decodeLists(s string) ([]int64, error) {
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(s, ",")
	out := make([]int64, len(parts))
	for i, p := range parts {
		n, err := strconv.ParseInt(p, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("list ids %q in the store are not valid", s)
		}
		out[i] = n
	}
	return out, nil
}

func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// stmts prepares statements lazily within one transaction.
type stmts struct {
	s   *Store
	tx  *sql.Tx
	ctx context.Context
	m   map[string]*sql.Stmt
}

func (st *stmts) exec(q string, args ...any) (sql.Result, error) {
	p, ok := st.m[q]
	if !ok {
		var err error
		p, err = st.tx.PrepareContext(st.ctx, st.s.Q(q))
		if err != nil {
			return nil, err
		}
		st.m[q] = p
	}
	return p.ExecContext(st.ctx, args...)
}

func (st *stmts) close() {
	for _, p := range st.m {
		p.Close()
	}
}

// Apply implements store.SyncState.
func (s *Store) Apply(ctx context.Context, connectorID string, b store.Batch) error {
	err := s.WithTx(ctx, func(tx *sql.Tx) error {
		st := &stmts{s: s, tx: tx, ctx: ctx, m: map[string]*sql.Stmt{}}
		defer st.close()
		return s.applyBatch(st, connectorID, b)
	})
	if err != nil {
		return fmt.Errorf("write sync state of %q: %w", connectorID, err)
	}
	return nil
}

func (s *Store) applyBatch(st *stmts, c string, b store.Batch) error {
	if b.Fence != nil {
		if err := s.checkFence(st.ctx, st.tx, c, b.Fence); err != nil {
			return err
		}
	}
	ts := now()
	for _, l := range b.Links {
		data := string(l.Data)
		if _, err := st.exec(`INSERT INTO links (connector_id, kind, intercom_id, brevo_id, email, hash, lists, source_updated_at, data, seen, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (connector_id, kind, intercom_id) DO UPDATE SET brevo_id = excluded.brevo_id, email = excluded.email,
				hash = excluded.hash, lists = excluded.lists, source_updated_at = excluded.source_updated_at, data = excluded.data,
				seen = CASE WHEN excluded.seen > links.seen THEN excluded.seen ELSE links.seen END, updated_at = excluded.updated_at`,
			c, l.Kind, l.IntercomID, l.BrevoID, l.Email, l.Hash, encodeLists(l.Lists), l.SourceUpdatedAt, data, l.Seen, ts); err != nil {
			return fmt.Errorf("link %s %s: %w", l.Kind, l.IntercomID, err)
		}
	}
	if b.Seen != nil {
		for _, id := range b.Seen.IDs {
			if _, err := st.exec(`UPDATE links SET seen = ? WHERE connector_id = ? AND kind = ? AND intercom_id = ? AND seen < ?`,
				b.Seen.Gen, c, b.Seen.Kind, id, b.Seen.Gen); err != nil {
				return fmt.Errorf("mark seen: %w", err)
			}
		}
	}
	for _, k := range b.Unlink {
		if _, err := st.exec(`DELETE FROM links WHERE connector_id = ? AND kind = ? AND intercom_id = ?`, c, k.Kind, k.IntercomID); err != nil {
			return fmt.Errorf("unlink %s %s: %w", k.Kind, k.IntercomID, err)
		}
	}
	for _, p := range b.Enqueue {
		if _, err := st.exec(`INSERT INTO pending (connector_id, kind, intercom_id, payload, version, attempts, not_before, last_error, enqueued_at)
			VALUES (?, ?, ?, ?, 1, 0, 0, '', ?)
			ON CONFLICT (connector_id, kind, intercom_id) DO UPDATE SET payload = excluded.payload, version = pending.version + 1,
				attempts = 0, not_before = 0, last_error = '', in_flight = '', in_flight_at = 0, in_flight_process = 0
			WHERE pending.payload <> excluded.payload`,
			c, p.Kind, p.IntercomID, string(p.Payload), ts); err != nil {
			return fmt.Errorf("enqueue %s %s: %w", p.Kind, p.IntercomID, err)
		}
	}
	for _, p := range b.Done {
		if _, err := st.exec(`DELETE FROM pending WHERE connector_id = ? AND kind = ? AND intercom_id = ? AND version = ?`,
			c, p.Kind, p.IntercomID, p.Version); err != nil {
			return fmt.Errorf("complete %s %s: %w", p.Kind, p.IntercomID, err)
		}
	}
	for _, f := range b.InFlight {
		if _, err := st.exec(`UPDATE pending SET in_flight = ?, in_flight_at = ?, in_flight_process = ?
			WHERE connector_id = ? AND kind = ? AND intercom_id = ? AND version = ?`,
			f.Batch, micros(f.At), f.Process, c, f.Kind, f.IntercomID, f.Version); err != nil {
			return fmt.Errorf("journal %s %s: %w", f.Kind, f.IntercomID, err)
		}
	}
	for _, r := range b.Retry {
		if _, err := st.exec(`UPDATE pending SET attempts = attempts + 1, not_before = ?, last_error = ?, in_flight = '', in_flight_at = 0,
			in_flight_process = 0 WHERE connector_id = ? AND kind = ? AND intercom_id = ? AND version = ?`,
			micros(r.NotBefore), r.Error, c, r.Kind, r.IntercomID, r.Version); err != nil {
			return fmt.Errorf("retry %s %s: %w", r.Kind, r.IntercomID, err)
		}
	}
	if len(b.Members) > 0 {
		contacts := make([]string, 0, len(b.Members))
		for id := range b.Members {
			contacts = append(contacts, id)
		}
		sort.Strings(contacts) // a stable lock order across writers
		for _, contact := range contacts {
			if _, err := st.exec(`DELETE FROM members WHERE connector_id = ? AND contact_id = ?`, c, contact); err != nil {
				return fmt.Errorf("members of %s: %w", contact, err)
			}
			for _, company := range b.Members[contact] {
				if _, err := st.exec(`INSERT INTO members (connector_id, company_id, contact_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
					c, company, contact); err != nil {
					return fmt.Errorf("members of %s: %w", contact, err)
				}
			}
		}
	}
	for _, f := range b.Fail {
		at := f.At
		if at.IsZero() {
			at = time.Now()
		}
		if _, err := st.exec(`INSERT INTO failures (connector_id, kind, intercom_id, reason, attempts, updated_at) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (connector_id, kind, intercom_id) DO UPDATE SET reason = excluded.reason, attempts = excluded.attempts, updated_at = excluded.updated_at`,
			c, f.Kind, f.IntercomID, f.Reason, f.Attempts, at.UnixMicro()); err != nil {
			return fmt.Errorf("record failure of %s %s: %w", f.Kind, f.IntercomID, err)
		}
	}
	for _, k := range b.Clear {
		if _, err := st.exec(`DELETE FROM failures WHERE connector_id = ? AND kind = ? AND intercom_id = ?`, c, k.Kind, k.IntercomID); err != nil {
			return fmt.Errorf("clear failure of %s %s: %w", k.Kind, k.IntercomID, err)
		}
	}
	if err := s.applyConversations(st, c, b); err != nil {
		return err
	}
	names := make([]string, 0, len(b.Checkpoints))
	for n := range b.Checkpoints {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		v := b.Checkpoints[n]
		var err error
		if v == nil {
			_, err = st.exec(`DELETE FROM checkpoints WHERE connector_id = ? AND name = ?`, c, n)
		} else {
			_, err = st.exec(`INSERT INTO checkpoints (connector_id, name, value, updated_at) VALUES (?, ?, ?, ?)
				ON CONFLICT (connector_id, name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, c, n, v, ts)
		}
		if err != nil {
			return fmt.Errorf("checkpoint %s: %w", n, err)
		}
	}
	return nil
}

const linkColumns = `kind, intercom_id, brevo_id, email, hash, lists, source_updated_at, data, seen`

func scanLink(r scanner) (store.Link, error) {
	var l store.Link
	var lists, data string
	if err := r.Scan(&l.Kind, &l.IntercomID, &l.BrevoID, &l.Email, &l.Hash, &lists, &l.SourceUpdatedAt, &data, &l.Seen); err != nil {
		return l, err
	}
	ls, err := decodeLists(lists)
	if err != nil {
		return l, fmt.Errorf("link %s %s: %w", l.Kind, l.IntercomID, err)
	}
	l.Lists = ls
	if data != "" {
		l.Data = json.RawMessage(data)
	}
	return l, nil
}

// maxIn bounds the ids per IN (…) query (SQLite's default variable limit is
// 32766; PostgreSQL's 65535).
const maxIn = 500

// GetLinks implements store.SyncState.
func (s *Store) GetLinks(ctx context.Context, connectorID, kind string, ids []string) (map[string]store.Link, error) {
	out := make(map[string]store.Link, len(ids))
	for start := 0; start < len(ids); start += maxIn {
		chunk := ids[start:min(start+maxIn, len(ids))]
		args := make([]any, 0, len(chunk)+2)
		args = append(args, connectorID, kind)
		for _, id := range chunk {
			args = append(args, id)
		}
		q := `SELECT ` + linkColumns + ` FROM links WHERE connector_id = ? AND kind = ? AND intercom_id IN (` +
			strings.TrimSuffix(strings.Repeat("?, ", len(chunk)), ", ") + `)`
		if err := s.queryLinks(ctx, q, args, func(l store.Link) { out[l.IntercomID] = l }); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *Store) queryLinks(ctx context.Context, q string, args []any, each func(store.Link)) error {
	rows, err := s.DB.QueryContext(ctx, s.Q(q), args...)
	if err != nil {
		return fmt.Errorf("read links: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		l, err := scanLink(rows)
		if err != nil {
			return fmt.Errorf("read links: %w", err)
		}
		each(l)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read links: %w", err)
	}
	return nil
}

// LinksByEmail implements store.SyncState. Emails are written as Intercom
// has them; the lookup compares them lower-cased.
func (s *Store) LinksByEmail(ctx context.Context, connectorID, kind, email string) ([]store.Link, error) {
	var out []store.Link
	err := s.queryLinks(ctx, `SELECT `+linkColumns+` FROM links WHERE connector_id = ? AND kind = ? AND LOWER(email) = ? ORDER BY intercom_id`,
		[]any{connectorID, kind, strings.ToLower(email)}, func(l store.Link) { out = append(out, l) })
	return out, err
}

// ScanLinks implements store.SyncState.
func (s *Store) ScanLinks(ctx context.Context, connectorID string, o store.ScanOptions) ([]store.Link, error) {
	q := `SELECT ` + linkColumns + ` FROM links WHERE connector_id = ? AND kind = ? AND intercom_id > ?`
	args := []any{connectorID, o.Kind, o.After}
	if o.SeenBefore > 0 {
		q += ` AND seen < ?`
		args = append(args, o.SeenBefore)
	}
	limit := o.Limit
	if limit <= 0 {
		limit = 1000
	}
	q += ` ORDER BY intercom_id LIMIT ` + strconv.Itoa(limit)
	var out []store.Link
	err := s.queryLinks(ctx, q, args, func(l store.Link) { out = append(out, l) })
	if err != nil {
		return nil, err
	}
	// Byte order, whatever the database's collation (see ListDocuments).
	sort.Slice(out, func(i, j int) bool { return out[i].IntercomID < out[j].IntercomID })
	return out, nil
}

func (s *Store) count(ctx context.Context, q string, args ...any) (int64, error) {
	var n int64
	if err := s.DB.QueryRowContext(ctx, s.Q(q), args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count: %w", err)
	}
	return n, nil
}

// CountLinks implements store.SyncState.
func (s *Store) CountLinks(ctx context.Context, connectorID, kind string) (int64, error) {
	return s.count(ctx, `SELECT COUNT(*) FROM links WHERE connector_id = ? AND kind = ? AND hash <> ''`, connectorID, kind)
}

// GetPending implements store.SyncState.
func (s *Store) GetPending(ctx context.Context, connectorID, kind string, ids []string) (map[string]store.Pending, error) {
	out := map[string]store.Pending{}
	for start := 0; start < len(ids); start += maxIn {
		chunk := ids[start:min(start+maxIn, len(ids))]
		args := make([]any, 0, len(chunk)+2)
		args = append(args, connectorID, kind)
		for _, id := range chunk {
			args = append(args, id)
		}
		ps, err := s.queryPending(ctx, `SELECT `+pendingColumns+` FROM pending WHERE connector_id = ? AND kind = ? AND intercom_id IN (`+
			strings.TrimSuffix(strings.Repeat("?, ", len(chunk)), ", ")+`)`, args)
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			out[p.IntercomID] = p
		}
	}
	return out, nil
}

const pendingColumns = `kind, intercom_id, payload, version, attempts, not_before, last_error, enqueued_at`

func (s *Store) queryPending(ctx context.Context, q string, args []any) ([]store.Pending, error) {
	rows, err := s.DB.QueryContext(ctx, s.Q(q), args...)
	if err != nil {
		return nil, fmt.Errorf("read pending writes: %w", err)
	}
	defer rows.Close()
	var out []store.Pending
	for rows.Next() {
		var p store.Pending
		var payload string
		var notBefore, enq int64
		if err := rows.Scan(&p.Kind, &p.IntercomID, &payload, &p.Version, &p.Attempts, &notBefore, &p.LastError, &enq); err != nil {
			return nil, fmt.Errorf("read pending writes: %w", err)
		}
		p.Payload, p.NotBefore, p.EnqueuedAt = json.RawMessage(payload), fromMicros(notBefore), fromMicros(enq)
		out = append(out, p)
	}
	return out, rows.Err()
}

// ReadyPending implements store.SyncState.
func (s *Store) ReadyPending(ctx context.Context, connectorID, kind string, at time.Time, limit int) ([]store.Pending, error) {
	return s.queryPending(ctx, `SELECT `+pendingColumns+` FROM pending WHERE connector_id = ? AND kind = ? AND not_before <= ?
		AND in_flight = '' ORDER BY enqueued_at, intercom_id LIMIT `+strconv.Itoa(max(limit, 1)), []any{connectorID, kind, at.UnixMicro()})
}

// CountPending implements store.SyncState.
func (s *Store) CountPending(ctx context.Context, connectorID, kind string) (int64, error) {
	if kind == "" {
		return s.count(ctx, `SELECT COUNT(*) FROM pending WHERE connector_id = ?`, connectorID)
	}
	return s.count(ctx, `SELECT COUNT(*) FROM pending WHERE connector_id = ? AND kind = ?`, connectorID, kind)
}

// MembersOf implements store.SyncState.
func (s *Store) MembersOf(ctx context.Context, connectorID, companyID string) ([]string, error) {
	rows, err := s.DB.QueryContext(ctx, s.Q(`SELECT contact_id FROM members WHERE connector_id = ? AND company_id = ?`), connectorID, companyID)
	if err != nil {
		return nil, fmt.Errorf("read members of %s: %w", companyID, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	sort.Strings(out)
	return out, rows.Err()
}

// ListFailures implements store.SyncState.
func (s *Store) ListFailures(ctx context.Context, connectorID string, limit int) ([]store.Failure, error) {
	rows, err := s.DB.QueryContext(ctx, s.Q(`SELECT kind, intercom_id, reason, attempts, updated_at FROM failures
		WHERE connector_id = ? ORDER BY updated_at DESC, intercom_id LIMIT `+strconv.Itoa(max(limit, 1))), connectorID)
	if err != nil {
		return nil, fmt.Errorf("read failures: %w", err)
	}
	defer rows.Close()
	var out []store.Failure
	for rows.Next() {
		var f store.Failure
		var at int64
		if err := rows.Scan(&f.Kind, &f.IntercomID, &f.Reason, &f.Attempts, &at); err != nil {
			return nil, err
		}
		f.At = fromMicros(at)
		out = append(out, f)
	}
	return out, rows.Err()
}

// CountFailures implements store.SyncState.
func (s *Store) CountFailures(ctx context.Context, connectorID string) (int64, error) {
	return s.count(ctx, `SELECT COUNT(*) FROM failures WHERE connector_id = ?`, connectorID)
}
