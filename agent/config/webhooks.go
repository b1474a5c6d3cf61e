package config

import (
	"fmt"
	"path"
	"regexp"
	"strings"
)

// WebhookSubscription is a tajo_webhook_subscription: deliveries from one
// source, for some topics, received by the agent at Path.
type WebhookSubscription struct {
	ConnectorID string   `json:"connector_id"`
	Source      string   `json:"source"`
	Topics      []string `json:"topics"`
	// Secret verifies deliveries: for Intercom the app's client secret (the
	// HMAC-SHA1 key of X-Hub-Signature), for Brevo the bearer token the agent
	// registers with the webhook and Brevo sends back.
	Secret SecretRef `json:"secret"`
	Path   string    `json:"path"`
}

// ID is "<connector><path>", e.g. "intercom/webhooks/intercom": paths are
// unique across the agent's listener.
func (w WebhookSubscription) ID() string { return w.ConnectorID + w.Path }

// Sources lists the allowed webhook sources.
var Sources = []string{SourceIntercom, SourceBrevo}

var pathRE = regexp.MustCompile(`^(/[A-Za-z0-9._~-]+)+$`)

// ReservedPaths are served by the agent itself.
var ReservedPaths = []string{"/healthz", "/readyz", "/metrics"}

// ValidatePath reports whether p can be a receive path.
func ValidatePath(p string) error {
	if p == "" {
		return fmt.Errorf(`is required, e.g. "/webhooks/intercom"`)
	}
	if !pathRE.MatchString(p) {
		return fmt.Errorf("%q: a receive path starts with '/' and has segments of letters, digits, '.', '_', '~' or '-', with no trailing '/', e.g. %q", p, "/webhooks/intercom")
	}
	if clean := path.Clean(p); clean != p {
		// The agent's HTTP server redirects such a path to its clean
		// form, so no delivery would ever reach it.
		return fmt.Errorf("%q: '.' and '..' are not allowed as path segments; write %q", p, clean)
	}
	for _, r := range ReservedPaths {
		if p == r || strings.HasPrefix(p, r+"/") {
			return fmt.Errorf("%q is served by the agent itself; choose another path such as %q", p, "/webhooks/intercom")
		}
	}
	return nil
}

// Validate reports every problem with w at once.
func (w WebhookSubscription) Validate() error {
	var p problems
	p.check("connector_id", ValidateName(w.ConnectorID))
	p.check("source", oneOf(w.Source, Sources...))
	if len(w.Topics) == 0 {
		if w.Source == SourceBrevo {
			p.add("topics", "list at least one event, e.g. [\"unsubscribed\"]")
		} else {
			p.add("topics", "list at least one topic, e.g. [\"contact.user.updated\"]")
		}
	}
	seen := map[string]bool{}
	for i, t := range w.Topics {
		path := fmt.Sprintf("topics[%d]", i)
		if seen[t] {
			p.add(path, "%q is listed twice", t)
			continue
		}
		seen[t] = true
		p.check(path, validateTopic(w.Source, t))
	}
	p.check("secret", w.Secret.Validate())
	p.check("path", ValidatePath(w.Path))
	return p.list.Err()
}
