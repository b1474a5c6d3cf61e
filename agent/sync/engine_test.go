package sync

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/tajo/terraform-provider-tajo/agent/brevo"
	"github.com/tajo/terraform-provider-tajo/agent/config"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox/dataset"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox/expect"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox/fakebrevo"
	"github.com/tajo/terraform-provider-tajo/agent/store"
	_ "github.com/tajo/terraform-provider-tajo/agent/store/sqlite"
)

// env is a sandbox, a store and the quickstart-like bundle pointed at it.
type env struct {
	t      *testing.T
	sb     *sandbox.Sandbox
	url    string
	st     store.Store
	bundle config.Bundle
	setup  expect.Setup
	secret map[string]string
}

func newEnv(t *testing.T, contacts int, opts ...func(*sandbox.Options)) *env {
	t.Helper()
	o := sandbox.Options{Contacts: contacts, Seed: 7}
	// Each pass of these tests is a new engine, i.e. a new client without
	// memory of the scroll opened a moment ago; Intercom's one new scroll
	// per minute is exercised by the client's own tests.
	o.Intercom.ScrollOpensPerMinute = -1
	// The Brevo side answers imports fast in tests.
	o.Brevo = append(o.Brevo, fakebrevo.WithProcessDelay(20*time.Millisecond))
	for _, f := range opts {
		f(&o)
	}
	sb := sandbox.New(o)
	srv := httptest.NewServer(sb)
	t.Cleanup(func() { srv.Close(); sb.Close() })
	ep := sb.Endpoints(srv.URL)
	st, err := store.Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "tajo.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c := config.NewConnector("intercom")
	c.Intercom.AccessToken, c.Brevo.APIKey = "env:INTERCOM_ACCESS_TOKEN", "env:BREVO_API_KEY"
	c.Intercom.BaseURL, c.Brevo.BaseURL = ep.IntercomURL, ep.BrevoURL
	c.Intercom.Plan = config.PlanPremium
	c.Sync = config.Sync{Contacts: true, Companies: true, Tags: true}
	b := config.Bundle{
		Connector: c,
		Mappings: []config.FieldMapping{
			{ConnectorID: "intercom", Source: "custom_attributes.plan_tier", Target: "PLAN_TIER", Type: "text"},
			{ConnectorID: "intercom", Source: "custom_attributes.feature_usage", Target: "FEATURE_USAGE", Type: "number"},
		},
		Lists: []config.ListAssignment{
			{ConnectorID: "intercom", ListID: 35, Rule: "all_users"},
			{ConnectorID: "intercom", ListID: 37, Rule: "leads"},
			{ConnectorID: "intercom", ListID: 38, Rule: "tag:vip"},
		},
	}
	return &env{
		t: t, sb: sb, url: srv.URL, st: st, bundle: b,
		setup:  expect.Setup{Custom: true, Companies: true, Lists: map[string]int64{"all_users": 35, "leads": 37, "tag:vip": 38}},
		secret: map[string]string{"INTERCOM_ACCESS_TOKEN": ep.IntercomToken, "BREVO_API_KEY": ep.BrevoAPIKey},
	}
}

func (e *env) options() Options {
	return Options{
		Logger:    hclog.New(&hclog.LoggerOptions{Level: hclog.Warn, Output: testWriter{e.t}}),
		Resolver:  config.Resolver{LookupEnv: func(k string) (string, bool) { v, ok := e.secret[k]; return v, ok }},
		RetryBase: 10 * time.Millisecond,
	}
}

func (e *env) engine() *Engine {
	e.t.Helper()
	eng, err := New(e.bundle, e.st, e.options())
	if err != nil {
		e.t.Fatal(err)
	}
	return eng
}

func (e *env) sync(o PassOptions) *Engine {
	e.t.Helper()
	eng := e.engine()
	ctx, cancel := context.WithTimeout(e.t.Context(), 2*time.Minute)
	defer cancel()
	if err := eng.Sync(ctx, o); err != nil {
		e.t.Fatalf("sync: %v", err)
	}
	return eng
}

func (e *env) exact() expect.Report {
	e.t.Helper()
	r := expect.Compare(e.sb, e.setup)
	if err := r.Err(); err != nil {
		e.t.Fatal(err)
	}
	return r
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

func mutations(w []fakebrevo.Write) int {
	n := 0
	for _, x := range w {
		if x.Kind != fakebrevo.WriteAttribute {
			n++
		}
	}
	return n
}

func TestFullThenUnchangedThenChurn(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 600)
	eng := e.sync(PassOptions{})
	r := e.exact()
	if r.Contacts == 0 || r.Skipped == 0 || r.Companies == 0 {
		t.Fatalf("dataset too small to mean anything: %+v", r)
	}
	st := eng.Stats()
	t.Logf("full sync: %d contacts (%d leads without email skipped), %d companies; intercom %d requests, brevo %d requests, %d imports of %d contacts",
		r.Contacts, r.Skipped, r.Companies, st.IntercomRequests, st.BrevoRequests, st.Imports, st.ImportedContacts)
	status, err := e.st.GetStatus(t.Context(), "intercom")
	if err != nil || status.ContactsSynced != int64(r.Contacts) || status.CompaniesSynced != int64(r.Companies) || status.LastSync.IsZero() {
		t.Errorf("status = %+v, %v; want %d contacts, %d companies", status, err, r.Contacts, r.Companies)
	}

	// A second pass writes nothing.
	before := len(e.sb.Brevo.Writes())
	eng = e.sync(PassOptions{})
	if w := e.sb.Brevo.Writes()[before:]; mutations(w) != 0 {
		t.Fatalf("unchanged re-sync made %d Brevo writes: %+v", mutations(w), w[0])
	}
	t.Logf("unchanged re-sync: intercom %d requests, brevo %d requests, 0 writes", eng.Stats().IntercomRequests, eng.Stats().BrevoRequests)

	// 1 % churn: only those contacts are written.
	ids := e.sb.Intercom.ContactIDs()
	changed := map[string]bool{}
	for i := 0; i < len(ids); i += 100 {
		id := ids[i]
		c, _ := e.sb.Intercom.Contact(id)
		if c.Email == "" {
			continue
		}
		changed[id] = true
		if err := e.sb.Intercom.UpdateContact(id, func(c *dataset.Contact) {
			c.Name = "Renamed Person" + c.ID[len(c.ID)-2:]
			c.CustomAttributes["plan_tier"] = "platinum"
		}); err != nil {
			t.Fatal(err)
		}
	}
	before = len(e.sb.Brevo.Writes())
	e.sync(PassOptions{})
	e.exact()
	touched := map[string]bool{}
	for _, w := range e.sb.Brevo.Writes()[before:] {
		if w.Kind != fakebrevo.WriteContact {
			continue
		}
		for _, id := range w.ContactIDs {
			c, _ := e.sb.Brevo.ContactByID(id)
			touched[c.ExtID] = true
		}
	}
	for id := range touched {
		if !changed[id] {
			t.Errorf("contact %s written although unchanged", id)
		}
	}
	for id := range changed {
		if !touched[id] {
			t.Errorf("changed contact %s not written", id)
		}
	}
}

