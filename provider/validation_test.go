package provider

import (
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/tajo/terraform-provider-tajo/agent/config"
)

// TestAccInvalidConfigurations: every misconfiguration fails at plan time,
// at the attribute, with the message agent/config gives, saying what to
// write instead.
func TestAccInvalidConfigurations(t *testing.T) {
	ts := newTestStore(t)
	conn := func(extra string) string { return connectorHCL("intercom", extra) }
	connIntercom := func(intercom string) string { return connectorSides(intercom, `api_key = "env:BREVO_API_KEY"`) }
	connBrevo := func(brevo string) string { return connectorSides(`access_token = "env:INTERCOM_ACCESS_TOKEN"`, brevo) }
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
		// event_names, the conversation and AI-agent toggles and list
		// rules, secret references and base URLs that would leak or
		// mislead, receive paths the agent could never serve.
		{"event name twice", conn(`sync = { contacts = true, events = true }` + "\n" + `event_names = ["invited-teammate", "invited-teammate"]`), `"invited-teammate" is listed twice`},
		{"event name with a slash", conn(`sync = { contacts = true, events = true }` + "\n" + `event_names = ["plan/upgraded"]`), `is not an event name: use letters, digits`},
		{"event names without events", conn(`event_names = ["invited-teammate"]`), `set sync.events = true or remove event_names`},
		{"ai_agent without conversations", conn(`sync = { contacts = true, ai_agent = true }`), `set sync.conversations = true too`},
		{"conversation tag without a name", list(36, "conversation_tag:"), `needs a name after the colon, e.g. "conversation_tag:vip"`},
		{"conversation tag rule typo", list(36, "conversations_tag:billing"), `did you mean "conversation_tag:billing"\?`},
		{"active conversations typo", list(36, "active_conversation"), `did you mean "active_conversations"\?`},
		{"tag with a leading space", list(38, "tag: vip"), `cannot start or end with a space`},
		{"negative list id", list(-3, "all_users"), `-3 is not a Brevo list id`},
		{"literal client secret", connIntercom(`access_token = "env:T"` + "\n" + `client_secret = "0123456789abcdef"`), `not the secret itself`},
		{"literal api key", connBrevo(`api_key = "xkeysib-0123456789abcdef"`), `not the secret itself`},
		{"unclean secret file path", connBrevo(`api_key = "file:/run/secrets/../brevo"`), `path must be clean`},
		{"credentials in the base URL", connIntercom(`access_token = "env:T"` + "\n" + `base_url = "https://user:pass@api.intercom.io"`), `must not carry credentials`},
		{"query in the base URL", connBrevo(`api_key = "env:K"` + "\n" + `base_url = "https://api.brevo.com/v3?api-key=x"`), `no query or fragment`},
		{"name too long", strings.Replace(conn(""), `name = "intercom"`, `name = "`+strings.Repeat("a", 64)+`"`, 1), `longer than 63 characters`},
		{"EMAIL upper-cased", mapping("email", "EMAIL", `transform = "uppercase"`), `EMAIL is the Brevo contact's email identifier`},
		{"e164 on a number", mapping("phone", "PHONE_NUMBER", "type = \"number\"\ntransform = \"e164\""), `e164 works on text`},
		{"dot-dot in the receive path", hook("intercom", `["ping"]`, "/webhooks/../metrics"), `'.' and '..' are not allowed`},
		{"dot in the receive path", hook("intercom", `["ping"]`, "/webhooks/./intercom"), `'.' and '..' are not allowed`},
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

// connectorSides is a tajo_connector "intercom" with the given contents of
// its intercom and brevo objects.
func connectorSides(intercom, brevo string) string {
	return `
resource "tajo_connector" "intercom" {
  name     = "intercom"
  intercom = {` + intercom + `}
  brevo    = {` + brevo + `}
}
`
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
