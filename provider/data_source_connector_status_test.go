package provider

import (
	"context"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/tajo/terraform-provider-tajo/agent/store"
)

func TestAccConnectorStatus(t *testing.T) {
	ts := newTestStore(t)
	addr := "data.tajo_connector_status.s"
	cfg := ts.provider() + connectorHCL("intercom", "") + `
data "tajo_connector_status" "s" {
  connector_id = tajo_connector.intercom.id
}
`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6,
		Steps: []resource.TestStep{
			{ // before any agent ran
				Config: cfg,
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr(addr, "connected", "false"),
					resource.TestCheckResourceAttr(addr, "state", StateNeverRun),
					resource.TestCheckResourceAttr(addr, "contacts_synced", "0"),
					resource.TestCheckResourceAttr(addr, "last_sync", ""),
					resource.TestCheckNoResourceAttr(addr, "progress.phase"),
				),
			},
			{ // an agent reported
				PreConfig: func() {
					err := ts.S.PutStatus(context.Background(), store.Status{
						ConnectorID: "intercom", Connected: true, State: "syncing",
						LastSync:       time.Date(2024, 1, 15, 10, 30, 0, 0, time.UTC),
						ContactsSynced: 14200, ConversationsSynced: 28400, CompaniesSynced: 2100, EventsSynced: 7,
						LastError: "brevo: 425 too early", Errors: []string{"contact 1: SMS invalid"},
						Progress: &store.Progress{Phase: "contacts", Done: 500, Total: 14200, PerSecond: 150.5},
					})
					if err != nil {
						t.Fatal(err)
					}
				},
				Config: cfg,
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr(addr, "connected", "true"),
					resource.TestCheckResourceAttr(addr, "state", "syncing"),
					resource.TestCheckResourceAttr(addr, "last_sync", "2024-01-15T10:30:00Z"),
					resource.TestCheckResourceAttr(addr, "contacts_synced", "14200"),
					resource.TestCheckResourceAttr(addr, "conversations_synced", "28400"),
					resource.TestCheckResourceAttr(addr, "companies_synced", "2100"),
					resource.TestCheckResourceAttr(addr, "events_synced", "7"),
					resource.TestCheckResourceAttr(addr, "last_error", "brevo: 425 too early"),
					resource.TestCheckResourceAttr(addr, "errors.0", "contact 1: SMS invalid"),
					resource.TestCheckResourceAttr(addr, "progress.phase", "contacts"),
					resource.TestCheckResourceAttr(addr, "progress.total", "14200"),
				),
			},
		},
	})
}

func TestAccConnectorStatus_unknownConnector(t *testing.T) {
	ts := newTestStore(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6,
		Steps: []resource.TestStep{{
			Config:      ts.provider() + `data "tajo_connector_status" "s" { connector_id = "nope" }`,
			ExpectError: regexpMust(`(?s)No tajo_connector "nope" in the store`),
		}},
	})
}
