package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func validConnector() Connector {
	c := NewConnector("intercom")
	c.Intercom.AccessToken = "env:INTERCOM_ACCESS_TOKEN"
	c.Brevo.APIKey = "env:BREVO_API_KEY"
	return c
}

// problemsOf returns the problems of err, failing the test when err is some
// other error.
func problemsOf(t *testing.T, err error) Problems {
	t.Helper()
	if err == nil {
		return nil
	}
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("error %v is not Problems", err)
	}
	return ps
}

func TestConnectorValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(*Connector)
		// want is path → substring of the message; nil means valid.
		want map[string]string
	}{
		{"defaults", func(*Connector) {}, nil},
		{"eu region", func(c *Connector) { c.Intercom.Region = "eu" }, nil},
		{"sandbox base urls", func(c *Connector) {
			c.Intercom.BaseURL = "http://127.0.0.1:8080/intercom"
			c.Brevo.BaseURL = "http://localhost:8080/brevo/v3"
		}, nil},
		{"bad name", func(c *Connector) { c.Name = "Intercom Prod" }, map[string]string{"name": "lower-case letters"}},
		{"literal token", func(c *Connector) { c.Intercom.AccessToken = "dG9rOjEyMzQ1" }, map[string]string{"intercom.access_token": `"env:VARIABLE_NAME"`}},
		{"bad env name", func(c *Connector) { c.Brevo.APIKey = "env:1X" }, map[string]string{"brevo.api_key": "environment variable name"}},
		{"relative file", func(c *Connector) { c.Brevo.APIKey = "file:secrets/key" }, map[string]string{"brevo.api_key": "absolute path"}},
		{"region", func(c *Connector) { c.Intercom.Region = "de" }, map[string]string{"intercom.region": `"us", "eu", "au"`}},
		{"region and base url", func(c *Connector) { c.Intercom.Region = "us"; c.Intercom.BaseURL = "https://x.example" }, map[string]string{"intercom.base_url": "either region or base_url"}},
		{"http base url", func(c *Connector) { c.Intercom.BaseURL = "http://api.example.com" }, map[string]string{"intercom.base_url": "use https"}},
		{"base url with key", func(c *Connector) { c.Brevo.BaseURL = "https://user:pw@api.brevo.com/v3" }, map[string]string{"brevo.base_url": "credentials"}},
		{"version", func(c *Connector) { c.Intercom.APIVersion = "2.9" }, map[string]string{"intercom.api_version": `"2.11"`}},
		{"plan", func(c *Connector) { c.Intercom.Plan = "enterprise" }, map[string]string{"intercom.plan": `"starter", "pro", "premium"`}},
		{"plan and budget", func(c *Connector) { c.Intercom.Plan = "pro"; c.Intercom.RequestsPer10s = 40 }, map[string]string{"intercom.requests_per_10s": "either plan or"}},
		{"budget range", func(c *Connector) { c.Intercom.RequestsPer10s = 5000 }, map[string]string{"intercom.requests_per_10s": "1 to 1667"}},
		{"mode", func(c *Connector) { c.Mode = "streaming" }, map[string]string{"mode": `"realtime", "batch", "hybrid"`}},
		{"direction", func(c *Connector) { c.Direction = "brevo_to_intercom" }, map[string]string{"direction": `"bidirectional"`}},
		{"interval", func(c *Connector) { c.BatchInterval = "1 hour" }, map[string]string{"batch_interval": `"1h"`}},
		{"interval short", func(c *Connector) { c.BatchInterval = "10s" }, map[string]string{"batch_interval": "out of range"}},
		{"since", func(c *Connector) { c.Since = "01/01/2023" }, map[string]string{"since": `"2023-01-01"`}},
		{"lead policy", func(c *Connector) { c.LeadPolicy = "email" }, map[string]string{"lead_policy": `"skip", "ext_id"`}},
		{"log level", func(c *Connector) { c.LogLevel = "loud" }, map[string]string{"log_level": `"verbose"`}},
		{"tags without contacts", func(c *Connector) { c.Sync.Contacts = false }, map[string]string{"sync.contacts": "enable contacts"}},
		{"many at once", func(c *Connector) { c.Mode = "x"; c.Direction = "y"; c.Intercom.AccessToken = "" }, map[string]string{
			"intercom.access_token": "required", "mode": "not allowed", "direction": "not allowed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := validConnector()
			tt.mutate(&c)
			checkProblems(t, c.Validate(), tt.want)
		})
	}
}

