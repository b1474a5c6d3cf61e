package config

import (
	"fmt"
	"slices"
	"sort"
)

// Webhook sources.
const (
	SourceIntercom = "intercom"
	SourceBrevo    = "brevo"
)

// IntercomTopics are the Intercom 2.11 webhook topics the agent acts on
// (see the webhook models page of the Intercom developer docs).
var IntercomTopics = []string{
	"contact.user.created",
	"contact.user.updated",
	"contact.lead.created",
	"contact.lead.updated",
	"contact.lead.signed_up",
	"contact.lead.added_email",
	"contact.email.updated",
	"contact.user.tag.created",
	"contact.user.tag.deleted",
	"contact.lead.tag.created",
	"contact.lead.tag.deleted",
	"contact.subscribed",
	"contact.unsubscribed",
	"contact.archived",
	"contact.unarchive",
	"contact.merged",
	"contact.deleted",
	"company.created",
	"company.updated",
	"company.deleted",
	"company.contact.attached",
	"company.contact.detached",
	"conversation.user.created",
	"conversation.admin.single.created",
	"conversation.user.replied",
	"conversation.admin.replied",
	"conversation.operator.replied",
	"conversation.admin.closed",
	"conversation.admin.opened",
	"conversation.admin.snoozed",
	"conversation.admin.unsnoozed",
	"conversation.rating.added",
	"conversation.deleted",
	"conversation.contact.attached",
	"conversation.contact.detached",
	"event.created",
	"ping",
}

// TopicAliases maps the product brief's event names (and Intercom's legacy
// pre-2.5 names) to the real 2.11 topics they stand for.
var TopicAliases = map[string][]string{
	"conversation.created": {"conversation.user.created", "conversation.admin.single.created"},
	"conversation.closed":  {"conversation.admin.closed"},
	"conversation.snoozed": {"conversation.admin.snoozed"},
	"contact.created":      {"contact.user.created", "contact.lead.created"},
	"contact.updated":      {"contact.user.updated", "contact.lead.updated"},
	"contact.tag.created":  {"contact.user.tag.created", "contact.lead.tag.created"},
	"contact.tag.deleted":  {"contact.user.tag.deleted", "contact.lead.tag.deleted"},
	"user.created":         {"contact.user.created"},
	"user.email.updated":   {"contact.email.updated"},
	"user.unsubscribed":    {"contact.unsubscribed"},
	"user.tag.created":     {"contact.user.tag.created"},
	"user.tag.deleted":     {"contact.user.tag.deleted"},
}

// BrevoEvents are the Brevo marketing webhook events the agent registers and
// acts on (POST /webhooks, type "marketing").
var BrevoEvents = []string{"unsubscribed", "contactUpdated", "contactDeleted", "hardBounce", "spam"}

// ExpandTopics returns the real topics a subscription's topics stand for,
// de-duplicated and sorted. Unknown names are dropped; Validate reports them.
func ExpandTopics(source string, topics []string) []string {
	seen := map[string]bool{}
	for _, t := range topics {
		if source == SourceIntercom {
			if real, ok := TopicAliases[t]; ok {
				for _, r := range real {
					seen[r] = true
				}
				continue
			}
			if slices.Contains(IntercomTopics, t) {
				seen[t] = true
			}
		} else if slices.Contains(BrevoEvents, t) {
			seen[t] = true
		}
	}
	out := make([]string, 0, len(seen))
	for t := range seen {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

func validateTopic(source, topic string) error {
	var valid []string
	switch source {
	case SourceIntercom:
		if slices.Contains(IntercomTopics, topic) {
			return nil
		}
		if _, ok := TopicAliases[topic]; ok {
			return nil
		}
		valid = append(slices.Clone(IntercomTopics), aliasNames()...)
	case SourceBrevo:
		if slices.Contains(BrevoEvents, topic) {
			return nil
		}
		valid = BrevoEvents
	default:
		return nil // the source itself is reported
	}
	msg := fmt.Sprintf("unknown %s topic %q", source, topic)
	if c := closest(topic, valid); c != "" {
		msg += fmt.Sprintf("; did you mean %q?", c)
	}
	return fmt.Errorf("%s Valid topics: %s", msg, quoteList(valid))
}

func aliasNames() []string {
	names := make([]string, 0, len(TopicAliases))
	for n := range TopicAliases {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
