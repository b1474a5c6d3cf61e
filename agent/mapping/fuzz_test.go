package mapping

import (
	"encoding/json"
	"math"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/tajo/terraform-provider-tajo/agent/config"
)

// Fuzz targets of the mapping and type coercion: whatever Intercom sends
// in a field, the value written to Brevo has the attribute's type and
// form, or the field is reported and left out. The seed corpora in
// testdata/fuzz run with every go test; make fuzz explores further.

var (
	dateRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	e164   = regexp.MustCompile(`^\+[1-9]\d{7,14}$`)
)

// rawValue turns the fuzzer's inputs into a JSON-decoded value of one of
// the shapes Intercom fields take.
func rawValue(kind uint8, s string, f float64, b bool) any {
	switch kind % 8 {
	case 0:
		return s
	case 1:
		return f
	case 2:
		return b
	case 3:
		return json.Number(s)
	case 4:
		return int64(f)
	case 5:
		return []any{s, f}
	case 6:
		return map[string]any{"value": s}
	}
	return []string{s, s}
}

// FuzzConvert: every type and transform, every value shape.
func FuzzConvert(f *testing.F) {
	f.Add(uint8(0), "2024-01-15", 1705314600.0, true, uint8(2), uint8(0))
	f.Add(uint8(1), "", 1e15, false, uint8(2), uint8(0))
	f.Add(uint8(1), "", 1e30, false, uint8(2), uint8(0))
	f.Add(uint8(1), "", -1.0, false, uint8(2), uint8(0))
	f.Add(uint8(0), "9999-12-31T23:59:59-23:59", 0.0, false, uint8(2), uint8(0))
	f.Add(uint8(0), "17.5", 0.0, false, uint8(1), uint8(0))
	f.Add(uint8(3), "1e400", 0.0, false, uint8(1), uint8(0))
	f.Add(uint8(0), "yes", 0.0, false, uint8(3), uint8(0))
	f.Add(uint8(1), "", 2.0, false, uint8(3), uint8(0))
	f.Add(uint8(0), "+49 (30) 1234-5678", 0.0, false, uint8(0), uint8(5))
	f.Add(uint8(0), "0049 30 12345678", 0.0, false, uint8(0), uint8(5))
	f.Add(uint8(0), "  Ana María  de la Cruz ", 0.0, false, uint8(0), uint8(4))
	f.Add(uint8(0), "ÉCOLE", 0.0, false, uint8(0), uint8(1))
	f.Add(uint8(6), "x", 0.0, false, uint8(0), uint8(0))
	f.Fuzz(func(t *testing.T, kind uint8, s string, fl float64, b bool, typ, transform uint8) {
		fm := config.FieldMapping{Source: "custom_attributes.x", Target: "X",
			Type: config.Types[int(typ)%len(config.Types)], Transform: config.Transforms[int(transform)%len(config.Transforms)]}
		raw := rawValue(kind, s, fl, b)
		v, reason, _ := convert(raw, fm)
		if reason != "" {
			if v != nil {
				t.Fatalf("a value (%v) and a reason (%s)", v, reason)
			}
			if strings.Contains(reason, s) && len(s) > 8 {
				t.Fatalf("the reason quotes the value (personal data): %s", reason)
			}
			return
		}
		switch fm.Type {
		case config.TypeNumber:
			n, ok := v.(float64)
			if !ok || math.IsNaN(n) || math.IsInf(n, 0) {
				t.Fatalf("number attribute gets %#v", v)
			}
		case config.TypeBoolean:
			if _, ok := v.(bool); !ok {
				t.Fatalf("boolean attribute gets %#v", v)
			}
		case config.TypeDate:
			d, ok := v.(string)
			if !ok || !dateRE.MatchString(d) {
				t.Fatalf("date attribute gets %#v from %#v: Brevo takes YYYY-MM-DD", v, raw)
			}
		default:
			str, ok := v.(string)
			if !ok {
				t.Fatalf("text attribute gets %#v", v)
			}
			switch fm.Transform {
			case config.TransformE164:
				if !e164.MatchString(str) {
					t.Fatalf("e164 gives %q", str)
				}
			case config.TransformTrim, config.TransformSplitName:
				if strings.TrimSpace(str) != str {
					t.Fatalf("%s leaves spaces: %q", fm.Transform, str)
				}
			}
		}
	})
}

// FuzzSplitName: the first name is one word, and first and last name
// hold every word of the full name, in order.
func FuzzSplitName(f *testing.F) {
	for _, s := range []string{"Ana María  de la Cruz", "", " ", "Prince", "李 小龙", "a\u00a0b", "x\u2003y z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, full string) {
		first, last := SplitName(full)
		if strings.IndexFunc(first, unicode.IsSpace) >= 0 {
			t.Fatalf("first name %q has a space", first)
		}
		words := strings.FieldsFunc(full, unicode.IsSpace)
		got := strings.FieldsFunc(first+" "+last, unicode.IsSpace)
		if strings.Join(words, " ") != strings.Join(got, " ") {
			t.Fatalf("SplitName(%q) = %q, %q", full, first, last)
		}
	})
}

// FuzzMapRecord: a whole record of arbitrary values maps without panic;
// every attribute written is one of the mappings' targets.
func FuzzMapRecord(f *testing.F) {
	f.Add([]byte(`{"email":"ana@example.com","name":"Ana","phone":"+4930123456","signed_up_at":1705314600,"custom_attributes.plan_tier":"gold","custom_attributes.feature_usage":"17.5","unsubscribed_from_emails":"no"}`))
	f.Add([]byte(`{"email":42,"name":["a"],"signed_up_at":"never","last_seen_at":1e300,"session_count":{"n":1}}`))
	f.Add([]byte(`{"custom_attributes.feature_usage":"NaN","company.size":"1e999"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var r map[string]any
		if json.Unmarshal(data, &r) != nil {
			return
		}
		m := mapper(
			config.FieldMapping{ConnectorID: "intercom", Source: "custom_attributes.plan_tier", Target: "PLAN_TIER"},
			config.FieldMapping{ConnectorID: "intercom", Source: "custom_attributes.feature_usage", Target: "FEATURE_USAGE", Type: "number"},
		)
		res := m.Map(rec(r))
		targets := map[string]bool{config.TargetFirstName: true, config.TargetLastName: true}
		for _, tg := range m.Targets() {
			targets[tg.Name] = true
		}
		for k, v := range res.Attributes {
			if !targets[k] {
				t.Fatalf("attribute %s is not a target", k)
			}
			if n, ok := v.(float64); ok && (math.IsNaN(n) || math.IsInf(n, 0)) {
				t.Fatalf("%s = %v", k, n)
			}
		}
		_ = Hash(res.Attributes)
	})
}
