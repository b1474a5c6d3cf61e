package config

import (
	"errors"
	"path"
	"strconv"
	"strings"
	"testing"
)

// Fuzz targets of the validation shared by the provider and the agent:
// every object's Validate, the list rules and the import IDs. The seed
// corpora in testdata/fuzz run with every go test; make fuzz explores
// further.

// mustNotEcho fails when err's text carries secret (a literal secret in a
// reference attribute must not reach a plan or a log).
func mustNotEcho(t *testing.T, err error, secret string, others ...string) {
	t.Helper()
	if err == nil || len(secret) < 6 {
		return
	}
	for _, o := range others {
		if strings.Contains(o, secret) {
			return // the value is also in a field that may be echoed
		}
	}
	if strings.Contains(err.Error(), secret) && !strings.Contains(refExamples(), secret) {
		t.Fatalf("validation error echoes the secret %q: %v", secret, err)
	}
}

// FuzzConnectorValidate: Validate never panics, reports problems by
// attribute path, and never echoes what was typed into a secret
// reference attribute (it may be the secret itself).
func FuzzConnectorValidate(f *testing.F) {
	f.Add("intercom", "env:INTERCOM_ACCESS_TOKEN", "env:BREVO_API_KEY", "file:/run/secrets/x", "us", "", "premium", 0, "hybrid", "1h", "2023-01-01", "skip", "info", "invited-teammate", true)
	f.Add("Intercom Prod", "dG9rOmFiY2RlZmdoaWprbG1ub3A=", "xkeysib-0123456789abcdef", "file:secrets/token", "de", "http://api.example.com", "enterprise", 99999, "streaming", "1 hour", "01/01/2023", "email", "loud", "bad/name", false)
	f.Add("a", "env:", "file:/a/../b", "env:1X", "eu", "https://user:pw@api.eu.intercom.io", "", 40, "", "10s", "", "", "", "", true)
	f.Add("x", "env:T", "env:T", "", "", "https://api.intercom.io/?q=1#f", "pro", 40, "realtime", "hourly", "2023-01-01T00:00:00Z", "ext_id", "verbose", "Plan upgraded", true)
	f.Fuzz(func(t *testing.T, name, token, key, clientSecret, region, baseURL, plan string, budget int, mode, interval, since, lead, level, event string, events bool) {
		c := NewConnector(name)
		c.Intercom.AccessToken, c.Brevo.APIKey, c.Intercom.ClientSecret = SecretRef(token), SecretRef(key), SecretRef(clientSecret)
		c.Intercom.Region, c.Intercom.BaseURL, c.Intercom.Plan, c.Intercom.RequestsPer10s = region, baseURL, plan, budget
		c.Mode, c.BatchInterval, c.Since, c.LeadPolicy, c.LogLevel = mode, interval, since, lead, level
		c.Sync.Events = events
		if event != "" {
			c.EventNames = []string{event}
		}
		err := c.Validate()
		var ps Problems
		if err != nil && !errors.As(err, &ps) {
			t.Fatalf("Validate returned %T, not Problems: %v", err, err)
		}
		for _, p := range ps {
			if p.Path == "" || p.Message == "" {
				t.Fatalf("problem without path or message: %+v", p)
			}
		}
		fields := []string{name, region, baseURL, plan, mode, interval, since, lead, level, event}
		for _, s := range []string{token, key, clientSecret} {
			if SecretRef(s).Validate() != nil {
				mustNotEcho(t, err, s, append(fields, token, key, clientSecret)...)
			}
		}
		if err == nil {
			// A valid connector resolves to URLs and a budget the agent
			// can use.
			if c.IntercomBaseURL() == "" || c.BrevoBaseURL() == "" || c.IntercomBudget() <= 0 || c.Interval() <= 0 {
				t.Fatalf("valid connector without usable settings: %+v", c)
			}
		}
	})
}

