package provider

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"

	"github.com/tajo/terraform-provider-tajo/agent/config"
)

func regexpMust(s string) *regexp.Regexp { return regexp.MustCompile(s) }

func wantField(key string, want any) func(map[string]any) error {
	return func(body map[string]any) error {
		var got any = body
		for _, k := range splitDots(key) {
			m, ok := got.(map[string]any)
			if !ok {
				return fmt.Errorf("%s: not an object", key)
			}
			got = m[k]
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			return fmt.Errorf("store has %s = %v, want %v", key, got, want)
		}
		return nil
	}
}

func splitDots(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

func TestAccConnector_lifecycle(t *testing.T) {
	ts := newTestStore(t)
	addr := "tajo_connector.intercom"
	full := `
  enabled = true
  sync = { contacts = true, conversations = true, companies = true, events = true, tags = true }
  direction              = "bidirectional"
  mode                   = "batch"
  batch_interval         = "15m"
  lead_policy            = "ext_id"
  default_field_mappings = false
  log_level              = "verbose"
  debug                  = true
`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6,
		CheckDestroy:             ts.checkEmpty,
		Steps: []resource.TestStep{
			{ // create with defaults
				Config: ts.provider() + connectorHCL("intercom", ""),
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr(addr, "id", "intercom"),
					resource.TestCheckResourceAttr(addr, "intercom.api_version", "2.11"),
					resource.TestCheckNoResourceAttr(addr, "intercom.region"),
					resource.TestCheckResourceAttr(addr, "mode", "hybrid"),
					resource.TestCheckResourceAttr(addr, "batch_interval", "1h"),
					resource.TestCheckResourceAttr(addr, "sync.contacts", "true"),
					resource.TestCheckResourceAttr(addr, "sync.conversations", "false"),
					resource.TestCheckResourceAttr(addr, "default_field_mappings", "true"),
					ts.checkDoc(config.KindConnector, "intercom", wantField("intercom.access_token", "env:INTERCOM_ACCESS_TOKEN")),
				),
			},
			{ // import
				ResourceName:      addr,
				ImportState:       true,
				ImportStateId:     "intercom",
				ImportStateVerify: true,
			},
			{ // update in place
				Config:           ts.provider() + connectorHCL("intercom", full),
				ConfigPlanChecks: expectAction(addr, plancheck.ResourceActionUpdate),
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr(addr, "mode", "batch"),
					resource.TestCheckResourceAttr(addr, "sync.events", "true"),
					resource.TestCheckResourceAttr(addr, "sync.messenger", "false"),
					ts.checkDoc(config.KindConnector, "intercom", wantField("batch_interval", "15m")),
					ts.checkDoc(config.KindConnector, "intercom", wantField("sync.conversations", true)),
				),
			},
			{ // nested update: region, plan
				Config: ts.provider() + `
resource "tajo_connector" "intercom" {
  name = "intercom"
  intercom = {
    access_token = "file:/run/secrets/intercom_token"
    region       = "eu"
    plan         = "premium"
  }
  brevo = {
    api_key  = "env:BREVO_API_KEY"
    base_url = "https://api.brevo.com/v3"
  }
}
`,
				ConfigPlanChecks: expectAction(addr, plancheck.ResourceActionUpdate),
				Check:            ts.checkDoc(config.KindConnector, "intercom", wantField("intercom.plan", "premium")),
			},
			{ // drift: someone changes the mode in the store; the plan puts it back
				PreConfig: ts.edit(t, config.KindConnector, "intercom", func(b map[string]any) { b["mode"] = "realtime" }),
				Config: ts.provider() + `
resource "tajo_connector" "intercom" {
  name = "intercom"
  intercom = {
    access_token = "file:/run/secrets/intercom_token"
    region       = "eu"
    plan         = "premium"
  }
  brevo = {
    api_key  = "env:BREVO_API_KEY"
    base_url = "https://api.brevo.com/v3"
  }
}
`,
				ConfigPlanChecks: expectAction(addr, plancheck.ResourceActionUpdate),
				Check:            ts.checkDoc(config.KindConnector, "intercom", wantField("mode", "hybrid")),
			},
			{ // drift: deleted in the store; the plan re-creates it
				PreConfig:        ts.remove(t, config.KindConnector, "intercom"),
				Config:           ts.provider() + connectorHCL("intercom", ""),
				ConfigPlanChecks: expectAction(addr, plancheck.ResourceActionCreate),
				Check:            ts.checkDoc(config.KindConnector, "intercom", wantField("mode", "hybrid")),
			},
			{ // replace: a new name is a new connector
				Config:           ts.provider() + connectorNamed("intercom", "intercom-eu", ""),
				ConfigPlanChecks: expectAction(addr, plancheck.ResourceActionDestroyBeforeCreate),
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr(addr, "id", "intercom-eu"),
					ts.checkNoDoc(config.KindConnector, "intercom"),
					ts.checkDoc(config.KindConnector, "intercom-eu", nil),
				),
			},
		},
	})
}

func TestAccConnector_conflictingCreate(t *testing.T) {
	ts := newTestStore(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6,
		Steps: []resource.TestStep{{
			PreConfig: func() {
				c := config.NewConnector("intercom")
				c.Intercom.AccessToken, c.Brevo.APIKey = "env:A", "env:B"
				if _, err := storeSave(ts, c); err != nil {
					t.Fatal(err)
				}
			},
			Config:      ts.provider() + connectorHCL("intercom", ""),
			ExpectError: regexpMust(`(?s)already exists.*terraform import tajo_connector.<name> intercom`),
		}},
	})
}

// TestAccConnector_secretsStayReferences puts canary values in the
// referenced environment variables and files and proves they are found in no
// plan, state or store file.
func TestAccConnector_secretsStayReferences(t *testing.T) {
	ts := newTestStore(t)
	canaries := noCanary{canaries: []string{"canary-intercom-7f3a9", "canary-brevo-2c81d", "canary-webhook-91be0"}}
	t.Setenv("INTERCOM_ACCESS_TOKEN", canaries.canaries[0])
	t.Setenv("BREVO_API_KEY", canaries.canaries[1])
	secretFile := t.TempDir() + "/webhook_secret"
	if err := writeFile(secretFile, canaries.canaries[2]); err != nil {
		t.Fatal(err)
	}
	cfg := ts.provider() + connectorHCL("intercom", "") + fmt.Sprintf(`
resource "tajo_webhook_subscription" "intercom" {
  connector_id = tajo_connector.intercom.id
  source       = "intercom"
  topics       = ["contact.user.updated"]
  secret       = "file:%s"
  path         = "/webhooks/intercom"
}
`, secretFile)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6,
		Steps: []resource.TestStep{{
			Config:            cfg,
			ConfigPlanChecks:  resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{canaries}, PostApplyPostRefresh: []plancheck.PlanCheck{canaries}},
			ConfigStateChecks: []statecheck.StateCheck{canaries},
			Check:             canaries.inStore(ts),
		}},
	})
}
