package config

import (
	"fmt"
	"sort"
	"strings"
)

// Bundle is everything declared for one connector: what the agent runs.
type Bundle struct {
	Connector Connector
	Mappings  []FieldMapping
	Lists     []ListAssignment
	Webhooks  []WebhookSubscription
}

// EffectiveMappings returns the mappings the agent applies: the defaults
// when the connector asks for them, replaced target by target by declared
// mappings, and the defaults of the conversations, ai_agent and messenger
// toggles unless a declared mapping reads the same source (which renames
// it) or writes the same target; with Type and Transform filled in,
// ordered by target.
func (b Bundle) EffectiveMappings() []FieldMapping {
	byTarget := map[string]FieldMapping{}
	if b.Connector.DefaultFieldMappings {
		for _, m := range DefaultMappings(b.Connector.ID()) {
			byTarget[m.Target] = m
		}
	}
	declared := map[string]bool{}
	for _, m := range b.Mappings {
		declared[m.Source] = true
	}
	for _, m := range toggledDefaults(b.Connector) {
		if !declared[m.Source] {
			byTarget[m.Target] = m
		}
	}
	for _, m := range b.Mappings {
		byTarget[m.Target] = m.WithDefaults()
	}
	out := make([]FieldMapping, 0, len(byTarget))
	for _, m := range byTarget {
		out = append(out, m)
	}
	sortMappings(out)
	return out
}

// Validate checks every object and what only shows across objects. Paths
// are prefixed with the object's kind and id.
func (b Bundle) Validate() error {
	var p problems
	prefixed := func(prefix string, err error) {
		if ps, ok := err.(Problems); ok {
			for _, x := range ps {
				p.add(prefix+"."+x.Path, "%s", x.Message)
			}
		}
	}
	id := b.Connector.ID()
	prefixed(KindConnector+"["+id+"]", b.Connector.Validate())
	for _, m := range b.Mappings {
		prefixed(KindFieldMapping+"["+m.ID()+"]", m.Validate())
	}
	lists := map[int64]bool{}
	for _, l := range b.Lists {
		prefixed(KindList+"["+l.ID()+"]", l.Validate())
		lists[l.ListID] = true
		if r, err := ParseRule(l.Rule); err == nil && r.NeedsConversations() && !b.Connector.Sync.Conversations {
			p.add(KindList+"["+l.ID()+"].rule", "rule %q needs conversation data: set sync.conversations = true on connector %q", l.Rule, id)
		}
	}
	for _, m := range b.Mappings {
		switch {
		case strings.HasPrefix(m.Source, ConversationsPrefix) && !b.Connector.Sync.Conversations:
			p.add(KindFieldMapping+"["+m.ID()+"].source", "%q needs conversation data: set sync.conversations = true on connector %q", m.Source, id)
		case strings.HasPrefix(m.Source, AIAgentPrefix) && !b.Connector.Sync.AIAgent:
			p.add(KindFieldMapping+"["+m.ID()+"].source", "%q needs AI-agent data: set sync.ai_agent = true on connector %q", m.Source, id)
		}
	}
	for _, w := range b.Webhooks {
		prefixed(KindWebhook+"["+w.ID()+"]", w.Validate())
		if w.Source == SourceBrevo && b.Connector.Direction != DirectionBidirectional {
			p.add(KindWebhook+"["+w.ID()+"].source",
				"Brevo webhooks carry changes back to Intercom; set direction = %q on connector %q or remove this subscription",
				DirectionBidirectional, id)
		}
	}
	// Two targets from one source are fine; one target twice cannot happen
	// (the id is connector/target), but a SMS/FIRSTNAME clash with split_name can.
	targets := map[string]string{}
	for _, m := range b.EffectiveMappings() {
		targets[m.Target] = m.Source
	}
	for _, m := range b.EffectiveMappings() {
		if m.Transform != TransformSplitName {
			continue
		}
		for _, t := range []string{TargetFirstName, TargetLastName} {
			if src, ok := targets[t]; ok {
				p.add(KindFieldMapping+"["+JoinID(id, t)+"]",
					"%s is written by the split_name mapping of %q and also mapped from %q; remove one of them", t, m.Source, src)
			}
		}
	}
	return p.list.Err()
}

// SortedListIDs returns the managed list ids in ascending order.
func (b Bundle) SortedListIDs() []int64 {
	ids := make([]int64, 0, len(b.Lists))
	for _, l := range b.Lists {
		ids = append(ids, l.ListID)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

// String names the bundle for log lines.
func (b Bundle) String() string {
	return fmt.Sprintf("connector %s (%d mappings, %d lists, %d webhooks)", b.Connector.ID(), len(b.Mappings), len(b.Lists), len(b.Webhooks))
}
