package config

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Special Brevo targets.
const (
	// TargetEmail is the Brevo contact's email identifier, not an attribute.
	TargetEmail = "EMAIL"
	// TargetSMS is Brevo's built-in SMS attribute; values must be E.164.
	TargetSMS       = "SMS"
	TargetFirstName = "FIRSTNAME"
	TargetLastName  = "LASTNAME"
)

// reservedTargets are attribute names the connector manages itself.
var reservedTargets = map[string]string{
	"EXT_ID": "the connector writes the Intercom contact id as the Brevo ext_id itself",
}

var targetRE = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)

// maxTargetLen bounds attribute names to what Brevo's UI and API accept.
const maxTargetLen = 50

// ValidateTarget reports whether name is a valid Brevo contact attribute
// name (upper case letters, digits and underscores, starting with a letter)
// and suggests the nearest valid one when it is not.
func ValidateTarget(name string) error {
	if name == "" {
		return errors.New(`is required: a Brevo attribute name such as "PLAN_TIER"`)
	}
	if why, ok := reservedTargets[name]; ok {
		return fmt.Errorf("%q is reserved: %s", name, why)
	}
	if len(name) > maxTargetLen {
		return fmt.Errorf("%q is longer than %d characters, the longest Brevo attribute name", name, maxTargetLen)
	}
	if targetRE.MatchString(name) {
		return nil
	}
	msg := fmt.Sprintf("%q is not a valid Brevo attribute name: use upper-case letters, digits and underscores, starting with a letter", name)
	if s := SuggestTarget(name); s != "" {
		msg += fmt.Sprintf(`, for example %q`, s)
	}
	return errors.New(msg)
}

// SuggestTarget turns an arbitrary label into a valid attribute name
// ("plan tier" → "PLAN_TIER"), or "" when nothing usable is left.
func SuggestTarget(label string) string {
	var b strings.Builder
	lastUnderscore := true
	for _, r := range strings.ToUpper(label) {
		switch {
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			b.WriteRune(r)
			lastUnderscore = false
		case !lastUnderscore:
			b.WriteByte('_')
			lastUnderscore = true
		}
	}
	s := strings.Trim(b.String(), "_")
	if s != "" && s[0] >= '0' && s[0] <= '9' {
		s = "A_" + s
	}
	if len(s) > maxTargetLen {
		s = strings.TrimRight(s[:maxTargetLen], "_")
	}
	return s
}