// FuzzSecretRef: a reference is valid exactly when it is env:NAME or
// file:/clean/absolute/path, and its error never contains it.
func FuzzSecretRef(f *testing.F) {
	for _, s := range []string{"env:INTERCOM_ACCESS_TOKEN", "file:/run/secrets/x", "env:", "file:rel", "file:/a//b", "file:/a/../b", "env:A B", "secret123456", "ENV:X", "file:/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r := SecretRef(s)
		err := r.Validate()
		if err != nil {
			if len(s) >= 6 && strings.Contains(err.Error(), s) && !strings.Contains(refExamples(), s) {
				t.Fatalf("error echoes the value %q: %v", s, err)
			}
			return
		}
		switch kind, rest, _ := strings.Cut(s, ":"); kind {
		case "env":
			if rest == "" || strings.ContainsAny(rest, " =\x00") {
				t.Fatalf("env reference %q accepted", s)
			}
		case "file":
			if !strings.HasPrefix(rest, "/") || path.Clean(rest) != rest {
				t.Fatalf("file reference %q accepted", s)
			}
		default:
			t.Fatalf("reference %q of kind %q accepted", s, r.Kind())
		}
	})
}

// refExamples is the text of the reference errors, whose examples
// ("file:/run/secrets/intercom_token") an input may happen to match.
func refExamples() string {
	var b strings.Builder
	for _, probe := range []string{"", "env:", "file:rel", "file:/a/../b", "literal"} {
		b.WriteString(SecretRef(probe).Validate().Error())
	}
	return b.String()
}

// FuzzFieldMappingValidate: any mapping validates or is refused with
// problems by attribute; a valid one has a usable type and transform.
func FuzzFieldMappingValidate(f *testing.F) {
	f.Add("intercom", "custom_attributes.plan_tier", "PLAN_TIER", "text", "")
	f.Add("intercom", "name", "FIRSTNAME", "", "split_name")
	f.Add("intercom", "custom_attributes.", "plan tier", "string", "reverse")
	f.Add("intercom", "company.plann", "SMS", "", "")
	f.Add("intercom", "phone", "SMS", "text", "e164")
	f.Add("intercom", "email", "EMAIL", "text", "uppercase")
	f.Add("intercom", "conversations.count", "CONV", "number", "")
	f.Fuzz(func(t *testing.T, conn, source, target, typ, transform string) {
		m := FieldMapping{ConnectorID: conn, Source: source, Target: target, Type: typ, Transform: transform}
		err := m.Validate()
		var ps Problems
		if err != nil && !errors.As(err, &ps) {
			t.Fatalf("Validate returned %T: %v", err, err)
		}
		if err != nil {
			return
		}
		d := m.WithDefaults()
		if !contains(Types, d.Type) || !contains(Transforms, d.Transform) {
			t.Fatalf("valid mapping with type %q transform %q", d.Type, d.Transform)
		}
		if c, tg, err := ParseFieldMappingID(m.ID()); err != nil || c != conn || tg != target {
			t.Fatalf("the ID %q of a valid mapping does not parse back: %q %q %v", m.ID(), c, tg, err)
		}
	})
}

// FuzzListAssignmentValidate: rules parse back to what was written, and
// a valid assignment's ID imports back to it.
func FuzzListAssignmentValidate(f *testing.F) {
	for _, r := range []string{"all_users", "leads", "tag:vip", "tags:vip", "tag:", "company_plan:pro", "conversation_tag:billing",
		"active_conversations", "active_conversation", "tag: vip", "everyone", ""} {
		f.Add("intercom", int64(35), r)
	}
	f.Add("intercom", int64(0), "all_users")
	f.Add("intercom", int64(-1), "leads")
	f.Fuzz(func(t *testing.T, conn string, list int64, rule string) {
		l := ListAssignment{ConnectorID: conn, ListID: list, Rule: rule}
		err := l.Validate()
		if r, perr := ParseRule(rule); perr == nil && r.String() != rule {
			t.Fatalf("rule %q parses to %q", rule, r.String())
		}
		if err != nil {
			return
		}
		c, id, perr := ParseListAssignmentID(l.ID())
		if perr != nil || c != conn || id != list {
			t.Fatalf("the ID %q of a valid assignment does not parse back: %q %d %v", l.ID(), c, id, perr)
		}
	})
}

