package intercom

import (
	"errors"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tajo/terraform-provider-tajo/agent/sandbox/dataset"
)

func TestContactsListAndGet(t *testing.T) {
	t.Parallel()
	f, base := newFake(t, unlimited(300))
	c := newTestClient(t, base)
	ctx := t.Context()
	var ids []string
	for ct, err := range c.Contacts.All(ctx, ListOptions{PerPage: 37}) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, ct.ID)
	}
	if !slices.Equal(ids, f.ContactIDs()) {
		t.Fatalf("listed %d, want %d", len(ids), len(f.ContactIDs()))
	}
	for _, id := range ids[:40] {
		got, _, err := c.Contacts.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := f.Contact(id)
		if got.Email != want.Email || got.Name != want.Name || got.Role != want.Role || got.ExternalID != want.ExternalID ||
			int64(got.UpdatedAt) != want.UpdatedAt || int64(got.CreatedAt) != want.CreatedAt || got.Phone != want.Phone ||
			got.FormattedPhone != want.FormattedPhone || got.UnsubscribedFromEmails != want.UnsubscribedFromEmails {
			t.Errorf("contact %s: got %+v\nwant %+v", id, got, want)
		}
		if want.Role == dataset.RoleUser && got.CustomAttributes["plan_tier"] != want.CustomAttributes["plan_tier"] {
			t.Errorf("plan_tier = %v, want %v", got.CustomAttributes["plan_tier"], want.CustomAttributes["plan_tier"])
		}
		if got.Tags.TotalCount != len(want.Tags) || len(got.Tags.Data) != min(10, len(want.Tags)) || got.Tags.HasMore != (len(want.Tags) > 10) {
			t.Errorf("tags of %s: %+v, want %d", id, got.Tags, len(want.Tags))
		}
		if _, ok := got.Extra()["session_count"]; !ok {
			t.Error("session_count (beyond the schema) was not kept")
		}
	}
}

// TestIncrementalSearchDayGranularity shows the 2.11 trap and the helper
// that avoids it: `updated_at > t` misses later changes of t's own day.
func TestIncrementalSearchDayGranularity(t *testing.T) {
	t.Parallel()
	f, base := newFake(t, unlimited(100))
	c := newTestClient(t, base)
	ctx := t.Context()
	day := time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC)
	ids := f.ContactIDs()
	at := map[string]time.Time{
		ids[0]: day.Add(10 * time.Hour),               // the checkpoint itself
		ids[1]: day.Add(20 * time.Hour),               // later the same day
		ids[2]: day.Add(-time.Minute),                 // the day before
		ids[3]: day.Add(24*time.Hour + 5*time.Minute), // the next day
		ids[4]: day.Add(10*time.Hour - 3*time.Second), // just before the checkpoint, same day
		ids[5]: day.Add(48 * time.Hour),               // two days later
	}
	probe := make([]string, 0, len(at))
	for id, ts := range at {
		if err := f.UpdateContact(id, func(c *dataset.Contact) { c.UpdatedAt = ts.Unix() }); err != nil {
			t.Fatal(err)
		}
		probe = append(probe, id)
	}
	sort.Strings(probe)
	checkpoint := at[ids[0]]
	search := func(q Query) []string {
		var out []string
		for ct, err := range c.Contacts.SearchAll(ctx, SearchRequest{Query: And(q, Filter("id", OpIn, probe))}) {
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, ct.ID)
		}
		sort.Strings(out)
		return out
	}
	naive := search(Filter("updated_at", OpGreater, checkpoint.Unix()))
	if d := cmp.Diff(sorted(ids[3], ids[5]), naive); d != "" {
		t.Errorf("`updated_at > checkpoint` on 2.11 (-want +got):\n%s", d)
	}
	got := search(UpdatedSince(checkpoint))
	if d := cmp.Diff(sorted(ids[0], ids[1], ids[3], ids[4], ids[5]), got); d != "" {
		t.Errorf("UpdatedSince(checkpoint) (-want +got):\n%s", d)
	}
	// De-duplicated and cut at the checkpoint client-side, it is exact.
	var exact []string
	for _, id := range got {
		if !at[id].Before(checkpoint) {
			exact = append(exact, id)
		}
	}
	if d := cmp.Diff(sorted(ids[0], ids[1], ids[3], ids[5]), exact); d != "" {
		t.Errorf("after the client-side cut (-want +got):\n%s", d)
	}
	// Whole day with =.
	if d := cmp.Diff(sorted(ids[0], ids[1], ids[4]), search(Filter("updated_at", OpEquals, checkpoint.Unix()))); d != "" {
		t.Errorf("= matches the whole day (-want +got):\n%s", d)
	}
}

