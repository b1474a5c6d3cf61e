package fakeintercom

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"
)

// Notification is a webhook notification in Intercom's envelope
// (webhook models page of the developer docs).
type Notification struct {
	Type             string `json:"type"`
	ID               string `json:"id"`
	Self             any    `json:"self"`
	AppID            string `json:"app_id"`
	Topic            string `json:"topic"`
	CreatedAt        int64  `json:"created_at"`
	DeliveryAttempts int    `json:"delivery_attempts"`
	FirstSentAt      int64  `json:"first_sent_at"`
	Data             struct {
		Type string `json:"type"`
		Item any    `json:"item"`
	} `json:"data"`
}

var notifSeq atomic.Int64

// Notify builds a notification of topic about the object it names: a
// contact id for contact.* topics and event.created (its newest data
// event) (contact.deleted carries only
// identifiers, tag topics a contact_tag), a company id for company.*, a
// conversation id for conversation.*. "ping" needs no id.
func (s *Server) Notify(topic, id string) (Notification, error) {
	now := s.Now().Unix()
	n := Notification{Type: "notification_event", ID: fmt.Sprintf("notif_%d_%d", now, notifSeq.Add(1)), AppID: s.appIDCode(),
		Topic: topic, CreatedAt: now, DeliveryAttempts: 1, FirstSentAt: now}
	n.Data.Type = "notification_event_data"
	s.mu.RLock()
	defer s.mu.RUnlock()
	switch {
	case topic == "ping":
		n.Data.Item = map[string]any{"type": "ping", "message": "something something interzen"}
	case topic == "contact.deleted" || topic == "contact.archived":
		n.Data.Item = map[string]any{"type": "contact", "id": id, "external_id": nil, topicVerb(topic): true}
	case topic == "contact.user.tag.created" || topic == "contact.lead.tag.created" ||
		topic == "contact.user.tag.deleted" || topic == "contact.lead.tag.deleted":
		n.Data.Item = map[string]any{"type": "contact_tag", "created_at": now,
			"tag": map[string]any{"type": "tag", "id": "", "name": ""}, "contact": map[string]any{"type": "contact", "id": id}}
	case topic == "event.created":
		// id names the contact; the item is its newest data event, as the
		// events list renders it.
		i, ok := s.w.contactSlot(id)
		if !ok {
			return n, fmt.Errorf("no contact %s", id)
		}
		all := s.eventsLocked(i)
		if len(all) == 0 {
			return n, fmt.Errorf("contact %s has no data event", id)
		}
		c := s.w.contact(i)
		e, k := all[len(all)-1], len(all)-1
		n.Data.Item = eventJSON{Type: "event", EventName: e.Name, CreatedAt: e.CreatedAt, UserID: c.ExternalID,
			ID: fmt.Sprintf("%s-%d-%d", c.ID, e.CreatedAt, k), IntercomUserID: c.ID, Email: c.Email, Metadata: e.Metadata}
	case len(topic) > 8 && topic[:8] == "contact.":
		i, ok := s.w.contactSlot(id)
		if !ok {
			return n, fmt.Errorf("no contact %s", id)
		}
		c := s.w.contact(i)
		n.Data.Item = s.renderContact(&c)
	case len(topic) > 8 && topic[:8] == "company.":
		j, ok := s.w.companySlot(id)
		if !ok {
			return n, fmt.Errorf("no company %s", id)
		}
		c := s.w.company(j)
		n.Data.Item = s.renderCompany(&c)
	case len(topic) > 13 && topic[:13] == "conversation.":
		k, ok := s.w.conversationSlot(id)
		if !ok {
			return n, fmt.Errorf("no conversation %s", id)
		}
		c := s.w.conversation(k)
		n.Data.Item = s.renderConversation(&c, false)
	default:
		return n, fmt.Errorf("topic %s is not simulated", topic)
	}
	return n, nil
}

func topicVerb(topic string) string {
	if topic == "contact.archived" {
		return "archived"
	}
	return "deleted"
}

// Sign returns the X-Hub-Signature of a body: sha1=hex(HMAC-SHA1(client
// secret, body)).
func Sign(secret string, body []byte) string {
	m := hmac.New(sha1.New, []byte(secret))
	m.Write(body)
	return "sha1=" + hex.EncodeToString(m.Sum(nil))
}

// Deliver posts a notification to url as Intercom does: JSON body, signed
// with the app's client secret, 5 s timeout. It returns the status.
func (s *Server) Deliver(ctx context.Context, url string, n Notification) (int, error) {
	body, err := json.Marshal(n)
	if err != nil {
		return 0, err
	}
	return DeliverRaw(ctx, url, s.opts.ClientSecret, body)
}

// DeliverRaw posts a body signed with secret.
func DeliverRaw(ctx context.Context, url, secret string, body []byte) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "intercom-parrot-service-client/1.0")
	req.Header.Set("X-Hub-Signature", Sign(secret, body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// ClientSecret is the app's client secret, the webhook signing key.
func (s *Server) ClientSecret() string { return s.opts.ClientSecret }
