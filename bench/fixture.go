package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/tajo/terraform-provider-tajo/agent/config"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox/expect"
	"github.com/tajo/terraform-provider-tajo/agent/store"
)

// served is an in-process sandbox on a loopback port.
type served struct {
	sb  *sandbox.Sandbox
	srv *http.Server
	ep  sandbox.Endpoints
}

func serveSandbox(sb *sandbox.Sandbox) (*served, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: sb, ReadHeaderTimeout: sandbox.ReadHeaderTimeout}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Printf("sandbox server: %v\n", err)
		}
	}()
	return &served{sb: sb, srv: srv, ep: sb.Endpoints("http://" + ln.Addr().String())}, nil
}

func (s *served) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
	s.sb.Close()
}

// endpoints are what the agent's connector points at.
type endpoints struct {
	IntercomURL, BrevoURL                 string
	IntercomToken, BrevoKey, ClientSecret string
}

func (s *served) endpoints() endpoints {
	return endpoints{s.ep.IntercomURL, s.ep.BrevoURL, s.ep.IntercomToken, s.ep.BrevoAPIKey, s.ep.IntercomClientSecret}
}

// env is the agent's environment: the store and the secrets the
// connector's references name.
func (e endpoints) env(storeURL string) []string {
	return []string{"TAJO_STORE=" + storeURL, "INTERCOM_ACCESS_TOKEN=" + e.IntercomToken, "BREVO_API_KEY=" + e.BrevoKey,
		"INTERCOM_CLIENT_SECRET=" + e.ClientSecret}
}

// benchSetup is what the quickstart declares minus conversations and
// events (the scenarios are about contacts and companies): default
// mappings plus PLAN_TIER and FEATURE_USAGE, lists 35 (all users) and 37
// (leads), tags synced, premium plan; companies are read for the contact
// mappings but not written (see scenarioFull).
var benchSetup = expect.Setup{Custom: true, Lists: map[string]int64{"all_users": 35, "leads": 37}}

// companyNote says why no scenario writes companies to Brevo.
const companyNote = "company writes are off; companies are still read from Intercom for the contact mappings. " +
	"Brevo's companies endpoints share a budget of 100 requests an hour: with company writes on, a first sync of " +
	"5,000 companies was still waiting on it after 7.7 minutes (company imports, then GET /companies 100 a page " +
	"to find the companies the imports created), beyond what this benchmark can wait"

// webhookPath is where the webhook scenario's subscription receives.
const webhookPath = "/webhooks/intercom"

// connectorOptions vary the bench connector.
type connectorOptions struct {
	mode string
	// webhooks adds an Intercom webhook subscription at webhookPath.
	webhooks bool
	// requestsPer10s overrides the plan's Intercom budget.
	requestsPer10s int
}

// applyConfig writes the connector's declarations into the store, as
// `terraform apply` of the quickstart would (the Terraform path itself is
// measured by the provider scenario).
func applyConfig(ctx context.Context, storeURL string, ep endpoints, o connectorOptions) error {
	st, err := store.Open(ctx, storeURL)
	if err != nil {
		return err
	}
	defer st.Close()
	c := config.NewConnector("intercom")
	c.Intercom.AccessToken, c.Brevo.APIKey = "env:INTERCOM_ACCESS_TOKEN", "env:BREVO_API_KEY"
	c.Intercom.BaseURL, c.Brevo.BaseURL, c.Intercom.Plan = ep.IntercomURL, ep.BrevoURL, config.PlanPremium
	// Company writes are off: Brevo's companies endpoints share a budget
	// of 100 requests an hour, which no scenario can wait out (see
	// companyNote). Company data is still read for the contact mappings.
	c.Sync = config.Sync{Contacts: true, Tags: true}
	if o.requestsPer10s > 0 {
		c.Intercom.Plan, c.Intercom.RequestsPer10s = "", o.requestsPer10s
	}
	c.LogLevel = agentLogLevel
	if o.mode != "" {
		c.Mode = o.mode
	}
	objs := []store.Object{c,
		config.FieldMapping{ConnectorID: "intercom", Source: "custom_attributes.plan_tier", Target: "PLAN_TIER", Type: "text"},
		config.FieldMapping{ConnectorID: "intercom", Source: "custom_attributes.feature_usage", Target: "FEATURE_USAGE", Type: "number"},
		config.ListAssignment{ConnectorID: "intercom", ListID: 35, Rule: "all_users"},
		config.ListAssignment{ConnectorID: "intercom", ListID: 37, Rule: "leads"},
	}
	if o.webhooks {
		objs = append(objs, config.WebhookSubscription{ConnectorID: "intercom", Source: config.SourceIntercom,
			Topics: []string{"contact.user.created", "contact.user.updated", "contact.lead.updated"},
			Secret: "env:INTERCOM_CLIENT_SECRET", Path: webhookPath})
	}
	for _, o := range objs {
		if _, err := store.Save(ctx, st, o, store.MustNotExist); err != nil {
			return fmt.Errorf("save %T: %w", o, err)
		}
	}
	return nil
}