func sorted(xs ...string) []string { slices.Sort(xs); return xs }

func TestSearchMatchesBruteForce(t *testing.T) {
	t.Parallel()
	f, base := newFake(t, unlimited(600))
	c := newTestClient(t, base)
	q := And(Filter("role", OpEquals, RoleUser),
		Or(Filter("custom_attributes.plan_tier", OpEquals, "pro"), Filter("location.country", OpEquals, "Germany"),
			Filter("email", OpEndsWith, "@acme.test")))
	var got []string
	for ct, err := range c.Contacts.SearchAll(t.Context(), SearchRequest{Query: q, PerPage: 33, Sort: &Sort{Field: "created_at", Order: SortDescending}}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ct.ID)
	}
	type kv struct {
		id string
		at int64
	}
	var want []kv
	for _, id := range f.ContactIDs() {
		ct, _ := f.Contact(id)
		if ct.Role == dataset.RoleUser && (ct.CustomAttributes["plan_tier"] == "pro" || ct.Country == "Germany" ||
			len(ct.Email) > 10 && ct.Email[len(ct.Email)-10:] == "@acme.test") {
			want = append(want, kv{id, ct.CreatedAt})
		}
	}
	sort.SliceStable(want, func(i, j int) bool {
		if want[i].at != want[j].at {
			return want[i].at > want[j].at
		}
		return want[i].id > want[j].id
	})
	wantIDs := make([]string, len(want))
	for i, w := range want {
		wantIDs[i] = w.id
	}
	if d := cmp.Diff(wantIDs, got); d != "" {
		t.Errorf("search result (-want +got):\n%s", d)
	}
	if len(got) < 50 {
		t.Errorf("only %d matches; the query is too narrow to test much", len(got))
	}
}

func TestExpandFetchesHiddenTagsAndCompanies(t *testing.T) {
	t.Parallel()
	f, base := newFake(t, unlimited(400))
	c := newTestClient(t, base)
	ctx := t.Context()
	var id string
	for _, cid := range f.ContactIDs() {
		if ct, _ := f.Contact(cid); len(ct.Tags) > 10 {
			id = cid
			break
		}
	}
	if id == "" {
		t.Fatal("the dataset has no contact with more than 10 tags")
	}
	for _, co := range f.CompanyIDs()[:13] {
		if err := f.AttachCompany(id, co); err != nil {
			t.Fatal(err)
		}
	}
	ct, _, err := c.Contacts.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := f.Contact(id)
	if len(ct.Tags.Data) != 10 || !ct.Tags.HasMore || len(ct.Companies.Data) != 10 || !ct.Companies.HasMore {
		t.Fatalf("embedded lists not capped at 10 with has_more: tags %d/%v companies %d/%v",
			len(ct.Tags.Data), ct.Tags.HasMore, len(ct.Companies.Data), ct.Companies.HasMore)
	}
	if err := c.Contacts.Expand(ctx, ct); err != nil {
		t.Fatal(err)
	}
	if len(ct.Tags.Data) != len(want.Tags) || ct.Tags.HasMore || len(ct.Companies.Data) != len(want.Companies) || ct.Companies.HasMore {
		t.Errorf("after Expand: %d tags (want %d), %d companies (want %d)", len(ct.Tags.Data), len(want.Tags), len(ct.Companies.Data), len(want.Companies))
	}
	names := map[string]bool{}
	for _, tg := range f.Tags() {
		names[tg.Name] = true
	}
	for _, r := range ct.Tags.Data {
		if !names[r.Name] {
			t.Errorf("expanded tag %+v has no known name", r)
		}
	}
	var cos []string
	for co, err := range c.Contacts.AllCompanies(ctx, id) {
		if err != nil {
			t.Fatal(err)
		}
		cos = append(cos, co.ID)
	}
	if len(cos) != len(want.Companies) {
		t.Errorf("AllCompanies = %d, want %d", len(cos), len(want.Companies))
	}
}

