package sync

import (
	"slices"
	"sort"
	"strings"

	"github.com/tajo/terraform-provider-tajo/agent/config"
)

// Facts are what list rules look at for one contact.
type Facts struct {
	Role string `json:"role,omitempty"`
	// Tags are the contact's tag names.
	Tags []string `json:"tags,omitempty"`
	// CompanyPlan is the plan name of the primary company ("" without one).
	CompanyPlan string `json:"company_plan,omitempty"`
	// ActiveConversation: an open or snoozed conversation.
	ActiveConversation bool `json:"active_conversation,omitempty"`
	// ConversationTags are tag names seen on the contact's conversations.
	ConversationTags []string `json:"conversation_tags,omitempty"`
}

// listRule is a compiled list assignment.
type listRule struct {
	list int64
	rule config.Rule
}

// Lists evaluates list assignments for contacts.
type Lists struct {
	rules []listRule
}

// NewLists compiles the list assignments of a connector. Invalid rules were
// rejected at plan time; any that reach here are skipped (Validate reports
// them when the bundle loads).
func NewLists(as []config.ListAssignment) *Lists {
	l := &Lists{}
	for _, a := range as {
		r, err := config.ParseRule(a.Rule)
		if err != nil {
			continue
		}
		l.rules = append(l.rules, listRule{list: a.ListID, rule: r})
	}
	sort.Slice(l.rules, func(i, j int) bool { return l.rules[i].list < l.rules[j].list })
	return l
}

// Managed returns every list the connector manages, ascending.
func (l *Lists) Managed() []int64 {
	out := make([]int64, 0, len(l.rules))
	for _, r := range l.rules {
		out = append(out, r.list)
	}
	return out
}

// For returns the lists a contact belongs in, ascending.
func (l *Lists) For(f Facts) []int64 {
	var out []int64
	for _, r := range l.rules {
		if matches(r.rule, f) {
			out = append(out, r.list)
		}
	}
	return out
}

func matches(r config.Rule, f Facts) bool {
	switch r.Kind {
	case config.RuleAllUsers:
		return f.Role == "user"
	case config.RuleLeads:
		return f.Role == "lead"
	case config.RuleAllContacts:
		return true
	case config.RuleActiveConversations:
		return f.ActiveConversation
	case "tag":
		// Intercom tag names are case-insensitive.
		return slices.ContainsFunc(f.Tags, func(t string) bool { return strings.EqualFold(t, r.Arg) })
	case "company_plan":
		return f.CompanyPlan != "" && strings.EqualFold(f.CompanyPlan, r.Arg)
	case "conversation_tag":
		return slices.ContainsFunc(f.ConversationTags, func(t string) bool { return strings.EqualFold(t, r.Arg) })
	}
	return false
}

// diffLists returns the lists to add and to remove to go from have to want
// (both ascending).
func diffLists(have, want []int64) (add, remove []int64) {
	for _, w := range want {
		if !slices.Contains(have, w) {
			add = append(add, w)
		}
	}
	for _, h := range have {
		if !slices.Contains(want, h) {
			remove = append(remove, h)
		}
	}
	return add, remove
}
