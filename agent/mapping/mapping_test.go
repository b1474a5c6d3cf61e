package mapping

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tajo/terraform-provider-tajo/agent/config"
)

// rec is a Record backed by a map; absent keys are absent fields.
type rec map[string]any

func (r rec) Lookup(p string) (any, bool) { v, ok := r[p]; return v, ok }

func mapper(extra ...config.FieldMapping) *Mapper {
	b := config.Bundle{Connector: config.NewConnector("intercom"), Mappings: extra}
	return New(b.EffectiveMappings())
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	m := mapper(
		config.FieldMapping{ConnectorID: "intercom", Source: "custom_attributes.plan_tier", Target: "PLAN_TIER"},
		config.FieldMapping{ConnectorID: "intercom", Source: "custom_attributes.feature_usage", Target: "FEATURE_USAGE", Type: "number"},
	)
	got := m.Map(rec{
		"email": "ana@example.com", "name": "Ana María  de la Cruz", "phone": "+49 (30) 1234-5678", "role": "user",
		"company.name": "Acme", "company.plan": "pro", "company.size": int64(42),
		"signed_up_at": int64(1705314600), "last_seen_at": float64(1705400000), "unsubscribed_from_emails": false,
		"custom_attributes.plan_tier": "gold", "custom_attributes.feature_usage": "17.5",
	})
	want := Result{
		Email: "ana@example.com",
		Attributes: map[string]any{
			"FULLNAME": "Ana María  de la Cruz", "FIRSTNAME": "Ana", "LASTNAME": "María de la Cruz",
			"SMS": "+493012345678", "CONTACT_TYPE": "user", "COMPANY_NAME": "Acme", "COMPANY_PLAN": "pro",
			"COMPANY_SIZE": 42.0, "SIGNUP_DATE": "2024-01-15", "LAST_ACTIVE": "2024-01-16", "UNSUBSCRIBED": false,
			"PLAN_TIER": "gold", "FEATURE_USAGE": 17.5,
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Map (-want +got):\n%s", diff)
	}
	var names []string
	for _, tg := range m.Targets() {
		names = append(names, tg.Name+":"+tg.Type)
	}
	wantTargets := "COMPANY_NAME:text COMPANY_PLAN:text COMPANY_SIZE:number CONTACT_TYPE:text FEATURE_USAGE:number FIRSTNAME:text " +
		"FULLNAME:text LASTNAME:text LAST_ACTIVE:date PLAN_TIER:text SESSION_COUNT:number SIGNUP_DATE:date SMS:text UNSUBSCRIBED:boolean"
	if strings.Join(names, " ") != wantTargets {
		t.Errorf("Targets = %s", strings.Join(names, " "))
	}
}

func TestAbsentAndNullLeaveUntouched(t *testing.T) {
	t.Parallel()
	m := mapper(config.FieldMapping{ConnectorID: "intercom", Source: "custom_attributes.plan_tier", Target: "PLAN_TIER"})
	got := m.Map(rec{"email": "a@b.c", "name": nil, "phone": nil})
	if len(got.Attributes) != 0 || got.Email != "a@b.c" {
		t.Errorf("absent/null fields written: %+v", got)
	}
}

func TestCoercionErrorsArePerField(t *testing.T) {
	t.Parallel()
	m := New([]config.FieldMapping{
		{Source: "custom_attributes.seats", Target: "SEATS", Type: "number"},
		{Source: "custom_attributes.trial", Target: "TRIAL", Type: "boolean"},
		{Source: "custom_attributes.renewal", Target: "RENEWAL", Type: "date"},
		{Source: "custom_attributes.meta", Target: "META", Type: "text"},
		{Source: "custom_attributes.ok", Target: "OK", Type: "number"},
	})
	got := m.Map(rec{
		"custom_attributes.seats": "many", "custom_attributes.trial": "maybe", "custom_attributes.renewal": "next tuesday",
		"custom_attributes.meta": map[string]any{"a": 1}, "custom_attributes.ok": "3",
	})
	if diff := cmp.Diff(map[string]any{"OK": 3.0}, got.Attributes); diff != "" {
		t.Errorf("attributes (-want +got):\n%s", diff)
	}
	if len(got.Errors) != 4 {
		t.Fatalf("errors = %v, want 4", got.Errors)
	}
	for _, e := range got.Errors {
		if strings.Contains(e.Reason, "many") || strings.Contains(e.Reason, "tuesday") {
			t.Errorf("error %q carries the value", e)
		}
	}
}

func TestInvalidPhoneIsAWarningNotAFailure(t *testing.T) {
	t.Parallel()
	m := mapper()
	got := m.Map(rec{"email": "a@b.c", "phone": "030 1234567", "name": "Bo"})
	if _, ok := got.Attributes["SMS"]; ok || len(got.Warnings) != 1 || len(got.Errors) != 0 {
		t.Errorf("got %+v", got)
	}
	if got.Attributes["FIRSTNAME"] != "Bo" || got.Attributes["LASTNAME"] != "" {
		t.Errorf("single-word name: %+v", got.Attributes)
	}
}

func TestE164(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"+1 (415) 555-2671": "+14155552671", "0044 20 7946 0958": "+442079460958", "+81-3-1234-5678": "+81312345678",
		"+49 30 12345678": "+493012345678",
		"4155552671":      "", "+1 415 555 2671 x12": "", "+0 123456789": "", "+12": "", "+1234567890123456": "", "": "", "++14155552671": "",
	} {
		got, ok := E164(in)
		if got != want || ok != (want != "") {
			t.Errorf("E164(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

func TestSplitName(t *testing.T) {
	t.Parallel()
	for in, want := range map[string][2]string{
		"Ada Lovelace": {"Ada", "Lovelace"}, "Cher": {"Cher", ""}, "  ": {"", ""},
		"José María García": {"José", "María García"}, "山田\u3000太郎": {"山田", "太郎"}, "Ελένη Παπαδοπούλου": {"Ελένη", "Παπαδοπούλου"},
	} {
		f, l := SplitName(in)
		if f != want[0] || l != want[1] {
			t.Errorf("SplitName(%q) = %q, %q", in, f, l)
		}
	}
}

func TestDates(t *testing.T) {
	t.Parallel()
	for in, want := range map[any]string{
		int64(0): "1970-01-01", 1705314600.0: "2024-01-15", int64(1705314600000): "2024-01-15",
		"2024-01-15T23:59:59Z": "2024-01-15", "2024-01-15": "2024-01-15", json.Number("1705314600"): "2024-01-15", "1705314600": "2024-01-15",
	} {
		got, err := toDate(in)
		if err != nil || got != want {
			t.Errorf("toDate(%v) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []any{-5.0, "soon", true} {
		if _, err := toDate(bad); err == nil {
			t.Errorf("toDate(%v) accepted", bad)
		}
	}
}

func TestHashStable(t *testing.T) {
	t.Parallel()
	a := Hash("a@b.c", map[string]any{"X": 1.0, "Y": "z"})
	b := Hash("a@b.c", map[string]any{"Y": "z", "X": 1.0})
	c := Hash("a@b.c", map[string]any{"Y": "z", "X": 2.0})
	if a != b || a == c || len(a) != 32 {
		t.Errorf("hashes %s %s %s", a, b, c)
	}
}
