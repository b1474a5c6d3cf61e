# A connector is imported by its name.
terraform import tajo_connector.intercom intercom
