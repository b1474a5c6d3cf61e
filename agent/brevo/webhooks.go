package brevo

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
)

// WebhooksService handles /webhooks. The agent registers a marketing
// webhook to learn about unsubscribes (the Brevo → Intercom direction).
//
// Brevo API docs: https://developers.brevo.com/reference/create-webhook
type WebhooksService service

// Webhook types.
const (
	WebhookTransactional = "transactional"
	WebhookMarketing     = "marketing"
	WebhookInbound       = "inbound"
)

// Marketing webhook events (createWebhook.events).
const (
	WebhookEventSpam           = "spam"
	WebhookEventOpened         = "opened"
	WebhookEventClick          = "click"
	WebhookEventHardBounce     = "hardBounce"
	WebhookEventSoftBounce     = "softBounce"
	WebhookEventUnsubscribed   = "unsubscribed"
	WebhookEventListAddition   = "listAddition"
	WebhookEventDelivered      = "delivered"
	WebhookEventContactUpdated = "contactUpdated"
	WebhookEventContactDeleted = "contactDeleted"
)

// WebhookAuth is the Authorization Brevo sends with each delivery.
type WebhookAuth struct {
	// Type is "bearer".
	Type  string `json:"type"`
	Token string `json:"token"`
}

// String keeps the token out of logs and %v.
func (a WebhookAuth) String() string { return a.Type + " [redacted]" }

// GoString keeps the token out of %#v.
func (a WebhookAuth) GoString() string {
	return "brevo.WebhookAuth{Type:" + strconv.Quote(a.Type) + ", Token:[redacted]}"
}

// WebhookHeader is a custom header Brevo sends with each delivery.
type WebhookHeader struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Webhook is a registered webhook (getWebhook).
type Webhook struct {
	ID          int64           `json:"id"`
	URL         string          `json:"url"`
	Description string          `json:"description"`
	Events      []string        `json:"events"`
	Type        string          `json:"type"`
	CreatedAt   Time            `json:"createdAt"`
	ModifiedAt  Time            `json:"modifiedAt"`
	Batched     bool            `json:"batched,omitempty"`
	Auth        *WebhookAuth    `json:"auth,omitempty"`
	Headers     []WebhookHeader `json:"headers,omitempty"`
}

// WebhookListOptions filters GET /webhooks.
type WebhookListOptions struct {
	// Type defaults to transactional at Brevo: pass WebhookMarketing for
	// the unsubscribe webhook.
	Type string
	Sort Sort
}

// List returns the webhooks of a type (GET /webhooks).
func (s *WebhooksService) List(ctx context.Context, opts *WebhookListOptions) ([]*Webhook, *Response, error) {
	q := url.Values{}
	if opts != nil {
		if opts.Type != "" {
			q.Set("type", opts.Type)
		}
		if opts.Sort != "" {
			q.Set("sort", string(opts.Sort))
		}
	}
	r := s.client.newRequest(http.MethodGet, "/webhooks", "/webhooks")
	r.query = q
	r.safe = true
	var out struct {
		Webhooks []*Webhook `json:"webhooks"`
	}
	r.out = &out
	resp, err := s.client.do(ctx, r)
	if err != nil {
		return nil, resp, err
	}
	return out.Webhooks, resp, nil
}

// CreateWebhook is the body of POST /webhooks.
type CreateWebhook struct {
	URL         string   `json:"url"`
	Description string   `json:"description,omitempty"`
	Events      []string `json:"events"`
	// Type defaults to transactional at Brevo.
	Type string `json:"type,omitempty"`
	// Channel is email (default) or sms (newer spec only).
	Channel string `json:"channel,omitempty"`
	// Domain is for inbound webhooks.
	Domain  string          `json:"domain,omitempty"`
	Batched bool            `json:"batched,omitempty"`
	Auth    *WebhookAuth    `json:"auth,omitempty"`
	Headers []WebhookHeader `json:"headers,omitempty"`
}

// Create registers a webhook and returns its id (POST /webhooks). Not
// retried after an ambiguous failure: a repeat would register it twice
// (List first to find one registered by an earlier, lost answer).
func (s *WebhooksService) Create(ctx context.Context, body *CreateWebhook) (int64, *Response, error) {
	if body == nil || body.URL == "" || len(body.Events) == 0 {
		return 0, nil, invalid("a webhook needs a URL and events")
	}
	if u, err := url.Parse(body.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return 0, nil, invalid("webhook URL must be an absolute http(s) URL")
	}
	return create(ctx, s.client, "/webhooks", body)
}

// Get returns a webhook (GET /webhooks/{webhookId}).
func (s *WebhooksService) Get(ctx context.Context, id int64) (*Webhook, *Response, error) {
	r := s.client.newRequest(http.MethodGet, "/webhooks/{webhookId}", "/webhooks/"+strconv.FormatInt(id, 10))
	r.safe = true
	w := &Webhook{}
	r.out = w
	resp, err := s.client.do(ctx, r)
	if err != nil {
		return nil, resp, err
	}
	return w, resp, nil
}

// Delete removes a webhook (DELETE /webhooks/{webhookId}); a 404 on a
// retry counts as success.
func (s *WebhooksService) Delete(ctx context.Context, id int64) (*Response, error) {
	r := s.client.newRequest(http.MethodDelete, "/webhooks/{webhookId}", "/webhooks/"+strconv.FormatInt(id, 10))
	r.safe = true
	resp, err := s.client.do(ctx, r)
	if err != nil && resp != nil && resp.Attempts > 1 && errors.Is(err, ErrNotFound) {
		return resp, nil
	}
	return resp, err
}
