package brevo

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tajo/terraform-provider-tajo/agent/sandbox/fakebrevo"
)

func TestCompanyAttributeName(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ label, want string }{
		{"intercom_id", "intercom_id"},
		{"Intercom ID", "intercom_id"},
		{"Plan (monthly) €", "plan__monthly___"},
		{"MRR-2024", "mrr_2024"},
		{"Café", "caf_"},
	} {
		if got := CompanyAttributeName(tc.label); got != tc.want {
			t.Errorf("CompanyAttributeName(%q) = %q, want %q", tc.label, got, tc.want)
		}
	}
}

func TestCompanyFiltersEncode(t *testing.T) {
	t.Parallel()
	got, err := CompanyFilters{"name": "Acme", "attributes.intercom_id": "ic/1", "attributes.revenue": 10, "attributes.vip": true}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"attributes.intercom_id":"ic/1","attributes.revenue":10,"attributes.vip":true,"name":"Acme"}`; got != want {
		t.Errorf("encoded %s, want %s", got, want)
	}
	if got, err := CompanyFilters(nil).Encode(); got != "" || err != nil {
		t.Errorf("no filters: %q %v", got, err)
	}
	for _, bad := range []CompanyFilters{{"attributes.x": []string{"a"}}, {"attributes.x": nil}, {" ": "a"}} {
		if _, err := bad.Encode(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%v: %v", bad, err)
		}
	}
}

// TestCompaniesListAgainstFake covers ListPage, All, FindByAttribute and
// CreateAttribute against the simulated Brevo.
func TestCompaniesListAgainstFake(t *testing.T) {
	t.Parallel()
	fb, c, _ := newFake(t, nil)
	ctx := t.Context()

	// The sync's key attribute, created from a label that is already an
	// internal name.
	id, _, err := c.Companies.CreateAttribute(ctx, "intercom_id", CompanyAttributeText)
	if err != nil || len(id) != 24 {
		t.Fatalf("create attribute: %q %v", id, err)
	}
	if _, _, err := c.Companies.CreateAttribute(ctx, "Tier", CompanyAttributeSingleSelect, "gold", "silver"); err != nil {
		t.Fatal(err)
	}
	// The same internal name again is a duplicate.
	_, _, err = c.Companies.CreateAttribute(ctx, "Intercom ID", CompanyAttributeText)
	var apiErr *APIError
	if !errors.Is(err, ErrDuplicate) || !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Path != "/crm/attributes" {
		t.Errorf("duplicate attribute: %v", err)
	}
	attrs, _, err := c.Companies.Attributes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*CompanyAttribute{}
	for _, a := range attrs {
		byName[a.InternalName] = a
	}
	if a := byName["intercom_id"]; a == nil || a.Label != "intercom_id" || a.AttributeTypeName != "text" {
		t.Errorf("intercom_id attribute: %+v", a)
	}
	if a := byName["tier"]; a == nil || len(a.AttributeOptions) != 2 || a.AttributeOptions[0]["value"] != "gold" {
		t.Errorf("tier attribute: %+v", a)
	}

	var contact int64
	if r, _, err := c.Contacts.Create(ctx, &CreateContact{Email: "member@acme.example"}); err != nil {
		t.Fatal(err)
	} else {
		contact = r.ID
	}
	var ids []string
	for i := range 7 {
		body := &CreateCompany{Name: fmt.Sprintf("Co %d", i), Attributes: map[string]any{"intercom_id": fmt.Sprintf("ic-%d", i), "revenue": 10 - i}}
		if i == 3 {
			body.LinkedContactsIDs = []int64{contact}
			body.LinkedDealsIDs = []string{"61a5ce58c5d4795761045990"}
		}
		co, _, err := c.Companies.Create(ctx, body)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, co)
	}
	names := func(cs []*Company) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.Name())
		}
		return out
	}

	// One page, default (descending) order, then ascending pages.
	page, _, err := c.Companies.ListPage(ctx, &ListCompaniesOptions{Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"Co 6", "Co 5", "Co 4"}, names(page.Items)); diff != "" {
		t.Errorf("first page, descending (-want +got):\n%s", diff)
	}
	page, _, err = c.Companies.ListPage(ctx, &ListCompaniesOptions{Limit: 3, Page: 3, Sort: SortAsc})
	if err != nil || len(page.Items) != 1 || page.Items[0].ID != ids[6] {
		t.Errorf("last page, ascending: %+v %v", page, err)
	}
	page, _, err = c.Companies.ListPage(ctx, &ListCompaniesOptions{SortBy: "revenue", Sort: SortAsc, Limit: 2})
	if err != nil || !cmp.Equal(names(page.Items), []string{"Co 6", "Co 5"}) {
		t.Errorf("sorted by revenue: %v %v", names(page.Items), err)
	}
	page, _, err = c.Companies.ListPage(ctx, &ListCompaniesOptions{LinkedContactID: contact})
	if err != nil || len(page.Items) != 1 || page.Items[0].ID != ids[3] {
		t.Errorf("by linked contact: %+v %v", page, err)
	}
	page, _, err = c.Companies.ListPage(ctx, &ListCompaniesOptions{LinkedDealID: "61a5ce58c5d4795761045990", Filters: CompanyFilters{"name": "Co 3"}})
	if err != nil || len(page.Items) != 1 || page.Items[0].ID != ids[3] {
		t.Errorf("by linked deal and name: %+v %v", page, err)
	}

	// The iterator walks every page: 7 companies at 3 a page is 3 requests.
	before := fb.Harness().Stats().ByRoute["GET /companies"]
	var walked []string
	for co, err := range c.Companies.All(ctx, &ListCompaniesOptions{Limit: 3, Sort: SortAsc}) {
		if err != nil {
			t.Fatal(err)
		}
		walked = append(walked, co.ID)
	}
	if diff := cmp.Diff(ids, walked); diff != "" {
		t.Errorf("All (-want +got):\n%s", diff)
	}
	if n := fb.Harness().Stats().ByRoute["GET /companies"] - before; n != 3 {
		t.Errorf("All took %d requests, want 3", n)
	}
	// Stopping early stops the requests.
	before = fb.Harness().Stats().ByRoute["GET /companies"]
	for range c.Companies.All(ctx, &ListCompaniesOptions{Limit: 2}) {
		break
	}
	if n := fb.Harness().Stats().ByRoute["GET /companies"] - before; n != 1 {
		t.Errorf("an abandoned walk took %d requests", n)
	}

	// Find by the key attribute: one request, one match; no match is empty.
	found, resp, err := c.Companies.FindByAttribute(ctx, "intercom_id", "ic-5")
	if err != nil || len(found) != 1 || found[0].ID != ids[5] || found[0].Attributes["intercom_id"] != "ic-5" || resp.StatusCode != 200 {
		t.Errorf("find ic-5: %+v %v", found, err)
	}
	found, _, err = c.Companies.FindByAttribute(ctx, "intercom_id", "ic-404")
	if err != nil || len(found) != 0 {
		t.Errorf("find a missing id: %+v %v", found, err)
	}
	found, _, err = c.Companies.FindByAttribute(ctx, "tier", "gold")
	if err != nil || len(found) != 0 {
		t.Errorf("find by an attribute no company has: %+v %v", found, err)
	}

	// Refused by the server: an unknown sortBy field.
	_, _, err = c.Companies.ListPage(ctx, &ListCompaniesOptions{SortBy: "nope"})
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Code != CodeInvalidParameter {
		t.Errorf("unknown sortBy: %v", err)
	}
	// The attribute writes are in the write log.
	var attrWrites int
	for _, w := range fb.Writes() {
		if w.Kind == fakebrevo.WriteAttribute && w.Route == "POST /crm/attributes" {
			attrWrites++
		}
	}
	if attrWrites != 2 {
		t.Errorf("%d attribute writes logged, want 2", attrWrites)
	}
}

// TestCompaniesRefusedBeforeSending: arguments the client refuses never
// reach the server (each would spend a request of the 100/hour budget).
func TestCompaniesRefusedBeforeSending(t *testing.T) {
	t.Parallel()
	h, srv := serve(t, status(200, `{"items":[]}`))
	c := newTestClient(t, srv)
	ctx := t.Context()
	for name, call := range map[string]func() error{
		"limit above the maximum": func() error {
			_, _, err := c.Companies.ListPage(ctx, &ListCompaniesOptions{Limit: MaxCompaniesPage + 1})
			return err
		},
		"page below one": func() error {
			_, _, err := c.Companies.ListPage(ctx, &ListCompaniesOptions{Page: -1})
			return err
		},
		"bad sort": func() error {
			_, _, err := c.Companies.ListPage(ctx, &ListCompaniesOptions{Sort: "up"})
			return err
		},
		"bad filter value": func() error {
			_, _, err := c.Companies.ListPage(ctx, &ListCompaniesOptions{Filters: CompanyFilters{"attributes.x": map[string]any{"$gt": 1}}})
			return err
		},
		"label instead of internal name": func() error {
			_, _, err := c.Companies.FindByAttribute(ctx, "Intercom ID", "x")
			return err
		},
		"empty value": func() error { _, _, err := c.Companies.FindByAttribute(ctx, "intercom_id", ""); return err },
		"empty label": func() error { _, _, err := c.Companies.CreateAttribute(ctx, "  ", CompanyAttributeText); return err },
		"long label": func() error {
			_, _, err := c.Companies.CreateAttribute(ctx, strings.Repeat("é", 51), CompanyAttributeText)
			return err
		},
		"unknown type": func() error { _, _, err := c.Companies.CreateAttribute(ctx, "x", "float"); return err },
		"select without options": func() error {
			_, _, err := c.Companies.CreateAttribute(ctx, "x", CompanyAttributeMultiChoice)
			return err
		},
		"options on text": func() error {
			_, _, err := c.Companies.CreateAttribute(ctx, "x", CompanyAttributeText, "a")
			return err
		},
		"empty option": func() error {
			_, _, err := c.Companies.CreateAttribute(ctx, "x", CompanyAttributeSingleSelect, "a", "")
			return err
		},
	} {
		if err := call(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	if h.Calls() != 0 {
		t.Errorf("%d requests sent", h.Calls())
	}
	if _, _, err := c.Companies.CreateAttribute(ctx, strings.Repeat("é", 50), CompanyAttributeText); err != nil {
		t.Errorf("a 50-character label: %v", err)
	}
}

// TestCompaniesRequests checks what goes on the wire and the endpoint
// class, against a hand-written server.
func TestCompaniesRequests(t *testing.T) {
	t.Parallel()
	h, srv := serve(t, status(200, `{"items":[{"id":"629475917295261d9b1f4403","attributes":{"name":"Acme","intercom_id":"ic/1"},"linkedContactsIds":[1],"linkedDealsIds":[]}]}`))
	var mu sync.Mutex
	var classes []Class
	c := newTestClient(t, srv, WithObserver(func(i RequestInfo) {
		mu.Lock()
		defer mu.Unlock()
		classes = append(classes, i.Class)
	}))
	ctx := t.Context()
	page, _, err := c.Companies.ListPage(ctx, &ListCompaniesOptions{Filters: AttributeFilter("intercom_id", "ic/1"), LinkedContactID: 7,
		LinkedDealID: "61a5ce58c5d4795761045990", Page: 2, Limit: 25, Sort: SortAsc, SortBy: "name"})
	if err != nil || len(page.Items) != 1 || page.Items[0].Name() != "Acme" || page.Items[0].LinkedContactsIDs[0] != 1 {
		t.Fatalf("page %+v %v", page, err)
	}
	r := h.reqs[0]
	want := url.Values{"filters": {`{"attributes.intercom_id":"ic/1"}`}, "linkedContactsIds": {"7"}, "linkedDealsIds": {"61a5ce58c5d4795761045990"},
		"page": {"2"}, "limit": {"25"}, "sort": {"asc"}, "sortBy": {"name"}}
	if diff := cmp.Diff(want, r.URL.Query()); diff != "" || r.Method != "GET" || r.URL.Path != "/v3/companies" {
		t.Errorf("%s %s (-want +got query):\n%s", r.Method, r.URL.Path, diff)
	}
	if _, _, err := c.Companies.ListPage(ctx, nil); err != nil || h.reqs[1].URL.RawQuery != "" {
		t.Errorf("no options: %q %v", h.reqs[1].URL.RawQuery, err)
	}

	h2, srv2 := serve(t, status(200, `{"id":"61a5cd07ca1347c82306ad07"}`))
	c2 := newTestClient(t, srv2, WithObserver(func(i RequestInfo) {
		mu.Lock()
		defer mu.Unlock()
		classes = append(classes, i.Class)
	}))
	id, _, err := c2.Companies.CreateAttribute(ctx, "Tier", CompanyAttributeMultiChoice, "gold", "silver")
	if err != nil || id != "61a5cd07ca1347c82306ad07" {
		t.Fatalf("create attribute: %q %v", id, err)
	}
	var body map[string]any
	if err := json.Unmarshal(h2.bodies[0], &body); err != nil {
		t.Fatal(err)
	}
	wantBody := map[string]any{"label": "Tier", "attributeType": "multi-choice", "objectType": "companies", "optionsLabels": []any{"gold", "silver"}}
	if diff := cmp.Diff(wantBody, body); diff != "" || h2.reqs[0].Method != "POST" || h2.reqs[0].URL.Path != "/v3/crm/attributes" {
		t.Errorf("%s %s body (-want +got):\n%s", h2.reqs[0].Method, h2.reqs[0].URL.Path, diff)
	}
	if _, _, err := c2.Companies.CreateAttribute(ctx, "Plan", CompanyAttributeText); err != nil {
		t.Fatal(err)
	}
	if s := string(h2.bodies[1]); strings.Contains(s, "optionsLabels") {
		t.Errorf("a text attribute sent options: %s", s)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, cl := range classes {
		if cl != ClassOther {
			t.Errorf("class %q, want %q (100/hour)", cl, ClassOther)
		}
	}
	if ClassOf("/companies") != ClassOther || ClassOf("/crm/attributes") != ClassOther {
		t.Error("companies and CRM attributes must be in the other class")
	}
}

// TestCompaniesErrorPaths drives the retry rules of client.go through the
// new calls: listing is safe to repeat, creating an attribute is not.
func TestCompaniesErrorPaths(t *testing.T) {
	t.Parallel()
	list := func(c *Client) error {
		_, _, err := c.Companies.ListPage(t.Context(), &ListCompaniesOptions{Limit: 10})
		return err
	}
	find := func(c *Client) error {
		_, _, err := c.Companies.FindByAttribute(t.Context(), "intercom_id", "ic-1")
		return err
	}
	create := func(c *Client) error {
		_, _, err := c.Companies.CreateAttribute(t.Context(), "intercom_id", CompanyAttributeText)
		return err
	}
	okList := status(200, `{"items":[]}`)
	for _, tc := range []struct {
		name    string
		answers []func(http.ResponseWriter, *http.Request)
		call    func(*Client) error
		calls   int
		is      []error
		not     []error
		text    []string
	}{
		{name: "list 500 retried", answers: fns(status(500, `{"code":"internal","message":"boom"}`), okList), call: list, calls: 2},
		{name: "list dropped connection retried", answers: fns(drop, okList), call: find, calls: 2},
		{name: "list 429 with reset retried", answers: fns(status(429, ``, HeaderRateLimit, "100", HeaderRateRemaining, "0", HeaderRateReset, "0"), okList), call: list, calls: 2},
		{name: "list 429 beyond the longest wait", answers: fns(status(429, ``, HeaderRateLimit, "100", HeaderRateRemaining, "0", HeaderRateReset, "3000")),
			call: list, calls: 1, is: []error{ErrRateLimited}, text: []string{"GET /companies: 429", "retry after 50m0s"}},
		{name: "list 400", answers: fns(status(400, `{"code":"invalid_parameter","message":"Not valid data."}`)), call: list, calls: 1,
			text: []string{"GET /companies: 400 invalid_parameter: Not valid data."}, not: []error{ErrOutcomeUnknown, ErrNotFound}},
		{name: "list 401", answers: fns(status(401, `{"code":"unauthorized","message":"Key not found"}`)), call: find, calls: 1, is: []error{ErrUnauthorized}},
		{name: "list malformed JSON", answers: fns(status(200, `{"items":[{"id":`)), call: list, calls: 1, text: []string{"decode 200 response"}},
		{name: "list of the wrong shape", answers: fns(status(200, `{"items":{"id":"x"}}`)), call: find, calls: 1, text: []string{"decode 200 response"}},
		{name: "create 500 not retried", answers: fns(status(500, ``), status(200, `{"id":"x"}`)), call: create, calls: 1, is: []error{ErrOutcomeUnknown}},
		{name: "create dropped connection not retried", answers: fns(drop, status(200, `{"id":"x"}`)), call: create, calls: 1, is: []error{ErrOutcomeUnknown}},
		{name: "create 429 retried", answers: fns(status(429, ``), status(200, `{"id":"x"}`)), call: create, calls: 2},
		{name: "create duplicate", answers: fns(status(400, `{"code":"duplicate_parameter","message":"Attribute already exists"}`)), call: create, calls: 1,
			is: []error{ErrDuplicate}, not: []error{ErrOutcomeUnknown}},
		{name: "create HTML from a proxy", answers: fns(status(502, "<html><body>Bad Gateway</body></html>", "Content-Type", "text/html")), call: create, calls: 1,
			is: []error{ErrOutcomeUnknown}, text: []string{"POST /crm/attributes: 502"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h, srv := serve(t, tc.answers...)
			err := tc.call(newTestClient(t, srv))
			if got := h.Calls(); got != tc.calls {
				t.Errorf("%d calls, want %d", got, tc.calls)
			}
			if tc.is == nil && tc.text == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, target := range tc.is {
				if !errors.Is(err, target) {
					t.Errorf("error %v is not %v", err, target)
				}
			}
			for _, target := range tc.not {
				if errors.Is(err, target) {
					t.Errorf("error %v is %v", err, target)
				}
			}
			for _, s := range tc.text {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q lacks %q", err, s)
				}
			}
		})
	}
}

// TestCompaniesPaging: the walk follows page numbers to the first short
// page, skips a company repeated by a shift, returns the last response,
// and stops with an error when the server ignores the page number.
func TestCompaniesPaging(t *testing.T) {
	t.Parallel()
	items := func(from, to int) string {
		var parts []string
		for i := from; i < to; i++ {
			parts = append(parts, fmt.Sprintf(`{"id":"%024x","attributes":{"name":"Co %d"}}`, i, i))
		}
		return `{"items":[` + strings.Join(parts, ",") + `]}`
	}
	byPage := func(pages map[string]string) func(http.ResponseWriter, *http.Request) {
		return func(w http.ResponseWriter, r *http.Request) {
			status(200, pages[r.URL.Query().Get("page")], HeaderRateLimit, "100", HeaderRateRemaining, "97", HeaderRateReset, "3000")(w, r)
		}
	}

	// 101 matches: two requests; the second page repeats the last company
	// of the first (a company created meanwhile shifted the list).
	h, srv := serve(t, byPage(map[string]string{"1": items(0, 100), "2": items(99, 101)}))
	c := newTestClient(t, srv)
	found, resp, err := c.Companies.FindByAttribute(t.Context(), "domain", "acme.example")
	if err != nil || len(found) != 101 || h.Calls() != 2 {
		t.Fatalf("%d found in %d calls: %v", len(found), h.Calls(), err)
	}
	if resp == nil || resp.Rate == nil || resp.Rate.Remaining != 97 {
		t.Errorf("last response %+v", resp)
	}
	if q := h.reqs[1].URL.Query(); q.Get("page") != "2" || q.Get("limit") != "100" || q.Get("sort") != "asc" {
		t.Errorf("second request %s", h.reqs[1].URL.RawQuery)
	}

	// A server that reads page as an offset (or ignores it) returns almost
	// the same page again.
	h, srv = serve(t, byPage(map[string]string{"1": items(0, 10), "2": items(1, 11), "3": items(2, 12)}))
	c = newTestClient(t, srv)
	var n int
	var walkErr error
	for _, err := range c.Companies.All(t.Context(), &ListCompaniesOptions{Limit: 10}) {
		if err != nil {
			walkErr = err
			break
		}
		n++
	}
	if walkErr == nil || !strings.Contains(walkErr.Error(), "paging does not advance") || h.Calls() != 2 || n != 11 {
		t.Errorf("stalled paging: %d companies in %d calls, error %v", n, h.Calls(), walkErr)
	}

	// An error ends the walk after the companies read so far.
	h, srv = serve(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("page") == "1" {
			status(200, items(0, 10))(w, r)
			return
		}
		status(400, `{"code":"invalid_parameter","message":"Not valid data."}`)(w, r)
	})
	c = newTestClient(t, srv)
	n, walkErr = 0, nil
	for _, err := range c.Companies.All(t.Context(), &ListCompaniesOptions{Limit: 10}) {
		if err != nil {
			walkErr = err
			continue
		}
		n++
	}
	if n != 10 || walkErr == nil || h.Calls() != 2 {
		t.Errorf("walk with a failing page: %d companies, %d calls, error %v", n, h.Calls(), walkErr)
	}
}
