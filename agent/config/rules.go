package config

import (
	"errors"
	"fmt"
	"strings"
)

// Fixed list rules of a list assignment.
const (
	RuleAllUsers            = "all_users"
	RuleLeads               = "leads"
	RuleAllContacts         = "all_contacts"
	RuleActiveConversations = "active_conversations"
)

// Parameterised list rules: the prefix, then a name.
const (
	RuleTagPrefix             = "tag:"
	RuleCompanyPlanPrefix     = "company_plan:"
	RuleConversationTagPrefix = "conversation_tag:"
)

// NeedsConversations reports whether a rule reads conversation data.
func (r Rule) NeedsConversations() bool {
	return r.Kind == RuleActiveConversations || r.Kind == "conversation_tag"
}

// Rule is a parsed list rule.
type Rule struct {
	// Kind is the fixed rule or the prefix without its colon ("tag",
	// "company_plan").
	Kind string
	// Arg is the name after the prefix, "" for fixed rules.
	Arg string
}

var fixedRules = []string{RuleAllUsers, RuleLeads, RuleAllContacts, RuleActiveConversations}
var prefixRules = []string{RuleTagPrefix, RuleCompanyPlanPrefix, RuleConversationTagPrefix}

func ruleHelp() string {
	return fmt.Sprintf("valid rules are %s, %q, %q and %q",
		quoteList(fixedRules), RuleTagPrefix+"<tag name>", RuleCompanyPlanPrefix+"<plan name>", RuleConversationTagPrefix+"<tag name>")
}

// ParseRule parses and validates a list rule.
func ParseRule(s string) (Rule, error) {
	if s == "" {
		return Rule{}, errors.New("is required; " + ruleHelp())
	}
	for _, f := range fixedRules {
		if s == f {
			return Rule{Kind: s}, nil
		}
	}
	for _, p := range prefixRules {
		if arg, ok := strings.CutPrefix(s, p); ok {
			if strings.TrimSpace(arg) == "" {
				return Rule{}, fmt.Errorf("%q needs a name after the colon, e.g. %q", s, p+"vip")
			}
			if strings.TrimSpace(arg) != arg {
				return Rule{}, fmt.Errorf("%q: the name after the colon cannot start or end with a space", s)
			}
			return Rule{Kind: strings.TrimSuffix(p, ":"), Arg: arg}, nil
		}
	}
	msg := fmt.Sprintf("unknown list rule %q", s)
	if kind, arg, ok := strings.Cut(s, ":"); ok {
		candidates := make([]string, len(prefixRules))
		for i, p := range prefixRules {
			candidates[i] = strings.TrimSuffix(p, ":")
		}
		if c := closest(kind, candidates); c != "" {
			msg += fmt.Sprintf("; did you mean %q?", c+":"+arg)
		}
	} else if c := closest(s, fixedRules); c != "" {
		msg += fmt.Sprintf("; did you mean %q?", c)
	}
	return Rule{}, errors.New(msg + " " + ruleHelp())
}

// String returns the rule as written in configuration.
func (r Rule) String() string {
	if r.Arg == "" {
		return r.Kind
	}
	return r.Kind + ":" + r.Arg
}