// FuzzWebhookValidate: a valid subscription's path is clean (so that it
// can be requested at all) and its ID imports back to it.
func FuzzWebhookValidate(f *testing.F) {
	f.Add("intercom", "intercom", "contact.user.updated", "conversation.closed", "env:INTERCOM_CLIENT_SECRET", "/webhooks/intercom")
	f.Add("intercom", "brevo", "unsubscribed", "hardBounce", "env:BREVO_WEBHOOK_TOKEN", "/webhooks/brevo")
	f.Add("intercom", "intercom", "ping", "ping", "literal-secret-value", "/metrics")
	f.Add("intercom", "zendesk", "conversation.closd", "", "env:X", "/webhooks/intercom/")
	f.Add("intercom", "intercom", "ping", "", "env:X", "/hooks/../metrics")
	f.Add("intercom", "intercom", "ping", "", "env:X", "/hooks/./x")
	f.Fuzz(func(t *testing.T, conn, source, topic1, topic2, secret, p string) {
		w := WebhookSubscription{ConnectorID: conn, Source: source, Topics: []string{topic1}, Secret: SecretRef(secret), Path: p}
		if topic2 != "" {
			w.Topics = append(w.Topics, topic2)
		}
		err := w.Validate()
		if SecretRef(secret).Validate() != nil {
			mustNotEcho(t, err, secret, conn, source, topic1, topic2, p)
		}
		if err != nil {
			return
		}
		if path.Clean(p) != p {
			t.Fatalf("path %q accepted: requests to it are redirected to %q and never reach the receiver", p, path.Clean(p))
		}
		for _, r := range ReservedPaths {
			if path.Clean(p) == r {
				t.Fatalf("path %q accepted: it is %s, served by the agent", p, r)
			}
		}
		if c, pp, perr := ParseWebhookID(w.ID()); perr != nil || c != conn || pp != p {
			t.Fatalf("the ID %q of a valid subscription does not parse back: %q %q %v", w.ID(), c, pp, perr)
		}
		if len(ExpandTopics(source, w.Topics)) == 0 {
			t.Fatalf("valid subscription with no topic to act on: %v", w.Topics)
		}
	})
}

// FuzzImportIDs: the import ID parsers never panic, and accept an ID only
// in the form the resource's id attribute has — otherwise terraform
// import would look up an object under another ID and report it missing.
func FuzzImportIDs(f *testing.F) {
	for _, s := range []string{"intercom", "intercom/PLAN_TIER", "intercom/35", "intercom/webhooks/intercom", "", "/", "intercom/", "/35",
		"Intercom/35", "intercom/035", "intercom/+35", "intercom/0", "intercom/9223372036854775808", "intercom/plan_tier", "intercom/webhooks//x",
		"intercom/webhooks/../metrics", "a/b/c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		if c, err := ParseConnectorID(id); err == nil && c != id {
			t.Fatalf("ParseConnectorID(%q) = %q", id, c)
		}
		if c, tg, err := ParseFieldMappingID(id); err == nil && JoinID(c, tg) != id {
			t.Fatalf("ParseFieldMappingID(%q) = %q, %q", id, c, tg)
		}
		if c, n, err := ParseListAssignmentID(id); err == nil && JoinID(c, strconv.FormatInt(n, 10)) != id {
			t.Fatalf("ParseListAssignmentID(%q) = %q, %d: the resource's id would be %q", id, c, n, JoinID(c, strconv.FormatInt(n, 10)))
		}
		if c, p, err := ParseWebhookID(id); err == nil && c+p != id {
			t.Fatalf("ParseWebhookID(%q) = %q, %q", id, c, p)
		}
	})
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}
