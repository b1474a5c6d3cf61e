package fakebrevo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tajo/terraform-provider-tajo/agent/sandbox/harness"
)

type tserver struct {
	*Server
	t   *testing.T
	url string
}

func start(t *testing.T, opts ...Option) *tserver {
	t.Helper()
	s := New(append([]Option{WithLiftedBudgets(), WithProcessDelay(10 * time.Millisecond)}, opts...)...)
	t.Cleanup(s.Close)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return &tserver{Server: s, t: t, url: srv.URL + s.BasePath()}
}

// call sends a JSON request with the right key and decodes the answer.
func (ts *tserver) call(method, path string, body any) (int, map[string]any, http.Header) {
	ts.t.Helper()
	return ts.callKey(ts.APIKey(), method, path, body)
}

func (ts *tserver) callKey(key, method, path string, body any) (int, map[string]any, http.Header) {
	ts.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			ts.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, ts.url+path, rd)
	if err != nil {
		ts.t.Fatal(err)
	}
	req.Header.Set("api-key", key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ts.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(raw) > 0 && raw[0] == '{' {
		if err := json.Unmarshal(raw, &out); err != nil {
			ts.t.Fatalf("%s %s: %v: %s", method, path, err, raw)
		}
	}
	return resp.StatusCode, out, resp.Header
}

func (ts *tserver) must(want int, method, path string, body any) map[string]any {
	ts.t.Helper()
	got, out, _ := ts.call(method, path, body)
	if got != want {
		ts.t.Fatalf("%s %s: %d %v, want %d", method, path, got, out, want)
	}
	return out
}

func TestAuthAndRouting(t *testing.T) {
	t.Parallel()
	ts := start(t)
	code, body, _ := ts.callKey("wrong", "GET", "/account", nil)
	if code != 401 || body["code"] != "unauthorized" || body["message"] == "" {
		t.Errorf("wrong key: %d %v", code, body)
	}
	code, body, _ = ts.call("GET", "/no/such/thing", nil)
	if code != 404 || body["code"] != "document_not_found" {
		t.Errorf("unknown route: %d %v", code, body)
	}
	if body := ts.must(200, "GET", "/account", nil); body["email"] == "" {
		t.Errorf("account %v", body)
	}
	code, body, _ = ts.call("POST", "/contacts", "{not json")
	if code != 400 || body["code"] != "invalid_parameter" {
		t.Errorf("bad JSON: %d %v", code, body)
	}
}

func TestBudgets(t *testing.T) {
	t.Parallel()
	ts := start(t)
	ts.Lift(false)
	ts.SetBudgets(Budgets{Contacts: Budget{PerSecond: 3}, Other: Budget{PerHour: 4}})
	// Align to the start of a second so the three fit one window.
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second)))
	var codes []int
	var last http.Header
	for range 4 {
		code, _, h := ts.call("GET", "/contacts", nil)
		codes = append(codes, code)
		last = h
	}
	if !slices.Equal(codes, []int{200, 200, 200, 429}) {
		t.Errorf("contacts codes %v", codes)
	}
	if last.Get("x-sib-ratelimit-limit") != "3" || last.Get("x-sib-ratelimit-remaining") != "0" || last.Get("x-sib-ratelimit-reset") != "1" {
		t.Errorf("headers %v", last)
	}
	codes = nil
	for range 5 {
		code, _, h := ts.call("GET", "/webhooks", nil)
		codes = append(codes, code)
		last = h
	}
	if !slices.Equal(codes, []int{200, 200, 200, 200, 429}) {
		t.Errorf("other codes %v", codes)
	}
	if r := last.Get("x-sib-ratelimit-reset"); r == "" || r == "0" || r == "1" {
		t.Errorf("hourly reset header %q", r)
	}
	// Events are their own class, unlimited here.
	for range 5 {
		ts.must(204, "POST", "/events", map[string]any{"event_name": "x", "identifiers": map[string]any{"ext_id": "1"}})
	}
	ts.Lift(true)
	ts.must(200, "GET", "/webhooks", nil)
	if st := ts.Harness().Stats(); st.Throttled != 2 || st.ByRoute["GET /contacts"] != 4 || st.ByRoute["POST /events"] != 5 {
		t.Errorf("stats %+v", st)
	}
}

