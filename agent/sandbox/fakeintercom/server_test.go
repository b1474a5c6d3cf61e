package fakeintercom

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tajo/terraform-provider-tajo/agent/sandbox/dataset"
)

var refNow = time.Date(2026, time.March, 10, 15, 30, 0, 0, time.UTC)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newServer builds a server on a fixed clock with budgets lifted unless
// the options set them.
func newServer(t testing.TB, contacts int, mod func(*Options)) (*Server, *clock) {
	t.Helper()
	clk := &clock{t: refNow}
	o := Options{Dataset: dataset.Options{Contacts: contacts, Seed: 3, Now: refNow}, Clock: clk.now,
		AppBudget: -1, SearchPerSecond: -1, ScrollOpensPerMinute: -1}
	if mod != nil {
		mod(&o)
	}
	return New(o), clk
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (r answer) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
	return m
}

// errCode is the first error code of an error envelope.
func (r answer) errCode(t testing.TB) string {
	t.Helper()
	m := r.json(t)
	if m["type"] != "error.list" {
		t.Fatalf("not an error envelope: %s", r.body)
	}
	return m["errors"].([]any)[0].(map[string]any)["code"].(string)
}

func call(t testing.TB, h http.Handler, method, target, body string, hdr ...string) answer {
	t.Helper()
	var req *http.Request
	if body != "" {
		req = httptest.NewRequest(method, target, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
	} else {
		req = httptest.NewRequest(method, target, nil)
	}
	req.Header.Set("Authorization", "Bearer "+DefaultToken)
	req.Header.Set("Intercom-Version", "2.11")
	req.Header.Set("Accept", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return answer{rec.Code, rec.Header(), rec.Body.Bytes()}
}

func TestAuthVersionAndUnknownRoutes(t *testing.T) {
	t.Parallel()
	s, _ := newServer(t, 10, func(o *Options) { o.AppBudget = 100 })
	tests := []struct {
		name     string
		method   string
		path     string
		hdr      []string
		status   int
		code     string
		rateHdrs bool
	}{
		{"ok", "GET", "/tags", nil, 200, "", true},
		{"no token", "GET", "/tags", []string{"Authorization", ""}, 401, "unauthorized", false},
		{"wrong token", "GET", "/contacts", []string{"Authorization", "Bearer nope"}, 401, "unauthorized", false},
		{"basic auth", "GET", "/contacts", []string{"Authorization", "Basic " + DefaultToken}, 401, "unauthorized", false},
		{"unknown version", "GET", "/tags", []string{"Intercom-Version", "9.9"}, 400, "intercom_version_invalid", true},
		{"no version is the app's default", "GET", "/tags", []string{"Intercom-Version", ""}, 200, "", true},
		{"html only", "GET", "/tags", []string{"Accept", "text/html"}, 406, "not_acceptable", true},
		{"unknown path", "GET", "/nope", nil, 404, "not_found", true},
		{"unsupported method", "DELETE", "/tags", nil, 404, "not_found", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, s, tc.method, tc.path, "", tc.hdr...)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if tc.code != "" {
				if c := r.errCode(t); c != tc.code {
					t.Errorf("code %q, want %q", c, tc.code)
				}
				if id, _ := r.json(t)["request_id"].(string); id == "" {
					t.Error("no request_id")
				}
			}
			if got := r.header.Get("X-RateLimit-Remaining") != ""; got != tc.rateHdrs {
				t.Errorf("rate headers present = %v, want %v", got, tc.rateHdrs)
			}
			if r.header.Get("X-Request-Id") == "" {
				t.Error("no X-Request-Id")
			}
		})
	}
	// The documented 401 body, exactly.
	r := call(t, s, "GET", "/me", "", "Authorization", "")
	m := r.json(t)
	delete(m, "request_id")
	want := map[string]any{"type": "error.list", "errors": []any{map[string]any{"code": "unauthorized", "message": "Access Token Invalid"}}}
	if d := cmp.Diff(want, m); d != "" {
		t.Errorf("401 body (-want +got):\n%s", d)
	}
}

