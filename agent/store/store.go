// Package store is the only contract between the Terraform provider and the
// agent: versioned configuration documents with a store-wide revision,
// agent status, checkpoints and the agent's sync state. Backends (SQLite,
// PostgreSQL) register themselves and are opened by URL; every backend
// passes the conformance suite in package storetest.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
)

// Sentinel errors, matched with errors.Is.
var (
	// ErrNotFound: no such document, status or checkpoint.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the document exists (create) or changed since it was
	// read (update, delete).
	ErrConflict = errors.New("conflict")
	// ErrSchemaTooNew: the store was migrated by a newer binary.
	ErrSchemaTooNew = errors.New("store schema is newer than this binary")
	// ErrForeign: the database holds tables that are not a Tajo store.
	ErrForeign = errors.New("not a Tajo store")
)

// Version expectations for PutDocument and DeleteDocument.
const (
	// MustNotExist creates the document and fails with ErrConflict when it
	// exists.
	MustNotExist int64 = 0
	// AnyVersion writes whatever version is stored.
	AnyVersion int64 = -1
)

// Document is one configuration object as the provider wrote it.
type Document struct {
	Kind        string
	ID          string
	ConnectorID string
	Body        json.RawMessage
	// Version counts the writes of this document, from 1.
	Version int64
	// Revision is the store-wide revision of the write that produced it.
	Revision  int64
	UpdatedAt time.Time
}

// ListOptions filter ListDocuments; empty fields match everything.
type ListOptions struct {
	Kind        string
	ConnectorID string
}

// Store is what provider and agent share. All methods are safe for
// concurrent use, also across processes sharing one backend.
type Store interface {
	// PutDocument creates or replaces a document. expectVersion is
	// MustNotExist, AnyVersion or the version the caller last read; on a
	// mismatch it returns ErrConflict. Every write bumps the revision.
	PutDocument(ctx context.Context, doc Document, expectVersion int64) (Document, error)
	GetDocument(ctx context.Context, kind, id string) (Document, error)
	// DeleteDocument removes a document (ErrNotFound when absent) and bumps
	// the revision.
	DeleteDocument(ctx context.Context, kind, id string, expectVersion int64) error
	// ListDocuments returns documents ordered by kind and id.
	ListDocuments(ctx context.Context, opts ListOptions) ([]Document, error)
	// Revision is the store-wide configuration revision: it grows with every
	// document write, and only then.
	Revision(ctx context.Context) (int64, error)

	// PutStatus replaces the agent status of a connector.
	PutStatus(ctx context.Context, st Status) error
	// GetStatus returns ErrNotFound until an agent has written one.
	GetStatus(ctx context.Context, connectorID string) (Status, error)

	// GetCheckpoint returns ErrNotFound when no checkpoint of that name exists.
	GetCheckpoint(ctx context.Context, connectorID, name string) ([]byte, error)
	PutCheckpoint(ctx context.Context, connectorID, name string, value []byte) error
	DeleteCheckpoint(ctx context.Context, connectorID, name string) error

	// PurgeConnector removes the agent's runtime state of a connector
	// (status, checkpoints and sync state), not its documents.
	PurgeConnector(ctx context.Context, connectorID string) error

	// SyncState is the agent's memory of what it wrote to Brevo.
	SyncState
	// Inbox holds accepted webhook deliveries until they are processed.
	Inbox
	// Conversations holds conversations and the events outbox.
	Conversations
	// Leases elect one agent per connector.
	Leases

	// SchemaVersion is the migration level of the store.
	SchemaVersion(ctx context.Context) (int, error)
	// Backend names the implementation ("sqlite", "postgres").
	Backend() string
	Close() error
}

