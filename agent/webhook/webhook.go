// Package webhook receives Intercom and Brevo webhook deliveries: it checks
// each one (signature over the exact received bytes, in constant time; size;
// envelope), writes it to the store's durable inbox before answering 200,
// and leaves processing to the sync engine's inbox workers. Nothing is
// stored for a delivery that fails a check.
package webhook

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Errors of signature checks.
var (
	ErrNoSignature  = errors.New("missing X-Hub-Signature")
	ErrBadSignature = errors.New("X-Hub-Signature does not match the body")
	ErrNoToken      = errors.New("missing bearer token")
	ErrBadToken     = errors.New("bearer token does not match")
)

// VerifyIntercom checks an X-Hub-Signature header ("sha1=<40 hex>") against
// HMAC-SHA1(client secret, body) in constant time.
func VerifyIntercom(secret string, body []byte, header string) error {
	if header == "" {
		return ErrNoSignature
	}
	hexsig, ok := strings.CutPrefix(header, "sha1=")
	if !ok {
		return ErrBadSignature
	}
	got, err := hex.DecodeString(hexsig)
	if err != nil || len(got) != sha1.Size {
		return ErrBadSignature
	}
	m := hmac.New(sha1.New, []byte(secret))
	m.Write(body)
	if !hmac.Equal(got, m.Sum(nil)) {
		return ErrBadSignature
	}
	return nil
}

// VerifyBearer checks an Authorization header against the token Brevo was
// registered with, in constant time.
func VerifyBearer(token, header string) error {
	got, ok := strings.CutPrefix(header, "Bearer ")
	if !ok || got == "" {
		return ErrNoToken
	}
	// Compare digests so that neither the length nor the content leaks
	// through timing.
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(token))
	if subtle.ConstantTimeCompare(a[:], b[:]) != 1 {
		return ErrBadToken
	}
	return nil
}

// Notification is Intercom's webhook envelope.
type Notification struct {
	Type             string `json:"type"`
	ID               string `json:"id"`
	AppID            string `json:"app_id"`
	Topic            string `json:"topic"`
	CreatedAt        int64  `json:"created_at"`
	DeliveryAttempts int    `json:"delivery_attempts"`
	FirstSentAt      int64  `json:"first_sent_at"`
	Data             struct {
		Item json.RawMessage `json:"item"`
	} `json:"data"`
}

// ParseNotification decodes and checks an Intercom envelope.
func ParseNotification(body []byte) (*Notification, error) {
	var n Notification
	if err := json.Unmarshal(body, &n); err != nil {
		return nil, fmt.Errorf("body is not a JSON notification: %w", err)
	}
	switch {
	case n.Type != "notification_event":
		return nil, fmt.Errorf("type %q is not notification_event", n.Type)
	case n.ID == "":
		return nil, errors.New("notification has no id")
	case n.Topic == "":
		return nil, errors.New("notification has no topic")
	case n.Topic != "ping" && (len(n.Data.Item) == 0 || string(n.Data.Item) == "null"):
		return nil, errors.New("notification has no data.item")
	}
	return &n, nil
}

// item is what ordering keys are read from.
type item struct {
	Type    string `json:"type"`
	ID      any    `json:"id"`
	Contact *struct {
		ID any `json:"id"`
	} `json:"contact"`
	Contacts *struct {
		Contacts []struct {
			ID any `json:"id"`
		} `json:"contacts"`
	} `json:"contacts"`
	Company *struct {
		ID any `json:"id"`
	} `json:"company"`
	MergedFrom *struct {
		ID any `json:"id"`
	} `json:"merged_from"`
}

func idString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return fmt.Sprintf("%.0f", x)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

// OrderKey names what a notification is about, so that deliveries about
// one contact (or company, or conversation) are processed in order.
func OrderKey(topic string, raw json.RawMessage) string {
	var it item
	_ = json.Unmarshal(raw, &it) // a malformed item keys to the topic
	switch {
	case strings.HasPrefix(topic, "contact."):
		if it.Contact != nil {
			return "contact:" + idString(it.Contact.ID)
		}
		return "contact:" + idString(it.ID)
	case strings.HasPrefix(topic, "company.contact."):
		if it.Contact != nil {
			return "contact:" + idString(it.Contact.ID)
		}
	case strings.HasPrefix(topic, "company."):
		return "company:" + idString(it.ID)
	case strings.HasPrefix(topic, "conversation"):
		return "conversation:" + idString(it.ID)
	case strings.HasPrefix(topic, "event."):
		return "event:" + idString(it.ID)
	}
	return "topic:" + topic
}

// BrevoEvent is one marketing webhook event. Its exact field list is not
// documented (UNVERIFIED, see the notes); the agent reads event and email.
type BrevoEvent struct {
	Event string `json:"event"`
	Email string `json:"email"`
	ID    int64  `json:"id"`
	// Raw is the event as received.
	Raw json.RawMessage `json:"-"`
}

// ParseBrevo decodes a Brevo delivery: one event, or an array of them when
// the webhook is batched.
func ParseBrevo(body []byte) ([]BrevoEvent, error) {
	trimmed := strings.TrimSpace(string(body))
	var raws []json.RawMessage
	if strings.HasPrefix(trimmed, "[") {
		if err := json.Unmarshal(body, &raws); err != nil {
			return nil, fmt.Errorf("body is not a JSON array of events: %w", err)
		}
	} else {
		raws = []json.RawMessage{json.RawMessage(body)}
	}
	out := make([]BrevoEvent, 0, len(raws))
	for i, r := range raws {
		var e BrevoEvent
		if err := json.Unmarshal(r, &e); err != nil {
			return nil, fmt.Errorf("event %d is not a JSON object: %w", i, err)
		}
		if e.Event == "" {
			return nil, fmt.Errorf("event %d has no event name", i)
		}
		e.Raw = r
		out = append(out, e)
	}
	if len(out) == 0 {
		return nil, errors.New("no events")
	}
	return out, nil
}

// BrevoEventTopics maps Brevo's payload event names to the names declared
// in tajo_webhook_subscription topics (the registration names).
var BrevoEventTopics = map[string]string{
	"unsubscribe":     "unsubscribed",
	"unsubscribed":    "unsubscribed",
	"contact_updated": "contactUpdated",
	"contactUpdated":  "contactUpdated",
	"contact_deleted": "contactDeleted",
	"contactDeleted":  "contactDeleted",
	"hard_bounce":     "hardBounce",
	"hardBounce":      "hardBounce",
	"spam":            "spam",
}

// digest names a Brevo delivery, which carries no notification id.
func digest(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:16])
}