func TestContactQuirks(t *testing.T) {
	t.Parallel()
	ts := start(t, WithAttributes(
		Attribute{Name: "FIRSTNAME", Category: "normal", Type: "text"},
		Attribute{Name: "AGE", Category: "normal", Type: "float"},
		Attribute{Name: "DOB", Category: "normal", Type: "date"},
		Attribute{Name: "VIP", Category: "normal", Type: "boolean"},
		Attribute{Name: "TAGS", Category: "normal", Type: "multiple-choice", Options: []string{"a", "b"}},
		Attribute{Name: "TIER", Category: "category", Type: "category", Enumeration: []EnumValue{{1, "gold"}, {2, "silver"}}},
		Attribute{Name: "SCORE", Category: "calculated", CalculatedValue: "COUNT[X]"},
	))
	body := ts.must(201, "POST", "/contacts", map[string]any{"email": "Q@Example.com", "ext_id": "q-1", "attributes": map[string]any{
		"FIRSTNAME": 7, "AGE": "old", "DOB": "1990-02-30", "VIP": "true", "TAGS": []any{"a", "z"}, "TIER": 3, "SCORE": 4, "NOPE": "x",
	}})
	id := int64(body["id"].(float64))
	c, _ := ts.ContactByID(id)
	if len(c.Attributes) != 0 || c.Email != "q@example.com" || c.ExtID != "q-1" {
		t.Errorf("every value should have been dropped: %+v", c)
	}
	dropped, n := ts.DroppedValues()
	if n != 8 {
		t.Errorf("%d dropped: %+v", n, dropped)
	}
	ts.must(204, "PUT", "/contacts/q-1?identifierType=ext_id", map[string]any{"attributes": map[string]any{
		"FIRSTNAME": "Quinn", "AGE": 33.5, "DOB": "1990-02-03T10:00:00Z", "VIP": true, "TAGS": []any{"b"}, "TIER": "silver",
	}})
	c, _ = ts.ContactByID(id)
	want := map[string]any{"FIRSTNAME": "Quinn", "AGE": json.Number("33.5"), "DOB": "1990-02-03", "VIP": true, "TAGS": []string{"b"}, "TIER": "silver"}
	if diff := cmp.Diff(want, c.Attributes); diff != "" {
		t.Errorf("stored (-want +got):\n%s", diff)
	}
	// Without identifierType an ext id is not found (PUT guesses email or id only).
	code, _, _ := ts.call("PUT", "/contacts/q-1", map[string]any{"attributes": map[string]any{"FIRSTNAME": "x"}})
	if code != 404 {
		t.Errorf("PUT by ext id without identifierType: %d", code)
	}
	got := ts.must(200, "GET", "/contacts/q-1?identifierType=ext_id", nil)
	if got["statistics"] == nil || got["attributes"].(map[string]any)["EXT_ID"] != "q-1" {
		t.Errorf("GET: %v", got)
	}
	// Duplicates: create without updateEnabled, and an upsert whose email
	// and ext_id name different contacts.
	ts.must(201, "POST", "/contacts", map[string]any{"email": "other@example.com", "ext_id": "q-2"})
	code, out, _ := ts.call("POST", "/contacts", map[string]any{"email": "q@example.com"})
	if code != 400 || out["code"] != "duplicate_parameter" || fmt.Sprint(out["metadata"]) != "map[duplicate_identifiers:[email]]" {
		t.Errorf("duplicate create: %d %v", code, out)
	}
	code, out, _ = ts.call("POST", "/contacts", map[string]any{"email": "q@example.com", "ext_id": "q-2", "updateEnabled": true})
	if code != 400 || fmt.Sprint(out["metadata"]) != "map[duplicate_identifiers:[ext_id]]" {
		t.Errorf("conflicting upsert: %d %v", code, out)
	}
	code, out, _ = ts.call("PUT", "/contacts/q@example.com", map[string]any{"attributes": map[string]any{"EMAIL": "other@example.com"}})
	if code != 400 || out["code"] != "duplicate_parameter" {
		t.Errorf("email change to a taken email: %d %v", code, out)
	}
	ts.must(204, "POST", "/contacts", map[string]any{"ext_id": "q-1", "updateEnabled": true, "emailBlacklisted": true})
	c, _ = ts.ContactByExtID("q-1")
	if !c.EmailBlacklisted {
		t.Error("upsert did not blacklist")
	}
	// Writes: two creates, one PUT, one upsert (refused calls not logged).
	if diff := cmp.Diff(map[int64]int{id: 3, id + 1: 1}, ts.ContactWrites()); diff != "" {
		t.Errorf("contact writes (-want +got):\n%s", diff)
	}
	ts.must(204, "DELETE", fmt.Sprintf("/contacts/%d", id), nil)
	if _, ok := ts.ContactByExtID("q-1"); ok {
		t.Error("not deleted")
	}
}

func TestListContactsFiltersAndCache(t *testing.T) {
	t.Parallel()
	ts := start(t)
	for i := range 5 {
		ts.must(201, "POST", "/contacts", map[string]any{"email": fmt.Sprintf("l%d@example.com", i)})
	}
	time.Sleep(5 * time.Millisecond)
	mid := time.Now()
	time.Sleep(5 * time.Millisecond)
	page := ts.must(200, "GET", "/contacts?limit=2&offset=1&sort=asc", nil)
	if page["count"].(float64) != 5 || len(page["contacts"].([]any)) != 2 || page["contacts"].([]any)[0].(map[string]any)["email"] != "l1@example.com" {
		t.Errorf("page %v", page)
	}
	page = ts.must(200, "GET", "/contacts?limit=1", nil)
	if page["contacts"].([]any)[0].(map[string]any)["email"] != "l4@example.com" {
		t.Errorf("default sort is descending: %v", page)
	}
	q := "/contacts?modifiedSince=" + mid.UTC().Format("2006-01-02T15:04:05.000Z")
	if got := ts.must(200, "GET", q, nil)["count"].(float64); got != 0 {
		t.Errorf("%v modified since", got)
	}
	ts.must(204, "PUT", "/contacts/l2@example.com", map[string]any{"attributes": map[string]any{"FIRSTNAME": "Two"}})
	if got := ts.must(200, "GET", q, nil)["count"].(float64); got != 1 {
		t.Errorf("%v modified since after an update (stale cache?)", got)
	}
	code, _, _ := ts.call("GET", "/contacts?limit=1001", nil)
	if code != 400 {
		t.Errorf("limit 1001: %d", code)
	}
}

