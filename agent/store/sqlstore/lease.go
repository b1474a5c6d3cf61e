package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tajo/terraform-provider-tajo/agent/store"
)

// AcquireLease implements store.Leases.
func (s *Store) AcquireLease(ctx context.Context, connectorID, holder string, ttl time.Duration, now time.Time) (store.Lease, bool, error) {
	var out store.Lease
	ok := false
	err := s.WithTx(ctx, func(tx *sql.Tx) error {
		// The row exists before it is locked, so agents racing for a new
		// lease queue on the lock instead of on a duplicate key.
		if _, err := tx.ExecContext(ctx, s.Q(`INSERT INTO leases (connector_id, holder, token, expires_at) VALUES (?, '', 0, 0)
			ON CONFLICT (connector_id) DO NOTHING`), connectorID); err != nil {
			return err
		}
		cur, _, err := s.readLease(ctx, tx, connectorID, s.dialect.ForUpdate)
		if err != nil {
			return err
		}
		expires := now.Add(ttl)
		switch {
		case cur.Holder == holder && cur.ExpiresAt.After(now):
			if _, err := tx.ExecContext(ctx, s.Q(`UPDATE leases SET expires_at = ? WHERE connector_id = ?`), expires.UnixMicro(), connectorID); err != nil {
				return err
			}
			cur.ExpiresAt = expires
			out, ok = cur, true
		case !cur.ExpiresAt.After(now):
			// Free or expired: a new holder, a new token (the old holder's
			// fenced writes fail from here on).
			token := cur.Token + 1
			if _, err := tx.ExecContext(ctx, s.Q(`UPDATE leases SET holder = ?, token = ?, expires_at = ? WHERE connector_id = ?`),
				holder, token, expires.UnixMicro(), connectorID); err != nil {
				return err
			}
			out, ok = store.Lease{ConnectorID: connectorID, Holder: holder, Token: token, ExpiresAt: expires}, true
		default:
			out = cur
		}
		return nil
	})
	if err != nil {
		return store.Lease{}, false, fmt.Errorf("acquire lease of %q: %w", connectorID, err)
	}
	return out, ok, nil
}

func (s *Store) readLease(ctx context.Context, tx *sql.Tx, connectorID, lock string) (store.Lease, bool, error) {
	l := store.Lease{ConnectorID: connectorID}
	var expires int64
	err := tx.QueryRowContext(ctx, s.Q(`SELECT holder, token, expires_at FROM leases WHERE connector_id = ?`+lock), connectorID).
		Scan(&l.Holder, &l.Token, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return l, false, nil
	}
	l.ExpiresAt = fromMicros(expires)
	return l, err == nil, err
}

// RenewLease implements store.Leases.
func (s *Store) RenewLease(ctx context.Context, l store.Lease, ttl time.Duration, now time.Time) (store.Lease, error) {
	expires := now.Add(ttl)
	res, err := s.DB.ExecContext(ctx, s.Q(`UPDATE leases SET expires_at = ? WHERE connector_id = ? AND holder = ? AND token = ? AND expires_at > ?`),
		expires.UnixMicro(), l.ConnectorID, l.Holder, l.Token, now.UnixMicro())
	if err != nil {
		return l, fmt.Errorf("renew lease of %q: %w", l.ConnectorID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return l, fmt.Errorf("renew lease of %q: %w", l.ConnectorID, store.ErrFenced)
	}
	l.ExpiresAt = expires
	return l, nil
}

// ReleaseLease implements store.Leases.
func (s *Store) ReleaseLease(ctx context.Context, l store.Lease) error {
	if _, err := s.DB.ExecContext(ctx, s.Q(`UPDATE leases SET expires_at = 0 WHERE connector_id = ? AND holder = ? AND token = ?`),
		l.ConnectorID, l.Holder, l.Token); err != nil {
		return fmt.Errorf("release lease of %q: %w", l.ConnectorID, err)
	}
	return nil
}

// LeaseHolder implements store.Leases.
func (s *Store) LeaseHolder(ctx context.Context, connectorID string) (string, bool, error) {
	var holder string
	var expires int64
	err := s.DB.QueryRowContext(ctx, s.Q(`SELECT holder, expires_at FROM leases WHERE connector_id = ?`), connectorID).Scan(&holder, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read lease of %q: %w", connectorID, err)
	}
	return holder, expires > time.Now().UnixMicro(), nil
}

// checkFence fails with store.ErrFenced unless the fence's lease still
// holds. It share-locks the lease row (PostgreSQL), so a takeover cannot
// commit between the check and the batch, while renewals go on.
func (s *Store) checkFence(ctx context.Context, tx *sql.Tx, connectorID string, f *store.Fence) error {
	l, found, err := s.readLease(ctx, tx, connectorID, s.dialect.ForKeyShare)
	if err != nil {
		return err
	}
	if !found || l.Holder != f.Holder || l.Token != f.Token || !l.ExpiresAt.After(time.Now()) {
		return fmt.Errorf("lease of %q held by %q with token %d, not %q with %d: %w", connectorID, l.Holder, l.Token, f.Holder, f.Token, store.ErrFenced)
	}
	return nil
}

// InFlightPending implements store.Leases.
func (s *Store) InFlightPending(ctx context.Context, connectorID string) ([]store.PendingInFlight, error) {
	rows, err := s.DB.QueryContext(ctx, s.Q(`SELECT `+pendingColumns+`, in_flight, in_flight_at, in_flight_process FROM pending
		WHERE connector_id = ? AND in_flight <> '' ORDER BY in_flight, intercom_id`), connectorID)
	if err != nil {
		return nil, fmt.Errorf("read in-flight writes: %w", err)
	}
	defer rows.Close()
	var out []store.PendingInFlight
	for rows.Next() {
		var p store.PendingInFlight
		var payload string
		var notBefore, enq, at int64
		if err := rows.Scan(&p.Kind, &p.IntercomID, &payload, &p.Version, &p.Attempts, &notBefore, &p.LastError, &enq,
			&p.InFlight.Batch, &at, &p.InFlight.Process); err != nil {
			return nil, fmt.Errorf("read in-flight writes: %w", err)
		}
		p.Payload, p.NotBefore, p.EnqueuedAt = json.RawMessage(payload), fromMicros(notBefore), fromMicros(enq)
		p.InFlight.Kind, p.InFlight.IntercomID, p.InFlight.Version, p.InFlight.At = p.Kind, p.IntercomID, p.Version, fromMicros(at)
		out = append(out, p)
	}
	return out, rows.Err()
}
