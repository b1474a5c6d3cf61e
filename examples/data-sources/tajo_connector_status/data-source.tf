data "tajo_connector_status" "intercom" {
  connector_id = tajo_connector.intercom.id
}

output "intercom_sync" {
  value = {
    connected     = data.tajo_connector_status.intercom.connected
    last_sync     = data.tajo_connector_status.intercom.last_sync
    contacts      = data.tajo_connector_status.intercom.contacts_synced
    conversations = data.tajo_connector_status.intercom.conversations_synced
    companies     = data.tajo_connector_status.intercom.companies_synced
    last_error    = data.tajo_connector_status.intercom.last_error
  }
}
