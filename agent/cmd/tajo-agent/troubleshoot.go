package main

import (
	"errors"
	"strings"

	"github.com/tajo/terraform-provider-tajo/agent/brevo"
	"github.com/tajo/terraform-provider-tajo/agent/intercom"
	"github.com/tajo/terraform-provider-tajo/agent/sync"
)

// row is one row of the brief's troubleshooting table: how the agent
// recognises the problem and the fix it prints.
type row struct {
	problem string
	match   func(error) bool
	fix     string
}

var troubleshooting = []row{
	{
		problem: "401 Unauthorized (Intercom)",
		match:   func(err error) bool { return errors.Is(err, intercom.ErrUnauthorized) },
		fix: "Intercom rejected the access token (invalid or expired): regenerate it in the Developer Hub " +
			"(Your apps → your app → Configure → Authentication) and update the secret intercom.access_token references",
	},
	{
		problem: "401 Unauthorized (Brevo)",
		match:   func(err error) bool { return errors.Is(err, brevo.ErrUnauthorized) },
		fix:     "Brevo rejected the API key: create a new key (Brevo → SMTP & API → API keys) and update the secret brevo.api_key references",
	},
	{
		problem: "conversation data empty",
		match: func(err error) bool {
			return errors.Is(err, intercom.ErrPlanRestricted) || (errors.Is(err, intercom.ErrForbidden) && strings.Contains(err.Error(), "conversation"))
		},
		fix: "the Intercom app cannot read conversations (missing scope or plan): re-authorize the app with the " +
			"\"Read conversations\" permission, or set sync.conversations = false",
	},
	{
		problem: "webhook not received",
		match:   func(err error) bool { return errors.Is(err, sync.ErrWebhookNotReceived) },
		fix: "the webhook is not registered: configure the agent's public URL plus the subscription's path, with its topics, " +
			"in the Developer Hub (Your apps → your app → Webhooks), and check the agent is reachable there",
	},
	{
		problem: "webhook not registered (Brevo)",
		match:   func(err error) bool { return errors.Is(err, sync.ErrWebhookNotRegistered) },
		fix:     "start the agent with --public-url https://<its public address> so that it registers the Brevo webhook",
	},
	{
		problem: "API version mismatch",
		match: func(err error) bool {
			var ae *intercom.APIError
			return errors.As(err, &ae) && strings.Contains(strings.ToLower(ae.Error()), "version")
		},
		fix: "the response did not match the pinned API version: keep intercom.api_version = \"2.11\" on the connector " +
			"(the agent always sends Intercom-Version) and check the Developer Hub's version of the app",
	},
}

// Fixes printed for findings that are not errors.
const (
	fixLeadsSkipped = "leads without an email are not synced with lead_policy = \"skip\": set lead_policy = \"ext_id\" " +
		"on the connector to sync them by their Intercom id"
)
