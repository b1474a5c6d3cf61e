# Real-time sync: Intercom webhooks reach Brevo within seconds, a scheduled
# catch-up repairs whatever a lost delivery missed (mode = "hybrid"), and
# Brevo unsubscribes travel back to Intercom (direction = "bidirectional").
# Guide: docs/guides/real-time-sync.md.
#
# Run the agent where Intercom and Brevo can reach it:
#
#   tajo-agent run --listen :8443 --tls-cert /etc/tajo/tls.crt --tls-key /etc/tajo/tls.key \
#     --admin-listen 127.0.0.1:9090 --public-url https://tajo.example.com
#
# then, in the Intercom Developer Hub, point the app's webhooks at
# https://tajo.example.com/webhooks/intercom with the topics below. The agent
# registers the Brevo webhook itself.

terraform {
  required_providers {
    tajo = {
      source = "tajo/tajo"
    }
  }
}

# The store comes from TAJO_STORE.
provider "tajo" {}

resource "tajo_connector" "intercom" {
  name = "intercom"

  intercom = {
    access_token = "env:INTERCOM_ACCESS_TOKEN"
    plan         = "pro"
  }
  brevo = {
    api_key = "env:BREVO_API_KEY"
  }

  sync = {
    contacts      = true
    companies     = true
    tags          = true
    conversations = true
  }

  mode           = "hybrid" # webhooks at once, plus a catch-up pass every batch_interval
  batch_interval = "1h"
  direction      = "bidirectional"

  # Log every delivery (topic, delivery id, contact, outcome), never its body
  # unless debug = true too.
  log_webhooks = true
}

resource "tajo_list_assignment" "all_users" {
  connector_id = tajo_connector.intercom.id
  list_id      = 35
  rule         = "all_users"
}

resource "tajo_list_assignment" "vip" {
  connector_id = tajo_connector.intercom.id
  list_id      = 38
  rule         = "tag:vip" # tag added or removed in Intercom: joins or leaves at once
}

# Intercom signs each delivery with the app's client secret (X-Hub-Signature).
resource "tajo_webhook_subscription" "intercom" {
  connector_id = tajo_connector.intercom.id
  source       = "intercom"
  topics = [
    "contact.created",     # contact.user.created + contact.lead.created
    "contact.updated",     # contact.user.updated + contact.lead.updated
    "contact.tag.created", # contact.user.tag.created + contact.lead.tag.created
    "contact.tag.deleted", # contact.user.tag.deleted + contact.lead.tag.deleted
    "user.email.updated",  # contact.email.updated: the same Brevo contact gets the new address
    "user.unsubscribed",   # contact.unsubscribed
    "contact.merged",      # the merged lead leaves its lists
    "contact.deleted",
    "company.updated",
    "conversation.closed", # conversation.admin.closed
    "conversation.rating.added",
  ]
  secret = "env:INTERCOM_CLIENT_SECRET"
  path   = "/webhooks/intercom"
}

# Brevo → Intercom: unsubscribes, hard bounces and spam complaints set
# unsubscribed_from_emails in Intercom, without echo.
resource "tajo_webhook_subscription" "brevo" {
  connector_id = tajo_connector.intercom.id
  source       = "brevo"
  topics       = ["unsubscribed", "hardBounce", "spam", "contactDeleted"]
  secret       = "env:BREVO_WEBHOOK_TOKEN" # a long random string; Brevo sends it as a bearer token
  path         = "/webhooks/brevo"
}
