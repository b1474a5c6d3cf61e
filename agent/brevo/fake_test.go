package brevo

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tajo/terraform-provider-tajo/agent/sandbox/fakebrevo"
)

func TestContactsAgainstFake(t *testing.T) {
	t.Parallel()
	fb, c, _ := newFake(t, []fakebrevo.Option{fakebrevo.WithLists(fakebrevo.List{ID: 35, Name: "all users"}),
		fakebrevo.WithAttributes(
			fakebrevo.Attribute{Name: "FIRSTNAME", Category: "normal", Type: "text"},
			fakebrevo.Attribute{Name: "SESSION_COUNT", Category: "normal", Type: "float"},
			fakebrevo.Attribute{Name: "SIGNUP_DATE", Category: "normal", Type: "date"},
			fakebrevo.Attribute{Name: "UNSUBSCRIBED", Category: "normal", Type: "boolean"},
		)})
	ctx := t.Context()

	// Create (201) then upsert the same contact (204).
	res, _, err := c.Contacts.Create(ctx, &CreateContact{Email: "Ann@Example.com", ExtID: "ic-1", ListIDs: []int64{35},
		Attributes: map[string]any{"FIRSTNAME": "Ann", "SESSION_COUNT": 3, "SIGNUP_DATE": "2024-01-02", "NOT_DEFINED": "x"}})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Created || res.ID == 0 {
		t.Fatalf("create: %+v", res)
	}
	res2, _, err := c.Contacts.Upsert(ctx, &CreateContact{ExtID: "ic-1",
		Attributes: map[string]any{"SESSION_COUNT": "four", "UNSUBSCRIBED": false}})
	if err != nil {
		t.Fatal(err)
	}
	if res2.Created || res2.ID != 0 {
		t.Fatalf("upsert of an existing contact: %+v", res2)
	}
	// A plain create of the same email is a duplicate.
	_, _, err = c.Contacts.Create(ctx, &CreateContact{Email: "ann@example.com"})
	var apiErr *APIError
	if !errors.Is(err, ErrDuplicate) || !errors.As(err, &apiErr) || !slices.Equal(apiErr.DuplicateIdentifiers(), []string{"email"}) {
		t.Fatalf("duplicate create: %v", err)
	}

	got, _, err := c.Contacts.Get(ctx, ByExtID("ic-1"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"FIRSTNAME": "Ann", "SESSION_COUNT": 3.0, "SIGNUP_DATE": "2024-01-02", "UNSUBSCRIBED": false, "EXT_ID": "ic-1"}
	if diff := cmp.Diff(want, got.Attributes); diff != "" {
		t.Errorf("attributes (-want +got); the string session count must be dropped:\n%s", diff)
	}
	if got.Email != "ann@example.com" || got.ExtID != "ic-1" || !slices.Equal(got.ListIDs, []int64{35}) || got.CreatedAt.IsZero() {
		t.Errorf("contact %+v", got)
	}
	if _, n := fb.DroppedValues(); n != 2 {
		t.Errorf("%d dropped values, want 2 (unknown attribute, type mismatch)", n)
	}
	for _, id := range []Identifier{ByEmail("ANN@example.com"), ByID(res.ID)} {
		if c2, _, err := c.Contacts.Get(ctx, id); err != nil || c2.ID != res.ID {
			t.Errorf("get by %v: %v %v", id, c2, err)
		}
	}

	// Update by ext id: change email, leave the list.
	if _, err := c.Contacts.Update(ctx, ByExtID("ic-1"), &UpdateContact{Attributes: map[string]any{AttributeEmail: "ann@new.example"},
		UnlinkListIDs: []int64{35}, EmailBlacklisted: Bool(true)}); err != nil {
		t.Fatal(err)
	}
	fc, ok := fb.ContactByExtID("ic-1")
	if !ok || fc.Email != "ann@new.example" || len(fc.ListIDs) != 0 || !fc.EmailBlacklisted {
		t.Errorf("after update: %+v", fc)
	}
	if _, err := c.Contacts.Update(ctx, ByExtID("nobody"), &UpdateContact{ExtID: "x"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("update of a missing contact: %v", err)
	}

	// Batch update by email and id.
	if _, _, err := c.Contacts.Create(ctx, &CreateContact{Email: "bob@example.com"}); err != nil {
		t.Fatal(err)
	}
	br, _, err := c.Contacts.UpdateBatch(ctx, []BatchContact{
		{Email: "bob@example.com", ExtID: "ic-2", Attributes: map[string]any{"FIRSTNAME": "Bob"}},
		{ID: res.ID, Attributes: map[string]any{"FIRSTNAME": "Annie"}},
	})
	if err != nil || br.Requests != 1 || br.Done != 2 {
		t.Fatalf("batch: %+v %v", br, err)
	}
	if b, _ := fb.ContactByExtID("ic-2"); b.Attributes["FIRSTNAME"] != "Bob" {
		t.Errorf("batch did not apply: %+v", b)
	}
	if _, _, err := c.Contacts.UpdateBatch(ctx, []BatchContact{{Email: "a@b.c", ID: 3}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("two identifiers in a batch item: %v", err)
	}

	// Listing and the ext id map.
	m, err := c.Contacts.MapExtIDs(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	bob, _ := fb.ContactByEmail("bob@example.com")
	if diff := cmp.Diff(map[string]int64{"ic-1": res.ID, "ic-2": bob.ID}, m); diff != "" {
		t.Errorf("ext id map (-want +got):\n%s", diff)
	}

	// Delete.
	if _, err := c.Contacts.Delete(ctx, ByExtID("ic-2")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Contacts.Get(ctx, ByExtID("ic-2")); !errors.Is(err, ErrNotFound) {
		t.Errorf("get after delete: %v", err)
	}
	if _, _, err := c.Contacts.Create(ctx, &CreateContact{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("create without identifiers: %v", err)
	}
}

func TestListContactsPaging(t *testing.T) {
	t.Parallel()
	fb, c, _ := newFake(t, nil)
	ctx := t.Context()
	var rows []ImportContact
	for i := range 2345 {
		rows = append(rows, ImportContact{Email: fmt.Sprintf("p%04d@example.com", i), ExtID: fmt.Sprintf("p-%d", i)})
	}
	if _, _, err := c.Contacts.Import(ctx, &ImportRequest{Contacts: rows, ListIDs: nil, NewList: &NewList{ListName: "paging", FolderID: 1}}); err != nil {
		t.Fatal(err)
	}
	if err := fb.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	var seen []string
	for ct, err := range c.Contacts.All(ctx, &ListContactsOptions{Page: Page{Sort: SortAsc}}) {
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, ct.Email)
	}
	if len(seen) != 2345 || seen[0] != "p0000@example.com" || seen[2344] != "p2344@example.com" {
		t.Fatalf("iterated %d contacts (%v … )", len(seen), seen[:min(3, len(seen))])
	}
	page, _, err := c.Contacts.ListPage(ctx, &ListContactsOptions{Page: Page{Limit: 10}, Filter: `equals(EXT_ID,"p-7")`})
	if err != nil || page.Count != 1 || page.Contacts[0].Email != "p0007@example.com" {
		t.Errorf("filter: %+v %v", page, err)
	}
	// Stopping early stops the requests.
	before := fb.Harness().Stats().Requests
	n := 0
	for range c.Contacts.All(ctx, &ListContactsOptions{Page: Page{Limit: 100}}) {
		if n++; n == 150 {
			break
		}
	}
	if got := fb.Harness().Stats().Requests - before; got != 2 {
		t.Errorf("%d requests for 150 contacts at 100 a page", got)
	}
	if _, _, err := c.Contacts.ListPage(ctx, &ListContactsOptions{Page: Page{Limit: 1001}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("limit above the maximum: %v", err)
	}
}

func TestImportAgainstFake(t *testing.T) {
	t.Parallel()
	notified := make(chan map[string]any, 10)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		json.NewDecoder(r.Body).Decode(&m)
		notified <- m
	}))
	t.Cleanup(hook.Close)
	fb, c, _ := newFake(t, []fakebrevo.Option{fakebrevo.WithLists(fakebrevo.List{ID: 35, Name: "all users"}),
		fakebrevo.WithProcessDelay(200 * time.Millisecond)}, WithImportMaxBytes(200_000))
	ctx := t.Context()
	if _, _, err := c.Contacts.Create(ctx, &CreateContact{Email: "u0@example.com", Attributes: map[string]any{"FIRSTNAME": "Old", "LASTNAME": "Keep"}}); err != nil {
		t.Fatal(err)
	}
	var rows []ImportContact
	for i := range 3000 {
		rows = append(rows, ImportContact{Email: fmt.Sprintf("u%d@example.com", i), ExtID: fmt.Sprintf("ic-%d", i),
			Attributes: map[string]any{"FIRSTNAME": fmt.Sprintf("User %d", i), "LASTNAME": "", "UNKNOWN": "ignored"}})
	}
	res, _, err := c.Contacts.Import(ctx, &ImportRequest{Contacts: rows, ListIDs: []int64{35}, NotifyURL: hook.URL})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.ProcessIDs) < 2 || res.Submitted != 3000 {
		t.Fatalf("result %+v", res)
	}
	for _, n := range res.BodyBytes {
		if n > 200_000 {
			t.Errorf("body of %d bytes exceeds the budget", n)
		}
	}
	p, _, err := c.Processes.Get(ctx, res.ProcessIDs[0])
	if err != nil || p.Status != ProcessQueued {
		t.Errorf("fresh process: %+v %v", p, err)
	}
	for _, id := range res.ProcessIDs {
		p, _, err := c.Processes.Wait(ctx, id, &WaitOptions{Interval: 20 * time.Millisecond, MaxInterval: 50 * time.Millisecond})
		if err != nil || p.Status != ProcessCompleted {
			t.Fatalf("wait %d: %+v %v", id, p, err)
		}
	}
	for range res.ProcessIDs {
		select {
		case m := <-notified:
			if m["status"] != "completed" {
				t.Errorf("notification %v", m)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("notifyUrl not called")
		}
	}
	if got := fb.ContactCount(); got != 3000 {
		t.Errorf("%d contacts, want 3000", got)
	}
	u0, _ := fb.ContactByEmail("u0@example.com")
	if u0.ExtID != "ic-0" || u0.Attributes["FIRSTNAME"] != "User 0" || u0.Attributes["LASTNAME"] != "Keep" {
		t.Errorf("updated by import (empty values must not erase): %+v", u0)
	}
	members, _ := fb.ListMembers(35)
	if len(members) != 3000 {
		t.Errorf("list has %d members", len(members))
	}
	for id, n := range fb.ContactWrites() {
		if id != u0.ID && n != 1 {
			t.Errorf("contact %d written %d times", id, n)
		}
	}
	if _, _, err := c.Processes.Get(ctx, 999); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing process: %v", err)
	}
	if _, _, err := c.Contacts.Import(ctx, &ImportRequest{Contacts: rows, NewList: &NewList{ListName: "x", FolderID: 1}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("newList over several requests: %v", err)
	}
	if _, _, err := c.Contacts.Import(ctx, &ImportRequest{Contacts: rows}); !errors.Is(err, ErrInvalid) {
		t.Errorf("import without lists: %v", err)
	}
}

func TestListsAgainstFake(t *testing.T) {
	t.Parallel()
	fb, c, _ := newFake(t, nil)
	ctx := t.Context()
	folder, _, err := c.Lists.CreateFolder(ctx, "tajo")
	if err != nil {
		t.Fatal(err)
	}
	listID, _, err := c.Lists.Create(ctx, &CreateList{Name: "all users", FolderID: folder})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Lists.Create(ctx, &CreateList{Name: "no folder"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("list without folder: %v", err)
	}
	var rows []ImportContact
	for i := range 1000 {
		rows = append(rows, ImportContact{Email: fmt.Sprintf("m%d@example.com", i), ExtID: fmt.Sprintf("m-%d", i)})
	}
	other, _, _ := c.Lists.Create(ctx, &CreateList{Name: "import target", FolderID: folder})
	if _, _, err := c.Contacts.Import(ctx, &ImportRequest{Contacts: rows, ListIDs: []int64{other}}); err != nil {
		t.Fatal(err)
	}
	fb.WaitIdle(ctx)

	// Pre-add ten, then add 1,000 ext ids (plus unknown ones): 7 calls.
	if _, _, err := c.Lists.AddExtIDs(ctx, listID, []string{"m-0", "m-1", "m-2", "m-3", "m-4", "m-5", "m-6", "m-7", "m-8", "m-9"}); err != nil {
		t.Fatal(err)
	}
	ids := make([]string, 0, 1005)
	for i := range 1000 {
		ids = append(ids, fmt.Sprintf("m-%d", i))
	}
	ids = append(ids, "ghost-1", "ghost-2", "m-5") // unknown, and a repeat
	before := fb.Harness().Stats().ByRoute["POST /contacts/lists/{listId}/contacts/add"]
	res, _, err := c.Lists.AddExtIDs(ctx, listID, ids)
	if err != nil {
		t.Fatal(err)
	}
	calls := fb.Harness().Stats().ByRoute["POST /contacts/lists/{listId}/contacts/add"] - before
	if res.Requests != 7 || calls != 7 || res.Done != 1002 {
		t.Errorf("%d requests (%d seen by the server), %d done; want 7 calls of ≤150", res.Requests, calls, res.Done)
	}
	if len(res.Success) != 990 || len(res.Failure) != 12 {
		t.Errorf("%d successes, %d failures; want 990 and 12", len(res.Success), len(res.Failure))
	}
	for _, f := range []string{"m-0", "m-9", "ghost-1", "ghost-2"} {
		if !slices.Contains(res.Failure, f) {
			t.Errorf("failure lacks %s", f)
		}
	}
	members, _ := fb.ListMembers(listID)
	if len(members) != 1000 {
		t.Errorf("%d members", len(members))
	}

	// Remove by Brevo id (ints) and by email.
	rm, _, err := c.Lists.RemoveIDs(ctx, listID, members[:400])
	if err != nil || len(rm.Success) != 400 || rm.Requests != 3 {
		t.Errorf("remove by id: %+v %v", rm, err)
	}
	rm2, _, err := c.Lists.RemoveEmails(ctx, listID, []string{"m999@example.com", "nobody@example.com"})
	if err != nil || !slices.Equal(rm2.Success, []string{"m999@example.com"}) || !slices.Equal(rm2.Failure, []string{"nobody@example.com"}) {
		t.Errorf("remove by email: %+v %v", rm2, err)
	}
	all, _, err := c.Lists.RemoveAll(ctx, other)
	if err != nil || all.ProcessID == 0 || all.Total != 1000 {
		t.Fatalf("remove all: %+v %v", all, err)
	}
	fb.WaitIdle(ctx)
	if m, _ := fb.ListMembers(other); len(m) != 0 {
		t.Errorf("%d members left after remove all", len(m))
	}

	l, _, err := c.Lists.Get(ctx, listID)
	if err != nil || l.Name != "all users" || l.FolderID != folder || l.UniqueSubscribers != 599 || l.CreatedAt.IsZero() {
		t.Errorf("get list: %+v %v", l, err)
	}
	if _, _, err := c.Lists.AddIDs(ctx, 9999, []int64{1}); !errors.Is(err, ErrNotFound) {
		t.Errorf("add to a missing list: %v", err)
	}
	var names []string
	for l, err := range c.Lists.All(ctx, &Page{Limit: 1, Sort: SortAsc}) {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, l.Name)
	}
	if !slices.Equal(names, []string{"all users", "import target"}) {
		t.Errorf("lists %v", names)
	}
	var folders []string
	for f, err := range c.Lists.Folders(ctx, nil) {
		if err != nil {
			t.Fatal(err)
		}
		folders = append(folders, f.Name)
	}
	if !slices.Equal(folders, []string{"tajo", "Your first folder"}) {
		t.Errorf("folders %v", folders)
	}
	n := 0
	for m, err := range c.Lists.Members(ctx, listID, nil) {
		if err != nil || m.ExtID == "" {
			t.Fatalf("member %+v %v", m, err)
		}
		n++
	}
	if n != 599 {
		t.Errorf("%d members iterated", n)
	}
}

func TestAttributesAgainstFake(t *testing.T) {
	t.Parallel()
	fb, c, _ := newFake(t, nil)
	ctx := t.Context()
	for _, tc := range []struct {
		category AttributeCategory
		name     string
		body     *CreateAttribute
	}{
		{CategoryNormal, "PLAN_TIER", &CreateAttribute{Type: TypeText}},
		{CategoryNormal, "SESSION_COUNT", &CreateAttribute{Type: TypeFloat}},
		{CategoryNormal, "VIP", &CreateAttribute{Type: TypeBoolean}},
		{CategoryCategory, "SEGMENT", &CreateAttribute{Enumeration: []EnumValue{{1, "gold"}, {2, "silver"}}}},
	} {
		if _, err := c.Attributes.Create(ctx, tc.category, tc.name, tc.body); err != nil {
			t.Fatalf("create %s: %v", tc.name, err)
		}
	}
	if _, err := c.Attributes.Create(ctx, CategoryNormal, "PLAN_TIER", &CreateAttribute{Type: TypeText}); err == nil {
		t.Error("creating an existing attribute succeeded")
	}
	for _, bad := range []string{"plan_tier", "1ST", "PLAN TIER", strings.Repeat("A", 51), ""} {
		if _, err := c.Attributes.Create(ctx, CategoryNormal, bad, &CreateAttribute{Type: TypeText}); !errors.Is(err, ErrInvalid) {
			t.Errorf("name %q: %v", bad, err)
		}
	}
	for _, bad := range []*CreateAttribute{{Type: TypeID}, {Type: TypeCategory}, {Type: TypeMultipleChoice}} {
		if _, err := c.Attributes.Create(ctx, CategoryNormal, "X", bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("type %q for a normal attribute: %v", bad.Type, err)
		}
	}
	attrs, _, err := c.Attributes.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range attrs {
		names = append(names, a.Name+":"+string(a.Type))
	}
	if diff := cmp.Diff([]string{"FIRSTNAME:text", "LASTNAME:text", "SMS:text", "EXT_ID:text", "PLAN_TIER:text", "SESSION_COUNT:float", "VIP:boolean", "SEGMENT:text"}, names); diff != "" {
		t.Errorf("attributes (-want +got):\n%s", diff)
	}
	// Category values by id or label; others dropped.
	if _, _, err := c.Contacts.Create(ctx, &CreateContact{Email: "c@example.com", Attributes: map[string]any{"SEGMENT": 2, "VIP": "yes", "PLAN_TIER": "pro"}}); err != nil {
		t.Fatal(err)
	}
	got, _ := fb.ContactByEmail("c@example.com")
	if diff := cmp.Diff(map[string]any{"SEGMENT": "silver", "PLAN_TIER": "pro"}, got.Attributes); diff != "" {
		t.Errorf("stored attributes (-want +got):\n%s", diff)
	}
}

func TestCompaniesAgainstFake(t *testing.T) {
	t.Parallel()
	fb, c, _ := newFake(t, nil)
	ctx := t.Context()
	var ids []int64
	for i := range 4 {
		r, _, err := c.Contacts.Create(ctx, &CreateContact{Email: fmt.Sprintf("e%d@acme.example", i)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	id, _, err := c.Companies.Create(ctx, &CreateCompany{Name: "Acme", Attributes: map[string]any{"domain": "acme.example", "revenue": 10.5, "nope": 1},
		LinkedContactsIDs: ids[:2]})
	if err != nil || len(id) != 24 {
		t.Fatalf("create: %q %v", id, err)
	}
	co, _, err := c.Companies.Get(ctx, id)
	if err != nil || co.Name() != "Acme" || co.Attributes["domain"] != "acme.example" || !slices.Equal(co.LinkedContactsIDs, ids[:2]) {
		t.Fatalf("get: %+v %v", co, err)
	}
	if _, ok := co.Attributes["nope"]; ok {
		t.Error("unknown company attribute stored")
	}
	// PATCH replaces the linked contacts.
	co, _, err = c.Companies.Update(ctx, id, &UpdateCompany{LinkedContactsIDs: &[]int64{ids[3]}})
	if err != nil || !slices.Equal(co.LinkedContactsIDs, []int64{ids[3]}) {
		t.Errorf("update replaces links: %+v %v", co, err)
	}
	// PATCH without links leaves them.
	co, _, err = c.Companies.Update(ctx, id, &UpdateCompany{Attributes: map[string]any{"industry": "Anvils"}})
	if err != nil || !slices.Equal(co.LinkedContactsIDs, []int64{ids[3]}) || co.Attributes["industry"] != "Anvils" {
		t.Errorf("update keeps links: %+v %v", co, err)
	}
	if _, err := c.Companies.Link(ctx, id, &CompanyLinks{LinkContactIDs: ids[:2], UnlinkContactIDs: []int64{ids[3]}}); err != nil {
		t.Fatal(err)
	}
	got, _ := fb.CompanyByID(id)
	if !slices.Equal(got.LinkedContactsIDs, ids[:2]) {
		t.Errorf("after link-unlink: %v", got.LinkedContactsIDs)
	}
	if _, _, err := c.Companies.Get(ctx, "ffffffffffffffffffffffff"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing company: %v", err)
	}

	// Bulk through the import.
	csvBody, err := CompaniesCSV([]string{ColumnCompanyID, "name", "domain", "revenue", ColumnAssociatedContact},
		[][]string{
			{id, "Acme Corp", "acme.example", "11", ""},
			{"", "Globex", "globex.example", "7", fmt.Sprintf("%d;e3@acme.example", ids[2])},
		})
	if err != nil {
		t.Fatal(err)
	}
	pid, _, err := c.Companies.Import(ctx, &CompanyImport{CSV: csvBody, Mapping: CompanyImportMapping{LinkEntities: true, UpdateExistingRecords: true}})
	if err != nil || pid == 0 {
		t.Fatalf("import: %d %v", pid, err)
	}
	if _, _, err := c.Processes.Wait(ctx, pid, &WaitOptions{Interval: 10 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	acme, _ := fb.CompanyByID(id)
	globex, ok := fb.CompanyByName("Globex")
	if acme.Name != "Acme Corp" || !ok || !slices.Equal(globex.LinkedContactsIDs, []int64{ids[2], ids[3]}) {
		t.Errorf("after import: %+v / %+v", acme, globex)
	}
	attrs, _, err := c.Companies.Attributes(ctx)
	if err != nil || len(attrs) == 0 || attrs[0].InternalName != "name" || !attrs[0].IsRequired {
		t.Errorf("company attributes: %v %v", attrs, err)
	}
	if _, err := c.Companies.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, ok := fb.CompanyByID(id); ok {
		t.Error("company not deleted")
	}
}

func TestEventsAgainstFake(t *testing.T) {
	t.Parallel()
	fb, c, _ := newFake(t, []fakebrevo.Option{fakebrevo.WithMaxEventBatch(40)}, WithEventBatchSize(40))
	ctx := t.Context()
	if _, _, err := c.Contacts.Create(ctx, &CreateContact{Email: "ev@example.com", ExtID: "ic-ev"}); err != nil {
		t.Fatal(err)
	}
	when := time.Date(2024, 2, 6, 20, 59, 23, 383e6, time.UTC)
	if _, err := c.Events.Create(ctx, &Event{Name: "conversation_closed", Date: when, Identifiers: EventIdentifiers{ExtID: "ic-ev"},
		ContactProperties: map[string]any{"FIRSTNAME": "Eve"}, EventProperties: map[string]any{"rating": 5, "tags": []string{"a"}}}); err != nil {
		t.Fatal(err)
	}
	var batch []*Event
	for i := range 100 {
		batch = append(batch, &Event{Name: "page_viewed", Identifiers: EventIdentifiers{EmailID: "ev@example.com"}, EventProperties: map[string]any{"n": i}})
	}
	res, _, err := c.Events.CreateBatch(ctx, batch)
	if err != nil || res.Requests != 3 || res.Sent != 100 || res.Accepted != 100 {
		t.Fatalf("batch: %+v %v", res, err)
	}
	evs := fb.Events()
	if len(evs) != 101 || evs[0].Date != "2024-02-06T20:59:23.383Z" || evs[0].ContactID == 0 || !evs[1].Batch {
		t.Errorf("events %d, first %+v", len(evs), evs[0])
	}
	if d := fb.DuplicateEvents(); len(d) != 0 {
		t.Errorf("duplicates %v", d)
	}
	if got, _ := fb.ContactByExtID("ic-ev"); got.Attributes["FIRSTNAME"] != "Eve" {
		t.Errorf("contact_properties not applied: %+v", got)
	}
	for _, bad := range []*Event{
		{Name: "has space", Identifiers: EventIdentifiers{ExtID: "1"}},
		{Name: "ok"},
		{Name: "ok", Identifiers: EventIdentifiers{ExtID: "1"}, EventProperties: map[string]any{"big": strings.Repeat("x", 52000)}},
		{Name: "ok", Identifiers: EventIdentifiers{ExtID: "1"}, EventProperties: map[string]any{"bad key": 1}},
	} {
		if _, err := c.Events.Create(ctx, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("event %+v: %v", bad.Name, err)
		}
		if _, _, err := c.Events.CreateBatch(ctx, []*Event{bad}); !errors.Is(err, ErrInvalid) {
			t.Errorf("batch of %+v: %v", bad.Name, err)
		}
	}
}

func TestWebhooksAgainstFake(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []string
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, r.Header.Get("Authorization")+" "+string(b))
		mu.Unlock()
	}))
	t.Cleanup(receiver.Close)
	fb, c, _ := newFake(t, nil)
	ctx := t.Context()
	id, _, err := c.Webhooks.Create(ctx, &CreateWebhook{URL: receiver.URL + "/webhooks/brevo", Description: "tajo unsubscribes",
		Events: []string{WebhookEventUnsubscribed}, Type: WebhookMarketing, Auth: &WebhookAuth{Type: "bearer", Token: "tok-123"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Webhooks.Create(ctx, &CreateWebhook{URL: "not a url", Events: []string{"x"}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad URL: %v", err)
	}
	hooks, _, err := c.Webhooks.List(ctx, &WebhookListOptions{Type: WebhookMarketing})
	if err != nil || len(hooks) != 1 || hooks[0].ID != id || hooks[0].Auth.Token != "tok-123" || hooks[0].Description != "tajo unsubscribes" {
		t.Fatalf("list: %+v %v", hooks, err)
	}
	if s := fmt.Sprintf("%v %#v", *hooks[0].Auth, *hooks[0].Auth); strings.Contains(s, "tok-123") {
		t.Errorf("formatting shows the token: %s", s)
	}
	if tr, _, _ := c.Webhooks.List(ctx, nil); len(tr) != 0 {
		t.Errorf("transactional webhooks: %v", tr)
	}
	wh, _, err := c.Webhooks.Get(ctx, id)
	if err != nil || wh.URL != receiver.URL+"/webhooks/brevo" || wh.CreatedAt.IsZero() {
		t.Errorf("get: %+v %v", wh, err)
	}

	if _, _, err := c.Contacts.Create(ctx, &CreateContact{Email: "leaver@example.com"}); err != nil {
		t.Fatal(err)
	}
	ds, err := fb.Unsubscribe(ctx, "leaver@example.com", &fakebrevo.UnsubscribeOptions{CampaignID: 12, CampaignName: "March"})
	if err != nil || len(ds) != 1 || ds[0].Status != 200 {
		t.Fatalf("deliveries %+v %v", ds, err)
	}
	leaver, _, err := c.Contacts.Get(ctx, ByEmail("leaver@example.com"))
	if err != nil || !leaver.EmailBlacklisted {
		t.Errorf("after unsubscribe: %+v %v", leaver, err)
	}
	mu.Lock()
	if len(got) != 1 || !strings.HasPrefix(got[0], "Bearer tok-123 {") || !strings.Contains(got[0], `"event":"unsubscribe"`) || !strings.Contains(got[0], `"email":"leaver@example.com"`) {
		t.Errorf("received %q", got)
	}
	mu.Unlock()
	if _, err := c.Webhooks.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Webhooks.Get(ctx, id); !errors.Is(err, ErrNotFound) {
		t.Errorf("get after delete: %v", err)
	}
}

func TestAccountAgainstFake(t *testing.T) {
	t.Parallel()
	fb, c, srv := newFake(t, nil)
	a, _, err := c.Account.Get(t.Context())
	if err != nil || a.Email == "" || len(a.Plan) == 0 {
		t.Fatalf("account %+v %v", a, err)
	}
	bad, err := NewClient("wrong-key", WithBaseURL(srv.URL+fakeBase), WithLimits(Unlimited()))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := bad.Account.Get(t.Context()); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("wrong key: %v", err)
	}
	_ = fb
}

// TestImportByExtIDAgainstFake: contacts without an email are imported by
// their ext id, and a later import updates them by it instead of creating
// them again.
func TestImportByExtIDAgainstFake(t *testing.T) {
	t.Parallel()
	fb, c, _ := newFake(t, []fakebrevo.Option{fakebrevo.WithLists(fakebrevo.List{ID: 35, Name: "all users"})})
	ctx := t.Context()
	if _, _, err := c.Contacts.Create(ctx, &CreateContact{Email: "ann@example.com", ExtID: "ic-ann"}); err != nil {
		t.Fatal(err)
	}
	rows := []ImportContact{
		{ExtID: "ic-ann", Attributes: map[string]any{"FIRSTNAME": "Ann"}},
		{ExtID: "ic-lead", Attributes: map[string]any{"FIRSTNAME": "Lee"}},
		{SMS: "+4915100000007", Attributes: map[string]any{"FIRSTNAME": "Sam"}},
	}
	for round, wantCreated := range []int{2, 0} {
		res, _, err := c.Contacts.Import(ctx, &ImportRequest{Contacts: rows, ListIDs: []int64{35}})
		if err != nil {
			t.Fatal(err)
		}
		p, _, err := c.Processes.Wait(ctx, res.ProcessIDs[0], &WaitOptions{Interval: 5 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		fp, _ := fb.ProcessByID(p.ID)
		if fp.Created != wantCreated || fp.Created+fp.Updated != len(rows) || fp.Invalid != 0 {
			t.Errorf("round %d: process %+v", round, fp)
		}
		rows[1].Attributes = map[string]any{"FIRSTNAME": "Leigh"}
	}
	if n := fb.ContactCount(); n != 3 {
		t.Errorf("%d contacts, want 3", n)
	}
	ann, _ := fb.ContactByExtID("ic-ann")
	lead, _ := fb.ContactByExtID("ic-lead")
	if ann.Email != "ann@example.com" || ann.Attributes["FIRSTNAME"] != "Ann" || lead.Email != "" || lead.Attributes["FIRSTNAME"] != "Leigh" ||
		!slices.Equal(lead.ListIDs, []int64{35}) {
		t.Errorf("ann %+v, lead %+v", ann, lead)
	}
	got, _, err := c.Contacts.Get(ctx, ByExtID("ic-lead"))
	if err != nil || got.ExtID != "ic-lead" || got.Email != "" {
		t.Errorf("get by ext id: %+v %v", got, err)
	}
}
