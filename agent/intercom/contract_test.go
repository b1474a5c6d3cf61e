package intercom

import (
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tajo/terraform-provider-tajo/agent/sandbox/contract"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox/fakeintercom"
)

// specDefects are exchanges the 2.11 description cannot validate although
// client and simulator behave as the real API does. Each entry excuses one
// kind of violation (one "atom" of a violation message) of one operation.
// An exchange passes only if every atom of its violation is excused, and
// the test fails when an entry no longer shows (it is then obsolete).
var specDefects = []struct {
	op, pattern, why string
}{
	{"POST /auth/eagle/token", `is not an operation of the intercom spec`,
		"the OAuth token exchange is documented on the OAuth pages, not in the REST description"},
	{"GET /contacts/{id}/companies", `^at companies: property "companies" is missing$`,
		"schema contact_attached_companies names the array `companies`; the operation's own example and real responses use `data`"},
	{"GET /data_attributes", `^at data/\d+/model: value is not one of the allowed values \["contact","company"\]$`,
		"the model query parameter allows `conversation`, but data_attribute.model's enum lacks it"},
	{"GET /events", `^request: parameter "filter" in query has an error: decoding oneOf failed: "filter" is required$`,
		"the user_id / intercom_user_id / email query parameters are modelled as one required form-exploded object parameter `filter` with oneOf, which the validator (kin-openapi) cannot decode"},
	{"GET /events", `^at type: value is not one of the allowed values \["event.summary"\]$`,
		"only the summary=true answer (data_event_summary) is declared; the event list (data_event_list, type event.list) is not"},
	{"GET /events", `^at (email|intercom_user_id|user_id): property "(email|intercom_user_id|user_id)" is missing$`,
		"same: the event list is checked against data_event_summary, whose required fields it does not have"},
}

// atoms splits a violation into its single findings.
func atoms(v string) []string {
	_, rest, ok := strings.Cut(v, "(intercom): ")
	if !ok {
		return []string{v}
	}
	var out []string
	for _, line := range strings.Split(rest, "\n") {
		if i := strings.Index(line, ": at "); i >= 0 {
			out = append(out, strings.Split(line[i+2:], " | ")...)
		} else {
			out = append(out, line)
		}
	}
	return out
}

