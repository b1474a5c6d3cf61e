package store

import (
	"context"
	"encoding/json"
	"time"
)

// Conversation is the latest known version of an Intercom conversation, as
// much of it as contact aggregates, list rules and events need.
type Conversation struct {
	ID, ContactID string
	State         string
	CreatedAt     int64
	UpdatedAt     int64
	LastClosedAt  int64
	Rating        int
	RatingAt      int64
	Remark        bool
	// Tags are the conversation's tag names, sorted.
	Tags           []string
	AIParticipated bool
	AIResolution   string
	AIRating       int
	AIAnswerType   string
}

// Event states. An event is sent once: a send whose outcome is unknown
// (the answer was lost) is not repeated, because Brevo events carry no
// idempotency key; it is recorded as unknown instead.
const (
	EventPending = "pending"
	EventSending = "sending"
	EventSent    = "sent"
	EventUnknown = "unknown"
	EventFailed  = "failed"
)

// Event is a Brevo event waiting in (or gone through) the events outbox.
type Event struct {
	// Key is deterministic (e.g. "conversation:123:closed:1700000000"):
	// the same occurrence planned twice is stored once.
	Key       string
	Payload   json.RawMessage
	State     string
	Attempts  int
	NotBefore time.Time
	LastError string
	CreatedAt time.Time
	SentAt    time.Time
}

// EventUpdate changes the state of stored events: those named by Keys, or
// with no Keys every event in state From.
type EventUpdate struct {
	Keys      []string
	From      string
	State     string
	NotBefore time.Time
	Error     string
	// Attempt raises the attempt count.
	Attempt bool
}

// Conversations holds conversations and the events outbox.
type Conversations interface {
	// ConversationsByID returns the stored conversations among ids.
	ConversationsByID(ctx context.Context, connectorID string, ids []string) (map[string]Conversation, error)
	// ConversationsOf returns the conversations of the given contacts.
	ConversationsOf(ctx context.Context, connectorID string, contactIDs []string) (map[string][]Conversation, error)
	// CountConversations counts stored conversations.
	CountConversations(ctx context.Context, connectorID string) (int64, error)
	// ReadyEvents returns pending events due at now, oldest first.
	ReadyEvents(ctx context.Context, connectorID string, now time.Time, limit int) ([]Event, error)
	// CountEvents counts events in a state ("" for all).
	CountEvents(ctx context.Context, connectorID, state string) (int64, error)
}
