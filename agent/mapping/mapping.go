// Package mapping turns an Intercom record into the Brevo identifiers and
// attributes the applied field mappings ask for: names split, phone numbers
// normalised to E.164, Unix timestamps written as Brevo dates, values coerced
// to the target attribute's type with a per-field error when they cannot be.
// It knows nothing about HTTP: the sync engine adapts Intercom contacts (with
// their companies, tags and conversation aggregates) to Record.
package mapping

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/tajo/terraform-provider-tajo/agent/config"
)

// Record is one Intercom record as the mappings see it.
type Record interface {
	// Lookup returns the value at a source path ("email", "company.plan",
	// "custom_attributes.plan_tier"). ok is false when the record does not
	// carry the field at all (a custom attribute never set, a contact
	// without company); a nil value with ok true is an explicit null. Both
	// leave the Brevo attribute untouched.
	Lookup(path string) (v any, ok bool)
}

// Target is a Brevo attribute the mappings write, with its Brevo type.
type Target struct {
	Name string
	// Type is the mapping type (text, number, date, boolean).
	Type string
}

// Mapper applies a fixed set of field mappings.
type Mapper struct {
	mappings []config.FieldMapping
}

// New returns a mapper for the effective mappings of a connector (see
// config.Bundle.EffectiveMappings).
func New(mappings []config.FieldMapping) *Mapper {
	ms := make([]config.FieldMapping, len(mappings))
	for i, m := range mappings {
		ms[i] = m.WithDefaults()
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Target < ms[j].Target })
	return &Mapper{mappings: ms}
}