func TestUpdateContact(t *testing.T) {
	t.Parallel()
	f, base := newFake(t, unlimited(20))
	c := newTestClient(t, base)
	now := refNow.Add(time.Hour)
	f.SetClock(func() time.Time { return now })
	id := f.ContactIDs()[5]
	yes, name := true, "Zoë Łukasiewicz"
	got, _, err := c.Contacts.Update(t.Context(), id, &ContactUpdate{UnsubscribedFromEmails: &yes, Name: &name,
		CustomAttributes: map[string]any{"feature_usage": 7}})
	if err != nil {
		t.Fatal(err)
	}
	if !got.UnsubscribedFromEmails || got.Name != name || got.UpdatedAt.Time() != now || got.CustomAttributes["feature_usage"] != float64(7) {
		t.Errorf("updated contact = %+v", got)
	}
	st, _ := f.Contact(id)
	if !st.UnsubscribedFromEmails || st.UpdatedAt != now.Unix() {
		t.Errorf("server state = %+v", st)
	}
	_, _, err = c.Contacts.Update(t.Context(), id, &ContactUpdate{CustomAttributes: map[string]any{"no_such_attribute": 1}})
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("unknown attribute: %v", err)
	}
	_, _, err = c.Contacts.Update(t.Context(), "000000000000000000000000", &ContactUpdate{Name: &name})
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown contact: %v", err)
	}
}

func TestMergedArchivedDeletedContacts(t *testing.T) {
	t.Parallel()
	f, base := newFake(t, unlimited(200))
	c := newTestClient(t, base)
	ctx := t.Context()
	var lead, user string
	for _, id := range f.ContactIDs() {
		ct, _ := f.Contact(id)
		if ct.Role == dataset.RoleLead && lead == "" {
			lead = id
		}
		if ct.Role == dataset.RoleUser && user == "" {
			user = id
		}
	}
	ids := f.ContactIDs()
	archived, deleted := ids[len(ids)-1], ids[len(ids)-2]
	if err := f.MergeContacts(lead, user); err != nil {
		t.Fatal(err)
	}
	if err := f.ArchiveContact(archived); err != nil {
		t.Fatal(err)
	}
	if err := f.DeleteContact(deleted); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Contacts.Get(ctx, lead); !errors.Is(err, ErrNotFound) {
		t.Errorf("merged lead: %v", err)
	}
	if _, _, err := c.Contacts.Get(ctx, deleted); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted: %v", err)
	}
	if _, _, err := c.Contacts.Get(ctx, archived); err != nil {
		t.Errorf("archived contact by id: %v", err)
	}
	listed := map[string]bool{}
	for ct, err := range c.Contacts.All(ctx, ListOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		listed[ct.ID] = true
	}
	for _, id := range []string{lead, archived, deleted} {
		if listed[id] {
			t.Errorf("%s is listed", id)
		}
	}
	if !listed[user] || len(listed) != len(ids)-3 {
		t.Errorf("listed %d, want %d with the merge target", len(listed), len(ids)-3)
	}
	res, _, err := c.Contacts.Search(ctx, &SearchRequest{Query: Filter("id", OpIn, []string{lead, user, archived, deleted})})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Data) != 1 || res.Data[0].ID != user {
		t.Errorf("search finds %d contacts, want only the merge target", len(res.Data))
	}
}
