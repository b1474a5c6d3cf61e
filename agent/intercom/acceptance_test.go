package intercom

import (
	"slices"
	"testing"
	"time"

	"github.com/tajo/terraform-provider-tajo/agent/backoff"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox/dataset"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox/fakeintercom"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox/harness"
)

// TestAcceptanceBudget10kContacts is the budget acceptance test: the
// client lists 10,000 contacts and runs an incremental search against the
// rate-enforcing simulator at the premium budget (100 requests per 10 s,
// search 1/s) and must never be refused.
func TestAcceptanceBudget10kContacts(t *testing.T) {
	if testing.Short() {
		t.Skip("takes ~20 s of paced requests")
	}
	t.Parallel()
	const budget = 100
	f, base := newFake(t, fakeintercom.Options{Dataset: dataset.Options{Contacts: 10000, Seed: 7},
		AppBudget: budget, SearchPerSecond: 1, ScrollOpensPerMinute: 1})
	c, err := NewClient(fakeintercom.DefaultToken, WithBaseURL(base), WithBudget(budget))
	if err != nil {
		t.Fatal(err)
	}
	h := f.Harness()
	h.ResetStats()
	ctx := t.Context()

	// Full sync: the contact list at the largest page size.
	start := time.Now()
	var listed []string
	listReqs := 0
	for p, err := range c.Contacts.Pages(ctx, ListOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		listReqs++
		for _, ct := range p.Items {
			listed = append(listed, ct.ID)
		}
	}
	listTook := time.Since(start)
	if want := f.ContactIDs(); !slices.Equal(listed, want) {
		t.Fatalf("listed %d contacts, the workspace has %d (or another order)", len(listed), len(want))
	}

	// Incremental sync: everything updated in the last 7 days.
	since := refNow.AddDate(0, 0, -7)
	start2 := time.Now()
	found := map[string]bool{}
	searchReqs := 0
	for p, err := range c.Contacts.SearchPages(ctx, SearchRequest{Query: UpdatedSince(since), Sort: &Sort{Field: "updated_at", Order: SortAscending}}) {
		if err != nil {
			t.Fatal(err)
		}
		searchReqs++
		for _, ct := range p.Items {
			found[ct.ID] = true
		}
	}
	searchTook := time.Since(start2)
	total := time.Since(start)
	// Every contact changed since `since` must be in the result.
	missing := 0
	for _, id := range f.ContactIDs() {
		if ct, _ := f.Contact(id); ct.UpdatedAt >= since.Unix() && !found[id] {
			missing++
		}
	}
	if missing > 0 {
		t.Errorf("the incremental search missed %d contacts updated since %v", missing, since)
	}

	st := h.Stats()
	if st.Throttled != 0 || st.ByStatus[429] != 0 {
		t.Errorf("%d requests were refused with 429 (%v)", st.Throttled, st.Refused)
	}
	if st.Requests != listReqs+searchReqs {
		t.Errorf("server saw %d requests, client sent %d", st.Requests, listReqs+searchReqs)
	}
	frac := func(reqs int, took time.Duration) float64 { return float64(reqs) / (took.Seconds() / 10 * budget) }
	t.Logf("list:   %d contacts, %d requests, %.2f requests per 1,000 contacts, %v, %.0f%% of the app budget",
		len(listed), listReqs, float64(listReqs)/float64(len(listed))*1000, listTook.Round(time.Millisecond), 100*frac(listReqs, listTook))
	t.Logf("search: %d contacts, %d requests, %.2f requests per 1,000 contacts, %v (search budget 1/s: %.0f%% of it)",
		len(found), searchReqs, float64(searchReqs)/float64(max(len(found), 1))*1000, searchTook.Round(time.Millisecond),
		100*float64(searchReqs)/searchTook.Seconds())
	t.Logf("total:  %d requests in %v = %.0f%% of the app budget (requests / (elapsed/10s × %d)); 429 responses: %d",
		st.Requests, total.Round(time.Millisecond), 100*frac(st.Requests, total), budget, st.Throttled)
}

