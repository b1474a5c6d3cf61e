package store

import (
	"context"
	"time"
)

// Delivery states.
const (
	DeliveryPending    = "pending"
	DeliveryProcessing = "processing"
	DeliveryDone       = "done"
	DeliveryDead       = "dead"
)

// Delivery is one accepted webhook delivery in the durable inbox.
type Delivery struct {
	// Seq orders deliveries as they were accepted.
	Seq         int64
	ConnectorID string
	// Source is "intercom" or "brevo"; ID is the notification id (Intercom)
	// or a digest of the body (Brevo, which sends none). Together they
	// deduplicate redeliveries.
	Source, ID string
	Topic      string
	Path       string
	// Key orders processing: deliveries with the same key (a contact or
	// company) are processed one at a time, in acceptance order.
	Key        string
	Body       []byte
	ReceivedAt time.Time
	State      string
	Attempts   int
	NotBefore  time.Time
	LastError  string
	// ClaimedBy and ClaimUntil describe the worker processing it.
	ClaimedBy  string
	ClaimUntil time.Time
	DoneAt     time.Time
}

// InboxFilter selects deliveries to list.
type InboxFilter struct {
	State string
	Limit int
}

// Inbox is the durable webhook inbox.
type Inbox interface {
	// Accept stores a delivery; duplicate is true (and nothing changes)
	// when one with the same connector, source and id exists.
	Accept(ctx context.Context, d Delivery) (duplicate bool, err error)
	// Claim hands up to limit deliveries of a connector to worker until
	// now+lease: pending ones due at now, and processing ones whose claim
	// expired (their worker died), never two of one key, never one whose
	// key has an earlier delivery pending or in flight.
	Claim(ctx context.Context, connectorID, worker string, now time.Time, lease time.Duration, limit int) ([]Delivery, error)
	// Finish marks a claimed delivery done.
	Finish(ctx context.Context, connectorID string, seq int64, worker string) error
	// Reschedule returns a claimed delivery to pending with its attempt
	// count raised, due at notBefore, or to dead when dead is true.
	Reschedule(ctx context.Context, connectorID string, seq int64, worker string, notBefore time.Time, reason string, dead bool) error
	// ListDeliveries lists deliveries of a connector, newest first.
	ListDeliveries(ctx context.Context, connectorID string, f InboxFilter) ([]Delivery, error)
	// Requeue returns dead (or any given) deliveries to pending with no
	// attempts; seqs nil means every dead delivery. It returns how many.
	Requeue(ctx context.Context, connectorID string, seqs []int64) (int64, error)
	// InboxStats reports the deliveries waiting (pending or processing),
	// the acceptance time of the oldest of them, and the dead ones.
	InboxStats(ctx context.Context, connectorID string) (depth int64, oldest time.Time, dead int64, err error)
	// Prune deletes finished deliveries accepted before a time (kept until
	// then so that redeliveries are recognised).
	Prune(ctx context.Context, before time.Time) (int64, error)
}