// Targets lists the Brevo attributes the mappings write (EMAIL excluded:
// it is the identifier), so missing ones can be created once with the right
// type before the first write.
func (m *Mapper) Targets() []Target {
	seen := map[string]bool{}
	var out []Target
	add := func(name, typ string) {
		if !seen[name] {
			seen[name] = true
			out = append(out, Target{Name: name, Type: typ})
		}
	}
	for _, fm := range m.mappings {
		if fm.Target == config.TargetEmail {
			continue
		}
		add(fm.Target, fm.Type)
		if fm.Transform == config.TransformSplitName {
			add(config.TargetFirstName, config.TypeText)
			add(config.TargetLastName, config.TypeText)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Result is what a record maps to.
type Result struct {
	// Email is the contact's email identifier ("" when the record has none).
	Email string
	// Attributes to write; absent sources are not in the map.
	Attributes map[string]any
	// Warnings are values skipped on purpose (an invalid phone number): the
	// contact is still written, without them.
	Warnings []FieldIssue
	// Errors are values that could not be coerced to their attribute's
	// type: the contact is still written, without them.
	Errors []FieldIssue
}

// FieldIssue is a per-field problem; it names the field and the reason,
// never the value (which may be personal data).
type FieldIssue struct {
	Source, Target, Reason string
}

func (f FieldIssue) String() string {
	return fmt.Sprintf("%s → %s: %s", f.Source, f.Target, f.Reason)
}

// Map applies the mappings to r.
func (m *Mapper) Map(r Record) Result { return m.MapWhere(r, nil) }

// TargetsWhere lists the targets of the mappings whose source keep
// accepts (split_name adds FIRSTNAME and LASTNAME).
func (m *Mapper) TargetsWhere(keep func(source string) bool) []string {
	var out []string
	for _, fm := range m.mappings {
		if !keep(fm.Source) {
			continue
		}
		out = append(out, fm.Target)
		if fm.Transform == config.TransformSplitName {
			out = append(out, config.TargetFirstName, config.TargetLastName)
		}
	}
	return out
}

// MapWhere applies the mappings whose source keep accepts (all when keep
// is nil): the engine re-applies only the conversation-derived ones when a
// conversation changes.
func (m *Mapper) MapWhere(r Record, keep func(source string) bool) Result {
	res := Result{Attributes: map[string]any{}}
	for _, fm := range m.mappings {
		if keep != nil && !keep(fm.Source) {
			continue
		}
		raw, ok := r.Lookup(fm.Source)
		if !ok || raw == nil {
			continue
		}
		v, issue, warn := convert(raw, fm)
		if issue != "" {
			fi := FieldIssue{Source: fm.Source, Target: fm.Target, Reason: issue}
			if warn {
				res.Warnings = append(res.Warnings, fi)
			} else {
				res.Errors = append(res.Errors, fi)
			}
			continue
		}
		if fm.Target == config.TargetEmail {
			res.Email, _ = v.(string)
			continue
		}
		res.Attributes[fm.Target] = v
		if fm.Transform == config.TransformSplitName {
			first, last := SplitName(v.(string))
			res.Attributes[config.TargetFirstName] = first
			res.Attributes[config.TargetLastName] = last
		}
	}
	return res
}

// convert coerces raw to the mapping's type and applies its transform. It
// returns the value, or a reason and whether it is a warning (a skip on
// purpose) rather than an error.
func convert(raw any, fm config.FieldMapping) (v any, reason string, warning bool) {
	switch fm.Type {
	case config.TypeNumber:
		f, err := toNumber(raw)
		if err != nil {
			return nil, err.Error(), false
		}
		return f, "", false
	case config.TypeBoolean:
		b, err := toBool(raw)
		if err != nil {
			return nil, err.Error(), false
		}
		return b, "", false
	case config.TypeDate:
		d, err := toDate(raw)
		if err != nil {
			return nil, err.Error(), false
		}
		return d, "", false
	}
	s, err := toText(raw)
	if err != nil {
		return nil, err.Error(), false
	}
	switch fm.Transform {
	case config.TransformLowercase:
		s = strings.ToLower(s)
	case config.TransformUppercase:
		s = strings.ToUpper(s)
	case config.TransformTrim, config.TransformSplitName:
		s = strings.TrimSpace(s)
	case config.TransformE164:
		n, ok := E164(s)
		if !ok {
			return nil, "not a phone number in international format (E.164); skipped", true
		}
		s = n
	}
	return s, "", false
}

func toText(raw any) (string, error) {
	switch v := raw.(type) {
	case string:
		return v, nil
	case bool:
		return strconv.FormatBool(v), nil
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	case int:
		return strconv.Itoa(v), nil
	case json.Number:
		return v.String(), nil
	case []string:
		return strings.Join(v, ","), nil
	}
	return "", fmt.Errorf("a %s cannot be written as text", kindOf(raw))
}

func toNumber(raw any) (float64, error) {
	var f float64
	switch v := raw.(type) {
	case float64:
		f = v
	case int64:
		f = float64(v)
	case int:
		f = float64(v)
	case json.Number:
		x, err := v.Float64()
		if err != nil {
			return 0, fmt.Errorf("%q is not a number", "json number")
		}
		f = x
	case bool:
		if v {
			return 1, nil
		}
		return 0, nil
	case string:
		x, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return 0, fmt.Errorf("text that is not a number cannot be written as a number")
		}
		f = x
	default:
		return 0, fmt.Errorf("a %s cannot be written as a number", kindOf(raw))
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("not a finite number")
	}
	return f, nil
}

func toBool(raw any) (bool, error) {
	switch v := raw.(type) {
	case bool:
		return v, nil
	case float64:
		return boolFromNumber(v)
	case int64:
		return boolFromNumber(float64(v))
	case int:
		return boolFromNumber(float64(v))
	case string:
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "true", "yes", "1":
			return true, nil
		case "false", "no", "0", "":
			return false, nil
		}
		return false, fmt.Errorf("text other than true/false/yes/no/1/0 cannot be written as a boolean")
	}
	return false, fmt.Errorf("a %s cannot be written as a boolean", kindOf(raw))
}

func boolFromNumber(f float64) (bool, error) {
	switch f {
	case 0:
		return false, nil
	case 1:
		return true, nil
	}
	return false, fmt.Errorf("only 0 and 1 can be written as a boolean")
}

// DateFormat is how Brevo date attributes are written.
const DateFormat = "2006-01-02"

// toDate accepts Unix seconds (Intercom's timestamps; values too large to be
// seconds are taken as milliseconds) and date or RFC 3339 text.
func toDate(raw any) (string, error) {
	var secs float64
	switch v := raw.(type) {
	case float64:
		secs = v
	case int64:
		secs = float64(v)
	case int:
		secs = float64(v)
	case json.Number:
		f, err := v.Float64()
		if err != nil {
			return "", fmt.Errorf("not a timestamp")
		}
		secs = f
	case string:
		s := strings.TrimSpace(v)
		for _, layout := range []string{DateFormat, time.RFC3339, time.RFC3339Nano, "2006-01-02 15:04:05"} {
			if t, err := time.Parse(layout, s); err == nil {
				return brevoDate(t.UTC())
			}
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			secs = f
			break
		}
		return "", fmt.Errorf("text that is not a date (YYYY-MM-DD, RFC 3339 or Unix seconds) cannot be written as a date")
	default:
		return "", fmt.Errorf("a %s cannot be written as a date", kindOf(raw))
	}
	if math.IsNaN(secs) || math.IsInf(secs, 0) || secs < 0 {
		return "", fmt.Errorf("not a valid timestamp")
	}
	if secs > 1e11 { // milliseconds (year 5138 in seconds)
		secs /= 1000
	}
	if secs > maxDateSeconds {
		return "", fmt.Errorf("not a valid timestamp")
	}
	return brevoDate(time.Unix(int64(secs), 0).UTC())
}

// maxDateSeconds is the last second of year 9999: Brevo dates have four
// digit years (and larger values overflow int64 as milliseconds).
const maxDateSeconds = 253402300799

// brevoDate formats t as a Brevo date, refusing years Brevo cannot hold
// (a time zone offset can carry 9999-12-31 into year 10000).
func brevoDate(t time.Time) (string, error) {
	if y := t.Year(); y < 1 || y > 9999 {
		return "", fmt.Errorf("a date outside the years 1 to 9999 cannot be written")
	}
	return t.Format(DateFormat), nil
}

func kindOf(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "list"
	case string:
		return "text"
	case bool:
		return "boolean"
	case float64, int64, int, json.Number:
		return "number"
	}
	return fmt.Sprintf("%T", v)
}

