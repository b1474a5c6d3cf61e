package store

import (
	"context"
	"errors"
	"time"
)

// ErrFenced: a write carried the fencing token of a lease that has since
// passed to another agent (or expired); nothing was written.
var ErrFenced = errors.New("lease lost: write fenced off")

// Lease says which agent runs a connector's passes and writer.
type Lease struct {
	ConnectorID string
	Holder      string
	// Token grows every time the lease changes hands; writes made under a
	// lease carry it (Fence) and fail once it is stale.
	Token     int64
	ExpiresAt time.Time
}

// Fence guards a Batch: it applies only while holder still holds the
// lease with this token.
type Fence struct {
	Holder string
	Token  int64
}

// InFlight journals pending writes being sent to Brevo.
type InFlight struct {
	Kind, IntercomID string
	Version          int64
	// Batch names the write round; At is when it started.
	Batch string
	At    time.Time
	// Process is the Brevo import process that carries the row, once
	// Brevo accepted it (0 before).
	Process int64
}

// Leases elect one agent per connector.
type Leases interface {
	// AcquireLease takes the lease when it is free or expired, or renews
	// it for its holder; ok is false when another agent holds it.
	AcquireLease(ctx context.Context, connectorID, holder string, ttl time.Duration, now time.Time) (l Lease, ok bool, err error)
	// RenewLease extends a held lease; ErrFenced when it was lost.
	RenewLease(ctx context.Context, l Lease, ttl time.Duration, now time.Time) (Lease, error)
	// ReleaseLease gives the lease up (graceful handover).
	ReleaseLease(ctx context.Context, l Lease) error
	// LeaseHolder names the agent holding an unexpired lease.
	LeaseHolder(ctx context.Context, connectorID string) (holder string, ok bool, err error)
	// InFlightPending returns the pending writes journaled as in flight.
	InFlightPending(ctx context.Context, connectorID string) ([]PendingInFlight, error)
}

// PendingInFlight is a pending write with its in-flight journal entry.
type PendingInFlight struct {
	Pending
	InFlight InFlight
}