func TestBudgetsAndHeaders(t *testing.T) {
	t.Parallel()
	s, clk := newServer(t, 50, func(o *Options) { o.AppBudget, o.SearchPerSecond, o.ScrollOpensPerMinute = 5, 1, 1 })
	// A fixed clock keeps every request in one window.
	clk.t = time.Date(2026, 3, 10, 15, 30, 2, 0, time.UTC)
	reset := strconv.FormatInt(time.Date(2026, 3, 10, 15, 30, 10, 0, time.UTC).Unix(), 10)
	for i := range 5 {
		r := call(t, s, "GET", "/tags", "")
		if r.status != 200 || r.header.Get("X-RateLimit-Limit") != "5" || r.header.Get("X-RateLimit-Remaining") != strconv.Itoa(4-i) ||
			r.header.Get("X-RateLimit-Reset") != reset {
			t.Fatalf("request %d: %d %v", i, r.status, r.header)
		}
	}
	r := call(t, s, "GET", "/tags", "")
	if r.status != 429 || r.errCode(t) != "rate_limit_exceeded" || r.header.Get("X-RateLimit-Remaining") != "0" {
		t.Fatalf("6th request: %d %s %v", r.status, r.body, r.header)
	}
	clk.add(10 * time.Second) // next window
	q := `{"query":{"field":"role","operator":"=","value":"user"}}`
	if r := call(t, s, "POST", "/contacts/search", q); r.status != 200 {
		t.Fatalf("search: %d %s", r.status, r.body)
	}
	r = call(t, s, "POST", "/contacts/search", q)
	if r.status != 429 || r.header.Get("Retry-After") != "1" {
		t.Errorf("second search in a second: %d, Retry-After %q", r.status, r.header.Get("Retry-After"))
	}
	// Scroll pages do not spend the scroll budget; a second new scroll in
	// the minute is refused.
	p := ""
	for {
		clk.add(2 * time.Second) // stay within the app budget
		r := call(t, s, "GET", "/companies/scroll?scroll_param="+p, "")
		if r.status != 200 {
			t.Fatalf("scroll: %d %s", r.status, r.body)
		}
		m := r.json(t)
		if len(m["data"].([]any)) == 0 {
			break
		}
		p = m["scroll_param"].(string)
	}
	r = call(t, s, "GET", "/companies/scroll", "")
	if r.status != 429 || r.header.Get("Retry-After") == "" {
		t.Errorf("second scroll in a minute: %d %v", r.status, r.header)
	}
	st := s.Harness().Stats()
	if st.Refused["app"] != 1 || st.Refused["search"] != 1 || st.Refused["scroll"] != 1 {
		t.Errorf("refused = %v", st.Refused)
	}
	if st.ByRoute["GET /tags"] != 6 || st.ByRoute["POST /contacts/search"] != 2 {
		t.Errorf("routes = %v", st.ByRoute)
	}
}

type searchPage struct {
	Data []struct {
		ID        string `json:"id"`
		UpdatedAt int64  `json:"updated_at"`
	} `json:"data"`
	TotalCount int `json:"total_count"`
	Pages      struct {
		Page       int `json:"page"`
		PerPage    int `json:"per_page"`
		TotalPages int `json:"total_pages"`
		Next       *struct {
			StartingAfter string `json:"starting_after"`
		} `json:"next"`
	} `json:"pages"`
}

func search(t testing.TB, s http.Handler, path, query string, extra string) (searchPage, answer) {
	t.Helper()
	r := call(t, s, "POST", path, `{"query":`+query+extra+`}`)
	var p searchPage
	if r.status == 200 {
		if err := json.Unmarshal(r.body, &p); err != nil {
			t.Fatal(err)
		}
	}
	return p, r
}