// SplitName splits a full name into first and last name: the first word,
// and the rest. A single word is a first name; whitespace of any script
// separates words.
func SplitName(full string) (first, last string) {
	words := strings.FieldsFunc(full, unicode.IsSpace)
	switch len(words) {
	case 0:
		return "", ""
	case 1:
		return words[0], ""
	}
	return words[0], strings.Join(words[1:], " ")
}

// E164 normalises a phone number to E.164 (+ and 8 to 15 digits). Separators
// (spaces, dots, dashes, parentheses, slashes) are dropped and a leading 00
// becomes +. A number without a country code cannot be normalised without
// guessing the country, so it is rejected.
func E164(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "00") {
		s = "+" + s[2:]
	}
	if !strings.HasPrefix(s, "+") {
		return "", false
	}
	var b strings.Builder
	b.WriteByte('+')
	for _, r := range s[1:] {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '.' || r == '-' || r == '(' || r == ')' || r == '/' || r == '\u00a0':
		default:
			return "", false // letters, extensions ("x12"), a second '+'
		}
	}
	n := b.String()
	digits := len(n) - 1
	if digits < 8 || digits > 15 || n[1] == '0' {
		return "", false
	}
	return n, true
}

// Hash is a stable digest of what is written for a contact: unchanged
// contacts have unchanged hashes and cost no Brevo call.
func Hash(parts ...any) string {
	h := sha256.New()
	enc := json.NewEncoder(h)
	for _, p := range parts {
		// encoding/json sorts map keys, which makes the digest canonical.
		if err := enc.Encode(p); err != nil {
			fmt.Fprintf(h, "%v", p)
		}
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}
