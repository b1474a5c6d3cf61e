package dataset

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/google/go-cmp/cmp"
)

func TestDeterministic(t *testing.T) {
	t.Parallel()
	a, b := New(Options{Contacts: 500, Seed: 9}), New(Options{Contacts: 500, Seed: 9})
	other := New(Options{Contacts: 500, Seed: 10})
	for i := range 500 {
		if d := cmp.Diff(a.Contact(i), b.Contact(i)); d != "" {
			t.Fatalf("contact %d differs between two generations:\n%s", i, d)
		}
		if a.ContactID(i) == other.ContactID(i) {
			t.Fatalf("seeds 9 and 10 share contact id %s", a.ContactID(i))
		}
	}
	for j := range a.NumCompanies() {
		if d := cmp.Diff(a.Company(j), b.Company(j)); d != "" {
			t.Fatalf("company %d differs:\n%s", j, d)
		}
	}
	for k := range a.NumConversations() {
		if d := cmp.Diff(a.Conversation(k), b.Conversation(k)); d != "" {
			t.Fatalf("conversation %d differs:\n%s", k, d)
		}
		if d := cmp.Diff(a.Events(k), b.Events(k)); d != "" {
			t.Fatalf("events %d differ:\n%s", k, d)
		}
	}
	// Order of generation does not matter.
	c := New(Options{Contacts: 500, Seed: 9})
	late := c.Contact(499)
	if d := cmp.Diff(a.Contact(499), late); d != "" {
		t.Errorf("contact 499 generated first differs:\n%s", d)
	}
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	d := New(Options{Contacts: 1000})
	o := d.Options()
	if o.Companies != 50 || o.Conversations != 500 || o.LeadFraction != 0.3 || o.Years != 3 || !o.Now.Equal(DefaultNow) {
		t.Errorf("defaults = %+v", o)
	}
	if New(Options{Contacts: 3}).NumCompanies() != 1 {
		t.Error("a tiny workspace has no company")
	}
}

func TestIDsRoundTrip(t *testing.T) {
	t.Parallel()
	d := New(Options{Contacts: 10, Seed: 1})
	for _, i := range []int{0, 1, 15, 16, 255, 1_000_000, 123456789} {
		id := d.ContactID(i)
		if got, ok := d.ContactIndex(id); !ok || got != i || len(id) != 24 {
			t.Errorf("ContactIndex(%s) = %d %v, want %d", id, got, ok, i)
		}
		if got, ok := d.CompanyIndex(d.CompanyID(i)); !ok || got != i {
			t.Errorf("CompanyIndex round trip of %d = %d %v", i, got, ok)
		}
		if got, ok := d.ConversationIndex(d.ConversationID(i)); !ok || got != i {
			t.Errorf("ConversationIndex round trip of %d = %d %v", i, got, ok)
		}
	}
	for _, bad := range []string{"", "x", d.CompanyID(1), strings.ToUpper(d.ContactID(1)), d.ContactID(1) + "0", "123"} {
		if _, ok := d.ContactIndex(bad); ok {
			t.Errorf("ContactIndex(%q) accepted", bad)
		}
	}
	if _, ok := d.ConversationIndex("0100000001"); ok {
		t.Error("a zero-padded conversation id parsed")
	}
}