func TestContactSearchDatesByCalendarDay(t *testing.T) {
	t.Parallel()
	s, _ := newServer(t, 20, nil)
	day := time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC)
	id := s.ContactIDs()[0]
	if err := s.UpdateContact(id, func(c *dataset.Contact) { c.UpdatedAt = day.Add(12 * time.Hour).Unix() }); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		op    string
		value time.Time
		match bool
		code  string
	}{
		{"=", day, true, ""},
		{"=", day.Add(23*time.Hour + 59*time.Minute), true, ""},
		{"=", day.Add(24 * time.Hour), false, ""},
		{">", day.Add(-time.Minute), true, ""},    // previous day: from the start of this one
		{">", day, false, ""},                     // from the start of the next day
		{">", day.Add(11 * time.Hour), false, ""}, // earlier the same day, still no
		{"<", day.Add(24 * time.Hour), true, ""},  // before the next day
		{"<", day.Add(23 * time.Hour), false, ""}, // before the start of this day
		{">=", day, false, "parameter_invalid"},
		{"<=", day, false, "parameter_invalid"},
		{"!=", day, false, "parameter_invalid"},
		{"IN", day, false, "parameter_invalid"},
		{"NIN", day, false, "parameter_invalid"},
	}
	for _, tc := range tests {
		q := fmt.Sprintf(`{"operator":"AND","value":[{"field":"id","operator":"=","value":%q},{"field":"updated_at","operator":%q,"value":%d}]}`,
			id, tc.op, tc.value.Unix())
		p, r := search(t, s, "/contacts/search", q, "")
		if tc.code != "" {
			if r.status != 400 || r.errCode(t) != tc.code {
				t.Errorf("updated_at %s %v: %d %s, want 400 %s", tc.op, tc.value, r.status, r.body, tc.code)
			}
			continue
		}
		if r.status != 200 {
			t.Fatalf("%s: %d %s", tc.op, r.status, r.body)
		}
		if got := len(p.Data) == 1; got != tc.match {
			t.Errorf("updated_at %s %v matched = %v, want %v", tc.op, tc.value, got, tc.match)
		}
	}
	// Numeric strings are accepted, as in the description's example.
	q := fmt.Sprintf(`{"operator":"AND","value":[{"field":"id","operator":"=","value":%q},{"field":"updated_at","operator":">","value":"%d"}]}`,
		id, day.Add(-time.Hour).Unix())
	if p, r := search(t, s, "/contacts/search", q, ""); r.status != 200 || len(p.Data) != 1 {
		t.Errorf("string timestamp: %d %s", r.status, r.body)
	}
}

func TestContactSearchWorkspaceTimezone(t *testing.T) {
	t.Parallel()
	tz := time.FixedZone("AEST", 10*3600)
	s, _ := newServer(t, 5, func(o *Options) { o.Timezone = tz })
	id := s.ContactIDs()[0]
	// 2026-03-05 20:00 UTC is 2026-03-06 06:00 in AEST.
	at := time.Date(2026, 3, 5, 20, 0, 0, 0, time.UTC)
	s.UpdateContact(id, func(c *dataset.Contact) { c.UpdatedAt = at.Unix() })
	q := func(v time.Time) string {
		return fmt.Sprintf(`{"operator":"AND","value":[{"field":"id","operator":"=","value":%q},{"field":"updated_at","operator":"=","value":%d}]}`, id, v.Unix())
	}
	if p, _ := search(t, s, "/contacts/search", q(time.Date(2026, 3, 6, 1, 0, 0, 0, tz)), ""); len(p.Data) != 1 {
		t.Error("= on the workspace's calendar day did not match")
	}
	if p, _ := search(t, s, "/contacts/search", q(time.Date(2026, 3, 5, 12, 0, 0, 0, time.UTC)), ""); len(p.Data) != 0 {
		t.Error("= on the UTC day matched in an AEST workspace")
	}
}

