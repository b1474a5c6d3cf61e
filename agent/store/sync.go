package store

import (
	"context"
	"encoding/json"
	"time"
)

// Kinds of synced records.
const (
	KindContact = "contact"
	KindCompany = "company"
)

// Link is the agent's memory of one Intercom record in Brevo: how to find
// it there, and a digest of what was last written, so an unchanged record
// costs no Brevo call.
type Link struct {
	Kind       string
	IntercomID string
	// BrevoID is the Brevo contact id or company id, when known.
	BrevoID string
	// Email is the email last written (to notice changes of address).
	Email string
	// Hash digests the identifiers and attributes last written.
	Hash string
	// Lists are the managed Brevo lists the record is in, ascending.
	Lists []int64
	// SourceUpdatedAt is Intercom's updated_at of the version written.
	SourceUpdatedAt int64
	// Data is kind-specific: for companies the Intercom record the contact
	// mappings read company.* from; for contacts what the engine needs to
	// know without asking Intercom again.
	Data json.RawMessage
	// Seen is the generation of the last full pass that saw the record.
	Seen int64
}

// Pending is a desired Brevo state waiting to be written (the outbox). There
// is at most one per record: enqueuing again replaces the payload and bumps
// Version, so a write that read an older version does not remove it.
type Pending struct {
	Kind       string
	IntercomID string
	Payload    json.RawMessage
	Version    int64
	Attempts   int
	NotBefore  time.Time
	LastError  string
	EnqueuedAt time.Time
}

// Failure is a record that could not be written after retries, with the
// reason (visible in status).
type Failure struct {
	Kind       string
	IntercomID string
	Reason     string
	Attempts   int
	At         time.Time
}

// Retry reschedules a pending write after a failure.
type Retry struct {
	Kind, IntercomID string
	Version          int64
	NotBefore        time.Time
	Error            string
}

// Batch is one atomic write of sync state: everything in it commits
// together or not at all, so a crash never separates a checkpoint from the
// writes it implies.
type Batch struct {
	// Fence, when set, makes the batch apply only while its lease holds:
	// otherwise Apply returns ErrFenced and writes nothing.
	Fence *Fence
	// InFlight journals pending writes as being sent; Done and Retry
	// clear the journal.
	InFlight []InFlight
	// Links are upserted.
	Links []Link
	// Seen marks records of Kind as seen by full pass Gen.
	Seen *Seen
	// Unlink removes links (kind, ids).
	Unlink []Key
	// Enqueue upserts pending writes: a new payload replaces the old one,
	// bumps the version, resets the attempts and clears the in-flight
	// journal; the same payload again changes nothing (a write in flight
	// or waiting for its retry stays so).
	Enqueue []Pending
	// Done removes pending writes whose version is still the one given.
	Done []Pending
	// Retry bumps attempts and reschedules pending writes (version must
	// match).
	Retry []Retry
	// Members replaces the companies of contacts: contact id → company ids.
	Members map[string][]string
	// Fail records failures; Clear removes them.
	Fail  []Failure
	Clear []Key
	// Checkpoints are put (nil value deletes).
	Checkpoints map[string][]byte
	// Conversations are upserted.
	Conversations []Conversation
	// Events are added unless their key exists (an occurrence is sent
	// once); EventUpdates change the state of stored ones.
	Events       []Event
	EventUpdates []EventUpdate
}

// Seen marks records seen by a full pass.
type Seen struct {
	Kind string
	IDs  []string
	Gen  int64
}

// Key names a record.
type Key struct {
	Kind, IntercomID string
}

// ScanOptions page through links.
type ScanOptions struct {
	Kind string
	// After is the last IntercomID of the previous page.
	After string
	Limit int
	// SeenBefore, when > 0, returns only links last seen by an earlier pass.
	SeenBefore int64
}

// SyncState is the agent's side of the store.
type SyncState interface {
	// Apply writes a batch atomically.
	Apply(ctx context.Context, connectorID string, b Batch) error
	// GetLinks returns the links of the given records that exist.
	GetLinks(ctx context.Context, connectorID, kind string, ids []string) (map[string]Link, error)
	// LinksByEmail returns the links of a kind last written with an email
	// (case-insensitive).
	LinksByEmail(ctx context.Context, connectorID, kind, email string) ([]Link, error)
	// ScanLinks returns links ordered by IntercomID.
	ScanLinks(ctx context.Context, connectorID string, opts ScanOptions) ([]Link, error)
	// CountLinks counts the links of a kind that were written to Brevo
	// (those with a Hash).
	CountLinks(ctx context.Context, connectorID, kind string) (int64, error)
	// ReadyPending returns pending writes of a kind due at now, oldest
	// first.
	ReadyPending(ctx context.Context, connectorID, kind string, now time.Time, limit int) ([]Pending, error)
	// GetPending returns the pending writes of the given records that exist.
	GetPending(ctx context.Context, connectorID, kind string, ids []string) (map[string]Pending, error)
	// CountPending counts pending writes of a kind ("" for all).
	CountPending(ctx context.Context, connectorID, kind string) (int64, error)
	// MembersOf returns the contacts of a company.
	MembersOf(ctx context.Context, connectorID, companyID string) ([]string, error)
	// ListFailures returns failures, newest first.
	ListFailures(ctx context.Context, connectorID string, limit int) ([]Failure, error)
	// CountFailures counts failures.
	CountFailures(ctx context.Context, connectorID string) (int64, error)
}
