package fakebrevo

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
)

var eventKeyRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)

const maxEventProperties = 50 * 1024

type eventBody struct {
	Name              string         `json:"event_name"`
	Date              string         `json:"event_date"`
	Identifiers       map[string]any `json:"identifiers"`
	ContactProperties map[string]any `json:"contact_properties"`
	EventProperties   map[string]any `json:"event_properties"`
}

var eventIdentifierTypes = map[string]string{
	"email_id": "email_id", "phone_id": "phone_id", "ext_id": "ext_id", "contact_id": "contact_id",
	"whatsapp_id": "whatsapp_id", "landline_number_id": "landline_number_id",
}

// validate returns why Brevo would refuse the event, "" if it would not.
func (e *eventBody) validate() string {
	if !eventKeyRE.MatchString(e.Name) {
		return "event_name is required: 1-255 letters, digits, '-' or '_'"
	}
	n := 0
	for k, v := range e.Identifiers {
		if _, ok := eventIdentifierTypes[k]; !ok {
			return "identifiers." + k + " is not a valid identifier"
		}
		if s, ok := attrString(v); ok && s != "" {
			n++
		}
	}
	if n == 0 {
		return "identifiers: at least one identifier is required"
	}
	for k := range e.EventProperties {
		if !eventKeyRE.MatchString(k) {
			return "event_properties." + k + ": keys are 1-255 letters, digits, '-' or '_'"
		}
	}
	if b, _ := json.Marshal(e.EventProperties); len(b) > maxEventProperties {
		return "event_properties exceed 50KB"
	}
	return ""
}

// record stores a valid event (under the lock) and applies its
// contact_properties to the contact it names. Events for unknown contacts
// are kept, contactless (UNVERIFIED: newer docs suggest Brevo creates the
// contact).
func (s *Server) record(e *eventBody, batch bool) (int, int64) {
	st := s.state
	var c *contact
	for _, k := range []string{"contact_id", "ext_id", "email_id", "phone_id"} {
		v, ok := attrString(e.Identifiers[k])
		if !ok {
			continue
		}
		if found, ok := s.resolve(v, k, false); ok {
			c = found
			break
		}
	}
	ev := Event{Seq: len(st.events) + 1, ReceivedAt: s.cfg.now(), Name: e.Name, Date: e.Date, Identifiers: e.Identifiers,
		ContactProperties: e.ContactProperties, EventProperties: e.EventProperties, Batch: batch}
	if c != nil {
		ev.ContactID = c.id
		if len(e.ContactProperties) > 0 && s.applyAttrs(c, e.ContactProperties, false) {
			c.updated = s.cfg.now()
		}
	}
	st.events = append(st.events, ev)
	return ev.Seq, ev.ContactID
}

func (s *Server) createEvent(w http.ResponseWriter, r *http.Request) {
	var b eventBody
	if !decode(w, r, 1<<20, &b) {
		return
	}
	if msg := b.validate(); msg != "" {
		writeError(w, http.StatusBadRequest, "invalid_parameter", msg)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	seq, contactID := s.record(&b, false)
	wr := Write{Kind: WriteEvent, Route: "POST /events", Events: []int{seq}}
	if contactID != 0 && len(b.ContactProperties) > 0 {
		wr.ContactIDs = []int64{contactID}
	}
	s.log(wr)
	w.WriteHeader(http.StatusNoContent)
}

// createEventBatch accepts a JSON array of events (202 {"message",
// "count"}); invalid items are dropped silently, as the v4 SDK's message
// ("Valid events have been added to the processing queue") suggests.
func (s *Server) createEventBatch(w http.ResponseWriter, r *http.Request) {
	var bs []eventBody
	if !decode(w, r, 8<<20, &bs) {
		return
	}
	if len(bs) == 0 {
		writeError(w, http.StatusBadRequest, "missing_parameter", "the batch is empty")
		return
	}
	if s.cfg.maxEventBatch > 0 && len(bs) > s.cfg.maxEventBatch {
		writeError(w, http.StatusBadRequest, "out_of_range", fmt.Sprintf("at most %d events per batch", s.cfg.maxEventBatch))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	wr := Write{Kind: WriteEvent, Route: "POST /events/batch"}
	for i := range bs {
		if bs[i].validate() != "" {
			continue
		}
		seq, contactID := s.record(&bs[i], true)
		wr.Events = append(wr.Events, seq)
		if contactID != 0 && len(bs[i].ContactProperties) > 0 {
			wr.ContactIDs = append(wr.ContactIDs, contactID)
		}
	}
	s.log(wr)
	writeJSON(w, http.StatusAccepted, map[string]any{
		"message": "Batch accepted. Valid events have been added to the processing queue.",
		"count":   len(wr.Events),
	})
}
