# Intercom deliveries to https://<agent public URL>/webhooks/intercom; set the
# same topics for that URL in the Intercom Developer Hub.
resource "tajo_webhook_subscription" "intercom" {
  connector_id = tajo_connector.intercom.id
  source       = "intercom"
  topics = [
    "contact.user.created",
    "contact.user.updated",
    "contact.lead.created",
    "contact.lead.updated",
    "contact.unsubscribed",
    "conversation.closed", # the brief's name for conversation.admin.closed
  ]
  secret = "env:INTERCOM_CLIENT_SECRET"
  path   = "/webhooks/intercom"
}

# Brevo unsubscribes back into Intercom (direction = "bidirectional"): the
# agent registers this webhook in Brevo itself.
resource "tajo_webhook_subscription" "brevo" {
  connector_id = tajo_connector.intercom.id
  source       = "brevo"
  topics       = ["unsubscribed"]
  secret       = "env:BREVO_WEBHOOK_TOKEN"
  path         = "/webhooks/brevo"
}
