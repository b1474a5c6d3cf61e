package provider

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"

	"github.com/tajo/terraform-provider-tajo/agent/config"
)

func mappingHCL(source, target, extra string) string {
	return `
resource "tajo_field_mapping" "m" {
  connector_id = tajo_connector.intercom.id
  source       = "` + source + `"
  target       = "` + target + `"
` + extra + `
}
`
}

func TestAccFieldMapping_lifecycle(t *testing.T) {
	ts := newTestStore(t)
	addr := "tajo_field_mapping.m"
	base := ts.provider() + connectorHCL("intercom", "")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6,
		CheckDestroy:             ts.checkEmpty,
		Steps: []resource.TestStep{
			{ // type and transform planned from the source
				Config: base + mappingHCL("custom_attributes.plan_tier", "PLAN_TIER", ""),
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr(addr, "id", "intercom/PLAN_TIER"),
					resource.TestCheckResourceAttr(addr, "type", "text"),
					resource.TestCheckResourceAttr(addr, "transform", "none"),
					ts.checkDoc(config.KindFieldMapping, "intercom/PLAN_TIER", wantField("source", "custom_attributes.plan_tier")),
				),
			},
			{ResourceName: addr, ImportState: true, ImportStateId: "intercom/PLAN_TIER", ImportStateVerify: true},
			{ // in place: new source, whose default type differs
				Config:           base + mappingHCL("signed_up_at", "PLAN_TIER", ""),
				ConfigPlanChecks: expectAction(addr, plancheck.ResourceActionUpdate),
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr(addr, "type", "date"),
					ts.checkDoc(config.KindFieldMapping, "intercom/PLAN_TIER", wantField("type", "date")),
				),
			},
			{ // explicit type
				Config:           base + mappingHCL("signed_up_at", "PLAN_TIER", `type = "number"`),
				ConfigPlanChecks: expectAction(addr, plancheck.ResourceActionUpdate),
				Check:            resource.TestCheckResourceAttr(addr, "type", "number"),
			},
			{ // drift in the store
				PreConfig:        ts.edit(t, config.KindFieldMapping, "intercom/PLAN_TIER", func(b map[string]any) { b["source"] = "email" }),
				Config:           base + mappingHCL("signed_up_at", "PLAN_TIER", `type = "number"`),
				ConfigPlanChecks: expectAction(addr, plancheck.ResourceActionUpdate),
				Check:            ts.checkDoc(config.KindFieldMapping, "intercom/PLAN_TIER", wantField("source", "signed_up_at")),
			},
			{ // deleted in the store
				PreConfig:        ts.remove(t, config.KindFieldMapping, "intercom/PLAN_TIER"),
				Config:           base + mappingHCL("signed_up_at", "PLAN_TIER", `type = "number"`),
				ConfigPlanChecks: expectAction(addr, plancheck.ResourceActionCreate),
			},
			{ // replace: another target is another mapping
				Config:           base + mappingHCL("name", "FULLNAME", ""),
				ConfigPlanChecks: expectAction(addr, plancheck.ResourceActionDestroyBeforeCreate),
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr(addr, "transform", "split_name"),
					ts.checkNoDoc(config.KindFieldMapping, "intercom/PLAN_TIER"),
					ts.checkDoc(config.KindFieldMapping, "intercom/FULLNAME", wantField("transform", "split_name")),
				),
			},
		},
	})
}
