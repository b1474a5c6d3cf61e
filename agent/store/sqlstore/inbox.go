package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tajo/terraform-provider-tajo/agent/store"
)

const inboxColumns = `seq, connector_id, source, delivery_id, topic, path, order_key, body, received_at, state, attempts, not_before,
	last_error, claimed_by, claim_until, done_at`

func scanDelivery(r scanner) (store.Delivery, error) {
	var d store.Delivery
	var received, notBefore, claimUntil, doneAt int64
	err := r.Scan(&d.Seq, &d.ConnectorID, &d.Source, &d.ID, &d.Topic, &d.Path, &d.Key, &d.Body, &received, &d.State, &d.Attempts,
		&notBefore, &d.LastError, &d.ClaimedBy, &claimUntil, &doneAt)
	d.ReceivedAt, d.NotBefore, d.ClaimUntil, d.DoneAt = fromMicros(received), fromMicros(notBefore), fromMicros(claimUntil), fromMicros(doneAt)
	return d, err
}

// Accept implements store.Inbox.
func (s *Store) Accept(ctx context.Context, d store.Delivery) (bool, error) {
	if d.ReceivedAt.IsZero() {
		d.ReceivedAt = time.Now()
	}
	res, err := s.DB.ExecContext(ctx, s.Q(`INSERT INTO inbox (connector_id, source, delivery_id, topic, path, order_key, body, received_at, state)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (connector_id, source, delivery_id) DO NOTHING`),
		d.ConnectorID, d.Source, d.ID, d.Topic, d.Path, d.Key, d.Body, d.ReceivedAt.UnixMicro(), store.DeliveryPending)
	if err != nil {
		return false, fmt.Errorf("store webhook delivery %s %s: %w", d.Source, d.ID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store webhook delivery %s %s: %w", d.Source, d.ID, err)
	}
	return n == 0, nil
}

// Claim implements store.Inbox.
func (s *Store) Claim(ctx context.Context, connectorID, worker string, now time.Time, lease time.Duration, limit int) ([]store.Delivery, error) {
	var out []store.Delivery
	err := s.WithTx(ctx, func(tx *sql.Tx) error {
		at := now.UnixMicro()
		// "state IN ('pending', 'processing')" names the partial indexes
		// inbox_open and inbox_open_key: the claim walks the open
		// deliveries in seq order, each checked against the older open
		// ones of its key, instead of sorting every ready delivery.
		q := `SELECT ` + inboxColumns + ` FROM inbox d
			WHERE d.connector_id = ? AND d.state IN ('pending', 'processing')
			AND ((d.state = 'pending' AND d.not_before <= ?) OR (d.state = 'processing' AND d.claim_until < ?))
			AND NOT EXISTS (SELECT 1 FROM inbox e WHERE e.connector_id = d.connector_id AND e.order_key = d.order_key
				AND e.state IN ('pending', 'processing') AND e.seq < d.seq)
			ORDER BY d.seq LIMIT ` + strconv.Itoa(max(limit, 1)) + s.dialect.ClaimSuffix
		rows, err := tx.QueryContext(ctx, s.Q(q), connectorID, at, at)
		if err != nil {
			return err
		}
		keys := map[string]bool{}
		for rows.Next() {
			d, err := scanDelivery(rows)
			if err != nil {
				rows.Close()
				return err
			}
			if keys[d.Key] {
				continue // an expired claim and a pending one of one key: oldest only
			}
			keys[d.Key] = true
			out = append(out, d)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		until := now.Add(lease)
		for i := range out {
			if _, err := tx.ExecContext(ctx, s.Q(`UPDATE inbox SET state = 'processing', claimed_by = ?, claim_until = ? WHERE seq = ?`),
				worker, until.UnixMicro(), out[i].Seq); err != nil {
				return err
			}
			out[i].State, out[i].ClaimedBy, out[i].ClaimUntil = store.DeliveryProcessing, worker, until
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim webhook deliveries of %q: %w", connectorID, err)
	}
	return out, nil
}

func (s *Store) updateClaimed(ctx context.Context, op, q string, args ...any) error {
	res, err := s.DB.ExecContext(ctx, s.Q(q), args...)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	} else if n == 0 {
		return fmt.Errorf("%s: the claim was lost (lease expired and taken over): %w", op, store.ErrConflict)
	}
	return nil
}

// Finish implements store.Inbox.
func (s *Store) Finish(ctx context.Context, connectorID string, seq int64, worker string) error {
	return s.updateClaimed(ctx, fmt.Sprintf("finish webhook delivery %d", seq),
		`UPDATE inbox SET state = 'done', done_at = ?, claimed_by = '', claim_until = 0
		WHERE connector_id = ? AND seq = ? AND claimed_by = ? AND state = 'processing'`, now(), connectorID, seq, worker)
}

// Reschedule implements store.Inbox.
func (s *Store) Reschedule(ctx context.Context, connectorID string, seq int64, worker string, notBefore time.Time, reason string, dead bool) error {
	state := store.DeliveryPending
	if dead {
		state = store.DeliveryDead
	}
	return s.updateClaimed(ctx, fmt.Sprintf("reschedule webhook delivery %d", seq),
		`UPDATE inbox SET state = ?, attempts = attempts + 1, not_before = ?, last_error = ?, claimed_by = '', claim_until = 0
		WHERE connector_id = ? AND seq = ? AND claimed_by = ? AND state = 'processing'`,
		state, micros(notBefore), reason, connectorID, seq, worker)
}

// ListDeliveries implements store.Inbox.
func (s *Store) ListDeliveries(ctx context.Context, connectorID string, f store.InboxFilter) ([]store.Delivery, error) {
	q := `SELECT ` + inboxColumns + ` FROM inbox WHERE connector_id = ?`
	args := []any{connectorID}
	if f.State != "" {
		q += ` AND state = ?`
		args = append(args, f.State)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.DB.QueryContext(ctx, s.Q(q+` ORDER BY seq DESC LIMIT `+strconv.Itoa(limit)), args...)
	if err != nil {
		return nil, fmt.Errorf("list webhook deliveries: %w", err)
	}
	defer rows.Close()
	var out []store.Delivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, fmt.Errorf("list webhook deliveries: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// Requeue implements store.Inbox.
func (s *Store) Requeue(ctx context.Context, connectorID string, seqs []int64) (int64, error) {
	q := `UPDATE inbox SET state = 'pending', attempts = 0, not_before = 0, last_error = '', claimed_by = '', claim_until = 0
		WHERE connector_id = ? AND state = 'dead'`
	args := []any{connectorID}
	if seqs != nil {
		if len(seqs) == 0 {
			return 0, nil
		}
		q = `UPDATE inbox SET state = 'pending', attempts = 0, not_before = 0, last_error = '', claimed_by = '', claim_until = 0
			WHERE connector_id = ? AND state IN ('dead', 'done') AND seq IN (` + strings.TrimSuffix(strings.Repeat("?, ", len(seqs)), ", ") + `)`
		for _, seq := range seqs {
			args = append(args, seq)
		}
	}
	res, err := s.DB.ExecContext(ctx, s.Q(q), args...)
	if err != nil {
		return 0, fmt.Errorf("requeue webhook deliveries: %w", err)
	}
	return res.RowsAffected()
}

// InboxStats implements store.Inbox.
func (s *Store) InboxStats(ctx context.Context, connectorID string) (int64, time.Time, int64, error) {
	var depth int64
	var oldest sql.NullInt64
	if err := s.DB.QueryRowContext(ctx, s.Q(`SELECT COUNT(*), MIN(received_at) FROM inbox WHERE connector_id = ? AND state IN ('pending', 'processing')`),
		connectorID).Scan(&depth, &oldest); err != nil {
		return 0, time.Time{}, 0, fmt.Errorf("inbox stats: %w", err)
	}
	dead, err := s.count(ctx, `SELECT COUNT(*) FROM inbox WHERE connector_id = ? AND state = 'dead'`, connectorID)
	if err != nil {
		return 0, time.Time{}, 0, err
	}
	var t time.Time
	if oldest.Valid {
		t = fromMicros(oldest.Int64)
	}
	return depth, t, dead, nil
}

// Prune implements store.Inbox.
func (s *Store) Prune(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.DB.ExecContext(ctx, s.Q(`DELETE FROM inbox WHERE state = 'done' AND received_at < ?`), before.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("prune webhook deliveries: %w", err)
	}
	return res.RowsAffected()
}
