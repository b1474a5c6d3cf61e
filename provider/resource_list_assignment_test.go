package provider

import (
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"

	"github.com/tajo/terraform-provider-tajo/agent/config"
)

func listHCL(listID int, rule string) string {
	return fmt.Sprintf(`
resource "tajo_list_assignment" "l" {
  connector_id = tajo_connector.intercom.id
  list_id      = %d
  rule         = %q
}
`, listID, rule)
}

func TestAccListAssignment_lifecycle(t *testing.T) {
	ts := newTestStore(t)
	addr := "tajo_list_assignment.l"
	base := ts.provider() + connectorHCL("intercom", "")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6,
		CheckDestroy:             ts.checkEmpty,
		Steps: []resource.TestStep{
			{
				Config: base + listHCL(35, "all_users"),
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr(addr, "id", "intercom/35"),
					ts.checkDoc(config.KindList, "intercom/35", wantField("rule", "all_users")),
				),
			},
			{ResourceName: addr, ImportState: true, ImportStateId: "intercom/35", ImportStateVerify: true},
			{
				Config:           base + listHCL(35, "tag:VIP customer"),
				ConfigPlanChecks: expectAction(addr, plancheck.ResourceActionUpdate),
				Check:            ts.checkDoc(config.KindList, "intercom/35", wantField("rule", "tag:VIP customer")),
			},
			{
				PreConfig:        ts.edit(t, config.KindList, "intercom/35", func(b map[string]any) { b["rule"] = "leads" }),
				Config:           base + listHCL(35, "tag:VIP customer"),
				ConfigPlanChecks: expectAction(addr, plancheck.ResourceActionUpdate),
			},
			{
				PreConfig:        ts.remove(t, config.KindList, "intercom/35"),
				Config:           base + listHCL(35, "tag:VIP customer"),
				ConfigPlanChecks: expectAction(addr, plancheck.ResourceActionCreate),
			},
			{
				Config:           base + listHCL(37, "leads"),
				ConfigPlanChecks: expectAction(addr, plancheck.ResourceActionDestroyBeforeCreate),
				Check: resource.ComposeAggregateTestCheckFunc(
					ts.checkNoDoc(config.KindList, "intercom/35"),
					ts.checkDoc(config.KindList, "intercom/37", wantField("list_id", 37)),
				),
			},
		},
	})
}
