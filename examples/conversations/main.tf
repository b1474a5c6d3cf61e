# Conversations, AI agent (Fin), messenger engagement and events in Brevo.
# Guide: docs/guides/conversations-and-events.md.

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
    plan         = "premium"
  }
  brevo = {
    api_key = "env:BREVO_API_KEY"
  }

  sync = {
    contacts      = true
    conversations = true # OPEN_CONVERSATIONS, LAST_RATING, … and conversation events
    ai_agent      = true # AI_AGENT_PARTICIPATED, AI_RESOLUTION_STATE, … and ai_agent_* events
    messenger     = true # LAST_CONTACTED, LAST_REPLIED, BROWSER, OS, COUNTRY, CITY
    events        = true # events into Brevo's events API
  }

  # Only these Intercom data events are sent (conversation and AI-agent
  # events always are, with events = true).
  event_names = ["plan-upgraded", "invited-teammate", "exported-report"]

  mode           = "batch"
  batch_interval = "15m"
}

# Rename a default: the average rating lands in CSAT_AVERAGE.
resource "tajo_field_mapping" "csat" {
  connector_id = tajo_connector.intercom.id
  source       = "conversations.average_rating"
  target       = "CSAT_AVERAGE"
  type         = "number"
}

# Sources without a default target.
resource "tajo_field_mapping" "snoozed" {
  connector_id = tajo_connector.intercom.id
  source       = "conversations.snoozed_count"
  target       = "SNOOZED_CONVERSATIONS"
  type         = "number"
}

resource "tajo_field_mapping" "browser_language" {
  connector_id = tajo_connector.intercom.id
  source       = "browser_language"
  target       = "BROWSER_LANGUAGE"
  type         = "text"
}

# The brief's list 36: contacts with an open or snoozed conversation.
resource "tajo_list_assignment" "active_conversations" {
  connector_id = tajo_connector.intercom.id
  list_id      = 36
  rule         = "active_conversations"
}

# Contacts with a conversation tagged "billing".
resource "tajo_list_assignment" "billing_conversations" {
  connector_id = tajo_connector.intercom.id
  list_id      = 39
  rule         = "conversation_tag:billing"
}
