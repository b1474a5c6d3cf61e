package brevo

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"time"
)

// EventsService handles /events: custom events that drive Brevo
// automations and segments.
//
// Events are not idempotent in Brevo: the same event posted twice is
// recorded twice (there is no event id to deduplicate on). The client
// therefore never repeats an event POST after an ambiguous failure — a
// timeout, a dropped connection or a 5xx may come after Brevo recorded it.
// Such failures wrap ErrOutcomeUnknown and the caller decides (the sync
// engine prefers a lost event to a doubled one). 429 and 425 are refusals
// before processing and are retried, as is a failed dial.
//
// Brevo API docs: https://developers.brevo.com/reference/create-event
type EventsService service

// Event is a custom event (the spec's "event" schema).
type Event struct {
	// Name: at most 255 characters, letters, digits, '-' and '_'.
	Name string `json:"event_name"`
	// Date is when it happened; zero means "now" at Brevo.
	Date time.Time `json:"-"`
	// Identifiers name the contact; at least one is required.
	Identifiers EventIdentifiers `json:"identifiers"`
	// ContactProperties update the contact's attributes.
	ContactProperties map[string]any `json:"contact_properties,omitempty"`
	// EventProperties describe the event (at most 50 KB serialised).
	EventProperties map[string]any `json:"event_properties,omitempty"`
}

// EventIdentifiers identify the contact of an event.
type EventIdentifiers struct {
	EmailID          string `json:"email_id,omitempty"`
	PhoneID          string `json:"phone_id,omitempty"`
	WhatsAppID       string `json:"whatsapp_id,omitempty"`
	LandlineNumberID string `json:"landline_number_id,omitempty"`
	ExtID            string `json:"ext_id,omitempty"`
	// ContactID takes priority over the others (newer docs; not in the
	// spec file).
	ContactID int64 `json:"contact_id,omitempty"`
}

func (i EventIdentifiers) empty() bool {
	return i == EventIdentifiers{}
}

// MarshalJSON implements json.Marshaler (event_date as ISO-8601).
func (e Event) MarshalJSON() ([]byte, error) {
	type plain Event
	return json.Marshal(struct {
		plain
		Date string `json:"event_date,omitempty"`
	}{plain(e), formatEventDate(e.Date)})
}

func formatEventDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(timeLayout)
}

// MaxEventPropertiesBytes is the documented ceiling of event_properties.
const MaxEventPropertiesBytes = 50 * 1024

var eventKeyRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)

// Validate checks the documented constraints, so that a bad event fails
// before it spends a request (or sinks a batch).
func (e *Event) Validate() error {
	if !eventKeyRE.MatchString(e.Name) {
		return invalid("event name %q: 1-255 letters, digits, '-' or '_'", e.Name)
	}
	if e.Identifiers.empty() {
		return invalid("event %q names no contact identifier", e.Name)
	}
	for k := range e.EventProperties {
		if !eventKeyRE.MatchString(k) {
			return invalid("event %q: property key %q: 1-255 letters, digits, '-' or '_'", e.Name, k)
		}
	}
	if len(e.EventProperties) > 0 {
		b, err := json.Marshal(e.EventProperties)
		if err != nil {
			return invalid("event %q: properties: %v", e.Name, err)
		}
		if len(b) > MaxEventPropertiesBytes {
			return invalid("event %q: properties are %d bytes, more than %d", e.Name, len(b), MaxEventPropertiesBytes)
		}
	}
	return nil
}

// Create records one event (POST /events). Any 2xx is success (the spec
// says 204, newer docs 200 with an empty body).
func (s *EventsService) Create(ctx context.Context, e *Event) (*Response, error) {
	if e == nil {
		return nil, invalid("nil event")
	}
	if err := e.Validate(); err != nil {
		return nil, err
	}
	r := s.client.newRequest(http.MethodPost, "/events", "/events")
	r.body = e
	return s.client.do(ctx, r)
}

// DefaultEventBatchSize is how many events go into one POST /events/batch.
// Brevo documents no maximum (UNVERIFIED, none found in the spec, the docs
// or the v4 SDK); 100 is a conservative choice: at 50 KB of properties per
// event it stays near 5 MB, and a refused batch loses little.
const DefaultEventBatchSize = 100

// EventBatchResult reports a batched send.
type EventBatchResult struct {
	// Requests sent and accepted.
	Requests int
	// Sent is how many events the accepted requests carried: on error,
	// events[:Sent] were handed to Brevo.
	Sent int
	// Accepted sums the count Brevo reported; fewer than Sent means it
	// dropped invalid events silently.
	Accepted int
}

// CreateBatch records events with POST /events/batch (a JSON array,
// answered 202 {"message","count"}; only in the v4 SDK's description), in
// chunks of WithEventBatchSize. Every event is validated first, so one bad
// event does not sink a batch at the server.
func (s *EventsService) CreateBatch(ctx context.Context, events []*Event) (*EventBatchResult, *Response, error) {
	if len(events) == 0 {
		return nil, nil, invalid("no events")
	}
	for _, e := range events {
		if e == nil {
			return nil, nil, invalid("nil event")
		}
		if err := e.Validate(); err != nil {
			return nil, nil, err
		}
	}
	res := &EventBatchResult{}
	var resp *Response
	for _, part := range chunks(events, s.client.eventBatchSize) {
		r := s.client.newRequest(http.MethodPost, "/events/batch", "/events/batch")
		r.body = part
		var out struct {
			Message string `json:"message"`
			Count   int    `json:"count"`
		}
		r.out = &out
		var err error
		if resp, err = s.client.do(ctx, r); err != nil {
			return res, resp, err
		}
		res.Requests++
		res.Sent += len(part)
		res.Accepted += out.Count
	}
	return res, resp, nil
}
