package brevo

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tajo/terraform-provider-tajo/agent/sandbox/contract"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox/fakebrevo"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox/harness"
)

// TestContract runs every client call against the fake through
// contract.Recorder: requests (client) and responses (fake) must match the
// Brevo OpenAPI spec, error answers included.
func TestContract(t *testing.T) {
	t.Parallel()
	spec, err := contract.Load(contract.Brevo)
	if errors.Is(err, contract.ErrNoSpecs) {
		t.Skipf("skipping the contract check: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	rec := &contract.Recorder{Spec: spec, Base: fakeBase}
	fb, c, srv := newFake(t, []fakebrevo.Option{fakebrevo.WithLists(fakebrevo.List{ID: 35, Name: "all users"})})
	rec.Next = srv.Client().Transport
	c.httpClient = &http.Client{Transport: rec}
	ctx := t.Context()
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	wantErr := func(what string, err error, target error) {
		t.Helper()
		if !errors.Is(err, target) {
			t.Errorf("%s: got %v, want %v", what, err, target)
		}
	}

	// Account.
	_, _, err = c.Account.Get(ctx)
	must("account", err)

	// Attributes.
	_, err = c.Attributes.Create(ctx, CategoryNormal, "PLAN_TIER", &CreateAttribute{Type: TypeText})
	must("create attribute", err)
	_, err = c.Attributes.Create(ctx, CategoryNormal, "SESSION_COUNT", &CreateAttribute{Type: TypeFloat})
	must("create attribute", err)
	_, err = c.Attributes.Create(ctx, CategoryCategory, "SEGMENT", &CreateAttribute{Enumeration: []EnumValue{{1, "gold"}}})
	must("create category attribute", err)
	_, err = c.Attributes.Create(ctx, CategoryNormal, "PLAN_TIER", &CreateAttribute{Type: TypeText})
	if err == nil {
		t.Error("duplicate attribute accepted")
	}
	_, _, err = c.Attributes.List(ctx)
	must("list attributes", err)

	// Folders and lists.
	folder, _, err := c.Lists.CreateFolder(ctx, "tajo")
	must("create folder", err)
	list, _, err := c.Lists.Create(ctx, &CreateList{Name: "leads", FolderID: folder})
	must("create list", err)
	_, _, err = c.Lists.ListPage(ctx, &Page{Limit: 50, Offset: 0, Sort: SortAsc})
	must("lists page", err)
	_, _, err = c.Lists.FoldersPage(ctx, &Page{Limit: 10})
	must("folders page", err)
	_, _, err = c.Lists.Get(ctx, list)
	must("get list", err)
	_, _, err = c.Lists.Get(ctx, 424242)
	wantErr("get missing list", err, ErrNotFound)

	// Contacts.
	created, _, err := c.Contacts.Create(ctx, &CreateContact{Email: "ann@example.com", ExtID: "ic-1", ListIDs: []int64{35},
		Attributes: map[string]any{"FIRSTNAME": "Ann", "SESSION_COUNT": 3, "SMS": "+4915112345678"}})
	must("create contact", err)
	_, _, err = c.Contacts.Upsert(ctx, &CreateContact{Email: "ann@example.com", Attributes: map[string]any{"PLAN_TIER": "pro"},
		EmailBlacklisted: Bool(false)})
	must("upsert contact", err)
	_, _, err = c.Contacts.Create(ctx, &CreateContact{Email: "ann@example.com"})
	wantErr("duplicate contact", err, ErrDuplicate)
	_, _, err = c.Contacts.Create(ctx, &CreateContact{ExtID: "lead-1", Attributes: map[string]any{"FIRSTNAME": "Lee"}})
	must("create contact by ext id", err)
	for _, id := range []Identifier{ByEmail("ann@example.com"), ByExtID("ic-1"), ByID(created.ID), ByPhone("+4915112345678")} {
		_, _, err = c.Contacts.Get(ctx, id)
		must("get contact by "+string(id.Type), err)
	}
	_, _, err = c.Contacts.Get(ctx, ByExtID("nobody"))
	wantErr("get missing contact", err, ErrNotFound)
	_, err = c.Contacts.Update(ctx, ByExtID("ic-1"), &UpdateContact{Attributes: map[string]any{"FIRSTNAME": "Annie"}, ListIDs: []int64{list}})
	must("update contact", err)
	_, err = c.Contacts.Update(ctx, ByExtID("lead-1"), &UpdateContact{ExtID: "ic-1"})
	wantErr("update to a taken ext id", err, ErrDuplicate)
	_, err = c.Contacts.Update(ctx, ByExtID("nobody"), &UpdateContact{ExtID: "x"})
	wantErr("update missing contact", err, ErrNotFound)
	_, _, err = c.Contacts.UpdateBatch(ctx, []BatchContact{{Email: "ann@example.com", Attributes: map[string]any{"PLAN_TIER": "team"}},
		{ID: created.ID, SMSBlacklisted: Bool(true)}})
	must("batch update", err)
	_, _, err = c.Contacts.ListPage(ctx, &ListContactsOptions{Page: Page{Limit: 1000, Sort: SortAsc}, ModifiedSince: time.Now().Add(-time.Hour)})
	must("list contacts", err)
	_, _, err = c.Contacts.ListPage(ctx, &ListContactsOptions{ListIDs: []int64{35, list}})
	must("list contacts in lists", err)

	// Import and processes.
	var rows []ImportContact
	for i := range 300 {
		rows = append(rows, ImportContact{Email: fmt.Sprintf("imp%d@example.com", i), ExtID: fmt.Sprintf("imp-%d", i), SMS: fmt.Sprintf("+49151%08d", i),
			Attributes: map[string]any{"FIRSTNAME": "Imp", "SESSION_COUNT": i}})
	}
	imp, _, err := c.Contacts.Import(ctx, &ImportRequest{Contacts: rows, ListIDs: []int64{list}, UpdateExistingContacts: Bool(true),
		EmptyContactsAttributes: true, NotifyURL: "https://hooks.example.com/brevo/import"})
	must("import", err)
	_, _, err = c.Processes.Get(ctx, imp.ProcessIDs[0])
	must("get process", err)
	_, _, err = c.Processes.Wait(ctx, imp.ProcessIDs[0], &WaitOptions{Interval: 5 * time.Millisecond})
	must("wait process", err)
	_, _, err = c.Processes.Get(ctx, 99999)
	wantErr("missing process", err, ErrNotFound)
	_, _, err = c.Contacts.Import(ctx, &ImportRequest{Contacts: rows[:2], NewList: &NewList{ListName: "new", FolderID: folder}})
	must("import into a new list", err)

	// List membership.
	_, _, err = c.Lists.AddExtIDs(ctx, 35, []string{"imp-1", "imp-2", "ghost"})
	must("add ext ids", err)
	_, _, err = c.Lists.AddEmails(ctx, 35, []string{"imp3@example.com"})
	must("add emails", err)
	ann, _ := fb.ContactByEmail("ann@example.com")
	_, _, err = c.Lists.AddIDs(ctx, list, []int64{ann.ID, 777777})
	must("add ids", err)
	_, _, err = c.Lists.AddIDs(ctx, list, []int64{ann.ID})
	must("add ids (already members only)", err)
	_, _, err = c.Lists.RemoveExtIDs(ctx, 35, []string{"imp-1"})
	must("remove ext ids", err)
	_, _, err = c.Lists.RemoveEmails(ctx, 35, []string{"nobody@example.com"})
	must("remove emails", err)
	_, _, err = c.Lists.RemoveIDs(ctx, list, []int64{ann.ID})
	must("remove ids", err)
	_, _, err = c.Lists.AddExtIDs(ctx, 424242, []string{"imp-1"})
	wantErr("add to a missing list", err, ErrNotFound)
	_, _, err = c.Lists.RemoveAll(ctx, list)
	must("remove all", err)
	for _, err := range c.Lists.Members(ctx, 35, &Page{Limit: 500}) {
		must("list members", err)
	}

	// Companies (POST /crm/attributes is in contract.Undocumented).
	_, _, err = c.Companies.CreateAttribute(ctx, "intercom_id", CompanyAttributeText)
	must("create company attribute", err)
	_, _, err = c.Companies.CreateAttribute(ctx, "Intercom ID", CompanyAttributeText)
	wantErr("duplicate company attribute", err, ErrDuplicate)
	co, _, err := c.Companies.Create(ctx, &CreateCompany{Name: "Acme", Attributes: map[string]any{"domain": "acme.example", "revenue": 10, "intercom_id": "ic-co-1"},
		LinkedContactsIDs: []int64{ann.ID}, LinkedDealsIDs: []string{"61a5ce58c5d4795761045990"}})
	must("create company", err)
	page, _, err := c.Companies.ListPage(ctx, &ListCompaniesOptions{Filters: CompanyFilters{"attributes.intercom_id": "ic-co-1", "name": "Acme"},
		LinkedContactID: ann.ID, LinkedDealID: "61a5ce58c5d4795761045990", Page: 1, Limit: 10, Sort: SortAsc, SortBy: "name"})
	must("list companies", err)
	if len(page.Items) != 1 {
		t.Errorf("filtered companies: %d", len(page.Items))
	}
	found, _, err := c.Companies.FindByAttribute(ctx, "intercom_id", "ic-co-1")
	must("find company", err)
	if len(found) != 1 || found[0].ID != co {
		t.Errorf("found %v", found)
	}
	for _, err := range c.Companies.All(ctx, nil) {
		must("all companies", err)
	}
	_, _, err = c.Companies.ListPage(ctx, &ListCompaniesOptions{SortBy: "no_such_field"})
	if !errors.As(err, new(*APIError)) {
		t.Errorf("list companies by an unknown field: %v", err)
	}
	_, _, err = c.Companies.Get(ctx, co)
	must("get company", err)
	_, _, err = c.Companies.Get(ctx, "ffffffffffffffffffffffff")
	wantErr("missing company", err, ErrNotFound)
	_, _, err = c.Companies.Update(ctx, co, &UpdateCompany{Name: "Acme Inc", Attributes: map[string]any{"industry": "Anvils"}, LinkedContactsIDs: &[]int64{}})
	must("update company", err)
	_, err = c.Companies.Link(ctx, co, &CompanyLinks{LinkContactIDs: []int64{ann.ID}})
	must("link company", err)
	_, _, err = c.Companies.Attributes(ctx)
	must("company attributes", err)
	file, _ := CompaniesCSV([]string{ColumnCompanyID, "name", "domain", ColumnAssociatedContact},
		[][]string{{co, "Acme", "acme.example", ""}, {"", "Globex", "globex.example", "ann@example.com"}})
	pid, _, err := c.Companies.Import(ctx, &CompanyImport{CSV: file, Mapping: CompanyImportMapping{LinkEntities: true, UpdateExistingRecords: true}})
	must("import companies", err)
	_, _, err = c.Processes.Wait(ctx, pid, &WaitOptions{Interval: 5 * time.Millisecond})
	must("wait companies import", err)
	_, err = c.Companies.Delete(ctx, co)
	must("delete company", err)

	// Events (the batch endpoint is in contract.Undocumented).
	_, err = c.Events.Create(ctx, &Event{Name: "conversation_closed", Date: time.Now(), Identifiers: EventIdentifiers{ExtID: "ic-1", EmailID: "ann@example.com"},
		ContactProperties: map[string]any{"FIRSTNAME": "Ann"}, EventProperties: map[string]any{"rating": 5, "channel": "chat", "tags": []any{"a"}}})
	must("event", err)
	_, _, err = c.Events.CreateBatch(ctx, []*Event{{Name: "page_viewed", Identifiers: EventIdentifiers{ExtID: "ic-1"}}})
	must("event batch", err)

	// Webhooks.
	wh, _, err := c.Webhooks.Create(ctx, &CreateWebhook{URL: "https://agent.example.com/webhooks/brevo", Description: "tajo",
		Events: []string{WebhookEventUnsubscribed, WebhookEventContactUpdated}, Type: WebhookMarketing,
		Auth: &WebhookAuth{Type: "bearer", Token: "tok"}, Headers: []WebhookHeader{{Key: "X-Tajo", Value: "1"}}})
	must("create webhook", err)
	_, _, err = c.Webhooks.List(ctx, &WebhookListOptions{Type: WebhookMarketing, Sort: SortDesc})
	must("list webhooks", err)
	_, _, err = c.Webhooks.Get(ctx, wh)
	must("get webhook", err)
	_, err = c.Webhooks.Delete(ctx, wh)
	must("delete webhook", err)
	_, _, err = c.Webhooks.Get(ctx, wh)
	wantErr("missing webhook", err, ErrNotFound)

	// A 401 where the spec declares one (POST /events), and a 425 the
	// client retries (declared on POST /contacts).
	bad, err := NewClient("wrong-key", WithBaseURL(c.BaseURL()), WithLimits(Unlimited()), WithHTTPClient(&http.Client{Transport: rec}))
	must("client", err)
	_, err = bad.Events.Create(ctx, &Event{Name: "x", Identifiers: EventIdentifiers{ExtID: "ic-1"}})
	wantErr("event with a wrong key", err, ErrUnauthorized)
	fb.Harness().Inject(harness.Fault{Kind: harness.FaultStatus, Method: "POST", PathPrefix: fakeBase + "/contacts", Count: 1,
		Status: http.StatusTooEarly, Code: "invalid_parameter", Message: "contact is being processed"})
	_, _, err = c.Contacts.Upsert(ctx, &CreateContact{Email: "early@example.com"})
	must("upsert after a 425", err)

	// Contacts, last: delete.
	_, err = c.Contacts.Delete(ctx, ByExtID("lead-1"))
	must("delete contact", err)
	_, err = c.Contacts.Delete(ctx, ByExtID("lead-1"))
	wantErr("delete missing contact", err, ErrNotFound)

	if v := rec.Violations(); len(v) > 0 {
		t.Errorf("%d contract violations in %d exchanges:\n%s", len(v), rec.Checked(), strings.Join(v, "\n\n"))
	}
	routes := fb.Harness().Stats().ByRoute
	var names []string
	for r := range routes {
		names = append(names, r)
	}
	slices.Sort(names)
	t.Logf("%d exchanges checked over %d operations: %s", rec.Checked(), len(names), strings.Join(names, ", "))
}
