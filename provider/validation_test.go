package provider

import (
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/tajo/terraform-provider-tajo/agent/config"
)

// TestAccInvalidConfigurations: every misconfiguration fails at plan time
// with the message agent/config gives, saying what to write instead.
func TestAccInvalidConfigurations(t *testing.T) {
	ts := newTestStore(t)
	conn := func(extra string) string { return connectorHCL("intercom", extra) }
	connIntercom := func(intercom string) string {
		return `
resource "tajo_connector" "intercom" {
  name     = "intercom"
  intercom = {` + intercom + `}
  brevo    = { api_key = "env:BREVO_API_KEY" }
}
`
	}
	mapping := func(source, target, extra string) string { return conn("") + mappingHCL(source, target, extra) }
	list := func(id int, rule string) string { return conn("") + listHCL(id, rule) }
	hook := func(source, topics, path string) string { return conn("") + webhookHCL(source, topics, path) }
	cases := []struct {
		name, hcl, want string
	}{
		{"target with a space", mapping("custom_attributes.plan_tier", "plan tier", ""), `for example "PLAN_TIER"`},
		{"target lower case", mapping("name", "fullname", ""), `for example "FULLNAME"`},
		{"reserved target", mapping("id", "EXT_ID", ""), `"EXT_ID" is reserved`},
		{"empty custom attribute", mapping("custom_attributes.", "PLAN_TIER", ""), `custom attribute name after the dot is missing, e.g. "custom_attributes.plan_tier"`},
		{"singular custom attribute", mapping("custom_attribute.plan", "PLAN", ""), `custom attributes are written "custom_attributes.plan"`},
		{"source typo", mapping("company.plann", "PLAN", ""), `did you mean "company.plan"`},
		{"unknown type", mapping("email", "MAIL", `type = "string"`), `"string" is not allowed; use one of "text", "number", "date", "boolean"`},
		{"boolean as date", mapping("unsubscribed_from_emails", "UNSUB", `type = "date"`), `cannot be written as a date attribute`},
		{"sms without e164", mapping("custom_attributes.mobile", "SMS", ""), `set transform = "e164"`},
		{"split into firstname", mapping("name", "FIRSTNAME", ""), `split_name writes FIRSTNAME and LASTNAME itself`},
		{"unknown transform", mapping("email", "MAIL", `transform = "reverse"`), `"reverse" is not allowed`},
		{"list rule typo", list(35, "tags:x"), `did you mean "tag:x"\?`},
		{"list rule empty tag", list(35, "tag:"), `needs a name after the colon`},
		{"list rule unknown", list(35, "everyone"), `valid rules are "all_users", "leads"`},
		{"list id zero", list(0, "all_users"), `0 is not a Brevo list id`},
		{"literal token", connIntercom(`access_token = "abc123"`), `not the secret itself.*"env:VARIABLE_NAME"`},
		{"bad env reference", connIntercom(`access_token = "env:1TOKEN"`), `environment variable name`},
		{"relative file reference", connIntercom(`access_token = "file:secrets/token"`), `absolute path`},
		{"connector name", strings.Replace(conn(""), `name = "intercom"`, `name = "Intercom Prod"`, 1), `lower-case letters`},
		{"region", connIntercom(`access_token = "env:T"` + "\n" + `region = "de"`), `"de" is not allowed; use one of "us", "eu", "au"`},
		{"region and base url", connIntercom(`access_token = "env:T"` + "\n" + `region = "eu"` + "\n" + `base_url = "https://api.eu.intercom.io"`), `set either region or base_url`},
		{"plain http", connIntercom(`access_token = "env:T"` + "\n" + `base_url = "http://api.example.com"`), `use https`},
		{"api version", connIntercom(`access_token = "env:T"` + "\n" + `api_version = "2.9"`), `"2.9" is not supported`},
		{"plan", connIntercom(`access_token = "env:T"` + "\n" + `plan = "enterprise"`), `"starter", "pro", "premium"`},
		{"plan and budget", connIntercom(`access_token = "env:T"` + "\n" + `plan = "pro"` + "\n" + `requests_per_10s = 40`), `set either plan or requests_per_10s`},
		{"budget", connIntercom(`access_token = "env:T"` + "\n" + `requests_per_10s = 99999`), `use 1 to 1667`},
		{"mode", conn(`mode = "streaming"`), `"realtime", "batch", "hybrid"`},
		{"direction", conn(`direction = "brevo_to_intercom"`), `"intercom_to_brevo", "bidirectional"`},
		{"interval words", conn(`batch_interval = "1 hour"`), `write e.g. "15m", "1h"`},
		{"interval too short", conn(`batch_interval = "10s"`), `out of range`},
		{"since", conn(`since = "01/01/2023"`), `write "2023-01-01"`},
		{"lead policy", conn(`lead_policy = "email"`), `"skip", "ext_id"`},
		{"log level", conn(`log_level = "loud"`), `"verbose"`},
		{"tags without contacts", conn(`sync = { contacts = false, tags = true }`), `enable contacts too`},
		{"topic typo", hook("intercom", `["conversation.closd"]`, "/webhooks/intercom"), `did you mean "conversation.closed"`},
		{"topic twice", hook("intercom", `["ping", "ping"]`, "/webhooks/intercom"), `"ping" is listed twice`},
		{"no topics", hook("intercom", `[]`, "/webhooks/intercom"), `list at least one topic`},
		{"brevo event", hook("brevo", `["unsubscribe"]`, "/webhooks/brevo"), `did you mean "unsubscribed"`},
		{"webhook source", hook("zendesk", `["ping"]`, "/webhooks/z"), `"zendesk" is not allowed; use one of "intercom", "brevo"`},
		{"reserved path", hook("intercom", `["ping"]`, "/metrics"), `served by the agent itself`},
		{"path slash", hook("intercom", `["ping"]`, "/webhooks/intercom/"), `no trailing '/'`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resource.ParallelTest(t, resource.TestCase{
				ProtoV6ProviderFactories: protoV6,
				Steps: []resource.TestStep{{
					Config:      ts.provider() + tc.hcl,
					PlanOnly:    true,
					ExpectError: regexpMust("(?s)" + strings.ReplaceAll(tc.want, " ", `\s+`)),
				}},
			})
		})
	}
	t.Logf("%d invalid configurations checked", len(cases))
}

