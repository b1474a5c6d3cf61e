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
)

// ErrWebhookNotReceived: an Intercom subscription has not delivered
// anything (not even Intercom's periodic ping) to the agent.
var ErrWebhookNotReceived = errors.New("no webhook delivery received")

// ErrWebhookNotRegistered: a Brevo subscription is not registered in Brevo.
var ErrWebhookNotRegistered = errors.New("webhook not registered in Brevo")

// DeliveryCheckpoint names the checkpoint holding the Unix time of the last
// delivery (or ping) accepted on a receive path.
func DeliveryCheckpoint(path string) string { return "webhook:" + path }

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
			b, err := st.GetCheckpoint(ctx, eng.id, DeliveryCheckpoint(w.Path))
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
