package sync

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tajo/terraform-provider-tajo/agent/brevo"
	"github.com/tajo/terraform-provider-tajo/agent/config"
	"github.com/tajo/terraform-provider-tajo/agent/store"
	"github.com/tajo/terraform-provider-tajo/agent/webhook"
)

// ErrWebhookNotReceived: an Intercom subscription has not delivered
// anything (not even Intercom's periodic ping) to the agent.
var ErrWebhookNotReceived = errors.New("no webhook delivery received")

// ErrWebhookNotRegistered: a Brevo subscription is not registered in Brevo.
var ErrWebhookNotRegistered = errors.New("webhook not registered in Brevo")

// CheckWebhooks reports, truthfully, whether the connector's webhook
// subscriptions work: a Brevo subscription must be registered in Brevo
// for a URL ending in its path; an Intercom one must have delivered at
// least one notification or ping to the agent.
func CheckWebhooks(ctx context.Context, eng *Engine, st store.Store) error {
	var errs []error
	var brevoHooks []*brevo.Webhook
	listed := false
	for _, w := range eng.bundle.Webhooks {
		switch w.Source {
		case config.SourceIntercom:
			b, err := st.GetCheckpoint(ctx, eng.id, webhook.DeliveryCheckpoint(w.Path))
			if errors.Is(err, store.ErrNotFound) {
				errs = append(errs, fmt.Errorf("%s: %w yet", w.Path, ErrWebhookNotReceived))
				continue
			}
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if secs, err := strconv.ParseInt(string(b), 10, 64); err == nil {
				eng.log.Debug("last webhook delivery", "path", w.Path, "at", time.Unix(secs, 0).UTC())
			}
		case config.SourceBrevo:
			if !listed {
				hooks, _, err := eng.bc.Webhooks.List(ctx, &brevo.WebhookListOptions{Type: "marketing"})
				if err != nil {
					errs = append(errs, fmt.Errorf("list brevo webhooks: %w", err))
					continue
				}
				brevoHooks, listed = hooks, true
			}
			found := false
			for _, h := range brevoHooks {
				if strings.HasSuffix(strings.TrimRight(h.URL, "/"), w.Path) {
					found = true
				}
			}
			if !found {
				errs = append(errs, fmt.Errorf("%s: %w (the agent registers it when started with --public-url)", w.Path, ErrWebhookNotRegistered))
			}
		}
	}
	return errors.Join(errs...)
}

// brevoWebhookDescription marks the Brevo webhooks the agent manages.
func brevoWebhookDescription(connector, path string) string {
	return "tajo-agent " + connector + " " + path
}

// ReconcileBrevoWebhooks makes Brevo's marketing webhooks match the
// connector's Brevo subscriptions: each is registered at PublicURL + path
// with its events and bearer token; webhooks the agent registered for
// subscriptions that no longer exist are deleted. Nothing happens without
// a public URL. Brevo's webhook endpoints share the 100 requests/hour
// budget: one list, and a create or delete per change.
func (e *Engine) ReconcileBrevoWebhooks(ctx context.Context) error {
	if e.opts.PublicURL == "" {
		return nil
	}
	hooks, _, err := e.bc.Webhooks.List(ctx, &brevo.WebhookListOptions{Type: "marketing"})
	if err != nil {
		return fmt.Errorf("list brevo webhooks: %w", err)
	}
	base := strings.TrimRight(e.opts.PublicURL, "/")
	mine := map[string]*brevo.Webhook{} // description → webhook
	prefix := brevoWebhookDescription(e.id, "")
	for _, h := range hooks {
		if strings.HasPrefix(h.Description, prefix) {
			mine[h.Description] = h
		}
	}
	var errs []error
	for _, w := range e.bundle.Webhooks {
		if w.Source != config.SourceBrevo {
			continue
		}
		desc := brevoWebhookDescription(e.id, w.Path)
		url := base + w.Path
		events := config.ExpandTopics(config.SourceBrevo, w.Topics)
		if h, ok := mine[desc]; ok {
			delete(mine, desc)
			if h.URL == url && sameStrings(h.Events, events) {
				continue
			}
			if _, err := e.bc.Webhooks.Delete(ctx, h.ID); err != nil && !errors.Is(err, brevo.ErrNotFound) {
				errs = append(errs, fmt.Errorf("replace brevo webhook %d: %w", h.ID, err))
				continue
			}
		}
		token, err := e.opts.Resolver.Resolve(w.Secret)
		if err != nil {
			errs = append(errs, fmt.Errorf("webhook %s: secret: %w", w.Path, err))
			continue
		}
		_, _, err = e.bc.Webhooks.Create(ctx, &brevo.CreateWebhook{URL: url, Description: desc, Events: events, Type: "marketing",
			Auth: &brevo.WebhookAuth{Type: "bearer", Token: token}})
		if err != nil {
			errs = append(errs, fmt.Errorf("register brevo webhook for %s: %w", w.Path, err))
			continue
		}
		e.log.Info("registered brevo webhook", "path", w.Path, "events", strings.Join(events, ","))
	}
	for _, h := range mine {
		if _, err := e.bc.Webhooks.Delete(ctx, h.ID); err != nil && !errors.Is(err, brevo.ErrNotFound) {
			errs = append(errs, fmt.Errorf("remove brevo webhook %d: %w", h.ID, err))
			continue
		}
		e.log.Info("removed brevo webhook of a deleted subscription", "webhook", h.ID)
	}
	return errors.Join(errs...)
}

// RemoveBrevoWebhooks deletes every Brevo webhook the agent registered for
// this connector (the connector was removed).
func (e *Engine) RemoveBrevoWebhooks(ctx context.Context) error {
	b := e.bundle
	e.bundle.Webhooks = nil
	defer func() { e.bundle = b }()
	return e.ReconcileBrevoWebhooks(ctx)
}
