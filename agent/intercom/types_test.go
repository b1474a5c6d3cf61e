package intercom

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestTimestampAndIDDecodeLeniently(t *testing.T) {
	t.Parallel()
	var v struct {
		A, B, C, D, E Timestamp
		I, J, K       ID
	}
	in := `{"A":1700000000,"B":"1700000001","C":1700000002.9,"D":null,"E":"","I":"abc","J":991267300,"K":null}`
	if err := json.Unmarshal([]byte(in), &v); err != nil {
		t.Fatal(err)
	}
	if v.A != 1700000000 || v.B != 1700000001 || v.C != 1700000002 || v.D != 0 || v.E != 0 {
		t.Errorf("timestamps = %+v", v)
	}
	if v.I != "abc" || v.J != "991267300" || v.K != "" {
		t.Errorf("ids = %q %q %q", v.I, v.J, v.K)
	}
	if !v.D.Time().IsZero() || v.A.Time() != time.Unix(1700000000, 0).UTC() {
		t.Error("Time() of null or set timestamp")
	}
	var bad struct{ T Timestamp }
	if err := json.Unmarshal([]byte(`{"T":"yesterday"}`), &bad); err == nil {
		t.Error("a non-numeric timestamp decoded")
	}
}

// A contact as Intercom sends it, with fields the 2.11 schema lacks and
// nulls everywhere they may be.
const realContact = `{
  "type": "contact", "id": "667d60a98a68186f43bafdb9", "workspace_id": "ws1", "external_id": null,
  "role": "lead", "email": "", "phone": null, "name": null, "avatar": null, "owner_id": null,
  "social_profiles": {"type": "list", "data": []},
  "has_hard_bounced": false, "marked_email_as_spam": false, "unsubscribed_from_emails": true,
  "created_at": 1719492777, "updated_at": 1719492778, "signed_up_at": null, "last_seen_at": 1719492779,
  "location": {"type": "location", "country": "Germany", "region": null, "city": "Berlin", "country_code": "DE", "continent_code": "EU"},
  "custom_attributes": {"plan_tier": "pro", "feature_usage": 42, "beta": true, "score": 9.5, "nothing": null},
  "tags": {"type": "list", "data": [{"type": "tag", "id": "7", "url": "/tags/7"}], "url": "/contacts/667d60a98a68186f43bafdb9/tags", "total_count": 12, "has_more": true},
  "companies": {"type": "list", "data": [], "url": "/contacts/667d60a98a68186f43bafdb9/companies", "total_count": 0, "has_more": false},
  "opted_out_subscription_types": {"type": "list", "data": [], "url": "/x", "total_count": 0, "has_more": false},
  "utm_source": "newsletter", "referrer": "https://example.com", "session_count": 17,
  "brand_new_field": {"nested": [1, 2]}
}`

func TestContactDecodesLenientlyAndKeepsUnknownFields(t *testing.T) {
	t.Parallel()
	var c Contact
	if err := json.Unmarshal([]byte(realContact), &c); err != nil {
		t.Fatal(err)
	}
	want := Contact{
		Type: "contact", ID: "667d60a98a68186f43bafdb9", WorkspaceID: "ws1", Role: RoleLead, UnsubscribedFromEmails: true,
		CreatedAt: 1719492777, UpdatedAt: 1719492778, LastSeenAt: 1719492779,
		SocialProfiles: &SocialProfiles{Type: "list", Data: c.SocialProfiles.Data},
		Location:       &Location{Type: "location", Country: "Germany", City: "Berlin", CountryCode: "DE", ContinentCode: "EU"},
		CustomAttributes: map[string]any{"plan_tier": "pro", "feature_usage": float64(42), "beta": true, "score": 9.5,
			"nothing": nil},
		Tags: &AddressableList{Type: "list", Data: []*ListRef{{Type: "tag", ID: "7", URL: "/tags/7"}},
			URL: "/contacts/667d60a98a68186f43bafdb9/tags", TotalCount: 12, HasMore: true},
		Companies: &AddressableList{Type: "list", Data: []*ListRef{}, URL: "/contacts/667d60a98a68186f43bafdb9/companies"},
	}
	if d := cmp.Diff(want, c, cmpopts.IgnoreFields(Contact{}, "Raw")); d != "" {
		t.Errorf("contact (-want +got):\n%s", d)
	}
	ex := c.Extra()
	for _, k := range []string{"utm_source", "referrer", "session_count", "brand_new_field", "opted_out_subscription_types"} {
		if _, ok := ex[k]; !ok {
			t.Errorf("Extra() lacks %s", k)
		}
	}
	for _, k := range []string{"id", "email", "tags", "custom_attributes"} {
		if _, ok := ex[k]; ok {
			t.Errorf("Extra() has the declared field %s", k)
		}
	}
	if string(ex["session_count"]) != "17" {
		t.Errorf("session_count = %s", ex["session_count"])
	}
}

func TestConversationDecodesNulls(t *testing.T) {
	t.Parallel()
	// The spec's own example: null rating, statistics, ai_agent …
	in := `{"type":"conversation","id":"378","created_at":1719492843,"updated_at":1719492843,"waiting_since":null,
	"snoozed_until":null,"source":{"type":"conversation","id":"403918266","delivered_as":"admin_initiated","subject":"",
	"body":"<p>hi</p>","author":{"type":"admin","id":991267591,"name":"Ciaran","email":"a@b.c"},"attachments":[],"url":null,
	"redacted":false},"contacts":{"type":"contact.list","contacts":[{"type":"contact","id":"c1","external_id":"70"}]},
	"first_contact_reply":null,"admin_assignee_id":991267715,"team_assignee_id":"5017691","open":false,"state":"closed",
	"read":false,"tags":{"type":"tag.list","tags":[]},"priority":"not_priority","sla_applied":null,"statistics":null,
	"conversation_rating":null,"teammates":null,"title":null,"custom_attributes":{},"topics":{},"ticket":null,
	"linked_objects":{"type":"list","data":[],"total_count":0,"has_more":false},"ai_agent":null,"ai_agent_participated":false}`
	var c Conversation
	if err := json.Unmarshal([]byte(in), &c); err != nil {
		t.Fatal(err)
	}
	if c.ConversationRating != nil || c.AIAgent != nil || c.Statistics != nil || c.State != StateClosed ||
		c.AdminAssigneeID != "991267715" || c.TeamAssigneeID != "5017691" || c.Source.Author.ID != "991267591" {
		t.Errorf("conversation = %+v", c)
	}
	if d := cmp.Diff([]string{"c1"}, c.ContactIDs()); d != "" {
		t.Error(d)
	}
	if _, ok := c.Extra()["topics"]; !ok {
		t.Error("topics not in Extra()")
	}
}