func checkProblems(t *testing.T, err error, want map[string]string) {
	t.Helper()
	ps := problemsOf(t, err)
	got := map[string]string{}
	for _, p := range ps {
		got[p.Path] += p.Message + "\n"
	}
	if len(got) != len(want) {
		t.Fatalf("got problems %v, want paths %v", ps, want)
	}
	for path, sub := range want {
		if !strings.Contains(got[path], sub) {
			t.Errorf("problem at %s = %q, want it to contain %q", path, got[path], sub)
		}
	}
}

func TestLiteralSecretNeverEchoed(t *testing.T) {
	t.Parallel()
	const canary = "canary-secret-4f1b9c"
	for _, ref := range []SecretRef{canary, "env:" + canary + "!", "file:" + canary} {
		err := ref.Validate()
		if err == nil {
			t.Fatalf("%q accepted", ref)
		}
		if strings.Contains(err.Error(), canary) {
			t.Errorf("error %q echoes the value", err)
		}
	}
}

func TestFieldMappingValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		m    FieldMapping
		want map[string]string
	}{
		{"custom", FieldMapping{ConnectorID: "intercom", Source: "custom_attributes.plan_tier", Target: "PLAN_TIER", Type: "text"}, nil},
		{"company custom", FieldMapping{ConnectorID: "intercom", Source: "company.custom_attributes.seats", Target: "SEATS", Type: "number"}, nil},
		{"date as number", FieldMapping{ConnectorID: "intercom", Source: "signed_up_at", Target: "SIGNUP_TS", Type: "number"}, nil},
		{"empty custom key", FieldMapping{ConnectorID: "intercom", Source: "custom_attributes.", Target: "X"}, map[string]string{"source": `"custom_attributes.plan_tier"`}},
		{"singular custom", FieldMapping{ConnectorID: "intercom", Source: "custom_attribute.plan", Target: "X"}, map[string]string{"source": `"custom_attributes.plan"`}},
		{"typo", FieldMapping{ConnectorID: "intercom", Source: "company.plann", Target: "X"}, map[string]string{"source": `did you mean "company.plan"`}},
		{"target with space", FieldMapping{ConnectorID: "intercom", Source: "email", Target: "plan tier"}, map[string]string{"target": `"PLAN_TIER"`}},
		{"target lower", FieldMapping{ConnectorID: "intercom", Source: "name", Target: "fullname"}, map[string]string{"target": `"FULLNAME"`}},
		{"reserved target", FieldMapping{ConnectorID: "intercom", Source: "id", Target: "EXT_ID"}, map[string]string{"target": "reserved"}},
		{"type", FieldMapping{ConnectorID: "intercom", Source: "email", Target: "X", Type: "string"}, map[string]string{"type": `"text"`}},
		{"bool as date", FieldMapping{ConnectorID: "intercom", Source: "unsubscribed_from_emails", Target: "X", Type: "date"}, map[string]string{"type": "cannot be written as a date"}},
		{"sms without e164", FieldMapping{ConnectorID: "intercom", Source: "custom_attributes.mobile", Target: "SMS"}, map[string]string{"transform": `"e164"`}},
		{"split into firstname", FieldMapping{ConnectorID: "intercom", Source: "name", Target: "FIRSTNAME"}, map[string]string{"transform": "FIRSTNAME and LASTNAME itself"}},
		{"transform", FieldMapping{ConnectorID: "intercom", Source: "email", Target: "X", Transform: "reverse"}, map[string]string{"transform": `"lowercase"`}},
		{"missing everything", FieldMapping{}, map[string]string{"connector_id": "required", "source": "required", "target": "required"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			checkProblems(t, tt.m.Validate(), tt.want)
		})
	}
}

