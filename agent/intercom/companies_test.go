package intercom

import (
	"errors"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/tajo/terraform-provider-tajo/agent/backoff"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox/dataset"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox/fakeintercom"
)

func collectCompanies(t *testing.T, c *Client) []string {
	t.Helper()
	var ids []string
	for co, err := range c.Companies.ScrollAll(t.Context()) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, co.ID)
	}
	return ids
}

func TestScrollAllCompanies(t *testing.T) {
	t.Parallel()
	f, base := newFake(t, unlimited(2000)) // 100 companies, 2 scroll pages + the empty end
	c := newTestClient(t, base)
	if got := collectCompanies(t, c); !slices.Equal(got, f.CompanyIDs()) {
		t.Errorf("scrolled %d companies, want %d", len(got), len(f.CompanyIDs()))
	}
	if f.ScrollOpen() {
		t.Error("the scroll is still open after its end")
	}
}

func TestScrollRestartsAfterNetworkError(t *testing.T) {
	t.Parallel()
	opts := unlimited(3000)
	opts.ScrollPageSize = 20
	f, base := newFake(t, opts)
	c := newTestClient(t, base)
	f.FailScroll(3) // 4 pages (80 companies) in, the documented 500
	got := collectCompanies(t, c)
	want := f.CompanyIDs()
	sort.Strings(got)
	if !slices.Equal(got, want) {
		t.Errorf("scrolled %d companies (each once?), want %d", len(got), len(want))
	}
	st := f.Harness().Stats()
	if st.ByStatus[500] != 1 || st.ByRoute["GET /companies/scroll"] < 150/20+3 {
		t.Errorf("stats %v: want one 500 and a restart", st.ByStatus)
	}
}

func TestScrollWaitsForAnotherOpenScroll(t *testing.T) {
	t.Parallel()
	opts := unlimited(400)
	opts.ScrollExpiry = 300 * time.Millisecond
	f, base := newFake(t, opts)
	other := newTestClient(t, base)
	if _, _, err := other.Companies.Scroll(t.Context(), ""); err != nil { // opened and abandoned
		t.Fatal(err)
	}
	c := newTestClient(t, base, WithRetry(backoff.Policy{Attempts: 8, Base: 100 * time.Millisecond, Max: 400 * time.Millisecond}))
	start := time.Now()
	if got := collectCompanies(t, c); len(got) != len(f.CompanyIDs()) {
		t.Errorf("scrolled %d, want %d", len(got), len(f.CompanyIDs()))
	}
	if time.Since(start) < 200*time.Millisecond {
		t.Error("the scroll did not wait for the other one to expire")
	}
	if n := f.Harness().Stats().ByStatus[400]; n == 0 {
		t.Error("no scroll_exists answer seen")
	}
}

func TestScrollOpenIsPaced(t *testing.T) {
	t.Parallel()
	// One new scroll per interval, by the client's own budget; pages of
	// an open scroll are not held back by it.
	_, base := newFake(t, unlimited(3000))
	var mu sync.Mutex
	var opens []time.Time
	pages := 0
	c, err := NewClient(fakeintercom.DefaultToken, WithBaseURL(base), WithBudget(10000), WithScrollOpenInterval(400*time.Millisecond),
		WithObserver(func(i RequestInfo) {
			mu.Lock()
			defer mu.Unlock()
			if i.Class == ClassScroll {
				opens = append(opens, time.Now())
			} else {
				pages++
			}
		}))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	collectCompanies(t, c)
	firstTook := time.Since(start)
	collectCompanies(t, c)
	if len(opens) != 2 || pages < 4 {
		t.Fatalf("%d opens, %d pages", len(opens), pages)
	}
	if gap := opens[1].Sub(opens[0]); gap < 380*time.Millisecond {
		t.Errorf("two scrolls opened %v apart, want ≥ 400ms", gap)
	}
	if firstTook > 300*time.Millisecond {
		t.Errorf("the pages of one scroll took %v: they must not wait for the scroll budget", firstTook)
	}
}

func TestCompanyListGetAndContacts(t *testing.T) {
	t.Parallel()
	f, base := newFake(t, unlimited(1000))
	c := newTestClient(t, base)
	ctx := t.Context()
	// An empty company: listed by scroll, not by POST /companies/list.
	empty := f.CreateCompany(dataset.Company{Name: "Nobody Inc"})
	var listed []string
	var last int64 = 1 << 62
	for co, err := range c.Companies.ListAll(ctx, CompanyListOptions{PageOptions: PageOptions{PerPage: 7}}) {
		if err != nil {
			t.Fatal(err)
		}
		if int64(co.LastRequestAt) > last {
			t.Errorf("not sorted by last_request_at descending")
		}
		last = int64(co.LastRequestAt)
		listed = append(listed, co.ID)
		if co.UserCount == 0 {
			t.Errorf("company %s without users is listed", co.ID)
		}
	}
	if slices.Contains(listed, empty) || len(listed) == 0 || len(listed) >= len(f.CompanyIDs()) {
		t.Errorf("listed %d of %d companies (empty one included: %v)", len(listed), len(f.CompanyIDs()), slices.Contains(listed, empty))
	}
	id := listed[0]
	co, _, err := c.Companies.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := f.Company(id)
	if co.Name != want.Name || co.CompanyID != want.CompanyID || co.Plan == nil || co.Plan.Name != want.PlanName ||
		co.Size != int64(want.Size) || co.CustomAttributes["account_tier"] != want.CustomAttributes["account_tier"] {
		t.Errorf("company = %+v\nwant %+v", co, want)
	}
	var members []string
	for ct, err := range c.Companies.AllContacts(ctx, id) {
		if err != nil {
			t.Fatal(err)
		}
		members = append(members, ct.ID)
	}
	if int64(len(members)) != co.UserCount {
		t.Errorf("%d contacts, user_count %d", len(members), co.UserCount)
	}
	for _, m := range members {
		ct, _ := f.Contact(m)
		idx, _ := f.Dataset().CompanyIndex(id)
		if !slices.Contains(ct.Companies, idx) {
			t.Errorf("contact %s is not attached to %s", m, id)
		}
	}
	if _, _, err := c.Companies.Get(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown company: %v", err)
	}
}
