package config

import "sort"

// FieldMapping is a tajo_field_mapping: one Intercom source written into one
// Brevo contact attribute.
type FieldMapping struct {
	ConnectorID string `json:"connector_id"`
	Source      string `json:"source"`
	Target      string `json:"target"`
	// Type defaults to the source's natural type (DefaultType).
	Type string `json:"type"`
	// Transform defaults to DefaultTransform(Source).
	Transform string `json:"transform"`
}

// ID is the mapping's identifier: "<connector>/<TARGET>". A Brevo attribute
// is fed by at most one mapping per connector.
func (m FieldMapping) ID() string { return JoinID(m.ConnectorID, m.Target) }

// WithDefaults fills Type and Transform when they are empty.
func (m FieldMapping) WithDefaults() FieldMapping {
	if m.Type == "" {
		m.Type = DefaultType(m.Source)
	}
	if m.Transform == "" {
		m.Transform = DefaultTransform(m.Source)
	}
	return m
}

// Validate reports every problem with m at once.
func (m FieldMapping) Validate() error {
	var p problems
	p.check("connector_id", ValidateName(m.ConnectorID))
	srcErr := ValidateSource(m.Source)
	p.check("source", srcErr)
	p.check("target", ValidateTarget(m.Target))
	if m.Type != "" {
		p.check("type", oneOf(m.Type, Types...))
	}
	if m.Transform != "" {
		p.check("transform", oneOf(m.Transform, Transforms...))
	}
	if srcErr != nil {
		return p.list.Err()
	}
	d := m.WithDefaults()
	src, _ := LookupSource(m.Source)
	if m.Type != "" && !convertible(src.Type, d.Type) {
		p.add("type", "source %q holds a %s and cannot be written as a %s attribute; use type %q or %q",
			m.Source, src.Type, d.Type, src.Type, TypeText)
	}
	switch d.Transform {
	case TransformSplitName:
		if d.Type != TypeText {
			p.add("transform", "split_name works on text; set type = %q", TypeText)
		}
		if m.Target == TargetFirstName || m.Target == TargetLastName {
			p.add("transform", "split_name writes FIRSTNAME and LASTNAME itself; use a target such as %q", "FULLNAME")
		}
	case TransformE164:
		if d.Type != TypeText {
			p.add("transform", "e164 works on text; set type = %q", TypeText)
		}
	case TransformLowercase, TransformUppercase, TransformTrim:
		if d.Type != TypeText {
			p.add("transform", "%s works on text; set type = %q or transform = %q", d.Transform, TypeText, TransformNone)
		}
	}
	switch m.Target {
	case TargetSMS:
		if d.Transform != TransformE164 {
			p.add("transform", "Brevo accepts only E.164 numbers in SMS; set transform = %q", TransformE164)
		}
	case TargetEmail:
		if d.Type != TypeText || (d.Transform != TransformNone && d.Transform != TransformLowercase && d.Transform != TransformTrim) {
			p.add("target", "EMAIL is the Brevo contact's email identifier: map it as text with transform none, lowercase or trim")
		}
	}
	return p.list.Err()
}

// DefaultMappings are the brief's default field mappings, applied when a
// connector has default_field_mappings = true. A tajo_field_mapping with the
// same target replaces the default one.
func DefaultMappings(connectorID string) []FieldMapping {
	defs := []struct{ source, target string }{
		{"email", TargetEmail},
		{"name", "FULLNAME"},
		{"phone", TargetSMS},
		{"role", "CONTACT_TYPE"},
		{"company.name", "COMPANY_NAME"},
		{"company.plan", "COMPANY_PLAN"},
		{"company.size", "COMPANY_SIZE"},
		{"signed_up_at", "SIGNUP_DATE"},
		{"last_seen_at", "LAST_ACTIVE"},
		{"session_count", "SESSION_COUNT"},
		{"unsubscribed_from_emails", "UNSUBSCRIBED"},
	}
	out := make([]FieldMapping, len(defs))
	for i, d := range defs {
		out[i] = FieldMapping{ConnectorID: connectorID, Source: d.source, Target: d.target}.WithDefaults()
	}
	return out
}

// toggledDefaults are the default mappings a sync toggle adds: conversation
// aggregates (sync.conversations), AI-agent outcomes (sync.ai_agent) and
// messenger engagement (sync.messenger).
func toggledDefaults(c Connector) []FieldMapping {
	var defs []struct{ source, target string }
	if c.Sync.Conversations {
		defs = append(defs, []struct{ source, target string }{
			{"conversations.count", "CONVERSATIONS"},
			{"conversations.open_count", "OPEN_CONVERSATIONS"},
			{"conversations.last_at", "LAST_CONVERSATION_AT"},
			{"conversations.last_state", "LAST_CONVERSATION_STATE"},
			{"conversations.last_rating", "LAST_RATING"},
			{"conversations.last_rating_has_remark", "LAST_RATING_REMARK"},
			{"conversations.average_rating", "AVERAGE_RATING"},
			{"conversations.last_closed_at", "LAST_CLOSED_AT"},
			{"conversations.tags", "CONVERSATION_TAGS"},
		}...)
	}
	if c.Sync.AIAgent {
		defs = append(defs, []struct{ source, target string }{
			{"ai_agent.participated", "AI_AGENT_PARTICIPATED"},
			{"ai_agent.resolution_state", "AI_RESOLUTION_STATE"},
			{"ai_agent.rating", "AI_RATING"},
			{"ai_agent.last_answer_type", "AI_LAST_ANSWER_TYPE"},
		}...)
	}
	if c.Sync.Messenger {
		defs = append(defs, []struct{ source, target string }{
			{"last_contacted_at", "LAST_CONTACTED"},
			{"last_replied_at", "LAST_REPLIED"},
			{"last_email_opened_at", "LAST_EMAIL_OPENED"},
			{"last_email_clicked_at", "LAST_EMAIL_CLICKED"},
			{"browser", "BROWSER"},
			{"os", "OS"},
			{"location.country", "COUNTRY"},
			{"location.city", "CITY"},
		}...)
	}
	out := make([]FieldMapping, len(defs))
	for i, d := range defs {
		out[i] = FieldMapping{ConnectorID: c.ID(), Source: d.source, Target: d.target}.WithDefaults()
	}
	return out
}

// sortMappings orders mappings by target, the order attributes are written.
func sortMappings(ms []FieldMapping) {
	sort.Slice(ms, func(i, j int) bool { return ms[i].Target < ms[j].Target })
}