func TestSearchQueryRules(t *testing.T) {
	t.Parallel()
	s, _ := newServer(t, 300, nil)
	f := `{"field":"role","operator":"=","value":"user"}`
	group := func(op string, n int, member string) string {
		return `{"operator":"` + op + `","value":[` + strings.TrimSuffix(strings.Repeat(member+",", n), ",") + `]}`
	}
	tests := []struct {
		name   string
		path   string
		query  string
		status int
		code   string
	}{
		{"two levels", "/contacts/search", group("AND", 2, group("OR", 2, f)), 200, ""},
		{"three levels", "/contacts/search", group("AND", 1, group("OR", 1, group("AND", 1, f))), 400, "parameter_invalid"},
		{"15 filters", "/contacts/search", group("OR", 15, f), 200, ""},
		{"16 filters", "/contacts/search", group("OR", 16, f), 400, "parameter_invalid"},
		{"unknown field", "/contacts/search", `{"field":"shoe_size","operator":"=","value":"9"}`, 400, "invalid_field"},
		{"unknown custom attribute", "/contacts/search", `{"field":"custom_attributes.nope","operator":"=","value":"9"}`, 400, "invalid_field"},
		{"string for a date", "/contacts/search", `{"field":"created_at","operator":">","value":"foobar"}`, 400, "parameter_invalid"},
		{"IN without list", "/contacts/search", `{"field":"role","operator":"IN","value":"user"}`, 400, "parameter_invalid"},
		{"> on a string", "/contacts/search", `{"field":"email","operator":">","value":"a"}`, 400, "parameter_invalid"},
		{"tag_id IN", "/contacts/search", `{"field":"tag_id","operator":"IN","value":["101"]}`, 400, "parameter_invalid"},
		{"conversation date !=", "/conversations/search", `{"field":"updated_at","operator":"!=","value":1}`, 200, ""},
		{"conversation >=", "/conversations/search", `{"field":"updated_at","operator":">=","value":1}`, 400, "parameter_invalid"},
		{"no query", "/contacts/search", `null`, 400, "parameter_not_found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, r := search(t, s, tc.path, tc.query, "")
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if tc.code != "" && r.errCode(t) != tc.code {
				t.Errorf("code %s, want %s", r.errCode(t), tc.code)
			}
		})
	}
}

func TestSearchOperatorsMatchBruteForce(t *testing.T) {
	t.Parallel()
	s, _ := newServer(t, 500, nil)
	all := s.ContactIDs()
	contacts := make([]dataset.Contact, len(all))
	for i, id := range all {
		contacts[i], _ = s.Contact(id)
	}
	tests := []struct {
		query string
		want  func(c dataset.Contact) bool
	}{
		{`{"field":"email","operator":"~","value":"ACME"}`, func(c dataset.Contact) bool { return strings.Contains(c.Email, "acme") }},
		{`{"field":"email","operator":"!~","value":"acme"}`, func(c dataset.Contact) bool { return !strings.Contains(c.Email, "acme") }},
		{`{"field":"name","operator":"^","value":"Zo"}`, func(c dataset.Contact) bool { return strings.HasPrefix(c.Name, "Zo") }},
		{`{"field":"email","operator":"$","value":".test"}`, func(c dataset.Contact) bool { return strings.HasSuffix(c.Email, ".test") }},
		{`{"field":"phone","operator":"=","value":null}`, func(c dataset.Contact) bool { return c.Phone == "" }},
		{`{"field":"phone","operator":"!=","value":null}`, func(c dataset.Contact) bool { return c.Phone != "" }},
		{`{"field":"location.country","operator":"IN","value":["Germany","France"]}`, func(c dataset.Contact) bool { return c.Country == "Germany" || c.Country == "France" }},
		{`{"field":"location.country","operator":"NIN","value":["Germany","France"]}`, func(c dataset.Contact) bool { return c.Country != "Germany" && c.Country != "France" }},
		{`{"field":"custom_attributes.feature_usage","operator":">=","value":500}`, func(c dataset.Contact) bool {
			v, ok := c.CustomAttributes["feature_usage"].(int)
			return ok && v >= 500
		}},
		{`{"field":"custom_attributes.onboarding_complete","operator":"=","value":true}`, func(c dataset.Contact) bool { return c.CustomAttributes["onboarding_complete"] == true }},
		{`{"field":"tag_id","operator":"=","value":"101"}`, func(c dataset.Contact) bool { return slices.Contains(c.Tags, 0) }},
		{`{"field":"tag_id","operator":"!=","value":"101"}`, func(c dataset.Contact) bool { return !slices.Contains(c.Tags, 0) }},
		{`{"field":"unsubscribed_from_emails","operator":"=","value":true}`, func(c dataset.Contact) bool { return c.UnsubscribedFromEmails }},
		{`{"operator":"OR","value":[{"field":"role","operator":"=","value":"lead"},{"field":"owner_id","operator":"=","value":991267300}]}`,
			func(c dataset.Contact) bool { return c.Role == "lead" || c.OwnerID == 991267300 }},
	}
	for _, tc := range tests {
		var want []string
		for _, c := range contacts {
			if tc.want(c) {
				want = append(want, c.ID)
			}
		}
		var got []string
		cursor := ""
		for {
			extra := `,"pagination":{"per_page":150}`
			if cursor != "" {
				extra = `,"pagination":{"per_page":150,"starting_after":"` + cursor + `"}`
			}
			p, r := search(t, s, "/contacts/search", tc.query, extra)
			if r.status != 200 {
				t.Fatalf("%s: %d %s", tc.query, r.status, r.body)
			}
			if p.TotalCount != len(want) {
				t.Errorf("%s: total_count %d, want %d", tc.query, p.TotalCount, len(want))
			}
			for _, d := range p.Data {
				got = append(got, d.ID)
			}
			if p.Pages.Next == nil {
				break
			}
			cursor = p.Pages.Next.StartingAfter
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%s (-want +got):\n%s", tc.query, d)
		}
		if len(want) == 0 || len(want) == len(contacts) {
			t.Errorf("%s matches %d of %d: not a useful case", tc.query, len(want), len(contacts))
		}
	}
}