func TestImportProcess(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var notes []map[string]any
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		json.NewDecoder(r.Body).Decode(&m)
		mu.Lock()
		notes = append(notes, m)
		mu.Unlock()
	}))
	t.Cleanup(hook.Close)
	ts := start(t, WithProcessDelay(300*time.Millisecond), WithLists(List{ID: 35, Name: "all"}))
	ts.must(201, "POST", "/contacts", map[string]any{"email": "old@example.com", "attributes": map[string]any{"FIRSTNAME": "Old", "LASTNAME": "Name"}})
	ts.must(201, "POST", "/contacts", map[string]any{"email": "taken@example.com", "ext_id": "x-taken"})
	body := map[string]any{"listIds": []int{35}, "notifyUrl": hook.URL, "emptyContactsAttributes": true, "jsonBody": []any{
		map[string]any{"email": "old@example.com", "attributes": map[string]any{"FIRSTNAME": "New", "LASTNAME": "", "EXT_ID": "x-old", "UNKNOWN": 1}},
		map[string]any{"email": "fresh@example.com", "attributes": map[string]any{"EXT_ID": "x-fresh", "SMS": "+4915100000001"}},
		map[string]any{"attributes": map[string]any{"EXT_ID": "x-lead"}},
		map[string]any{"email": "not-an-email"},
		map[string]any{"email": "fresh2@example.com", "attributes": map[string]any{"EXT_ID": "x-taken"}},
		map[string]any{"email": "fresh@example.com", "attributes": map[string]any{"FIRSTNAME": "Again"}},
		map[string]any{"email": "fresh@example.com", "attributes": map[string]any{"EXT_ID": "x-old"}},
	}}
	out := ts.must(202, "POST", "/contacts/import", body)
	pid := int64(out["processId"].(float64))
	statuses := []string{ts.must(200, "GET", fmt.Sprintf("/processes/%d", pid), nil)["status"].(string)}
	for statuses[len(statuses)-1] != "completed" {
		time.Sleep(20 * time.Millisecond)
		s := ts.must(200, "GET", fmt.Sprintf("/processes/%d", pid), nil)["status"].(string)
		if s != statuses[len(statuses)-1] {
			statuses = append(statuses, s)
		}
	}
	if !slices.Equal(statuses, []string{"queued", "in_process", "completed"}) {
		t.Errorf("statuses %v", statuses)
	}
	if err := ts.WaitIdle(t.Context()); err != nil {
		t.Fatal(err)
	}
	old, _ := ts.ContactByEmail("old@example.com")
	if diff := cmp.Diff(map[string]any{"FIRSTNAME": "New"}, old.Attributes); diff != "" || old.ExtID != "x-old" {
		t.Errorf("updated contact (emptyContactsAttributes erases LASTNAME) %s %+v", diff, old)
	}
	fresh, _ := ts.ContactByExtID("x-fresh")
	if fresh.Email != "fresh@example.com" || fresh.SMS != "+4915100000001" || fresh.Attributes["FIRSTNAME"] != "Again" || !slices.Equal(fresh.ListIDs, []int64{35}) {
		t.Errorf("fresh %+v", fresh)
	}
	if lead, ok := ts.ContactByExtID("x-lead"); !ok || lead.Email != "" {
		t.Errorf("lead by ext id only: %+v", lead)
	}
	p, _ := ts.ProcessByID(pid)
	// fresh2@example.com + x-taken updates the x-taken contact's email;
	// fresh@example.com + x-old names two contacts: a conflict, skipped.
	if taken, _ := ts.ContactByExtID("x-taken"); taken.Email != "fresh2@example.com" {
		t.Errorf("ext id match: %+v", taken)
	}
	if p.Created != 2 || p.Updated != 3 || p.Invalid != 1 || p.Duplicates != 2 || p.Rows != 7 {
		t.Errorf("process %+v", p)
	}
	mu.Lock()
	if len(notes) != 1 || notes[0]["processId"].(float64) != float64(pid) || p.NotifyStatus != 200 {
		t.Errorf("notifications %v, status %d", notes, p.NotifyStatus)
	}
	mu.Unlock()
	w := ts.Writes()
	last := w[len(w)-1]
	if last.Kind != WriteContact || !strings.HasPrefix(last.Route, "process ") || len(last.ContactIDs) != 4 {
		t.Errorf("import write %+v", last)
	}
	// Keep existing contacts when asked.
	out = ts.must(202, "POST", "/contacts/import", map[string]any{"listIds": []int{35}, "updateExistingContacts": false,
		"jsonBody": []any{map[string]any{"email": "old@example.com", "attributes": map[string]any{"FIRSTNAME": "Ignored"}}}})
	ts.WaitIdle(t.Context())
	if old, _ := ts.ContactByEmail("old@example.com"); old.Attributes["FIRSTNAME"] != "New" {
		t.Errorf("updateExistingContacts=false changed the contact: %+v", old)
	}
	// CSV fileBody.
	ts.must(202, "POST", "/contacts/import", map[string]any{"listIds": []int{35}, "fileBody": "EMAIL;FIRSTNAME;EXT_ID\ncsv@example.com;Cee;x-csv"})
	ts.WaitIdle(t.Context())
	if c, _ := ts.ContactByExtID("x-csv"); c.Attributes["FIRSTNAME"] != "Cee" {
		t.Errorf("csv import: %+v", c)
	}
	for _, bad := range []map[string]any{
		{"jsonBody": []any{map[string]any{"email": "a@b.co"}}},
		{"listIds": []int{999}, "jsonBody": []any{map[string]any{"email": "a@b.co"}}},
		{"listIds": []int{35}, "fileUrl": "https://x.example/f.csv"},
		{"listIds": []int{35}},
	} {
		if code, _, _ := ts.call("POST", "/contacts/import", bad); code != 400 {
			t.Errorf("import %v: %d", bad, code)
		}
	}
	big := `{"listIds":[35],"jsonBody":[{"email":"a@b.co","attributes":{"X":"` + strings.Repeat("x", MaxImportBody) + `"}}]}`
	if code, out, _ := ts.call("POST", "/contacts/import", big); code != 400 || out["code"] != "out_of_range" {
		t.Errorf("11 MB import: %d %v", code, out)
	}
}