func TestDefaultMappingsValid(t *testing.T) {
	t.Parallel()
	ms := DefaultMappings("intercom")
	if len(ms) != 11 {
		t.Fatalf("got %d default mappings, want the brief's 11", len(ms))
	}
	for _, m := range ms {
		if err := m.Validate(); err != nil {
			t.Errorf("default %s → %s: %v", m.Source, m.Target, err)
		}
	}
}

func TestEffectiveMappings(t *testing.T) {
	t.Parallel()
	b := Bundle{
		Connector: validConnector(),
		Mappings: []FieldMapping{
			{ConnectorID: "intercom", Source: "custom_attributes.plan_tier", Target: "PLAN_TIER"},
			{ConnectorID: "intercom", Source: "company.custom_attributes.tier", Target: "COMPANY_PLAN", Type: "text"},
		},
	}
	got := map[string]FieldMapping{}
	for _, m := range b.EffectiveMappings() {
		got[m.Target] = m
	}
	if len(got) != 12 {
		t.Fatalf("got %d mappings, want 11 defaults + 1 new", len(got))
	}
	if diff := cmp.Diff(FieldMapping{ConnectorID: "intercom", Source: "company.custom_attributes.tier", Target: "COMPANY_PLAN", Type: "text", Transform: "none"}, got["COMPANY_PLAN"]); diff != "" {
		t.Errorf("override (-want +got):\n%s", diff)
	}
	if got["FULLNAME"].Transform != TransformSplitName || got["SMS"].Transform != TransformE164 || got["SIGNUP_DATE"].Type != TypeDate {
		t.Errorf("defaults not filled: %+v", got)
	}
	b.Connector.DefaultFieldMappings = false
	if n := len(b.EffectiveMappings()); n != 2 {
		t.Errorf("without defaults got %d mappings, want 2", n)
	}
	if err := b.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func TestBundleCrossChecks(t *testing.T) {
	t.Parallel()
	b := Bundle{
		Connector: validConnector(),
		Mappings:  []FieldMapping{{ConnectorID: "intercom", Source: "custom_attributes.first", Target: "FIRSTNAME"}},
		Webhooks: []WebhookSubscription{{ConnectorID: "intercom", Source: "brevo", Topics: []string{"unsubscribed"},
			Secret: "env:BREVO_WEBHOOK_TOKEN", Path: "/webhooks/brevo"}},
	}
	checkProblems(t, b.Validate(), map[string]string{
		"field_mapping[intercom/FIRSTNAME]":                    "split_name",
		"webhook_subscription[intercom/webhooks/brevo].source": `"bidirectional"`,
	})
}

func TestParseRule(t *testing.T) {
	t.Parallel()
	good := map[string]Rule{
		"all_users":            {Kind: "all_users"},
		"leads":                {Kind: "leads"},
		"active_conversations": {Kind: "active_conversations"},
		"tag:VIP customer":     {Kind: "tag", Arg: "VIP customer"},
		"company_plan:pro":     {Kind: "company_plan", Arg: "pro"},
	}
	for s, want := range good {
		got, err := ParseRule(s)
		if err != nil || got != want || got.String() != s {
			t.Errorf("ParseRule(%q) = %+v, %v", s, got, err)
		}
	}
	bad := map[string]string{
		"tags:x":     `did you mean "tag:x"`,
		"all_user":   `did you mean "all_users"`,
		"tag:":       "needs a name",
		"tag: x":     "cannot start or end with a space",
		"":           "required",
		"everything": "valid rules are",
	}
	for s, sub := range bad {
		_, err := ParseRule(s)
		if err == nil || !strings.Contains(err.Error(), sub) {
			t.Errorf("ParseRule(%q) error = %v, want %q", s, err, sub)
		}
	}
}

func TestWebhookValidate(t *testing.T) {
	t.Parallel()
	ok := WebhookSubscription{ConnectorID: "intercom", Source: "intercom",
		Topics: []string{"contact.user.created", "conversation.closed", "user.unsubscribed"},
		Secret: "file:/run/secrets/intercom_client_secret", Path: "/webhooks/intercom"}
	checkProblems(t, ok.Validate(), nil)

	bad := ok
	bad.Topics = []string{"contact.user.created", "contact.user.created", "conversation.closd"}
	bad.Path = "/metrics"
	checkProblems(t, bad.Validate(), map[string]string{
		"topics[1]": "listed twice",
		"topics[2]": `did you mean "conversation.closed"`,
		"path":      "served by the agent",
	})
	brevo := WebhookSubscription{ConnectorID: "intercom", Source: "brevo", Topics: []string{"unsubscribe"}, Secret: "env:T", Path: "/hooks/brevo/"}
	checkProblems(t, brevo.Validate(), map[string]string{
		"topics[0]": `"unsubscribed"`,
		"path":      "no trailing",
	})
	got := ExpandTopics("intercom", ok.Topics)
	want := []string{"contact.unsubscribed", "contact.user.created", "conversation.admin.closed"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ExpandTopics (-want +got):\n%s", diff)
	}
}

func TestIDs(t *testing.T) {
	t.Parallel()
	m := FieldMapping{ConnectorID: "intercom", Target: "PLAN_TIER"}
	if c, tg, err := ParseFieldMappingID(m.ID()); err != nil || c != "intercom" || tg != "PLAN_TIER" {
		t.Errorf("ParseFieldMappingID(%q) = %q, %q, %v", m.ID(), c, tg, err)
	}
	l := ListAssignment{ConnectorID: "intercom", ListID: 35}
	if c, n, err := ParseListAssignmentID(l.ID()); err != nil || c != "intercom" || n != 35 {
		t.Errorf("ParseListAssignmentID(%q) = %q, %d, %v", l.ID(), c, n, err)
	}
	w := WebhookSubscription{ConnectorID: "intercom", Path: "/webhooks/intercom"}
	if c, p, err := ParseWebhookID(w.ID()); err != nil || c != "intercom" || p != "/webhooks/intercom" {
		t.Errorf("ParseWebhookID(%q) = %q, %q, %v", w.ID(), c, p, err)
	}
	bad := []struct {
		parse func(string) error
		id    string
		sub   string
	}{
		{func(s string) error { _, err := ParseConnectorID(s); return err }, "Intercom", "connector name"},
		{func(s string) error { _, _, err := ParseFieldMappingID(s); return err }, "intercom", "wrong shape"},
		{func(s string) error { _, _, err := ParseFieldMappingID(s); return err }, "intercom/plan tier", "target"},
		{func(s string) error { _, _, err := ParseFieldMappingID(s); return err }, "Bad/PLAN", "connector name"},
		{func(s string) error { _, _, err := ParseListAssignmentID(s); return err }, "intercom/abc", "list id"},
		{func(s string) error { _, _, err := ParseListAssignmentID(s); return err }, "intercom/-3", "list id"},
		{func(s string) error { _, _, err := ParseWebhookID(s); return err }, "intercom/", "wrong shape"},
		{func(s string) error { _, _, err := ParseWebhookID(s); return err }, "intercom/web hooks", "path"},
	}
	for _, b := range bad {
		err := b.parse(b.id)
		if err == nil || !strings.Contains(err.Error(), b.sub) {
			t.Errorf("parse %q: error %v, want %q", b.id, err, b.sub)
		}
	}
}

func TestResolve(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	loose := filepath.Join(dir, "loose")
	if err := os.WriteFile(loose, []byte("file-secret\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var warnings []string
	r := Resolver{
		LookupEnv: func(k string) (string, bool) {
			if k == "TOKEN" {
				return "env-secret", true
			}
			return "", false
		},
		Warn: func(ref SecretRef, msg string) { warnings = append(warnings, msg) },
	}
	if v, err := r.Resolve("env:TOKEN"); err != nil || v != "env-secret" {
		t.Errorf("env: %q, %v", v, err)
	}
	if v, err := r.Resolve(SecretRef("file:" + loose)); err != nil || v != "file-secret" {
		t.Errorf("file: %q, %v", v, err)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "chmod 600") {
		t.Errorf("warnings = %q, want one about permissions", warnings)
	}
	if _, err := r.Resolve("env:MISSING"); err == nil || !strings.Contains(err.Error(), "MISSING is not set") {
		t.Errorf("missing env: %v", err)
	}
	if _, err := r.Resolve(SecretRef("file:" + filepath.Join(dir, "nope"))); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing file: %v", err)
	}
}

func TestSuggestTarget(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"plan tier": "PLAN_TIER", "Feature-Usage!": "FEATURE_USAGE", "1st seen": "A_1ST_SEEN", "---": ""} {
		if got := SuggestTarget(in); got != want {
			t.Errorf("SuggestTarget(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestToggledDefaultsAndConversationChecks(t *testing.T) {
	t.Parallel()
	c := validConnector()
	c.Sync.Conversations, c.Sync.AIAgent, c.Sync.Messenger = true, true, true
	b := Bundle{Connector: c, Mappings: []FieldMapping{
		// Renames the open count; the default OPEN_CONVERSATIONS goes.
		{ConnectorID: "intercom", Source: "conversations.open_count", Target: "OPEN_TICKETS"},
		// Takes over a default's target with another source.
		{ConnectorID: "intercom", Source: "custom_attributes.os_name", Target: "OS"},
	}}
	got := map[string]string{}
	for _, m := range b.EffectiveMappings() {
		got[m.Target] = m.Source
	}
	for target, source := range map[string]string{
		"OPEN_TICKETS": "conversations.open_count", "LAST_RATING": "conversations.last_rating", "AI_RESOLUTION_STATE": "ai_agent.resolution_state",
		"LAST_CONTACTED": "last_contacted_at", "OS": "custom_attributes.os_name", "COUNTRY": "location.country",
	} {
		if got[target] != source {
			t.Errorf("%s ← %q, want %q", target, got[target], source)
		}
	}
	if _, ok := got["OPEN_CONVERSATIONS"]; ok {
		t.Error("default OPEN_CONVERSATIONS kept although conversations.open_count is mapped elsewhere")
	}
	if err := b.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}

	off := validConnector()
	bad := Bundle{Connector: off,
		Mappings: []FieldMapping{{ConnectorID: "intercom", Source: "ai_agent.rating", Target: "AI_RATING"}},
		Lists:    []ListAssignment{{ConnectorID: "intercom", ListID: 36, Rule: "active_conversations"}, {ConnectorID: "intercom", ListID: 40, Rule: "conversation_tag:billing"}},
	}
	checkProblems(t, bad.Validate(), map[string]string{
		"field_mapping[intercom/AI_RATING].source": "sync.ai_agent = true",
		"list_assignment[intercom/36].rule":        "sync.conversations = true",
		"list_assignment[intercom/40].rule":        "sync.conversations = true",
	})
}

func TestEventNames(t *testing.T) {
	t.Parallel()
	c := validConnector()
	c.Sync.Events = true
	c.EventNames = []string{"invited-teammate", "Plan upgraded", "invited-teammate", "bad/name"}
	checkProblems(t, c.Validate(), map[string]string{"event_names[2]": "listed twice", "event_names[3]": "not an event name"})
	c.Sync.Events, c.EventNames = false, []string{"x"}
	checkProblems(t, c.Validate(), map[string]string{"event_names": "sync.events = true"})
	c.Sync.Conversations, c.Sync.AIAgent, c.EventNames = false, true, nil
	checkProblems(t, c.Validate(), map[string]string{"sync.ai_agent": "sync.conversations = true"})
	if r, err := ParseRule("conversation_tag:billing"); err != nil || r.Kind != "conversation_tag" || r.Arg != "billing" || !r.NeedsConversations() {
		t.Errorf("ParseRule(conversation_tag:billing) = %+v, %v", r, err)
	}
}