func TestSearchSortAndKeysetPagination(t *testing.T) {
	t.Parallel()
	s, clk := newServer(t, 400, nil)
	q := `{"field":"role","operator":"=","value":"user"}`
	page := func(cursor string) searchPage {
		extra := `,"sort":{"field":"updated_at","order":"ascending"},"pagination":{"per_page":50`
		if cursor != "" {
			extra += `,"starting_after":"` + cursor + `"`
		}
		p, r := search(t, s, "/contacts/search", q, extra+"}")
		if r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		return p
	}
	first := page("")
	if first.Pages.PerPage != 50 || first.Pages.Page != 1 || first.Pages.TotalPages != (first.TotalCount+49)/50 {
		t.Errorf("pages = %+v", first.Pages)
	}
	// A contact of the first page changes: it moves to the end of the
	// order, and the rest goes on from the cursor without a gap.
	moved := first.Data[3].ID
	clk.add(time.Hour)
	s.UpdateContact(moved, func(c *dataset.Contact) { c.Name = "Moved" })
	seen := map[string]int{}
	last := int64(0)
	for _, d := range first.Data {
		seen[d.ID]++
		last = d.UpdatedAt
	}
	cursor := first.Pages.Next.StartingAfter
	for cursor != "" {
		p := page(cursor)
		for _, d := range p.Data {
			if d.UpdatedAt < last {
				t.Fatalf("not sorted by updated_at")
			}
			last = d.UpdatedAt
			seen[d.ID]++
		}
		cursor = ""
		if p.Pages.Next != nil {
			cursor = p.Pages.Next.StartingAfter
		}
	}
	for _, id := range s.ContactIDs() {
		c, _ := s.Contact(id)
		want := 0
		if c.Role == dataset.RoleUser {
			want = 1
		}
		if id == moved {
			want = 2 // before and after its change: the caller de-duplicates
		}
		if seen[id] != want {
			t.Errorf("%s seen %d times, want %d", id, seen[id], want)
		}
	}
	if _, r := search(t, s, "/contacts/search", q, `,"pagination":{"per_page":5,"starting_after":"garbage!"}`); r.status != 400 {
		t.Errorf("bad cursor: %d", r.status)
	}
}

func TestListPagination(t *testing.T) {
	t.Parallel()
	s, _ := newServer(t, 45, nil)
	r := call(t, s, "GET", "/contacts", "")
	var p searchPage
	json.Unmarshal(r.body, &p)
	if len(p.Data) != 10 || p.TotalCount != 45 || p.Pages.PerPage != 10 || p.Pages.TotalPages != 5 || p.Pages.Next == nil {
		t.Errorf("default page: %d items, %+v", len(p.Data), p.Pages)
	}
	r = call(t, s, "GET", "/contacts?per_page=1000", "")
	p = searchPage{}
	json.Unmarshal(r.body, &p)
	if len(p.Data) != 45 || p.Pages.Next != nil {
		t.Errorf("capped page: %d items, next %v", len(p.Data), p.Pages.Next)
	}
	if r := call(t, s, "GET", "/contacts?per_page=abc", ""); r.status != 400 {
		t.Errorf("bad per_page: %d", r.status)
	}
}