func TestListMembership(t *testing.T) {
	t.Parallel()
	ts := start(t, WithLists(List{ID: 35, Name: "all"}))
	ts.must(201, "POST", "/contacts", map[string]any{"email": "a@example.com", "ext_id": "a", "listIds": []int{35}})
	ts.must(201, "POST", "/contacts", map[string]any{"email": "b@example.com", "ext_id": "b"})
	out := ts.must(201, "POST", "/contacts/lists/35/contacts/add", map[string]any{"extIds": []string{"a", "b", "ghost"}})
	if diff := cmp.Diff(map[string]any{"contacts": map[string]any{"success": []any{"b"}, "failure": []any{"a", "ghost"}}}, out); diff != "" {
		t.Errorf("add (-want +got):\n%s", diff)
	}
	out = ts.must(201, "POST", "/contacts/lists/35/contacts/remove", map[string]any{"ids": []int{1}})
	if diff := cmp.Diff(map[string]any{"contacts": map[string]any{"success": []any{1.0}}}, out); diff != "" {
		t.Errorf("remove: empty failure must be omitted (-want +got):\n%s", diff)
	}
	many := make([]string, 151)
	for i := range many {
		many[i] = fmt.Sprint(i)
	}
	for _, bad := range []map[string]any{{"extIds": many}, {"extIds": []string{"a"}, "emails": []string{"a@example.com"}}, {}} {
		if code, _, _ := ts.call("POST", "/contacts/lists/35/contacts/add", bad); code != 400 {
			t.Errorf("add %v: %d", bad, code)
		}
	}
	if code, _, _ := ts.call("POST", "/contacts/lists/36/contacts/add", map[string]any{"extIds": []string{"a"}}); code != 404 {
		t.Errorf("missing list: %d", code)
	}
	if code, _, _ := ts.call("POST", "/contacts/lists/35/contacts/add", map[string]any{"all": true}); code != 400 {
		t.Errorf("add all: %d", code)
	}
	lst := ts.must(200, "GET", "/contacts/lists/35", nil)
	if lst["uniqueSubscribers"].(float64) != 1 || lst["folderId"].(float64) != 1 {
		t.Errorf("list %v", lst)
	}
}

func TestCompanies(t *testing.T) {
	t.Parallel()
	ts := start(t)
	for i := range 3 {
		ts.must(201, "POST", "/contacts", map[string]any{"email": fmt.Sprintf("c%d@example.com", i)})
	}
	out := ts.must(200, "POST", "/companies", map[string]any{"name": "Acme", "linkedContactsIds": []int{1, 2}, "attributes": map[string]any{"revenue": "lots", "domain": "acme.example"}})
	id := out["id"].(string)
	if code, _, _ := ts.call("POST", "/companies", map[string]any{"name": "Bad", "linkedContactsIds": []int{99}}); code != 400 {
		t.Errorf("link to a missing contact: %d", code)
	}
	got := ts.must(200, "PATCH", "/companies/"+id, map[string]any{"linkedContactsIds": []int{3}})
	if fmt.Sprint(got["linkedContactsIds"]) != "[3]" {
		t.Errorf("PATCH replaces: %v", got)
	}
	ts.must(204, "PATCH", "/companies/link-unlink/"+id, map[string]any{"linkContactIds": []int{1}, "unlinkContactIds": []int{3}})
	co, _ := ts.CompanyByID(id)
	if !slices.Equal(co.LinkedContactsIDs, []int64{1}) || co.Attributes["revenue"] != nil || co.Attributes["domain"] != "acme.example" {
		t.Errorf("company %+v", co)
	}
	if code, _, _ := ts.call("PATCH", "/companies/link-unlink/nope", map[string]any{}); code != 400 {
		t.Errorf("link-unlink on a missing company: %d", code)
	}
	// Import: multipart CSV + mapping.
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("file", "companies.csv")
	fmt.Fprintf(fw, "company_id;name;revenue;associated_contact\n%s;Acme Two;12;c2@example.com\n;Initech;;2\n", id)
	mw.WriteField("mapping", `{"link_entities":true,"update_existing_records":true}`)
	mw.Close()
	req, _ := http.NewRequest("POST", ts.url+"/companies/import", &buf)
	req.Header.Set("api-key", ts.APIKey())
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("import: %v %v", resp, err)
	}
	resp.Body.Close()
	ts.WaitIdle(t.Context())
	co, _ = ts.CompanyByID(id)
	ini, ok := ts.CompanyByName("Initech")
	if co.Name != "Acme Two" || !slices.Equal(co.LinkedContactsIDs, []int64{1, 3}) || !ok || !slices.Equal(ini.LinkedContactsIDs, []int64{2}) {
		t.Errorf("after import: %+v %+v", co, ini)
	}
	if co.Attributes["revenue"] != json.Number("12") {
		t.Errorf("revenue %#v", co.Attributes["revenue"])
	}
}