func TestCheapAccessorsAgree(t *testing.T) {
	t.Parallel()
	d := New(Options{Contacts: 300, Seed: 5})
	for i := range 300 {
		c := d.Contact(i)
		cr, up := d.ContactTimes(i)
		tags, comps := d.Memberships(i)
		if cr != c.CreatedAt || up != c.UpdatedAt || !cmp.Equal(tags, c.Tags) || !cmp.Equal(comps, c.Companies) {
			t.Fatalf("contact %d: accessors disagree with Contact()", i)
		}
	}
	for k := range d.NumConversations() {
		v := d.Conversation(k)
		ct, cr, up := d.ConversationBasics(k)
		if ct != v.Contact || cr != v.CreatedAt || up != v.UpdatedAt {
			t.Fatalf("conversation %d: basics disagree", k)
		}
	}
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{7,14}$`)

// TestVariety checks that the generator produces every case the sync has
// to handle.
func TestVariety(t *testing.T) {
	t.Parallel()
	d := New(Options{Contacts: 5000, Seed: 11})
	now := d.Now()
	count := map[string]int{}
	for i := range d.NumContacts() {
		c := d.Contact(i)
		switch {
		case c.Role == RoleLead && c.Email == "":
			count["lead without email"]++
		case c.Role == RoleLead:
			count["lead with email"]++
		case c.Email == "":
			t.Fatalf("user %d without email", i)
		}
		if c.Role == RoleUser && c.ExternalID == "" {
			t.Fatalf("user %d without external id", i)
		}
		if c.Name == "" {
			count["no name"]++
		} else if !strings.Contains(c.Name, " ") {
			count["single-word name"]++
		}
		for _, r := range c.Name {
			if r > unicode.MaxASCII {
				count["non-ASCII name"]++
				break
			}
		}
		switch {
		case c.Phone == "":
		case c.FormattedPhone == "":
			count["invalid phone"]++
		default:
			if !e164.MatchString(c.FormattedPhone) {
				t.Fatalf("formatted phone %q is not E.164", c.FormattedPhone)
			}
			count["valid phone"]++
		}
		if len(c.Tags) > 10 {
			count["more than 10 tags"]++
		}
		if len(c.Companies) == 0 {
			count["no company"]++
		}
		if len(c.Companies) == 3 {
			count["3 companies"]++
		}
		if _, ok := c.CustomAttributes["plan_tier"]; ok {
			count["plan_tier"]++
		}
		if _, ok := c.CustomAttributes["feature_usage"]; ok {
			count["feature_usage"]++
		}
		if c.CreatedAt > c.UpdatedAt || c.UpdatedAt > now || (c.LastSeenAt != 0 && (c.LastSeenAt < c.CreatedAt || c.LastSeenAt > c.UpdatedAt)) {
			t.Fatalf("contact %d timestamps out of order: %+v", i, c)
		}
		if now-c.UpdatedAt < 7*day {
			count["updated this week"]++
		}
		if now-c.CreatedAt > 2*365*day {
			count["created over 2 years ago"]++
		}
		if c.UnsubscribedFromEmails {
			count["unsubscribed"]++
		}
		for _, e := range d.Events(i) {
			if now-e.CreatedAt > 90*day {
				count["event older than 90 days"]++
			} else {
				count["recent event"]++
			}
		}
	}
	for k := range d.NumConversations() {
		v := d.Conversation(k)
		count["state "+v.State]++
		if v.Rating != nil {
			count["rated"]++
			if v.Rating.Remark != "" {
				count["rating remark"]++
			}
			if v.Rating.Rating < 1 || v.Rating.Rating > 5 {
				t.Fatalf("rating %d", v.Rating.Rating)
			}
		}
		if len(v.Tags) > 0 {
			count["conversation tags"]++
		}
		if v.AIAgentParticipated {
			count["ai "+v.AIAgent.ResolutionState]++
			count["ai answer "+v.AIAgent.LastAnswerType]++
			if v.AIAgent.Rating > 0 {
				count["ai rated"]++
			}
		}
		if v.State == StateSnoozed && v.SnoozedUntil <= now {
			t.Fatalf("snoozed conversation %d without a future snoozed_until", k)
		}
		if v.CreatedAt > v.UpdatedAt {
			t.Fatalf("conversation %d updated before created", k)
		}
	}
	plans := map[string]bool{}
	for j := range d.NumCompanies() {
		c := d.Company(j)
		plans[c.PlanName] = true
		if c.CustomAttributes["account_tier"] == "" {
			t.Fatalf("company %d without custom attributes", j)
		}
	}
	for _, want := range []string{
		"lead without email", "lead with email", "no name", "single-word name", "non-ASCII name", "invalid phone", "valid phone",
		"more than 10 tags", "no company", "3 companies", "plan_tier", "feature_usage", "updated this week", "created over 2 years ago",
		"unsubscribed", "event older than 90 days", "recent event", "state open", "state closed", "state snoozed", "rated",
		"rating remark", "conversation tags", "ai assumed_resolution", "ai confirmed_resolution", "ai routed_to_team", "ai abandoned",
		"ai ", "ai answer ai_answer", "ai answer custom_answer", "ai rated",
	} {
		if count[want] == 0 {
			t.Errorf("no case of %q in 5000 contacts", want)
		}
	}
	if len(plans) < 4 {
		t.Errorf("company plans %v", plans)
	}
	t.Logf("%v", count)
}

func TestTags(t *testing.T) {
	t.Parallel()
	d := New(Options{Contacts: 1})
	names := map[string]bool{}
	for _, tg := range d.Tags() {
		names[tg.Name] = true
	}
	for _, n := range []string{"vip", "beta", "billing"} {
		if !names[n] {
			t.Errorf("no tag %q", n)
		}
	}
}

// TestGenerates100kQuickly: the sandbox must hold 100k contacts (and
// benchmarks a million) without a long start.
func TestGenerates100kQuickly(t *testing.T) {
	if testing.Short() {
		t.Skip("generates 100k contacts")
	}
	t.Parallel()
	d := New(Options{Contacts: 100_000, Seed: 1})
	start := time.Now()
	n := 0
	for i := range d.NumContacts() {
		c := d.Contact(i)
		n += len(c.Tags)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("100k contacts took %v", el)
	} else {
		t.Logf("100k contacts generated in %v (%d tags)", el, n)
	}
}

func BenchmarkContact(b *testing.B) {
	d := New(Options{Contacts: 1_000_000, Seed: 1})
	i := 0
	for b.Loop() {
		d.Contact(i % 1_000_000)
		i++
	}
}

func BenchmarkConversation(b *testing.B) {
	d := New(Options{Contacts: 1_000_000, Seed: 1})
	i := 0
	for b.Loop() {
		d.Conversation(i % 500_000)
		i++
	}
}

func ExampleDataset_Contact() {
	d := New(Options{Contacts: 10, Seed: 42})
	c := d.Contact(3)
	fmt.Println(c.ID == d.ContactID(3), c.Role == RoleUser || c.Role == RoleLead)
	// Output: true true
}
