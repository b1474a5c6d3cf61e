# Quickstart: the product brief's Intercom connector, as Terraform.
#
#   make demo                      # everything below against a local sandbox
#
# or by hand (see README.md): build, point Terraform at the local provider
# build, export TAJO_STORE and the secrets the references name, then
# terraform apply in this directory and run tajo-agent.

terraform {
  required_providers {
    tajo = {
      source = "tajo/tajo"
    }
  }
}

# The store comes from TAJO_STORE, e.g. sqlite:///var/lib/tajo/tajo.db.
provider "tajo" {}

variable "intercom_base_url" {
  description = "Intercom API base URL; null means the region's host (the demo points it at the sandbox)."
  type        = string
  default     = null
}

variable "brevo_base_url" {
  description = "Brevo API base URL; null means https://api.brevo.com/v3."
  type        = string
  default     = null
}

variable "debug" {
  description = "The brief's debug mode: verbose logs of this connector and of each webhook delivery."
  type        = bool
  default     = false
}

resource "tajo_connector" "intercom" {
  name    = "intercom"
  enabled = true

  intercom = {
    access_token = "env:INTERCOM_ACCESS_TOKEN" # the agent reads it from its environment
    api_version  = "2.11"
    base_url     = var.intercom_base_url
    plan         = "premium"
  }

  brevo = {
    api_key  = "env:BREVO_API_KEY"
    base_url = var.brevo_base_url
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
  lead_policy            = "skip"
  default_field_mappings = true # email, name, phone, role, company, dates, unsubscribed

  debug        = var.debug
  log_level    = var.debug ? "verbose" : "info"
  log_webhooks = var.debug
}

# The brief's documented custom attributes.
resource "tajo_field_mapping" "plan_tier" {
  connector_id = tajo_connector.intercom.id
  source       = "custom_attributes.plan_tier"
  target       = "PLAN_TIER"
  type         = "text"
}

resource "tajo_field_mapping" "feature_usage" {
  connector_id = tajo_connector.intercom.id
  source       = "custom_attributes.feature_usage"
  target       = "FEATURE_USAGE"
  type         = "number"
}

# lists: {all_users: 35, active_conversations: 36, leads: 37}
resource "tajo_list_assignment" "all_users" {
  connector_id = tajo_connector.intercom.id
  list_id      = 35
  rule         = "all_users"
}

resource "tajo_list_assignment" "active_conversations" {
  connector_id = tajo_connector.intercom.id
  list_id      = 36
  rule         = "active_conversations"
}

resource "tajo_list_assignment" "leads" {
  connector_id = tajo_connector.intercom.id
  list_id      = 37
  rule         = "leads"
}

resource "tajo_webhook_subscription" "intercom" {
  connector_id = tajo_connector.intercom.id
  source       = "intercom"
  topics = [
    "contact.created", # the brief's names: contact.user.created + contact.lead.created
    "contact.updated",
    "contact.deleted",
    "contact.tag.created",
    "user.unsubscribed",
    "user.email.updated",
    "conversation.created",
    "conversation.closed",
    "conversation.rating.added",
    "conversation.snoozed",
  ]
  secret = "env:INTERCOM_CLIENT_SECRET"
  path   = "/webhooks/intercom"
}

data "tajo_connector_status" "intercom" {
  connector_id = tajo_connector.intercom.id
}

output "status" {
  description = "What tajo-agent last reported (zeros until it has run)."
  value = {
    connected           = data.tajo_connector_status.intercom.connected
    state               = data.tajo_connector_status.intercom.state
    lastSync            = data.tajo_connector_status.intercom.last_sync
    contactsSynced      = data.tajo_connector_status.intercom.contacts_synced
    conversationsSynced = data.tajo_connector_status.intercom.conversations_synced
    companiesSynced     = data.tajo_connector_status.intercom.companies_synced
    lastError           = data.tajo_connector_status.intercom.last_error
  }
}