func TestEvents(t *testing.T) {
	t.Parallel()
	ts := start(t, WithMaxEventBatch(3))
	ts.must(201, "POST", "/contacts", map[string]any{"email": "e@example.com", "ext_id": "e"})
	ts.must(204, "POST", "/events", map[string]any{"event_name": "signed-up", "identifiers": map[string]any{"ext_id": "e"},
		"contact_properties": map[string]any{"FIRSTNAME": "Eve"}})
	for _, bad := range []map[string]any{
		{"event_name": "bad name", "identifiers": map[string]any{"ext_id": "e"}},
		{"event_name": "x", "identifiers": map[string]any{}},
		{"event_name": "x", "identifiers": map[string]any{"ext_id": "e"}, "event_properties": map[string]any{"p": strings.Repeat("x", 52000)}},
	} {
		if code, _, _ := ts.call("POST", "/events", bad); code != 400 {
			t.Errorf("event %v: %d", bad, code)
		}
	}
	out := ts.must(202, "POST", "/events/batch", []any{
		map[string]any{"event_name": "a", "identifiers": map[string]any{"email_id": "e@example.com"}},
		map[string]any{"event_name": "bad name", "identifiers": map[string]any{"ext_id": "e"}},
		map[string]any{"event_name": "b", "identifiers": map[string]any{"ext_id": "nobody"}},
	})
	if out["count"].(float64) != 2 || !strings.HasPrefix(out["message"].(string), "Batch accepted") {
		t.Errorf("batch %v", out)
	}
	if code, _, _ := ts.call("POST", "/events/batch", make([]any, 4)); code != 400 {
		t.Errorf("batch over the maximum: %d", code)
	}
	if code, _, _ := ts.call("POST", "/events/batch", map[string]any{"event_name": "a"}); code != 400 {
		t.Errorf("batch that is not an array: %d", code)
	}
	evs := ts.Events()
	if len(evs) != 3 || evs[0].ContactID != 1 || evs[1].ContactID != 1 || evs[2].ContactID != 0 || !evs[2].Batch {
		t.Errorf("events %+v", evs)
	}
	if c, _ := ts.ContactByExtID("e"); c.Attributes["FIRSTNAME"] != "Eve" {
		t.Errorf("contact_properties: %+v", c)
	}
}

func TestWebhookDelivery(t *testing.T) {
	t.Parallel()
	type hit struct {
		auth, custom string
		body         []byte
	}
	hits := make(chan hit, 4)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		hits <- hit{r.Header.Get("Authorization"), r.Header.Get("X-Tajo"), b}
		if strings.HasSuffix(r.URL.Path, "/fail") {
			w.WriteHeader(500)
		}
	}))
	t.Cleanup(recv.Close)
	ts := start(t)
	ts.must(201, "POST", "/webhooks", map[string]any{"url": recv.URL + "/hook", "events": []string{"unsubscribed"}, "type": "marketing",
		"auth": map[string]any{"type": "bearer", "token": "s3cret"}, "headers": []any{map[string]any{"key": "X-Tajo", "value": "yes"}}})
	ts.must(201, "POST", "/webhooks", map[string]any{"url": recv.URL + "/fail", "events": []string{"unsubscribed"}, "type": "marketing", "batched": true})
	ts.must(201, "POST", "/webhooks", map[string]any{"url": recv.URL + "/other", "events": []string{"delivered"}}) // transactional
	if code, _, _ := ts.call("POST", "/webhooks", map[string]any{"url": recv.URL, "events": []string{"inboundEmailProcessed"}, "type": "marketing"}); code != 400 {
		t.Errorf("wrong event for the type: %d", code)
	}
	ts.must(201, "POST", "/contacts", map[string]any{"email": "bye@example.com"})
	ds, err := ts.Unsubscribe(t.Context(), "bye@example.com", &UnsubscribeOptions{CampaignID: 9, ListIDs: []int64{35}})
	if err != nil || len(ds) != 2 || ds[0].Status != 200 || ds[1].Status != 500 {
		t.Fatalf("deliveries %+v %v", ds, err)
	}
	h1, h2 := <-hits, <-hits
	var p map[string]any
	json.Unmarshal(h1.body, &p)
	if h1.auth != "Bearer s3cret" || h1.custom != "yes" || p["event"] != "unsubscribe" || p["email"] != "bye@example.com" || p["id"].(float64) != 1 || p["camp_id"].(float64) != 9 {
		t.Errorf("delivery %+v %v", h1, p)
	}
	if h2.auth != "" || !bytes.HasPrefix(h2.body, []byte("[")) {
		t.Errorf("batched delivery %+v", h2)
	}
	if c, _ := ts.ContactByEmail("bye@example.com"); !c.EmailBlacklisted {
		t.Error("not blacklisted")
	}
	if _, err := ts.Unsubscribe(t.Context(), "nobody@example.com", nil); err != ErrNoContact {
		t.Errorf("unknown contact: %v", err)
	}
	list := ts.must(200, "GET", "/webhooks?type=marketing&sort=asc", nil)["webhooks"].([]any)
	if len(list) != 2 || list[0].(map[string]any)["auth"].(map[string]any)["token"] != "s3cret" {
		t.Errorf("list %v", list)
	}
}

func TestFaultInjectionThroughTheHarness(t *testing.T) {
	t.Parallel()
	ts := start(t)
	ts.Harness().Inject(harness.Fault{Kind: harness.FaultStatus, PathPrefix: ts.BasePath() + "/contacts", Count: 1, Status: 425, Code: "invalid_parameter", Message: "too early"})
	code, out, _ := ts.call("POST", "/contacts", map[string]any{"email": "f@example.com"})
	if code != 425 || out["code"] != "invalid_parameter" {
		t.Errorf("injected 425: %d %v", code, out)
	}
	if ts.ContactCount() != 0 || len(ts.Writes()) != 0 {
		t.Error("an injected fault must not reach the handler")
	}
	ts.must(201, "POST", "/contacts", map[string]any{"email": "f@example.com"})
}

