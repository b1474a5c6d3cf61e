# The connector for this Kubernetes example. Apply it from CI or a laptop with
# TAJO_STORE set to the same PostgreSQL URL as the tajo-agent-store Secret.
# Its secret references are the files the Deployment mounts from the
# tajo-agent-credentials Secret, so Terraform never sees a value.

terraform {
  required_providers {
    tajo = {
      source = "tajo/tajo"
    }
  }
}

# The store comes from TAJO_STORE (postgres://…).
provider "tajo" {}

resource "tajo_connector" "intercom" {
  name = "intercom"

  intercom = {
    access_token = "file:/var/run/secrets/tajo/intercom-access-token"
    region       = "us"
    plan         = "premium"
  }

  brevo = {
    api_key = "file:/var/run/secrets/tajo/brevo-api-key"
  }

  sync = {
    contacts      = true
    conversations = true
    companies     = true
    events        = true
    tags          = true
  }

  direction              = "intercom_to_brevo"
  mode                   = "hybrid"
  batch_interval         = "1h"
  default_field_mappings = true
}

resource "tajo_webhook_subscription" "intercom" {
  connector_id = tajo_connector.intercom.id
  source       = "intercom"
  topics       = ["contact.user.created", "contact.user.updated", "conversation.admin.closed"]
  secret       = "file:/var/run/secrets/tajo/intercom-client-secret"
  path         = "/webhooks/intercom"
}
