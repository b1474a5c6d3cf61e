# <connector name><path>
terraform import tajo_webhook_subscription.intercom intercom/webhooks/intercom