func TestListCompanies(t *testing.T) {
	t.Parallel()
	ts := start(t, WithCompanyAttributes(
		CompanyAttribute{InternalName: "name", Label: "Company name", Type: "text", Required: true},
		CompanyAttribute{InternalName: "intercom_id", Label: "intercom_id", Type: "text"},
		CompanyAttribute{InternalName: "revenue", Label: "Revenue", Type: "number"},
		CompanyAttribute{InternalName: "vip", Label: "VIP", Type: "boolean"},
		CompanyAttribute{InternalName: "tags", Label: "Tags", Type: "multi-choice"},
	))
	for i := range 3 {
		ts.must(201, "POST", "/contacts", map[string]any{"email": fmt.Sprintf("c%d@example.com", i)})
	}
	var ids []string
	for i := range 5 {
		body := map[string]any{"name": fmt.Sprintf("Co %d", i), "attributes": map[string]any{"intercom_id": fmt.Sprintf("ic-%d", i), "revenue": 10 * (5 - i), "vip": i%2 == 0}}
		switch i {
		case 1:
			body["linkedContactsIds"] = []int{1, 2}
			body["linkedDealsIds"] = []string{"d-1"}
			body["attributes"].(map[string]any)["tags"] = []string{"a", "b"}
		case 3:
			body["linkedContactsIds"] = []int{2}
		}
		ids = append(ids, ts.must(200, "POST", "/companies", body)["id"].(string))
	}
	list := func(query string) []string {
		t.Helper()
		out := ts.must(200, "GET", "/companies"+query, nil)
		var got []string
		for _, it := range out["items"].([]any) {
			got = append(got, it.(map[string]any)["attributes"].(map[string]any)["name"].(string))
		}
		return got
	}
	f := func(m map[string]any) string {
		b, _ := json.Marshal(m)
		return "filters=" + url.QueryEscape(string(b))
	}
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"", []string{"Co 4", "Co 3", "Co 2", "Co 1", "Co 0"}},
		{"?sort=asc&limit=2", []string{"Co 0", "Co 1"}},
		{"?sort=asc&limit=2&page=3", []string{"Co 4"}},
		{"?sort=asc&limit=2&page=4", nil},
		{"?limit=2&page=2", []string{"Co 2", "Co 1"}},
		{"?sortBy=revenue&sort=asc", []string{"Co 4", "Co 3", "Co 2", "Co 1", "Co 0"}},
		{"?sortBy=name&sort=desc&limit=1", []string{"Co 4"}},
		{"?" + f(map[string]any{"attributes.intercom_id": "ic-3"}), []string{"Co 3"}},
		{"?" + f(map[string]any{"name": "Co 2"}), []string{"Co 2"}},
		{"?" + f(map[string]any{"attributes.name": "Co 2", "attributes.vip": true}), []string{"Co 2"}},
		{"?" + f(map[string]any{"attributes.name": "Co 1", "attributes.vip": true}), nil},
		{"?" + f(map[string]any{"attributes.revenue": 30}), []string{"Co 2"}},
		{"?" + f(map[string]any{"attributes.revenue": "30"}), nil}, // a string does not equal a number
		{"?" + f(map[string]any{"attributes.tags": "b"}), []string{"Co 1"}},
		{"?" + f(map[string]any{"attributes.no_such": "x"}), nil},
		{"?" + f(map[string]any{"attributes.intercom_id": "IC-3"}), nil}, // exact match
		{"?linkedContactsIds=2&sort=asc", []string{"Co 1", "Co 3"}},
		{"?linkedContactsIds=3", nil},
		{"?linkedDealsIds=d-1", []string{"Co 1"}},
		{"?linkedContactsIds=2&" + f(map[string]any{"attributes.intercom_id": "ic-3"}), []string{"Co 3"}},
	} {
		if diff := cmp.Diff(tc.want, list(tc.query)); diff != "" {
			t.Errorf("GET /companies%s (-want +got):\n%s", tc.query, diff)
		}
	}
	// Items have the Company shape, with the computed contact count.
	it := ts.must(200, "GET", "/companies?linkedDealsIds=d-1", nil)["items"].([]any)[0].(map[string]any)
	if it["id"] != ids[1] || fmt.Sprint(it["linkedContactsIds"]) != "[1 2]" || fmt.Sprint(it["linkedDealsIds"]) != "[d-1]" ||
		it["attributes"].(map[string]any)["number_of_contacts"].(float64) != 2 {
		t.Errorf("item %v", it)
	}
	// A listing is not a write.
	before := len(ts.Writes())
	list("")
	if len(ts.Writes()) != before {
		t.Error("GET /companies logged a write")
	}
	for _, bad := range []string{"?limit=101", "?limit=0", "?limit=x", "?page=0", "?page=-1", "?sort=up", "?sortBy=nope", "?linkedContactsIds=x",
		"?filters=nope", "?filters=%5B%5D", "?" + f(map[string]any{"owner": "x"}), "?" + f(map[string]any{"attributes.": "x"}),
		"?" + f(map[string]any{"attributes.revenue": map[string]any{"$gt": 1}}), "?" + f(map[string]any{"attributes.tags": []string{"a"}})} {
		code, out, _ := ts.call("GET", "/companies"+bad, nil)
		if code != 400 || out["code"] == nil || out["message"] == nil {
			t.Errorf("GET /companies%s: %d %v, want 400 with the error model", bad, code, out)
		}
	}
	if code, out, _ := ts.call("GET", "/companies?limit=101", nil); out["code"] != "out_of_range" {
		t.Errorf("limit 101: %d %v", code, out)
	}
}

