package provider

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	tajoconfig "github.com/tajo/terraform-provider-tajo/agent/config"
	"github.com/tajo/terraform-provider-tajo/agent/store"
)

func readExample(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "examples", rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestAccExamples applies every resource and data source example of the
// documentation (with the connector example they reference) and destroys it.
func TestAccExamples(t *testing.T) {
	files, err := filepath.Glob("../examples/*/*/*.tf")
	if err != nil || len(files) < 5 {
		t.Fatalf("examples: %v, %v", files, err)
	}
	connector := readExample(t, "resources/tajo_connector/resource.tf")
	for _, f := range files {
		rel, _ := filepath.Rel("../examples", f)
		t.Run(rel, func(t *testing.T) {
			ts := newTestStore(t)
			cfg := ts.provider() + readExample(t, rel)
			if !strings.Contains(rel, "tajo_connector/") {
				cfg += connector
			}
			resource.ParallelTest(t, resource.TestCase{
				ProtoV6ProviderFactories: protoV6,
				CheckDestroy:             ts.checkEmpty,
				Steps:                    []resource.TestStep{{Config: cfg}},
			})
		})
	}
}

// TestAccQuickstart follows the README: apply examples/quickstart, plan
// again (empty), import every resource, destroy, and the store holds no
// configuration document.
func TestAccQuickstart(t *testing.T) {
	ts := newTestStore(t)
	t.Setenv(EnvStore, ts.URL)
	// The test framework supplies the provider itself, so the example's
	// terraform { required_providers } block is left out.
	quickstart := withoutTerraformBlock(readExample(t, "quickstart/main.tf"))
	imports := map[string]string{
		"tajo_connector.intercom":                   "intercom",
		"tajo_field_mapping.plan_tier":              "intercom/PLAN_TIER",
		"tajo_field_mapping.feature_usage":          "intercom/FEATURE_USAGE",
		"tajo_list_assignment.all_users":            "intercom/35",
		"tajo_list_assignment.active_conversations": "intercom/36",
		"tajo_list_assignment.leads":                "intercom/37",
		"tajo_webhook_subscription.intercom":        "intercom/webhooks/intercom",
	}
	steps := []resource.TestStep{{
		Config: quickstart,
		Check: resource.ComposeAggregateTestCheckFunc(
			resource.TestCheckResourceAttr("data.tajo_connector_status.intercom", "state", StateNeverRun),
			func(*terraform.State) error {
				for _, id := range []string{"intercom/PLAN_TIER", "intercom/FEATURE_USAGE"} {
					if err := ts.checkDoc(tajoconfig.KindFieldMapping, id, nil)(nil); err != nil {
						return err
					}
				}
				return ts.checkDoc(tajoconfig.KindConnector, "intercom", wantField("sync.events", true))(nil)
			},
		),
	}}
	for addr, id := range imports {
		steps = append(steps, resource.TestStep{
			ResourceName:      addr,
			ImportState:       true,
			ImportStateId:     id,
			ImportStateVerify: true,
		})
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6,
		CheckDestroy:             ts.checkEmpty,
		Steps:                    steps,
	})
}

// withoutTerraformBlock removes the top-level terraform { … } block.
func withoutTerraformBlock(hcl string) string {
	start := strings.Index(hcl, "terraform {")
	if start < 0 {
		return hcl
	}
	depth := 0
	for i := start; i < len(hcl); i++ {
		switch hcl[i] {
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return hcl[:start] + hcl[i+1:]
			}
		}
	}
	return hcl
}

// TestAccCapabilityExamples applies the standalone example of each guide
// (real-time sync, conversations and events), plans again (empty) and
// destroys it.
func TestAccCapabilityExamples(t *testing.T) {
	for _, dir := range []string{"realtime", "conversations"} {
		t.Run(dir, func(t *testing.T) {
			ts := newTestStore(t)
			t.Setenv(EnvStore, ts.URL)
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: protoV6,
				CheckDestroy:             ts.checkEmpty,
				Steps: []resource.TestStep{{
					Config: withoutTerraformBlock(readExample(t, dir+"/main.tf")),
					// What was applied is a configuration the agent runs.
					Check: func(*terraform.State) error {
						bundles, _, err := store.LoadBundles(context.Background(), ts.S)
						if err != nil {
							return err
						}
						if len(bundles) != 1 {
							return fmt.Errorf("%d connectors in the store, want 1", len(bundles))
						}
						return bundles[0].Validate()
					},
				}},
			})
		})
	}
}