// Watcher is an optional interface of stores that push configuration
// revisions as they are committed (PostgreSQL, through LISTEN/NOTIFY).
// Find it with a type assertion on a Store. It speeds up hot reload but
// never replaces polling Revision: a notification connection can drop and
// miss commits while it reconnects, so keep a (slower) poll beside it.
type Watcher interface {
	// WatchRevisions returns a channel that receives the store revision
	// after configuration writes committed after the call returned, in
	// increasing order. The channel holds at most one value: a slow reader
	// gets the newest revision, not every one. It closes when ctx ends or
	// the store is closed. Sending never blocks the store, and the watcher
	// reconnects by itself after a dropped connection; the error is for a
	// watcher that could not start at all.
	WatchRevisions(ctx context.Context) (<-chan int64, error)
}

// Status is what the agent reports about a connector; the provider's
// tajo_connector_status data source reads it. Field names follow the brief.
type Status struct {
	ConnectorID         string    `json:"connector_id"`
	Connected           bool      `json:"connected"`
	State               string    `json:"state"`
	LastSync            time.Time `json:"last_sync,omitzero"`
	ContactsSynced      int64     `json:"contacts_synced"`
	ConversationsSynced int64     `json:"conversations_synced"`
	CompaniesSynced     int64     `json:"companies_synced"`
	EventsSynced        int64     `json:"events_synced"`
	LastError           string    `json:"last_error,omitempty"`
	// Errors are recent per-record failures, newest first, bounded.
	Errors []string `json:"errors,omitempty"`
	// Progress of a running full sync, nil when none runs.
	Progress *Progress `json:"progress,omitempty"`
	// Agent identifies the agent instance that wrote the status.
	Agent     string    `json:"agent,omitempty"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// Progress of a long sync.
type Progress struct {
	Phase     string    `json:"phase"`
	Done      int64     `json:"done"`
	Total     int64     `json:"total,omitempty"`
	PerSecond float64   `json:"per_second,omitempty"`
	StartedAt time.Time `json:"started_at,omitzero"`
	ETA       time.Time `json:"eta,omitzero"`
}

// Opener opens a backend from a parsed store URL.
type Opener func(ctx context.Context, u *url.URL) (Store, error)

var (
	mu       sync.RWMutex
	backends = map[string]Opener{}
)

// Register makes a backend available to Open under URL scheme(s). Backends
// call it from init.
func Register(opener Opener, schemes ...string) {
	mu.Lock()
	defer mu.Unlock()
	for _, s := range schemes {
		backends[s] = opener
	}
}

// Open opens the store at rawURL ("sqlite:///var/lib/tajo/tajo.db",
// "postgres://user@host/db"), creating and migrating it when needed. The
// error never contains the URL's password.
func Open(ctx context.Context, rawURL string) (Store, error) {
	if rawURL == "" {
		return nil, errors.New("no store URL: set TAJO_STORE or pass one, e.g. sqlite:///var/lib/tajo/tajo.db")
	}
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme == "" {
		hint := ""
		if strings.Contains(rawURL, "#") {
			hint = " (a # in a password or file name is written %23)"
		}
		return nil, fmt.Errorf("store URL %q is not a URL%s; write e.g. sqlite:///var/lib/tajo/tajo.db or postgres://user@host/db", Redact(rawURL), hint)
	}
	if u.Fragment != "" || strings.HasSuffix(rawURL, "#") {
		// A # starts a fragment: the path would silently end before it.
		return nil, fmt.Errorf("store URL %q contains #, which ends the path there; write a # in a file name or password as %%23", Redact(rawURL))
	}
	mu.RLock()
	open, ok := backends[u.Scheme]
	mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("store URL scheme %q is not supported; use one of %v", u.Scheme, Schemes())
	}
	return open(ctx, u)
}

// Schemes lists the registered URL schemes.
func Schemes() []string {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]string, 0, len(backends))
	for s := range backends {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// Redact removes a password from a store URL so it can be shown.
func Redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "<unparseable store URL>"
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	// What follows a # may be the rest of a password with an unescaped #.
	frag := u.Fragment != "" || u.RawFragment != ""
	u.Fragment, u.RawFragment = "", ""
	if frag {
		return u.String() + "#xxxxx"
	}
	return u.String()
}
