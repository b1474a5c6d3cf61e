# An Intercom custom attribute into a Brevo contact attribute. The agent
# creates PLAN_TIER in Brevo (as text) before the first write.
resource "tajo_field_mapping" "plan_tier" {
  connector_id = tajo_connector.intercom.id
  source       = "custom_attributes.plan_tier"
  target       = "PLAN_TIER"
  type         = "text"
}

# Replaces the default COMPANY_PLAN mapping with a company custom attribute.
resource "tajo_field_mapping" "company_plan" {
  connector_id = tajo_connector.intercom.id
  source       = "company.custom_attributes.billing_plan"
  target       = "COMPANY_PLAN"
}

# A date written as a Brevo date attribute (type defaults to the source's).
resource "tajo_field_mapping" "last_replied" {
  connector_id = tajo_connector.intercom.id
  source       = "last_replied_at"
  target       = "LAST_REPLIED"
}