// TestAddProblemsNeverEchoesSecrets: the diagnostic for a literal secret
// carries neither summary nor detail with the value.
func TestAddProblemsNeverEchoesSecrets(t *testing.T) {
	const canary = "canary-literal-5d2e"
	c := config.NewConnector("intercom")
	c.Intercom.AccessToken, c.Brevo.APIKey = canary, canary
	var diags diag.Diagnostics
	addProblems(&diags, c.Validate(), unknowns{})
	if len(diags) != 2 {
		t.Fatalf("got %d diagnostics, want 2: %v", len(diags), diags)
	}
	for _, d := range diags {
		if strings.Contains(d.Summary()+d.Detail(), canary) {
			t.Errorf("diagnostic echoes the secret: %s: %s", d.Summary(), d.Detail())
		}
	}
}

func TestAttrPath(t *testing.T) {
	for in, want := range map[string]string{
		"intercom.base_url": "intercom.base_url",
		"topics[2]":         "topics[2]",
		"name":              "name",
	} {
		if got := attrPath(in).String(); got != want {
			t.Errorf("attrPath(%q) = %q, want %q", in, got, want)
		}
	}
	u := unknowns{"intercom": true, "topics[1]": true}
	for p, want := range map[string]bool{"intercom.region": true, "topics[1]": true, "topics[0]": false, "name": false} {
		if got := u.covers(p); got != want {
			t.Errorf("covers(%q) = %v", p, got)
		}
	}
}