func TestEmbeddedListsAndSubLists(t *testing.T) {
	t.Parallel()
	s, _ := newServer(t, 400, nil)
	var id string
	for _, c := range s.ContactIDs() {
		if ct, _ := s.Contact(c); len(ct.Tags) > 10 {
			id = c
			break
		}
	}
	for _, co := range s.CompanyIDs()[:12] {
		s.AttachCompany(id, co)
	}
	m := call(t, s, "GET", "/contacts/"+id, "").json(t)
	for _, list := range []string{"tags", "companies"} {
		l := m[list].(map[string]any)
		if len(l["data"].([]any)) != 10 || l["has_more"] != true || l["total_count"].(float64) <= 10 {
			t.Errorf("%s: %d items, has_more %v, total %v", list, len(l["data"].([]any)), l["has_more"], l["total_count"])
		}
		sub := call(t, s, "GET", l["url"].(string), "")
		if sub.status != 200 || len(sub.json(t)["data"].([]any)) != int(l["total_count"].(float64)) && list == "tags" {
			t.Errorf("%s url %s: %d %s", list, l["url"], sub.status, sub.body)
		}
	}
	pg := call(t, s, "GET", "/contacts/"+id+"/companies?per_page=5&page=2", "").json(t)
	pages := pg["pages"].(map[string]any)
	if len(pg["data"].([]any)) != 5 || pages["page"].(float64) != 2 || pages["next"] == nil || !strings.Contains(pages["next"].(string), "page=3") {
		t.Errorf("companies page 2: %v", pg["pages"])
	}
}

func TestScrollRules(t *testing.T) {
	t.Parallel()
	s, clk := newServer(t, 2000, func(o *Options) { o.ScrollPageSize = 30 })
	open := call(t, s, "GET", "/companies/scroll", "")
	param := open.json(t)["scroll_param"].(string)
	if r := call(t, s, "GET", "/companies/scroll", ""); r.status != 400 || r.errCode(t) != "scroll_exists" {
		t.Fatalf("second scroll: %d %s", r.status, r.body)
	}
	clk.add(59 * time.Second)
	if r := call(t, s, "GET", "/companies/scroll?scroll_param="+param, ""); r.status != 200 {
		t.Fatalf("used within the minute: %d", r.status)
	}
	clk.add(61 * time.Second)
	if r := call(t, s, "GET", "/companies/scroll?scroll_param="+param, ""); r.status != 404 {
		t.Errorf("expired scroll_param: %d", r.status)
	}
	if s.ScrollOpen() {
		t.Error("scroll still open after a minute unused")
	}
	// A new scroll; the injected network error ends it.
	param = call(t, s, "GET", "/companies/scroll", "").json(t)["scroll_param"].(string)
	s.FailScroll(1)
	if r := call(t, s, "GET", "/companies/scroll?scroll_param="+param, ""); r.status != 200 {
		t.Fatal(r.status)
	}
	r := call(t, s, "GET", "/companies/scroll?scroll_param="+param, "")
	if r.status != 500 || !strings.Contains(string(r.body), "Please restart the scroll operation") {
		t.Errorf("injected failure: %d %s", r.status, r.body)
	}
	if s.ScrollOpen() {
		t.Error("the failed scroll is still open")
	}
	// A full scroll: every company once, then an empty page that closes it.
	var got []string
	param = ""
	for {
		m := call(t, s, "GET", "/companies/scroll?scroll_param="+param, "").json(t)
		data := m["data"].([]any)
		if len(data) == 0 {
			break
		}
		for _, d := range data {
			got = append(got, d.(map[string]any)["id"].(string))
		}
		param = m["scroll_param"].(string)
	}
	if !slices.Equal(got, s.CompanyIDs()) || s.ScrollOpen() {
		t.Errorf("scrolled %d of %d; open after the end: %v", len(got), len(s.CompanyIDs()), s.ScrollOpen())
	}
}

