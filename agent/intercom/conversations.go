package intercom

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"time"
)

// ConversationsService is the conversations API
// (https://developers.intercom.com/docs/references/2.11/rest-api/api.intercom.io/conversations).
// A workspace whose plan lacks it answers ErrPlanRestricted.
type ConversationsService service

// Conversation states.
const (
	StateOpen    = "open"
	StateClosed  = "closed"
	StateSnoozed = "snoozed"
)

// Conversation is a conversation as listed, searched or fetched
// (ConversationParts only on Get). Objects Intercom may send as null
// (ConversationRating, AIAgent, Statistics …) are nil then.
type Conversation struct {
	Type         string    `json:"type"`
	ID           string    `json:"id"`
	Title        string    `json:"title"`
	CreatedAt    Timestamp `json:"created_at"`
	UpdatedAt    Timestamp `json:"updated_at"`
	WaitingSince Timestamp `json:"waiting_since"`
	SnoozedUntil Timestamp `json:"snoozed_until"`
	// Open is true for open and snoozed conversations.
	Open bool `json:"open"`
	// State is StateOpen, StateClosed or StateSnoozed.
	State              string                `json:"state"`
	Read               bool                  `json:"read"`
	Priority           string                `json:"priority"`
	AdminAssigneeID    ID                    `json:"admin_assignee_id"`
	TeamAssigneeID     ID                    `json:"team_assignee_id"`
	Tags               *TagList              `json:"tags"`
	ConversationRating *ConversationRating   `json:"conversation_rating"`
	Source             *ConversationSource   `json:"source"`
	Contacts           *ConversationContacts `json:"contacts"`
	Teammates          *struct {
		Type      string       `json:"type"`
		Teammates []*Reference `json:"teammates"`
	} `json:"teammates"`
	CustomAttributes  map[string]any `json:"custom_attributes"`
	FirstContactReply *struct {
		CreatedAt Timestamp `json:"created_at"`
		Type      string    `json:"type"`
		URL       string    `json:"url"`
	} `json:"first_contact_reply"`
	SLAApplied *struct {
		Type      string `json:"type"`
		SLAName   string `json:"sla_name"`
		SLAStatus string `json:"sla_status"`
	} `json:"sla_applied"`
	Statistics          *ConversationStatistics `json:"statistics"`
	ConversationParts   *ConversationParts      `json:"conversation_parts"`
	AIAgentParticipated bool                    `json:"ai_agent_participated"`
	AIAgent             *AIAgent                `json:"ai_agent"`

	// Raw is the conversation's JSON as received.
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes leniently (unknown fields are kept in Raw).
func (c *Conversation) UnmarshalJSON(b []byte) error {
	type plain Conversation
	raw, err := keepRaw(b, (*plain)(c))
	c.Raw = raw
	return err
}

// Extra returns the fields of Raw this type does not declare (topics,
// ticket, linked_objects …).
func (c *Conversation) Extra() map[string]json.RawMessage { return extra(c.Raw, c) }

// ContactIDs returns the ids of the conversation's contacts (references
// without an id are left out).
func (c *Conversation) ContactIDs() []string {
	if c.Contacts == nil {
		return nil
	}
	out := make([]string, 0, len(c.Contacts.Contacts))
	for _, r := range c.Contacts.Contacts {
		if r.ID != "" {
			out = append(out, r.ID)
		}
	}
	return out
}

// ContactRef points at a contact.
type ContactRef struct {
	Type       string `json:"type"`
	ID         string `json:"id"`
	ExternalID string `json:"external_id"`
}

// ConversationContacts is {"type": "contact.list", "contacts": [...]}.
type ConversationContacts struct {
	Type     string        `json:"type"`
	Contacts []*ContactRef `json:"contacts"`
}

// ConversationRating is the contact's rating of a conversation.
type ConversationRating struct {
	// Rating is 1 to 5.
	Rating    int         `json:"rating"`
	Remark    string      `json:"remark"`
	CreatedAt Timestamp   `json:"created_at"`
	Contact   *ContactRef `json:"contact"`
	Teammate  *Reference  `json:"teammate"`
}

// ConversationSource is the message that started a conversation.
type ConversationSource struct {
	Type        string `json:"type"`
	ID          string `json:"id"`
	DeliveredAs string `json:"delivered_as"`
	Subject     string `json:"subject"`
	Body        string `json:"body"`
	Author      *struct {
		Type  string `json:"type"`
		ID    ID     `json:"id"`
		Name  string `json:"name"`
		Email string `json:"email"`
	} `json:"author"`
	URL      string `json:"url"`
	Redacted bool   `json:"redacted"`
}

// ConversationStatistics are timing figures (seconds and timestamps).
type ConversationStatistics struct {
	Type                       string    `json:"type"`
	TimeToAssignment           int64     `json:"time_to_assignment"`
	TimeToAdminReply           int64     `json:"time_to_admin_reply"`
	TimeToFirstClose           int64     `json:"time_to_first_close"`
	TimeToLastClose            int64     `json:"time_to_last_close"`
	MedianTimeToReply          int64     `json:"median_time_to_reply"`
	FirstContactReplyAt        Timestamp `json:"first_contact_reply_at"`
	FirstAssignmentAt          Timestamp `json:"first_assignment_at"`
	FirstAdminReplyAt          Timestamp `json:"first_admin_reply_at"`
	FirstCloseAt               Timestamp `json:"first_close_at"`
	LastAssignmentAt           Timestamp `json:"last_assignment_at"`
	LastAssignmentAdminReplyAt Timestamp `json:"last_assignment_admin_reply_at"`
	LastContactReplyAt         Timestamp `json:"last_contact_reply_at"`
	LastAdminReplyAt           Timestamp `json:"last_admin_reply_at"`
	LastCloseAt                Timestamp `json:"last_close_at"`
	LastClosedByID             ID        `json:"last_closed_by_id"`
	CountReopens               int       `json:"count_reopens"`
	CountAssignments           int       `json:"count_assignments"`
	CountConversationParts     int       `json:"count_conversation_parts"`
}

// AI agent outcomes (AIAgent.ResolutionState; "" is null: no answer was
// delivered).
const (
	ResolutionAssumed   = "assumed_resolution"
	ResolutionConfirmed = "confirmed_resolution"
	ResolutionRouted    = "routed_to_team"
	ResolutionAbandoned = "abandoned"
)

// AIAgent is Fin's part in a conversation.
type AIAgent struct {
	SourceType      string `json:"source_type"`
	SourceTitle     string `json:"source_title"`
	LastAnswerType  string `json:"last_answer_type"`
	ResolutionState string `json:"resolution_state"`
	// Rating is 1 to 5, 0 when not rated.
	Rating         int    `json:"rating"`
	RatingRemark   string `json:"rating_remark"`
	ContentSources *struct {
		Type           string `json:"type"`
		TotalCount     int    `json:"total_count"`
		ContentSources []struct {
			ContentType string `json:"content_type"`
			URL         string `json:"url"`
			Title       string `json:"title"`
			Locale      string `json:"locale"`
		} `json:"content_sources"`
	} `json:"content_sources"`
}

// ConversationParts are the parts of a fetched conversation (the 500
// most recent).
type ConversationParts struct {
	Type              string              `json:"type"`
	ConversationParts []*ConversationPart `json:"conversation_parts"`
	TotalCount        int                 `json:"total_count"`
}

// ConversationPart is a reply, note or state change.
type ConversationPart struct {
	Type       string    `json:"type"`
	ID         string    `json:"id"`
	PartType   string    `json:"part_type"`
	Body       string    `json:"body"`
	CreatedAt  Timestamp `json:"created_at"`
	UpdatedAt  Timestamp `json:"updated_at"`
	NotifiedAt Timestamp `json:"notified_at"`
	Author     *struct {
		Type  string `json:"type"`
		ID    ID     `json:"id"`
		Name  string `json:"name"`
		Email string `json:"email"`
	} `json:"author"`
	Redacted bool `json:"redacted"`
}

// ConversationList is a page of conversations.
type ConversationList struct {
	Type          string          `json:"type"`
	Conversations []*Conversation `json:"conversations"`
	TotalCount    int             `json:"total_count"`
	Pages         *CursorPages    `json:"pages"`
}

// List fetches a page of conversations (GET /conversations).
func (s *ConversationsService) List(ctx context.Context, opts *ListOptions) (*ConversationList, *Response, error) {
	var o ListOptions
	if opts != nil {
		o = *opts
	}
	q, err := listQuery(o)
	if err != nil {
		return nil, nil, err
	}
	var out ConversationList
	resp, err := s.c.do(ctx, call{method: http.MethodGet, path: "/conversations", tmpl: "/conversations", query: q, idempotent: true}, &out)
	if err != nil {
		return nil, resp, err
	}
	resp.NextCursor = out.Pages.cursor()
	return &out, resp, nil
}

// Pages walks the conversation list page by page from opts.StartingAfter.
func (s *ConversationsService) Pages(ctx context.Context, opts ListOptions) iter.Seq2[*Page[*Conversation], error] {
	return cursorPages(ctx, opts.StartingAfter, func(ctx context.Context, cursor string) (*Page[*Conversation], error) {
		o := opts
		o.StartingAfter = cursor
		l, resp, err := s.List(ctx, &o)
		if err != nil {
			return nil, err
		}
		return &Page[*Conversation]{Items: l.Conversations, Cursor: cursor, Next: resp.NextCursor, TotalCount: l.TotalCount, Response: resp}, nil
	})
}

// All yields every conversation from opts.StartingAfter on.
func (s *ConversationsService) All(ctx context.Context, opts ListOptions) iter.Seq2[*Conversation, error] {
	return flatten(s.Pages(ctx, opts))
}

// Search fetches a page of a conversation search (POST
// /conversations/search). Unlike contacts, conversation dates compare by
// the second, and > and < include the value ("Greater (or equal) than").
func (s *ConversationsService) Search(ctx context.Context, req *SearchRequest) (*ConversationList, *Response, error) {
	if req == nil {
		return nil, nil, fmt.Errorf("%w: nil search request", ErrInvalidQuery)
	}
	body, err := req.body()
	if err != nil {
		return nil, nil, err
	}
	var out ConversationList
	resp, err := s.c.do(ctx, call{method: http.MethodPost, path: "/conversations/search", tmpl: "/conversations/search", body: body,
		class: ClassSearch, idempotent: true}, &out)
	if err != nil {
		return nil, resp, err
	}
	resp.NextCursor = out.Pages.cursor()
	return &out, resp, nil
}

// SearchPages walks a conversation search page by page.
func (s *ConversationsService) SearchPages(ctx context.Context, req SearchRequest) iter.Seq2[*Page[*Conversation], error] {
	return cursorPages(ctx, req.StartingAfter, func(ctx context.Context, cursor string) (*Page[*Conversation], error) {
		r := req
		r.StartingAfter = cursor
		l, resp, err := s.Search(ctx, &r)
		if err != nil {
			return nil, err
		}
		return &Page[*Conversation]{Items: l.Conversations, Cursor: cursor, Next: resp.NextCursor, TotalCount: l.TotalCount, Response: resp}, nil
	})
}

// SearchAll yields every conversation a search matches.
func (s *ConversationsService) SearchAll(ctx context.Context, req SearchRequest) iter.Seq2[*Conversation, error] {
	return flatten(s.SearchPages(ctx, req))
}

// GetOptions tune GET /conversations/{id}.
type GetOptions struct {
	// PlainText asks for part bodies as plain text (display_as=plaintext).
	PlainText bool
}

// Get fetches a conversation with its parts (GET /conversations/{id}),
// including the AI agent outcome, rating and statistics.
func (s *ConversationsService) Get(ctx context.Context, id string, opts *GetOptions) (*Conversation, *Response, error) {
	if err := checkID("conversation", id); err != nil {
		return nil, nil, err
	}
	cl := call{method: http.MethodGet, path: "/conversations/" + pathID(id), tmpl: "/conversations/{id}", idempotent: true}
	if opts != nil && opts.PlainText {
		cl.query = url.Values{"display_as": {"plaintext"}}
	}
	var out Conversation
	resp, err := s.c.do(ctx, cl, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// ConversationsUpdatedSince is the incremental filter for conversations:
// `updated_at > t`, which on conversations includes t itself (conversation
// search compares seconds, inclusively). Results of overlapping runs still
// need de-duplication by (id, updated_at).
func ConversationsUpdatedSince(t time.Time) Query { return Filter("updated_at", OpGreater, t.Unix()) }