func TestCRMAttributes(t *testing.T) {
	t.Parallel()
	ts := start(t)
	seeded := len(ts.CompanyAttributes())
	out := ts.must(200, "POST", "/crm/attributes", map[string]any{"label": "Intercom ID", "attributeType": "text", "objectType": "companies", "description": "key"})
	id, _ := out["id"].(string)
	if len(id) != 24 {
		t.Errorf("id %q", id)
	}
	ts.must(200, "POST", "/crm/attributes", map[string]any{"label": "Plan", "attributeType": "single-select", "objectType": "companies", "optionsLabels": []string{"Free", "Pro plan"}})
	ts.must(200, "POST", "/crm/attributes", map[string]any{"label": "Seats", "attributeType": "number", "objectType": "companies"})
	attrs := ts.CompanyAttributes()
	if len(attrs) != seeded+3 {
		t.Fatalf("%d attributes", len(attrs))
	}
	want := CompanyAttribute{ID: id, InternalName: "intercom_id", Label: "Intercom ID", Type: "text", Description: "key"}
	if diff := cmp.Diff(want, attrs[seeded]); diff != "" {
		t.Errorf("created attribute (-want +got):\n%s", diff)
	}
	for _, bad := range []struct {
		body map[string]any
		code string
	}{
		{map[string]any{"label": "intercom_id", "attributeType": "text", "objectType": "companies"}, "duplicate_parameter"}, // same internal name
		{map[string]any{"label": "INTERCOM-ID", "attributeType": "text", "objectType": "companies"}, "duplicate_parameter"},
		{map[string]any{"label": "", "attributeType": "text", "objectType": "companies"}, "missing_parameter"},
		{map[string]any{"label": strings.Repeat("x", 51), "attributeType": "text", "objectType": "companies"}, "out_of_range"},
		{map[string]any{"label": "x", "attributeType": "float", "objectType": "companies"}, "invalid_parameter"},
		{map[string]any{"label": "x", "attributeType": "text"}, "missing_parameter"},
		{map[string]any{"label": "x", "attributeType": "text", "objectType": "contacts"}, "invalid_parameter"},
		{map[string]any{"label": "x", "attributeType": "text", "objectType": "deals"}, "invalid_parameter"},
		{map[string]any{"label": "x", "attributeType": "multi-choice", "objectType": "companies"}, "missing_parameter"},
	} {
		code, out, _ := ts.call("POST", "/crm/attributes", bad.body)
		if code != 400 || out["code"] != bad.code {
			t.Errorf("%v: %d %v, want 400 %s", bad.body, code, out, bad.code)
		}
	}
	// Writes: the three creations, of kind attribute; refusals not logged.
	var routes []string
	for _, w := range ts.Writes() {
		if w.Kind == WriteAttribute {
			routes = append(routes, w.Route)
		}
	}
	if diff := cmp.Diff([]string{"POST /crm/attributes", "POST /crm/attributes", "POST /crm/attributes"}, routes); diff != "" {
		t.Errorf("attribute writes (-want +got):\n%s", diff)
	}
	// Listed with options, and usable on companies and in filters.
	code, _, _ := ts.call("GET", "/companies/attributes", nil)
	if code != 200 {
		t.Fatalf("list attributes: %d", code)
	}
	req, _ := http.NewRequest("GET", ts.url+"/companies/attributes", nil)
	req.Header.Set("api-key", ts.APIKey())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var listed []map[string]any
	json.NewDecoder(resp.Body).Decode(&listed)
	resp.Body.Close()
	plan := listed[seeded+1]
	if plan["internalName"] != "plan" || fmt.Sprint(plan["attributeOptions"]) != "[map[key:free value:Free] map[key:pro_plan value:Pro plan]]" {
		t.Errorf("plan attribute %v", plan)
	}
	co := ts.must(200, "POST", "/companies", map[string]any{"name": "Acme", "attributes": map[string]any{"intercom_id": "ic-1", "seats": 3, "plan": "Pro plan"}})
	got, _ := ts.CompanyByID(co["id"].(string))
	if got.Attributes["intercom_id"] != "ic-1" || got.Attributes["seats"] != json.Number("3") || got.Attributes["plan"] != "Pro plan" {
		t.Errorf("company attributes %v", got.Attributes)
	}
	items := ts.must(200, "GET", "/companies?filters="+url.QueryEscape(`{"attributes.intercom_id":"ic-1"}`), nil)["items"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["id"] != co["id"] {
		t.Errorf("find by the new attribute: %v", items)
	}
}

// TestCompanyCallsSpendTheOtherBudget: listing companies and creating CRM
// attributes are "other" endpoints (100/hour on the General tier).
func TestCompanyCallsSpendTheOtherBudget(t *testing.T) {
	t.Parallel()
	ts := start(t)
	ts.Lift(false)
	ts.SetBudgets(Budgets{Contacts: Budget{PerSecond: 100}, Other: Budget{PerHour: 3}})
	if ts.ClassOf(ts.BasePath()+"/companies") != ClassOther || ts.ClassOf(ts.BasePath()+"/crm/attributes") != ClassOther {
		t.Error("companies and CRM attributes must be in the other class")
	}
	var codes []int
	for _, call := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/companies", nil},
		{"POST", "/crm/attributes", map[string]any{"label": "a", "attributeType": "text", "objectType": "companies"}},
		{"GET", "/companies?limit=10", nil},
		{"POST", "/crm/attributes", map[string]any{"label": "b", "attributeType": "text", "objectType": "companies"}},
		{"GET", "/contacts", nil}, // another class: unaffected
	} {
		code, _, h := ts.call(call.method, call.path, call.body)
		codes = append(codes, code)
		if code == 429 && (h.Get("x-sib-ratelimit-limit") != "3" || h.Get("x-sib-ratelimit-remaining") != "0") {
			t.Errorf("429 headers %v", h)
		}
	}
	if !slices.Equal(codes, []int{200, 200, 200, 429, 200}) {
		t.Errorf("codes %v", codes)
	}
	if n := len(ts.CompanyAttributes()); n != 8 {
		t.Errorf("%d company attributes: the refused creation must not apply", n)
	}
}