func TestMutationsAndInspection(t *testing.T) {
	t.Parallel()
	s, clk := newServer(t, 100, nil)
	ids := s.ContactIDs()
	clk.add(time.Minute)
	if err := s.UpdateContact(ids[0], func(c *dataset.Contact) { c.Email = "new@example.com" }); err != nil {
		t.Fatal(err)
	}
	c, _ := s.Contact(ids[0])
	if c.Email != "new@example.com" || c.UpdatedAt != clk.now().Unix() {
		t.Errorf("after update: %+v", c)
	}
	nid := s.CreateContact(dataset.Contact{Role: dataset.RoleLead, Name: "Neu"})
	if got := s.ContactIDs(); got[len(got)-1] != nid || len(got) != 101 {
		t.Errorf("created contact not listed last")
	}
	if err := s.TagContact(nid, "brand-new-tag"); err != nil {
		t.Fatal(err)
	}
	tags := s.Tags()
	if tags[len(tags)-1].Name != "brand-new-tag" {
		t.Error("tag not created")
	}
	if r := call(t, s, "GET", "/contacts/"+nid+"/tags", ""); len(r.json(t)["data"].([]any)) != 1 {
		t.Errorf("tags of the new contact: %s", r.body)
	}
	if err := s.UntagContact(nid, "BRAND-NEW-TAG"); err != nil {
		t.Fatal(err)
	}
	co := s.CompanyIDs()[0]
	members := func() int {
		return int(call(t, s, "GET", "/companies/"+co, "").json(t)["user_count"].(float64))
	}
	before := members()
	s.AttachCompany(nid, co)
	if members() != before+1 {
		t.Error("attach did not count")
	}
	if err := s.MergeContacts(nid, ids[0]); err == nil {
		// ids[0] may be a lead; then the merge is refused and that is fine.
		if r := call(t, s, "GET", "/contacts/"+nid, ""); r.status != 404 {
			t.Errorf("merged lead still served: %d", r.status)
		}
		if members() != before+1 {
			t.Error("the merge target did not inherit the company")
		}
	}
	if err := s.DeleteCompany(co); err != nil {
		t.Fatal(err)
	}
	if r := call(t, s, "GET", "/companies/"+co, ""); r.status != 404 || r.errCode(t) != "company_not_found" {
		t.Errorf("deleted company: %d", r.status)
	}
	cid := s.AddConversation(dataset.Conversation{Contact: 3, State: dataset.StateSnoozed, SnoozedUntil: refNow.Add(time.Hour).Unix()})
	m := call(t, s, "GET", "/conversations/"+cid, "").json(t)
	if m["state"] != "snoozed" || m["open"] != true || m["contacts"].(map[string]any)["contacts"].([]any)[0].(map[string]any)["id"] != ids[3] {
		t.Errorf("added conversation: %v", m)
	}
	if err := s.UpdateConversation(cid, func(c *dataset.Conversation) { c.State = dataset.StateClosed }); err != nil {
		t.Fatal(err)
	}
	if cv, _ := s.Conversation(cid); cv.Open() || cv.UpdatedAt != clk.now().Unix() {
		t.Errorf("updated conversation: %+v", cv)
	}
	if err := s.UpdateContact("nope", func(*dataset.Contact) {}); err == nil {
		t.Error("update of an unknown contact")
	}
	n := s.Counts()
	if n.Contacts != 100 && n.Contacts != 101 || n.Conversations != 51 {
		t.Errorf("counts %+v", n)
	}
}

