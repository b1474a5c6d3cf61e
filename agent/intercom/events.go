package intercom

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
)

// EventsService is the data events API
// (https://developers.intercom.com/docs/references/2.11/rest-api/api.intercom.io/data-events).
type EventsService service

// MaxEventMetadata is how many metadata keys Intercom keeps per event; it
// drops the rest silently, so the client refuses more.
const MaxEventMetadata = 10

// Event is a data event of a contact. Metadata values are strings,
// numbers, or objects (rich links {url, value}, amounts {amount,
// currency}).
type Event struct {
	Type           string         `json:"type"`
	EventName      string         `json:"event_name"`
	CreatedAt      Timestamp      `json:"created_at"`
	UserID         string         `json:"user_id"`
	ID             string         `json:"id"`
	IntercomUserID string         `json:"intercom_user_id"`
	Email          string         `json:"email"`
	Metadata       map[string]any `json:"metadata"`
}

// EventList is a page of a contact's events.
type EventList struct {
	Type   string   `json:"type"`
	Events []*Event `json:"events"`
	Pages  *struct {
		// Next is the URL of the next page.
		Next  string `json:"next"`
		Since string `json:"since"`
	} `json:"pages"`
}

// EventListOptions select whose events to list: exactly one of
// IntercomUserID (works for leads too), UserID (external id) or Email.
type EventListOptions struct {
	IntercomUserID string
	UserID         string
	Email          string
	// PerPage is the page size (Intercom's default when 0).
	PerPage int
}

func (o *EventListOptions) query() (url.Values, error) {
	q := url.Values{"type": {"user"}}
	n := 0
	for k, v := range map[string]string{"intercom_user_id": o.IntercomUserID, "user_id": o.UserID, "email": o.Email} {
		if v != "" {
			q.Set(k, v)
			n++
		}
	}
	if n != 1 {
		return nil, errors.New("intercom: events: set exactly one of IntercomUserID, UserID or Email")
	}
	if o.PerPage < 0 || o.PerPage > MaxPerPage {
		return nil, fmt.Errorf("intercom: per_page must be between 1 and %d", MaxPerPage)
	}
	if o.PerPage > 0 {
		q.Set("per_page", strconv.Itoa(o.PerPage))
	}
	return q, nil
}

// List fetches the first page of a contact's events (GET
// /events?type=user&…). Intercom lists only events of the last 90 days.
func (s *EventsService) List(ctx context.Context, opts EventListOptions) (*EventList, *Response, error) {
	q, err := opts.query()
	if err != nil {
		return nil, nil, err
	}
	return s.list(ctx, call{method: http.MethodGet, path: "/events", tmpl: "/events", query: q, idempotent: true})
}

func (s *EventsService) list(ctx context.Context, cl call) (*EventList, *Response, error) {
	var out EventList
	resp, err := s.c.do(ctx, cl, &out)
	if err != nil {
		return nil, resp, err
	}
	if out.Pages != nil {
		resp.NextCursor = out.Pages.Next
	}
	return &out, resp, nil
}

// All yields a contact's listable events, following pages.next links
// (only on the client's own host).
func (s *EventsService) All(ctx context.Context, opts EventListOptions) iter.Seq2[*Event, error] {
	return func(yield func(*Event, error) bool) {
		l, resp, err := s.List(ctx, opts)
		for {
			if err != nil {
				yield(nil, err)
				return
			}
			for _, e := range l.Events {
				if !yield(e, nil) {
					return
				}
			}
			next := resp.NextCursor
			if next == "" || len(l.Events) == 0 {
				return
			}
			l, resp, err = s.list(ctx, call{method: http.MethodGet, tmpl: "/events", absURL: next, idempotent: true})
		}
	}
}

// EventSummary counts a contact's events by name (summary=true).
type EventSummary struct {
	Type           string `json:"type"`
	Email          string `json:"email"`
	IntercomUserID string `json:"intercom_user_id"`
	UserID         string `json:"user_id"`
	Events         []struct {
		Name        string `json:"name"`
		First       string `json:"first"`
		Last        string `json:"last"`
		Count       int    `json:"count"`
		Description string `json:"description"`
	} `json:"events"`
}

// Summary fetches the per-name counts of a contact's events, older than
// 90 days included (GET /events?summary=true).
func (s *EventsService) Summary(ctx context.Context, opts EventListOptions) (*EventSummary, *Response, error) {
	q, err := opts.query()
	if err != nil {
		return nil, nil, err
	}
	q.Set("summary", "true")
	var out EventSummary
	resp, err := s.c.do(ctx, call{method: http.MethodGet, path: "/events", tmpl: "/events", query: q, idempotent: true}, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// EventSubmission is the body of POST /events. Set one of ID (the
// Intercom id; required for leads), UserID or Email.
type EventSubmission struct {
	EventName string `json:"event_name"`
	// CreatedAt is in Unix seconds; with the contact and event name it is
	// Intercom's de-duplication key, so send the real time of the event.
	CreatedAt int64          `json:"created_at"`
	ID        string         `json:"id,omitempty"`
	UserID    string         `json:"user_id,omitempty"`
	Email     string         `json:"email,omitempty"`
	Metadata  map[string]any `json:"metadata,omitempty"`
}

// Submit sends a data event (POST /events; 202 Accepted, empty body). It
// is not repeated after a 5xx or a dropped connection: Intercom
// de-duplicates only on the contact's external id, so a retried lead event
// could count twice. (A 429 is retried: the server refused it unseen.)
func (s *EventsService) Submit(ctx context.Context, e *EventSubmission) (*Response, error) {
	switch {
	case e == nil || e.EventName == "":
		return nil, errors.New("intercom: event: event_name is required")
	case e.CreatedAt <= 0:
		return nil, errors.New("intercom: event: created_at is required")
	case e.ID == "" && e.UserID == "" && e.Email == "":
		return nil, errors.New("intercom: event: one of id, user_id or email is required")
	case len(e.Metadata) > MaxEventMetadata:
		return nil, fmt.Errorf("intercom: event: %d metadata keys, Intercom keeps only %d", len(e.Metadata), MaxEventMetadata)
	}
	for k, v := range e.Metadata {
		switch v.(type) {
		case map[string]any:
			// Rich links and amounts are the only objects allowed.
		case []any:
			return nil, fmt.Errorf("intercom: event: metadata %q: nested lists are not supported", k)
		}
	}
	return s.c.do(ctx, call{method: http.MethodPost, path: "/events", tmpl: "/events", body: e}, nil)
}
