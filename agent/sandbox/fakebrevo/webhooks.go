package fakebrevo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"

	"strings"
	"time"
)

var webhookEvents = map[string][]string{
	"marketing":     {"spam", "opened", "click", "hardBounce", "softBounce", "unsubscribed", "listAddition", "delivered", "contactUpdated", "contactDeleted"},
	"transactional": {"sent", "request", "delivered", "hardBounce", "softBounce", "blocked", "spam", "invalid", "deferred", "click", "opened", "uniqueOpened", "unsubscribed"},
	"inbound":       {"inboundEmailProcessed"},
}

type webhookJSON struct {
	URL         string              `json:"url"`
	ID          int64               `json:"id"`
	Description string              `json:"description"`
	Events      []string            `json:"events"`
	Type        string              `json:"type"`
	CreatedAt   string              `json:"createdAt"`
	ModifiedAt  string              `json:"modifiedAt"`
	Batched     bool                `json:"batched"`
	Auth        map[string]string   `json:"auth,omitempty"`
	Headers     []map[string]string `json:"headers,omitempty"`
}

func (wh *Webhook) render() webhookJSON {
	out := webhookJSON{URL: wh.URL, ID: wh.ID, Description: wh.Description, Events: wh.Events, Type: wh.Type,
		CreatedAt: formatTime(wh.CreatedAt), ModifiedAt: formatTime(wh.CreatedAt), Batched: wh.Batched}
	if wh.AuthType != "" {
		out.Auth = map[string]string{"type": wh.AuthType, "token": wh.AuthToken}
	}
	for _, k := range sortedKeys(wh.Headers) {
		out.Headers = append(out.Headers, map[string]string{"key": k, "value": wh.Headers[k]})
	}
	return out
}

