package provider

import (
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"

	"github.com/tajo/terraform-provider-tajo/agent/config"
)

func webhookHCL(source, topics, path string) string {
	return fmt.Sprintf(`
resource "tajo_webhook_subscription" "w" {
  connector_id = tajo_connector.intercom.id
  source       = %q
  topics       = %s
  secret       = "env:WEBHOOK_SECRET"
  path         = %q
}
`, source, topics, path)
}

func TestAccWebhookSubscription_lifecycle(t *testing.T) {
	ts := newTestStore(t)
	addr := "tajo_webhook_subscription.w"
	base := ts.provider() + connectorHCL("intercom", `direction = "bidirectional"`)
	id := "intercom/webhooks/intercom"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6,
		CheckDestroy:             ts.checkEmpty,
		Steps: []resource.TestStep{
			{
				Config: base + webhookHCL("intercom", `["contact.user.created", "conversation.closed"]`, "/webhooks/intercom"),
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr(addr, "id", id),
					resource.TestCheckResourceAttr(addr, "topics.#", "2"),
					ts.checkDoc(config.KindWebhook, id, wantField("path", "/webhooks/intercom")),
				),
			},
			{ResourceName: addr, ImportState: true, ImportStateId: id, ImportStateVerify: true},
			{
				Config:           base + webhookHCL("intercom", `["contact.user.created", "conversation.closed", "user.unsubscribed"]`, "/webhooks/intercom"),
				ConfigPlanChecks: expectAction(addr, plancheck.ResourceActionUpdate),
				Check:            resource.TestCheckResourceAttr(addr, "topics.2", "user.unsubscribed"),
			},
			{
				PreConfig:        ts.edit(t, config.KindWebhook, id, func(b map[string]any) { b["topics"] = []string{"ping"} }),
				Config:           base + webhookHCL("intercom", `["contact.user.created", "conversation.closed", "user.unsubscribed"]`, "/webhooks/intercom"),
				ConfigPlanChecks: expectAction(addr, plancheck.ResourceActionUpdate),
			},
			{
				PreConfig:        ts.remove(t, config.KindWebhook, id),
				Config:           base + webhookHCL("intercom", `["contact.user.created", "conversation.closed", "user.unsubscribed"]`, "/webhooks/intercom"),
				ConfigPlanChecks: expectAction(addr, plancheck.ResourceActionCreate),
			},
			{ // replace: another source and path
				Config:           base + webhookHCL("brevo", `["unsubscribed"]`, "/webhooks/brevo"),
				ConfigPlanChecks: expectAction(addr, plancheck.ResourceActionDestroyBeforeCreate),
				Check: resource.ComposeAggregateTestCheckFunc(
					ts.checkNoDoc(config.KindWebhook, id),
					ts.checkDoc(config.KindWebhook, "intercom/webhooks/brevo", wantField("source", "brevo")),
				),
			},
		},
	})
}