// TestImportKeyedByExtID: JSON import rows without an email are keyed by
// the EXT_ID (or SMS) attribute, and rows match existing contacts by
// EXT_ID.
func TestImportKeyedByExtID(t *testing.T) {
	t.Parallel()
	ts := start(t, WithLists(List{ID: 35, Name: "all"}))
	ts.must(201, "POST", "/contacts", map[string]any{"email": "ann@example.com", "ext_id": "ic-ann", "attributes": map[string]any{"FIRSTNAME": "Ann", "LASTNAME": "Old"}})
	ts.must(201, "POST", "/contacts", map[string]any{"ext_id": "ic-bob"})
	ts.Reset()
	run := func(body map[string]any) Process {
		t.Helper()
		pid := int64(ts.must(202, "POST", "/contacts/import", body)["processId"].(float64))
		if err := ts.WaitIdle(t.Context()); err != nil {
			t.Fatal(err)
		}
		p, _ := ts.ProcessByID(pid)
		return p
	}
	p := run(map[string]any{"listIds": []int{35}, "jsonBody": []any{
		// Existing contacts, matched by EXT_ID alone.
		map[string]any{"attributes": map[string]any{"EXT_ID": "ic-ann", "LASTNAME": "New"}},
		map[string]any{"attributes": map[string]any{"EXT_ID": "ic-bob", "FIRSTNAME": "Bob"}},
		// EXT_ID + a new email: the EXT_ID contact gets the email.
		map[string]any{"email": "bob@example.com", "attributes": map[string]any{"EXT_ID": "ic-bob"}},
		// New contacts without an email: by EXT_ID (a string or a number), by SMS.
		map[string]any{"attributes": map[string]any{"EXT_ID": "ic-lead", "FIRSTNAME": "Lee"}},
		map[string]any{"attributes": map[string]any{"EXT_ID": 4711}},
		map[string]any{"attributes": map[string]any{"SMS": "+49 151 0000 0009", "FIRSTNAME": "Sam"}},
		// No identifier at all.
		map[string]any{"attributes": map[string]any{"FIRSTNAME": "Nobody"}},
	}})
	if p.Created != 3 || p.Updated != 3 || p.Invalid != 1 || p.Duplicates != 1 || p.Rows != 7 {
		t.Errorf("process %+v", p)
	}
	ann, _ := ts.ContactByExtID("ic-ann")
	if ann.Email != "ann@example.com" || ann.Attributes["FIRSTNAME"] != "Ann" || ann.Attributes["LASTNAME"] != "New" || !slices.Equal(ann.ListIDs, []int64{35}) {
		t.Errorf("ann %+v", ann)
	}
	bob, _ := ts.ContactByExtID("ic-bob")
	if bob.Email != "bob@example.com" || bob.Attributes["FIRSTNAME"] != "Bob" {
		t.Errorf("bob %+v", bob)
	}
	lead, ok := ts.ContactByExtID("ic-lead")
	if !ok || lead.Email != "" || lead.Attributes["FIRSTNAME"] != "Lee" || !slices.Equal(lead.ListIDs, []int64{35}) {
		t.Errorf("lead %+v", lead)
	}
	if _, ok := ts.ContactByExtID("4711"); !ok {
		t.Error("numeric EXT_ID not keyed")
	}
	sms := ts.must(200, "GET", "/contacts/+4915100000009?identifierType=phone_id", nil)
	if sms["attributes"].(map[string]any)["FIRSTNAME"] != "Sam" {
		t.Errorf("SMS contact %v", sms)
	}
	if n := ts.ContactCount(); n != 5 {
		t.Errorf("%d contacts, want 5 (2 existing + 3 new)", n)
	}
	// A second run with the same rows creates nothing: every row matches.
	p = run(map[string]any{"listIds": []int{35}, "jsonBody": []any{
		map[string]any{"attributes": map[string]any{"EXT_ID": "ic-lead", "FIRSTNAME": "Leigh"}},
		map[string]any{"attributes": map[string]any{"EXT_ID": "4711"}},
	}})
	if p.Created != 0 || p.Updated != 2 || ts.ContactCount() != 5 {
		t.Errorf("second import %+v, %d contacts", p, ts.ContactCount())
	}
	if lead, _ := ts.ContactByExtID("ic-lead"); lead.Attributes["FIRSTNAME"] != "Leigh" {
		t.Errorf("lead after the second import %+v", lead)
	}
	// The CSV body too: no EMAIL column.
	p = run(map[string]any{"listIds": []int{35}, "fileBody": "EXT_ID;FIRSTNAME\nic-ann;Annie\nic-csv;Cee"})
	if p.Created != 1 || p.Updated != 1 {
		t.Errorf("csv import %+v", p)
	}
	if a, _ := ts.ContactByExtID("ic-ann"); a.Attributes["FIRSTNAME"] != "Annie" {
		t.Errorf("ann after csv %+v", a)
	}
	// One write per process, each contact once in it.
	for _, w := range ts.Writes() {
		seen := map[int64]bool{}
		for _, id := range w.ContactIDs {
			if seen[id] {
				t.Errorf("write %d lists contact %d twice", w.Seq, id)
			}
			seen[id] = true
		}
	}
	if n := len(ts.Writes()); n != 3 {
		t.Errorf("%d writes, want 3 (one per import)", n)
	}
}