func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request) {
	typ := r.URL.Query().Get("type")
	if typ == "" {
		typ = "transactional"
	}
	if _, ok := webhookEvents[typ]; !ok {
		writeError(w, http.StatusBadRequest, "invalid_parameter", "type is invalid")
		return
	}
	desc := r.URL.Query().Get("sort") != "asc"
	s.mu.Lock()
	defer s.mu.Unlock()
	out := struct {
		Webhooks []webhookJSON `json:"webhooks"`
	}{[]webhookJSON{}}
	var ids []int64
	for id, wh := range s.state.webhooks {
		if wh.Type == typ {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	if desc {
		slices.Reverse(ids)
	}
	for _, id := range ids {
		out.Webhooks = append(out.Webhooks, s.state.webhooks[id].render())
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request) {
	var b struct {
		URL         string   `json:"url"`
		Description string   `json:"description"`
		Events      []string `json:"events"`
		Type        string   `json:"type"`
		Channel     string   `json:"channel"`
		Domain      string   `json:"domain"`
		Batched     bool     `json:"batched"`
		Auth        *struct {
			Type  string `json:"type"`
			Token string `json:"token"`
		} `json:"auth"`
		Headers []struct {
			Key   string `json:"key"`
			Value string `json:"value"`
		} `json:"headers"`
	}
	if !decode(w, r, 1<<16, &b) {
		return
	}
	if b.Type == "" {
		b.Type = "transactional"
	}
	allowed, ok := webhookEvents[b.Type]
	if !ok {
		writeError(w, http.StatusBadRequest, "invalid_parameter", "type is invalid")
		return
	}
	if u, err := url.Parse(b.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		writeError(w, http.StatusBadRequest, "invalid_parameter", "url is invalid")
		return
	}
	if len(b.Events) == 0 {
		writeError(w, http.StatusBadRequest, "missing_parameter", "events is required")
		return
	}
	for _, e := range b.Events {
		if !slices.Contains(allowed, e) {
			writeError(w, http.StatusBadRequest, "invalid_parameter", "event "+e+" is not available for "+b.Type+" webhooks")
			return
		}
	}
	if b.Auth != nil && b.Auth.Type != "bearer" {
		writeError(w, http.StatusBadRequest, "invalid_parameter", "auth.type must be bearer")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.state
	wh := &Webhook{ID: st.nextWebhook, URL: b.URL, Description: b.Description, Events: b.Events, Type: b.Type,
		Channel: b.Channel, Batched: b.Batched, Headers: map[string]string{}, CreatedAt: s.cfg.now()}
	if b.Auth != nil {
		wh.AuthType, wh.AuthToken = b.Auth.Type, b.Auth.Token
	}
	for _, h := range b.Headers {
		wh.Headers[h.Key] = h.Value
	}
	st.nextWebhook++
	st.webhooks[wh.ID] = wh
	s.log(Write{Kind: WriteWebhook, Route: "POST /webhooks"})
	writeJSON(w, http.StatusCreated, map[string]int64{"id": wh.ID})
}

func (s *Server) pathWebhook(w http.ResponseWriter, r *http.Request) (*Webhook, bool) {
	id, ok := pathID(w, r, "webhookId")
	if !ok {
		return nil, false
	}
	wh, ok := s.state.webhooks[id]
	if !ok {
		writeError(w, http.StatusNotFound, "document_not_found", "Webhook ID not found")
	}
	return wh, ok
}

func (s *Server) getWebhook(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if wh, ok := s.pathWebhook(w, r); ok {
		writeJSON(w, http.StatusOK, wh.render())
	}
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	wh, ok := s.pathWebhook(w, r)
	if !ok {
		return
	}
	delete(s.state.webhooks, wh.ID)
	s.log(Write{Kind: WriteWebhook, Route: "DELETE /webhooks/{webhookId}"})
	w.WriteHeader(http.StatusNoContent)
}

// ---- simulating Brevo ----

// Delivery is one webhook call the fake made.
type Delivery struct {
	WebhookID int64
	URL       string
	// Status is the receiver's HTTP status, 0 when it could not be reached
	// (Err).
	Status  int
	Err     error
	Payload []byte
}

// UnsubscribeOptions describe the campaign an unsubscribe came from.
type UnsubscribeOptions struct {
	CampaignID   int64
	CampaignName string
	ListIDs      []int64
	Tag          string
}

// ErrNoContact is returned when a simulation names no existing contact.
var ErrNoContact = errors.New("fakebrevo: no such contact")

// Unsubscribe simulates a contact clicking "unsubscribe" in a campaign:
// emailBlacklisted becomes true (modifiedAt moves) and every marketing
// webhook registered for "unsubscribed" receives the event. Simulations
// are not API writes and stay out of the write log.
//
// The payload follows developers.brevo.com/docs/marketing-webhooks: id
// (webhook id), email, event, camp_id, "campaign name", date_sent,
// date_event (local time, "2006-01-02 15:04:05"), ts_sent, ts_event, ts
// (Unix seconds), tag. UNVERIFIED: the event value "unsubscribe" (the
// registration name is "unsubscribed"; the docs' section is titled
// "Unsubscribe") and the list_id field.
func (s *Server) Unsubscribe(ctx context.Context, email string, o *UnsubscribeOptions) ([]Delivery, error) {
	if o == nil {
		o = &UnsubscribeOptions{}
	}
	s.mu.Lock()
	c, ok := s.state.contacts[s.state.byEmail[normEmail(email)]]
	if !ok {
		s.mu.Unlock()
		return nil, ErrNoContact
	}
	now := s.cfg.now()
	c.emailBL = true
	c.updated = now
	addr := c.email
	s.state.version++
	s.mu.Unlock()
	lists := o.ListIDs
	if lists == nil {
		lists = []int64{}
	}
	payload := map[string]any{
		"email":         addr,
		"event":         "unsubscribe",
		"camp_id":       o.CampaignID,
		"campaign name": o.CampaignName,
		"date_sent":     now.Add(-time.Hour).Format(time.DateTime),
		"date_event":    now.Format(time.DateTime),
		"ts_sent":       now.Add(-time.Hour).Unix(),
		"ts_event":      now.Unix(),
		"ts":            now.Unix(),
		"tag":           o.Tag,
		"list_id":       lists,
	}
	return s.Deliver(ctx, "unsubscribed", payload)
}

// Deliver sends payload to every marketing webhook registered for event
// (a registration name such as "unsubscribed"), with the registered bearer
// token and headers; "id" is set to the webhook's id. Batched webhooks get
// a JSON array of one (UNVERIFIED). Deliveries are synchronous.
func (s *Server) Deliver(ctx context.Context, event string, payload map[string]any) ([]Delivery, error) {
	s.mu.Lock()
	var targets []Webhook
	for _, wh := range s.state.webhooks {
		if wh.Type == "marketing" && slices.Contains(wh.Events, event) {
			targets = append(targets, *wh)
		}
	}
	s.mu.Unlock()
	slices.SortFunc(targets, func(a, b Webhook) int { return int(a.ID - b.ID) })
	var out []Delivery
	for _, wh := range targets {
		body := cloneMap(payload)
		body["id"] = wh.ID
		var v any = body
		if wh.Batched {
			v = []any{body}
		}
		raw, err := json.Marshal(v)
		if err != nil {
			return out, err
		}
		d := Delivery{WebhookID: wh.ID, URL: wh.URL, Payload: raw}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, wh.URL, bytes.NewReader(raw))
		if err != nil {
			d.Err = err
			out = append(out, d)
			continue
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "fakebrevo-webhooks")
		if strings.EqualFold(wh.AuthType, "bearer") {
			req.Header.Set("Authorization", "Bearer "+wh.AuthToken)
		}
		for k, v := range wh.Headers {
			req.Header.Set(k, v)
		}
		resp, err := s.cfg.deliveryClient.Do(req)
		if err != nil {
			d.Err = err
		} else {
			d.Status = resp.StatusCode
			resp.Body.Close()
		}
		out = append(out, d)
	}
	return out, nil
}

// SetBlacklisted changes a contact's emailBlacklisted flag as if done in
// Brevo's UI (no webhook, no write-log entry).
func (s *Server) SetBlacklisted(id int64, blacklisted bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.state.contacts[id]
	if !ok {
		return ErrNoContact
	}
	c.emailBL = blacklisted
	c.updated = s.cfg.now()
	s.state.version++
	return nil
}
