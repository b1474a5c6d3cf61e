# The brief's lists: every user in 35, contacts with an open conversation in
# 36, leads in 37; and a list per tag.
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

resource "tajo_list_assignment" "vip" {
  connector_id = tajo_connector.intercom.id
  list_id      = 42
  rule         = "tag:vip"
}
