package config

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Attribute types a field mapping can declare. They map onto Brevo contact
// attribute types (number is Brevo's "float").
const (
	TypeText    = "text"
	TypeNumber  = "number"
	TypeDate    = "date"
	TypeBoolean = "boolean"
)

// Types lists the allowed values of a field mapping's type.
var Types = []string{TypeText, TypeNumber, TypeDate, TypeBoolean}

// BrevoType is the Brevo attribute type (POST /contacts/attributes) of t.
func BrevoType(t string) string {
	if t == TypeNumber {
		return "float"
	}
	return t
}

// Transforms applied to a source value before it is written.
const (
	TransformNone      = "none"
	TransformLowercase = "lowercase"
	TransformUppercase = "uppercase"
	TransformTrim      = "trim"
	// TransformSplitName writes the target and, split from it, FIRSTNAME and
	// LASTNAME (the brief's FULLNAME rule).
	TransformSplitName = "split_name"
	// TransformE164 normalises a phone number to E.164; an invalid number is
	// skipped with a counted warning.
	TransformE164 = "e164"
)

// Transforms lists the allowed values of a field mapping's transform.
var Transforms = []string{TransformNone, TransformLowercase, TransformUppercase, TransformTrim, TransformSplitName, TransformE164}

// Source describes one Intercom field a mapping can read.
type Source struct {
	// Path is the mapping source, e.g. "company.plan".
	Path string
	// Type is the field's natural type; "" for free-form custom attributes.
	Type string
	// Doc is a short description for the documentation.
	Doc string
}

// Prefixes of free-form sources: the rest of the path is an Intercom custom
// data attribute name.
const (
	CustomPrefix        = "custom_attributes."
	CompanyCustomPrefix = "company.custom_attributes."
)

// knownSources are the fixed source paths, from the Intercom 2.11 contact and
// company objects. company.* reads the contact's primary company (the first
// one Intercom lists).
var knownSources = []Source{
	{"id", TypeText, "Intercom contact id (also written as the Brevo ext_id)"},
	{"external_id", TypeText, "your own user id, as set in Intercom"},
	{"email", TypeText, "email address; the Brevo identifier when present"},
	{"email_domain", TypeText, "domain part of the email"},
	{"name", TypeText, "full name"},
	{"phone", TypeText, "phone number, normalised to E.164 for Brevo SMS"},
	{"role", TypeText, `"user" or "lead"`},
	{"owner_id", TypeNumber, "id of the admin owning the contact"},
	{"created_at", TypeDate, "when the contact was created in Intercom"},
	{"updated_at", TypeDate, "when the contact last changed in Intercom"},
	{"signed_up_at", TypeDate, "when the user signed up"},
	{"last_seen_at", TypeDate, "last time the contact was seen"},
	{"last_replied_at", TypeDate, "messenger: last reply from the contact"},
	{"last_contacted_at", TypeDate, "messenger: last time a teammate contacted the contact"},
	{"last_email_opened_at", TypeDate, "last Intercom email opened"},
	{"last_email_clicked_at", TypeDate, "last Intercom email clicked"},
	{"android_last_seen_at", TypeDate, "last seen in the Android app"},
	{"ios_last_seen_at", TypeDate, "last seen in the iOS app"},
	{"session_count", TypeNumber, "messenger sessions; only present when Intercom returns it for the contact"},
	{"unsubscribed_from_emails", TypeBoolean, "unsubscribed from Intercom emails"},
	{"has_hard_bounced", TypeBoolean, "an email to the contact hard-bounced"},
	{"marked_email_as_spam", TypeBoolean, "the contact marked an email as spam"},
	{"language_override", TypeText, "preferred language"},
	{"browser", TypeText, "messenger: browser name"},
	{"browser_version", TypeText, "messenger: browser version"},
	{"browser_language", TypeText, "messenger: browser language"},
	{"os", TypeText, "messenger: operating system"},
	{"android_app_name", TypeText, ""},
	{"android_app_version", TypeText, ""},
	{"android_device", TypeText, ""},
	{"android_os_version", TypeText, ""},
	{"android_sdk_version", TypeText, ""},
	{"ios_app_name", TypeText, ""},
	{"ios_app_version", TypeText, ""},
	{"ios_device", TypeText, ""},
	{"ios_os_version", TypeText, ""},
	{"ios_sdk_version", TypeText, ""},
	{"location.country", TypeText, "messenger location: country"},
	{"location.region", TypeText, "messenger location: region"},
	{"location.city", TypeText, "messenger location: city"},
	{"location.country_code", TypeText, "messenger location: ISO country code"},
	{"location.continent_code", TypeText, "messenger location: continent code"},
	{"utm_campaign", TypeText, ""},
	{"utm_content", TypeText, ""},
	{"utm_medium", TypeText, ""},
	{"utm_source", TypeText, ""},
	{"utm_term", TypeText, ""},
	{"referrer", TypeText, ""},
	{"tags", TypeText, "names of the contact's tags, comma separated and sorted"},
	{"company.id", TypeText, "primary company: Intercom id"},
	{"company.company_id", TypeText, "primary company: your company id"},
	{"company.name", TypeText, "primary company: name"},
	{"company.plan", TypeText, "primary company: plan name"},
	{"company.size", TypeNumber, "primary company: number of employees"},
	{"company.website", TypeText, "primary company: website"},
	{"company.industry", TypeText, "primary company: industry"},
	{"company.monthly_spend", TypeNumber, "primary company: monthly spend"},
	{"company.session_count", TypeNumber, "primary company: sessions"},
	{"company.user_count", TypeNumber, "primary company: users"},
	{"company.created_at", TypeDate, "primary company: created in Intercom"},
	{"company.remote_created_at", TypeDate, "primary company: created in your system"},
	{"company.last_request_at", TypeDate, "primary company: last request"},
	{"conversations.count", TypeNumber, "conversations of the contact (needs sync.conversations)"},
	{"conversations.open_count", TypeNumber, "open or snoozed conversations"},
	{"conversations.snoozed_count", TypeNumber, "snoozed conversations"},
	{"conversations.last_at", TypeDate, "last activity in a conversation (its updated_at)"},
	{"conversations.last_state", TypeText, "state of the most recently active conversation: open, snoozed or closed"},
	{"conversations.last_rating", TypeNumber, "the contact's most recent rating (1–5)"},
	{"conversations.last_rating_has_remark", TypeBoolean, "the most recent rating came with a remark"},
	{"conversations.average_rating", TypeNumber, "average of the contact's ratings"},
	{"conversations.last_closed_at", TypeDate, "when a conversation of the contact was last closed"},
	{"conversations.tags", TypeText, "tags seen on the contact's conversations, comma separated and sorted"},
	{"ai_agent.participated", TypeBoolean, "the AI agent (Fin) took part in a conversation of the contact (needs sync.ai_agent)"},
	{"ai_agent.resolution_state", TypeText, "resolution of the latest AI-agent conversation: assumed_resolution, confirmed_resolution, routed_to_team or abandoned"},
	{"ai_agent.rating", TypeNumber, "the contact's latest rating of the AI agent (1–5)"},
	{"ai_agent.last_answer_type", TypeText, "type of the AI agent's last answer: ai_answer or custom_answer"},
}

