package mapping

import (
	"testing"

	"github.com/tajo/terraform-provider-tajo/agent/config"
)

// benchContact is a contact as the sync engine hands it to the mapper: the
// quickstart's mappings read every field below.
var benchContact = rec{
	"email": "ana.cruz@example.com", "name": "Ana María de la Cruz", "phone": "+49 (30) 1234-5678", "role": "user",
	"company.name": "Acme Industries", "company.plan": "pro", "company.size": int64(42),
	"signed_up_at": int64(1705314600), "last_seen_at": float64(1705400000), "session_count": int64(17),
	"unsubscribed_from_emails":    false,
	"custom_attributes.plan_tier": "gold", "custom_attributes.feature_usage": int64(175),
}

func benchMapper() *Mapper {
	return mapper(
		config.FieldMapping{ConnectorID: "intercom", Source: "custom_attributes.plan_tier", Target: "PLAN_TIER"},
		config.FieldMapping{ConnectorID: "intercom", Source: "custom_attributes.feature_usage", Target: "FEATURE_USAGE", Type: "number"},
	)
}

// BenchmarkMap maps one contact with the default mappings plus the
// quickstart's two custom ones (what the planner does per record).
func BenchmarkMap(b *testing.B) {
	m := benchMapper()
	b.ReportAllocs()
	for b.Loop() {
		if r := m.Map(benchContact); len(r.Attributes) == 0 {
			b.Fatal("nothing mapped")
		}
	}
}

// BenchmarkHash digests what is written for one contact, with the parts
// the sync engine seals a contact's state with (ext_id, email, mapped
// attributes, blacklist flag), so unchanged records can be skipped.
func BenchmarkHash(b *testing.B) {
	attrs := benchMapper().Map(benchContact).Attributes
	b.ReportAllocs()
	for b.Loop() {
		if Hash("6643a1f2b3c4d5e6f7a8b9c0", "ana.cruz@example.com", attrs, false) == "" {
			b.Fatal("empty hash")
		}
	}
}