func TestTagsDeletesAndEmailChange(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 300)
	e.sync(PassOptions{})
	e.exact()
	var users []string
	for _, id := range e.sb.Intercom.ContactIDs() {
		if c, _ := e.sb.Intercom.Contact(id); c.Email != "" && c.Role == "user" {
			users = append(users, id)
		}
	}
	// Tag list membership follows tags both ways.
	if err := e.sb.Intercom.TagContact(users[0], "vip"); err != nil {
		t.Fatal(err)
	}
	for _, id := range users {
		c, _ := e.sb.Intercom.Contact(id)
		for _, ti := range c.Tags {
			if e.sb.Intercom.Tags()[ti].Name == "vip" && id != users[0] {
				if err := e.sb.Intercom.UntagContact(id, "vip"); err != nil {
					t.Fatal(err)
				}
				break
			}
		}
	}
	// An email change updates the same Brevo contact.
	old, _ := e.sb.Brevo.ContactByExtID(users[1])
	if err := e.sb.Intercom.UpdateContact(users[1], func(c *dataset.Contact) { c.Email = "moved-" + c.Email }); err != nil {
		t.Fatal(err)
	}
	e.sync(PassOptions{})
	e.exact()
	moved, _ := e.sb.Brevo.ContactByExtID(users[1])
	if moved.ID != old.ID {
		t.Errorf("email change made a new Brevo contact #%d (was #%d)", moved.ID, old.ID)
	}
	// A deleted contact leaves the managed lists at the next full pass.
	gone := users[2]
	goneBrevo, _ := e.sb.Brevo.ContactByExtID(gone)
	if err := e.sb.Intercom.DeleteContact(gone); err != nil {
		t.Fatal(err)
	}
	e.sync(PassOptions{Full: true})
	for _, l := range []int64{35, 37, 38} {
		members, _ := e.sb.Brevo.ListMembers(l)
		for _, m := range members {
			if m == goneBrevo.ID {
				t.Errorf("deleted contact still in list %d", l)
			}
		}
	}
	if n, _ := e.st.CountLinks(t.Context(), "intercom", store.KindContact); n == 0 {
		t.Error("links vanished")
	}
	if _, err := e.sb.Brevo.ContactByExtID(gone); !err {
		t.Log("deleted contact kept in Brevo (delete_removed_contacts is off), only unlisted: as documented")
	}
}

func TestDeleteRemovedContacts(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 120)
	e.bundle.Connector.DeleteRemovedContacts = true
	e.setup.DeleteRemoved = true
	e.sync(PassOptions{})
	var victim string
	for _, id := range e.sb.Intercom.ContactIDs() {
		if c, _ := e.sb.Intercom.Contact(id); c.Email != "" {
			victim = id
			break
		}
	}
	if err := e.sb.Intercom.ArchiveContact(victim); err != nil {
		t.Fatal(err)
	}
	e.sync(PassOptions{Full: true})
	if _, ok := e.sb.Brevo.ContactByExtID(victim); ok {
		t.Error("archived contact still in Brevo with delete_removed_contacts")
	}
	e.exact()
}

func TestLeadPolicyExtID(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 200)
	e.bundle.Connector.LeadPolicy = config.LeadPolicyExtID
	e.setup.LeadsWithoutEmail = true
	e.sync(PassOptions{})
	r := e.exact()
	if r.Skipped != 0 {
		t.Errorf("skipped %d with lead_policy ext_id", r.Skipped)
	}
}

func TestMissingListIsActionable(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 20)
	e.bundle.Lists = append(e.bundle.Lists, config.ListAssignment{ConnectorID: "intercom", ListID: 999, Rule: "leads"})
	eng := e.engine()
	err := eng.Sync(t.Context(), PassOptions{})
	if err == nil || !contains(err.Error(), "brevo list 999 does not exist") {
		t.Fatalf("sync with a missing list: %v", err)
	}
	st, _ := e.st.GetStatus(t.Context(), "intercom")
	if st.State != StateError || !contains(st.LastError, "list 999") {
		t.Errorf("status = %+v", st)
	}
}

func contains(s, sub string) bool {
	return len(sub) == 0 || (len(s) >= len(sub) && indexOf(s, sub) >= 0)
}

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

var _ = brevo.ErrNotFound