// Source prefixes that read conversation data, and what enables them.
const (
	ConversationsPrefix = "conversations."
	AIAgentPrefix       = "ai_agent."
)

var sourceIndex = func() map[string]Source {
	m := make(map[string]Source, len(knownSources))
	for _, s := range knownSources {
		m[s.Path] = s
	}
	return m
}()

// KnownSources returns the fixed source paths, for documentation.
func KnownSources() []Source { return slices.Clone(knownSources) }

// LookupSource returns the description of a valid source path; for custom
// attributes the type is "".
func LookupSource(path string) (Source, bool) {
	if s, ok := sourceIndex[path]; ok {
		return s, true
	}
	for _, prefix := range []string{CustomPrefix, CompanyCustomPrefix} {
		if key, ok := strings.CutPrefix(path, prefix); ok && validCustomKey(key) == nil {
			return Source{Path: path}, true
		}
	}
	return Source{}, false
}

// ValidateSource reports whether path is a source a mapping can read, and
// when it is not, what to write instead.
func ValidateSource(path string) error {
	if path == "" {
		return errors.New(`is required, e.g. "email", "company.plan" or "custom_attributes.plan_tier"`)
	}
	if _, ok := LookupSource(path); ok {
		return nil
	}
	for _, prefix := range []string{CustomPrefix, CompanyCustomPrefix} {
		if key, ok := strings.CutPrefix(path, prefix); ok {
			return fmt.Errorf("%q: %v, e.g. %q", path, validCustomKey(key), prefix+"plan_tier")
		}
	}
	if strings.HasPrefix(path, "custom_attribute.") || strings.HasPrefix(path, "custom.") {
		_, key, _ := strings.Cut(path, ".")
		return fmt.Errorf("%q is not a source; custom attributes are written %q", path, CustomPrefix+key)
	}
	msg := fmt.Sprintf("%q is not an Intercom field the connector reads", path)
	if s := closest(path, sourcePaths()); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	}
	return errors.New(msg + ` Custom attributes are written "custom_attributes.<name>"; the fixed fields are listed in the tajo_field_mapping documentation`)
}

func validCustomKey(key string) error {
	switch {
	case key == "":
		return errors.New("the custom attribute name after the dot is missing")
	case strings.Contains(key, "."):
		return errors.New("a custom attribute name cannot contain a dot")
	case strings.TrimSpace(key) != key:
		return errors.New("a custom attribute name cannot start or end with a space")
	case len(key) > 255:
		return errors.New("a custom attribute name is at most 255 characters")
	}
	return nil
}

func sourcePaths() []string {
	ps := make([]string, 0, len(knownSources))
	for _, s := range knownSources {
		ps = append(ps, s.Path)
	}
	sort.Strings(ps)
	return ps
}

// closest returns the candidate nearest to s by edit distance when it is
// near enough to be a plausible typo, or "".
func closest(s string, candidates []string) string {
	best, bestD := "", len(s)/2+2
	for _, c := range candidates {
		if d := editDistance(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// DefaultType is the type a mapping of source gets when it declares none.
func DefaultType(source string) string {
	if s, ok := LookupSource(source); ok && s.Type != "" {
		return s.Type
	}
	return TypeText
}

// DefaultTransform is the transform a mapping of source gets when it
// declares none: names are split, phone numbers normalised.
func DefaultTransform(source string) string {
	switch source {
	case "name":
		return TransformSplitName
	case "phone":
		return TransformE164
	}
	return TransformNone
}

// convertible reports whether a value of the natural type from can be written
// as an attribute of type to. Free-form sources (from == "") are checked per
// value at run time.
func convertible(from, to string) bool {
	if from == "" || from == to || to == TypeText {
		return true
	}
	switch to {
	case TypeNumber:
		return from == TypeDate || from == TypeBoolean
	case TypeDate:
		return from == TypeNumber
	case TypeBoolean:
		return from == TypeNumber
	}
	return false
}
