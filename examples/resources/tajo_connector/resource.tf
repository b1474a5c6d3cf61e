resource "tajo_connector" "intercom" {
  name = "intercom"

  intercom = {
    access_token = "env:INTERCOM_ACCESS_TOKEN" # a reference, never the token
    api_version  = "2.11"
    region       = "eu"
    plan         = "premium" # 100 requests per 10 s
  }

  brevo = {
    api_key = "file:/run/secrets/brevo_api_key"
  }

  sync = {
    contacts      = true
    conversations = true
    companies     = true
    events        = true
    tags          = true
  }

  direction              = "bidirectional"
  mode                   = "hybrid"
  batch_interval         = "1h"
  lead_policy            = "skip"
  default_field_mappings = true
}