func loadSpec(t *testing.T) *contract.Spec {
	t.Helper()
	spec, err := contract.Load(contract.Intercom)
	if errors.Is(err, contract.ErrNoSpecs) {
		t.Skipf("skipping the contract check: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

var idSegment = regexp.MustCompile(`/(?:[0-9a-f]{24}|[0-9]{6,})(/|$)`)

func opOf(v string) string {
	// "GET /contacts/abc…/tags (intercom): …" → "GET /contacts/{id}/tags"
	f := strings.Fields(v)
	if len(f) < 2 {
		return v
	}
	return f[0] + " " + idSegment.ReplaceAllString(f[1], "/{id}$1")
}

// TestContract runs every client operation against the simulator through
// contract.Recorder and requires every exchange to match the OpenAPI
// description.
func TestContract(t *testing.T) {
	t.Parallel()
	spec := loadSpec(t)
	f, base := newFake(t, unlimited(400))
	rec := &contract.Recorder{Spec: spec, Base: "/intercom", Next: http.DefaultTransport}
	hc := &http.Client{Transport: rec, Timeout: 30 * time.Second}
	c := newTestClient(t, base, WithHTTPClient(hc))
	ctx := t.Context()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	_, _, err := c.Admins.Me(ctx)
	must(err)
	// Contacts: two list pages, a search with sort and pagination, one
	// contact in all its forms.
	n := 0
	for _, err := range c.Contacts.Pages(ctx, ListOptions{PerPage: 150}) {
		must(err)
		if n++; n == 2 {
			break
		}
	}
	n = 0
	q := SearchRequest{Query: And(UpdatedSince(refNow.AddDate(0, 0, -60)), Or(Filter("role", OpEquals, RoleUser), Filter("email", OpContains, "example"))),
		PerPage: 20, Sort: &Sort{Field: "updated_at", Order: SortDescending}}
	for _, err := range c.Contacts.SearchPages(ctx, q) {
		must(err)
		if n++; n == 2 {
			break
		}
	}
	_, _, err = c.Contacts.Search(ctx, &SearchRequest{Query: Filter("custom_attributes.plan_tier", OpIn, []string{"pro", "enterprise"})})
	must(err)
	ids := f.ContactIDs()
	// A contact with more than 10 tags and several companies.
	var rich string
	for _, id := range ids {
		if ct, _ := f.Contact(id); len(ct.Tags) > 10 {
			rich = id
			break
		}
	}
	must(f.AttachCompany(rich, f.CompanyIDs()[0]))
	must(f.AttachCompany(rich, f.CompanyIDs()[1]))
	ct, _, err := c.Contacts.Get(ctx, rich)
	must(err)
	must(c.Contacts.Expand(ctx, ct))
	_, _, err = c.Contacts.ListCompanies(ctx, rich, nil)
	must(err)
	unsub := true
	_, _, err = c.Contacts.Update(ctx, ids[3], &ContactUpdate{UnsubscribedFromEmails: &unsub, CustomAttributes: map[string]any{"plan_tier": "pro"}})
	must(err)

	// Companies.
	for _, err := range c.Companies.ScrollAll(ctx) {
		must(err)
	}
	_, _, err = c.Companies.List(ctx, &CompanyListOptions{PageOptions: PageOptions{PerPage: 5}, Order: "asc"})
	must(err)
	co, _, err := c.Companies.Get(ctx, f.CompanyIDs()[0])
	must(err)
	for _, err := range c.Companies.AllContacts(ctx, co.ID) {
		must(err)
	}

	// Conversations.
	cl, _, err := c.Conversations.List(ctx, &ListOptions{PerPage: 50})
	must(err)
	_, _, err = c.Conversations.List(ctx, &ListOptions{PerPage: 50, StartingAfter: cl.Pages.Next.StartingAfter})
	must(err)
	_, _, err = c.Conversations.Search(ctx, &SearchRequest{Query: And(
		ConversationsUpdatedSince(refNow.AddDate(0, 0, -30)),
		Filter("state", OpIn, []string{StateOpen, StateSnoozed}),
		Filter("ai_agent_participated", OpEquals, true))})
	must(err)
	for _, cv := range cl.Conversations[:10] {
		_, _, err = c.Conversations.Get(ctx, cv.ID, nil)
		must(err)
	}

	// Tags, data attributes, events, OAuth.
	_, _, err = c.Tags.List(ctx)
	must(err)
	for _, m := range []string{"", ModelContact, ModelCompany, ModelConversation} {
		_, _, err = c.DataAttributes.List(ctx, &DataAttributeListOptions{Model: m, IncludeArchived: m == ""})
		must(err)
	}
	for _, id := range ids[:5] {
		for _, err := range c.Events.All(ctx, EventListOptions{IntercomUserID: id, PerPage: 2}) {
			must(err)
		}
		_, _, err = c.Events.Summary(ctx, EventListOptions{IntercomUserID: id})
		must(err)
	}
	_, err = c.Events.Submit(ctx, &EventSubmission{EventName: "synced", CreatedAt: refNow.Unix(), ID: ids[0],
		Metadata: map[string]any{"source": "tajo"}})
	must(err)
	_, _, err = ExchangeCode(ctx, OAuthCredentials{ClientID: fakeintercom.DefaultClientID, ClientSecret: fakeintercom.DefaultClientSecret},
		f.IssueOAuthCode(), WithBaseURL(base), WithHTTPClient(hc))
	must(err)

	// Declared error answers.
	bad, err := NewClient("wrong-token", WithBaseURL(base), WithHTTPClient(hc))
	must(err)
	if _, _, err := bad.Contacts.List(ctx, nil); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("wrong token: %v", err)
	}
	if _, _, err := c.Companies.Get(ctx, "000000000000000000000000"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing company: %v", err)
	}
	if _, _, err := c.Contacts.ListTags(ctx, "000000000000000000000000"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing contact: %v", err)
	}

	checkViolations(t, rec)
}

// checkViolations fails on any violation not excused by specDefects, and
// on a spec defect entry that no longer shows.
func checkViolations(t *testing.T, rec *contract.Recorder) {
	t.Helper()
	seen := make([]bool, len(specDefects))
	for _, v := range rec.Violations() {
		op := opOf(v)
		for _, a := range atoms(v) {
			excused := false
			for i, d := range specDefects {
				if d.op == op && regexp.MustCompile(d.pattern).MatchString(a) {
					excused, seen[i] = true, true
					break
				}
			}
			if !excused {
				t.Errorf("contract violation of %s: %s\n(in %s)", op, a, v)
			}
		}
	}
	for i, d := range specDefects {
		if !seen[i] {
			t.Errorf("spec defect of %s no longer shows (%s): remove it from specDefects", d.op, d.why)
		}
	}
	if rec.Checked() < 40 {
		t.Errorf("only %d exchanges checked", rec.Checked())
	}
	t.Logf("%d exchanges checked against the 2.11 description; %d known spec defects excused", rec.Checked(), len(specDefects))
}

// TestContractUndeclaredErrors documents error answers that the
// simulator gives like the real API but the 2.11 description does not
// declare for the operation; they are reported, not excused globally.
func TestContractUndeclaredErrors(t *testing.T) {
	t.Parallel()
	spec := loadSpec(t)
	f, base := newFake(t, unlimited(50))
	rec := &contract.Recorder{Spec: spec, Base: "/intercom"}
	c := newTestClient(t, base, WithHTTPClient(&http.Client{Transport: rec}))
	ctx := t.Context()
	id := f.ContactIDs()[0]
	// 404 of a deleted contact: GET /contacts/{id} declares 200 and 401.
	if err := f.DeleteContact(id); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Contacts.Get(ctx, id); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted contact: %v", err)
	}
	// 400 of a date operator the search refuses: only 200/401 declared.
	_, _, err := c.Conversations.Search(ctx, &SearchRequest{Query: Filter("nope", OpEquals, "x")})
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad search: %v", err)
	}
	// 400 scroll_exists: GET /companies/scroll declares 200 and 401.
	if _, _, err := c.Companies.Scroll(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Companies.Scroll(ctx, ""); !errors.Is(err, ErrScrollExists) {
		t.Fatalf("second scroll: %v", err)
	}
	vs := rec.Violations()
	for _, want := range []string{"GET /contacts/" + id, "POST /conversations/search", "GET /companies/scroll"} {
		found := false
		for _, v := range vs {
			if strings.HasPrefix(v, want) && strings.Contains(v, "status") {
				found = true
				t.Logf("undeclared: %s", v)
			}
		}
		if !found {
			t.Errorf("no undeclared-status report for %s; violations: %q", want, vs)
		}
	}
}
