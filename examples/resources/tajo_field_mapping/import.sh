# <connector name>/<TARGET>
terraform import tajo_field_mapping.plan_tier intercom/PLAN_TIER