// TestRecoversFromStormsAndServerErrors injects 429 storms (with
// Retry-After, with reset headers, with neither), 5xx answers and dropped
// connections while listing and searching, and checks that no page is
// lost or repeated.
func TestRecoversFromStormsAndServerErrors(t *testing.T) {
	t.Parallel()
	f, base := newFake(t, unlimited(3000))
	h := f.Harness()
	h.Inject(
		harness.Fault{Kind: harness.FaultStorm, PathPrefix: "/contacts", Probability: 0.15, Count: 1, RetryAfter: time.Second},
		harness.Fault{Kind: harness.FaultStorm, PathPrefix: "/contacts", Probability: 0.15, Count: 2},
		harness.Fault{Kind: harness.FaultStorm, PathPrefix: "/contacts", Probability: 0.2, Count: 4, NoReset: true},
		harness.Fault{Kind: harness.FaultStatus, PathPrefix: "/contacts", Probability: 0.15, Count: 3, Status: 500, Code: "server_error"},
		harness.Fault{Kind: harness.FaultStatus, PathPrefix: "/contacts", Probability: 0.15, Count: 2, Status: 503, Code: "service_unavailable"},
		harness.Fault{Kind: harness.FaultDrop, PathPrefix: "/contacts", Probability: 0.15, Count: 2},
	)
	retry := backoff.Policy{Attempts: 10, Base: 5 * time.Millisecond, Max: 50 * time.Millisecond}
	c := newTestClient(t, base, WithRetry(retry))
	ctx := t.Context()

	var listed []string
	for ct, err := range c.Contacts.All(ctx, ListOptions{PerPage: 50}) {
		if err != nil {
			t.Fatal(err)
		}
		listed = append(listed, ct.ID)
	}
	if want := f.ContactIDs(); !slices.Equal(listed, want) {
		t.Errorf("listed %d ids, want the %d of the workspace, each once, in order", len(listed), len(want))
	}

	h.Inject(
		harness.Fault{Kind: harness.FaultStorm, PathPrefix: "/contacts/search", Probability: 0.3, Count: 3, NoReset: true},
		harness.Fault{Kind: harness.FaultStatus, PathPrefix: "/contacts/search", Probability: 0.3, Count: 3, Status: 502},
		harness.Fault{Kind: harness.FaultDrop, PathPrefix: "/contacts/search", Probability: 0.2, Count: 2},
	)
	var searched []string
	for ct, err := range c.Contacts.SearchAll(ctx, SearchRequest{Query: Filter("role", OpEquals, RoleLead), PerPage: 40}) {
		if err != nil {
			t.Fatal(err)
		}
		searched = append(searched, ct.ID)
	}
	var leads []string
	for _, id := range f.ContactIDs() {
		if ct, _ := f.Contact(id); ct.Role == RoleLead {
			leads = append(leads, id)
		}
	}
	if !slices.Equal(searched, leads) {
		t.Errorf("searched %d leads, want %d, each once", len(searched), len(leads))
	}
	st := h.Stats()
	if st.Faults < 5 {
		t.Errorf("only %d faults fired; the test proves little", st.Faults)
	}
	t.Logf("%d requests, %d faults, %d throttled, by status %v", st.Requests, st.Faults, st.Throttled, st.ByStatus)
}

// TestResumeFromCheckpoint stops a listing mid-way, keeps the cursor of
// the last processed page as a sync checkpoint would, and resumes from it.
func TestResumeFromCheckpoint(t *testing.T) {
	t.Parallel()
	f, base := newFake(t, unlimited(1000))
	c := newTestClient(t, base)
	ctx := t.Context()
	var got []string
	checkpoint := ""
	pages := 0
	for p, err := range c.Contacts.Pages(ctx, ListOptions{PerPage: 70}) {
		if err != nil {
			t.Fatal(err)
		}
		if p.Cursor != checkpoint {
			t.Fatalf("page fetched with cursor %q, checkpoint was %q", p.Cursor, checkpoint)
		}
		for _, ct := range p.Items {
			got = append(got, ct.ID)
		}
		checkpoint = p.Next
		if pages++; pages == 5 {
			break // the "crash"
		}
	}
	// Changes while the agent is down do not disturb the cursor.
	ids := f.ContactIDs()
	if err := f.UpdateContact(ids[10], func(c *dataset.Contact) { c.Name = "Changed" }); err != nil {
		t.Fatal(err)
	}
	for p, err := range c.Contacts.Pages(ctx, ListOptions{PerPage: 70, StartingAfter: checkpoint}) {
		if err != nil {
			t.Fatal(err)
		}
		for _, ct := range p.Items {
			got = append(got, ct.ID)
		}
	}
	if !slices.Equal(got, ids) {
		t.Errorf("resumed listing has %d ids, want %d each once", len(got), len(ids))
	}
}