func TestEventsEndpoints(t *testing.T) {
	t.Parallel()
	s, clk := newServer(t, 50, nil)
	id := s.ContactIDs()[1]
	body := `{"event_name":"ordered","created_at":` + strconv.FormatInt(refNow.Unix(), 10) + `,"id":"` + id + `","metadata":{` +
		strings.TrimSuffix(strings.Repeat(`"k":1,`, 1), ",") + `,"a":"1","b":"2","c":"3","d":"4","e":"5","f":"6","g":"7","h":"8","i":"9","j":"10","z":"11"}}`
	if r := call(t, s, "POST", "/events", body); r.status != 202 || len(r.body) != 0 {
		t.Fatalf("submit: %d %s", r.status, r.body)
	}
	evs := s.Events(id)
	last := evs[len(evs)-1]
	if last.Name != "ordered" || len(last.Metadata) != 10 || last.Metadata["z"] != "" || last.Metadata["k"] != "1" {
		t.Errorf("stored event %+v (first 10 keys kept)", last)
	}
	if r := call(t, s, "POST", "/events", `{"event_name":"x","created_at":1,"email":"nobody@x.test"}`); r.status != 404 {
		t.Errorf("unknown contact: %d", r.status)
	}
	if r := call(t, s, "POST", "/events", `{"created_at":1,"id":"`+id+`"}`); r.status != 400 {
		t.Errorf("no name: %d", r.status)
	}
	if r := call(t, s, "GET", "/events?intercom_user_id="+id, ""); r.status != 400 {
		t.Errorf("no type: %d", r.status)
	}
	// 90 days later only the new event is listable.
	clk.add(89 * 24 * time.Hour)
	m := call(t, s, "GET", "/events?type=user&intercom_user_id="+id, "").json(t)
	if got := len(m["events"].([]any)); got != 1 {
		t.Errorf("%d events listable 89 days later, want 1", got)
	}
	clk.add(2 * 24 * time.Hour)
	m = call(t, s, "GET", "/events?type=user&intercom_user_id="+id, "").json(t)
	if got := len(m["events"].([]any)); got != 0 {
		t.Errorf("%d events listable 91 days later, want 0", got)
	}
	sum := call(t, s, "GET", "/events?type=user&summary=true&intercom_user_id="+id, "").json(t)
	if sum["type"] != "event.summary" || len(sum["events"].([]any)) == 0 {
		t.Errorf("summary: %v", sum)
	}
}

func TestOAuthTokenEndpoint(t *testing.T) {
	t.Parallel()
	s, clk := newServer(t, 1, nil)
	form := func(code string) string {
		return "client_id=" + DefaultClientID + "&client_secret=" + DefaultClientSecret + "&code=" + code
	}
	post := func(body, ct string) answer {
		req := httptest.NewRequest("POST", "/auth/eagle/token", strings.NewReader(body))
		req.Header.Set("Content-Type", ct)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		return answer{rec.Code, rec.Header(), rec.Body.Bytes()}
	}
	r := post(form(s.IssueOAuthCode()), "application/x-www-form-urlencoded")
	m := r.json(t)
	if r.status != 200 || m["token"] == "" || m["token"] != m["access_token"] {
		t.Fatalf("exchange: %d %s", r.status, r.body)
	}
	if call(t, s, "GET", "/me", "", "Authorization", "Bearer "+m["token"].(string)).status != 200 {
		t.Error("issued token refused")
	}
	js := `{"client_id":"` + DefaultClientID + `","client_secret":"` + DefaultClientSecret + `","code":"` + s.IssueOAuthCode() + `"}`
	if r := post(js, "application/json"); r.status != 200 {
		t.Errorf("JSON body: %d", r.status)
	}
	code := s.IssueOAuthCode()
	clk.add(6 * time.Minute)
	if r := post(form(code), "application/x-www-form-urlencoded"); r.status != 400 {
		t.Errorf("expired code: %d", r.status)
	}
	if r := post("client_id=x&client_secret=y&code="+s.IssueOAuthCode(), "application/x-www-form-urlencoded"); r.status != 401 {
		t.Errorf("wrong client: %d", r.status)
	}
	if r.header.Get("X-RateLimit-Remaining") != "" {
		t.Error("the token exchange got rate headers")
	}
}

func TestConversationsRestrictedAndCompanyList(t *testing.T) {
	t.Parallel()
	s, _ := newServer(t, 400, func(o *Options) { o.ConversationsRestricted = true })
	for _, p := range []string{"/conversations", "/conversations/100000000"} {
		if r := call(t, s, "GET", p, ""); r.status != 403 || r.errCode(t) != "api_plan_restricted" {
			t.Errorf("%s: %d", p, r.status)
		}
	}
	empty := s.CreateCompany(dataset.Company{Name: "Empty"})
	m := call(t, s, "POST", "/companies/list?per_page=60&order=asc", "").json(t)
	for _, d := range m["data"].([]any) {
		c := d.(map[string]any)
		if c["id"] == empty || c["user_count"].(float64) == 0 {
			t.Errorf("company without users listed: %v", c["id"])
		}
	}
}
