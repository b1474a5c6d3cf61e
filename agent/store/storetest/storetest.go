// Package storetest is the conformance suite every store backend passes.
// A backend's test calls Run with a function that returns the URL of a new,
// empty store.
package storetest

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tajo/terraform-provider-tajo/agent/config"
	"github.com/tajo/terraform-provider-tajo/agent/store"
	"github.com/tajo/terraform-provider-tajo/agent/store/sqlstore"
)

// Backend describes the store under test.
type Backend struct {
	// NewURL returns the URL of a fresh, empty store.
	NewURL func(t *testing.T) string
}

// Run runs the whole suite.
func Run(t *testing.T, b Backend) {
	tests := map[string]func(*testing.T, Backend){
		"Schema":            testSchema,
		"Documents":         testDocuments,
		"Versions":          testVersions,
		"Delete":            testDelete,
		"Bundles":           testBundles,
		"Status":            testStatus,
		"Checkpoints":       testCheckpoints,
		"Purge":             testPurge,
		"Reopen":            testReopen,
		"ConcurrentWriters": testConcurrentWriters,
		"SchemaTooNew":      testSchemaTooNew,
	}
	for name, fn := range syncTests() {
		tests[name] = fn
	}
	for name, fn := range inboxTests() {
		tests[name] = fn
	}
	for name, fn := range conversationTests() {
		tests[name] = fn
	}
	for name, fn := range leaseTests() {
		tests[name] = fn
	}
	for name, fn := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fn(t, b)
		})
	}
}

// Open opens a fresh store and closes it when the test ends.
func Open(t *testing.T, b Backend) (store.Store, string) {
	t.Helper()
	u := b.NewURL(t)
	s, err := store.Open(t.Context(), u)
	if err != nil {
		t.Fatalf("open %s: %v", store.Redact(u), err)
	}
	t.Cleanup(func() { s.Close() })
	return s, u
}

func doc(kind, id, connector string, body any) store.Document {
	b, _ := json.Marshal(body)
	return store.Document{Kind: kind, ID: id, ConnectorID: connector, Body: b}
}

func testSchema(t *testing.T, b Backend) {
	s, _ := Open(t, b)
	v, err := s.SchemaVersion(t.Context())
	if err != nil || v != sqlstore.LatestSchema() {
		t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, sqlstore.LatestSchema())
	}
	if rev, err := s.Revision(t.Context()); err != nil || rev != 0 {
		t.Fatalf("Revision of a new store = %d, %v; want 0", rev, err)
	}
	if s.Backend() == "" {
		t.Error("Backend() is empty")
	}
}

func testDocuments(t *testing.T, b Backend) {
	ctx := t.Context()
	s, _ := Open(t, b)
	put := func(d store.Document, expect int64) store.Document {
		t.Helper()
		got, err := s.PutDocument(ctx, d, expect)
		if err != nil {
			t.Fatalf("PutDocument(%s %s): %v", d.Kind, d.ID, err)
		}
		return got
	}
	c := put(doc("connector", "intercom", "intercom", map[string]any{"name": "intercom"}), store.MustNotExist)
	if c.Version != 1 || c.Revision != 1 || c.UpdatedAt.IsZero() {
		t.Errorf("created document = %+v; want version 1, revision 1, a time", c)
	}
	put(doc("field_mapping", "intercom/PLAN_TIER", "intercom", map[string]any{"target": "PLAN_TIER"}), store.MustNotExist)
	put(doc("field_mapping", "other/X", "other", map[string]any{"target": "X"}), store.MustNotExist)
	put(doc("connector", "other", "other", map[string]any{"name": "other"}), store.MustNotExist)

	got, err := s.GetDocument(ctx, "field_mapping", "intercom/PLAN_TIER")
	if err != nil {
		t.Fatal(err)
	}
	if got.ConnectorID != "intercom" || string(got.Body) != `{"target":"PLAN_TIER"}` || got.Revision != 2 {
		t.Errorf("GetDocument = %+v", got)
	}
	if _, err := s.GetDocument(ctx, "field_mapping", "intercom/NOPE"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetDocument missing: %v; want ErrNotFound", err)
	}

	ids := func(opts store.ListOptions) []string {
		docs, err := s.ListDocuments(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, d := range docs {
			out = append(out, d.Kind+":"+d.ID)
		}
		return out
	}
	if diff := cmp.Diff([]string{"connector:intercom", "connector:other", "field_mapping:intercom/PLAN_TIER", "field_mapping:other/X"}, ids(store.ListOptions{})); diff != "" {
		t.Errorf("list all (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"connector:intercom", "field_mapping:intercom/PLAN_TIER"}, ids(store.ListOptions{ConnectorID: "intercom"})); diff != "" {
		t.Errorf("list by connector (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"field_mapping:intercom/PLAN_TIER", "field_mapping:other/X"}, ids(store.ListOptions{Kind: "field_mapping"})); diff != "" {
		t.Errorf("list by kind (-want +got):\n%s", diff)
	}
	if _, err := s.PutDocument(ctx, store.Document{Kind: "connector", ID: "bad", ConnectorID: "bad", Body: []byte("{nope")}, store.AnyVersion); err == nil {
		t.Error("PutDocument accepted a body that is not JSON")
	}
	if rev, _ := s.Revision(ctx); rev != 4 {
		t.Errorf("Revision = %d after 4 writes", rev)
	}
}

func testVersions(t *testing.T, b Backend) {
	ctx := t.Context()
	s, _ := Open(t, b)
	d := doc("connector", "c", "c", map[string]int{"v": 1})
	v1, err := s.PutDocument(ctx, d, store.MustNotExist)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutDocument(ctx, d, store.MustNotExist); !errors.Is(err, store.ErrConflict) {
		t.Errorf("second create: %v; want ErrConflict", err)
	}
	d.Body = json.RawMessage(`{"v":2}`)
	v2, err := s.PutDocument(ctx, d, v1.Version)
	if err != nil || v2.Version != 2 {
		t.Fatalf("update at version 1 = %+v, %v", v2, err)
	}
	if _, err := s.PutDocument(ctx, d, v1.Version); !errors.Is(err, store.ErrConflict) {
		t.Errorf("update at a stale version: %v; want ErrConflict", err)
	}
	v3, err := s.PutDocument(ctx, d, store.AnyVersion)
	if err != nil || v3.Version != 3 {
		t.Errorf("update at any version = %+v, %v", v3, err)
	}
	missing := doc("connector", "missing", "missing", map[string]int{})
	if _, err := s.PutDocument(ctx, missing, 5); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("update of a missing document: %v; want ErrNotFound", err)
	}
	// Failed writes do not move the revision.
	if rev, _ := s.Revision(ctx); rev != 3 {
		t.Errorf("Revision = %d, want 3 (failed writes must not count)", rev)
	}
}

func testDelete(t *testing.T, b Backend) {
	ctx := t.Context()
	s, _ := Open(t, b)
	d, err := s.PutDocument(ctx, doc("list_assignment", "c/35", "c", map[string]int{"list_id": 35}), store.MustNotExist)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteDocument(ctx, d.Kind, d.ID, d.Version+1); !errors.Is(err, store.ErrConflict) {
		t.Errorf("delete at a stale version: %v; want ErrConflict", err)
	}
	if err := s.DeleteDocument(ctx, d.Kind, d.ID, d.Version); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteDocument(ctx, d.Kind, d.ID, store.AnyVersion); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second delete: %v; want ErrNotFound", err)
	}
	if _, err := s.GetDocument(ctx, d.Kind, d.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("get after delete: %v", err)
	}
	if rev, _ := s.Revision(ctx); rev != 2 {
		t.Errorf("Revision = %d, want 2", rev)
	}
}

func testBundles(t *testing.T, b Backend) {
	ctx := t.Context()
	s, _ := Open(t, b)
	c := config.NewConnector("intercom")
	c.Intercom.AccessToken, c.Brevo.APIKey = "env:T", "env:K"
	m := config.FieldMapping{ConnectorID: "intercom", Source: "custom_attributes.plan_tier", Target: "PLAN_TIER", Type: "text", Transform: "none"}
	l := config.ListAssignment{ConnectorID: "intercom", ListID: 35, Rule: "all_users"}
	w := config.WebhookSubscription{ConnectorID: "intercom", Source: "intercom", Topics: []string{"contact.user.updated"}, Secret: "env:S", Path: "/webhooks/intercom"}
	for _, o := range []store.Object{c, m, l, w} {
		if _, err := store.Save(ctx, s, o, store.MustNotExist); err != nil {
			t.Fatal(err)
		}
	}
	bundles, rev, err := store.LoadBundles(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	want := []config.Bundle{{Connector: c, Mappings: []config.FieldMapping{m}, Lists: []config.ListAssignment{l}, Webhooks: []config.WebhookSubscription{w}}}
	if diff := cmp.Diff(want, bundles); diff != "" || rev != 4 {
		t.Errorf("LoadBundles rev %d (-want +got):\n%s", rev, diff)
	}
	// An orphaned child and an undecodable document are reported, and the
	// rest still loads.
	if _, err := s.PutDocument(ctx, doc("field_mapping", "gone/X", "gone", map[string]string{}), store.MustNotExist); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutDocument(ctx, store.Document{Kind: "list_assignment", ID: "intercom/36", ConnectorID: "intercom", Body: json.RawMessage(`{"list_id":"x"}`)}, store.MustNotExist); err != nil {
		t.Fatal(err)
	}
	bundles, _, err = store.LoadBundles(ctx, s)
	if err == nil || len(bundles) != 1 {
		t.Errorf("LoadBundles with bad documents = %d bundles, %v", len(bundles), err)
	}
}

func testStatus(t *testing.T, b Backend) {
	ctx := t.Context()
	s, _ := Open(t, b)
	if _, err := s.GetStatus(ctx, "intercom"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetStatus before any: %v; want ErrNotFound", err)
	}
	st := store.Status{
		ConnectorID: "intercom", Connected: true, State: "idle",
		LastSync:       time.Date(2024, 1, 15, 10, 30, 0, 0, time.UTC),
		ContactsSynced: 14200, ConversationsSynced: 28400, CompaniesSynced: 2100,
		LastError: "x", Errors: []string{"a", "b"},
		Progress:  &store.Progress{Phase: "contacts", Done: 10, Total: 100},
		UpdatedAt: time.Date(2024, 1, 15, 10, 31, 0, 0, time.UTC),
	}
	if err := s.PutStatus(ctx, st); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetStatus(ctx, "intercom")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(st, got); diff != "" {
		t.Errorf("status (-want +got):\n%s", diff)
	}
	st.ContactsSynced = 14201
	st.Progress = nil
	if err := s.PutStatus(ctx, st); err != nil {
		t.Fatal(err)
	}
	got, _ = s.GetStatus(ctx, "intercom")
	if got.ContactsSynced != 14201 || got.Progress != nil {
		t.Errorf("updated status = %+v", got)
	}
	if rev, _ := s.Revision(ctx); rev != 0 {
		t.Errorf("status writes moved the revision to %d", rev)
	}
}

func testCheckpoints(t *testing.T, b Backend) {
	ctx := t.Context()
	s, _ := Open(t, b)
	if _, err := s.GetCheckpoint(ctx, "c", "contacts"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing checkpoint: %v", err)
	}
	for _, v := range [][]byte{[]byte(`{"cursor":"abc"}`), {0, 1, 2, 255}, {}} {
		if err := s.PutCheckpoint(ctx, "c", "contacts", v); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetCheckpoint(ctx, "c", "contacts")
		if err != nil || string(got) != string(v) {
			t.Errorf("checkpoint = %q, %v; want %q", got, err, v)
		}
	}
	if err := s.PutCheckpoint(ctx, "d", "contacts", []byte("other")); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteCheckpoint(ctx, "c", "contacts"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetCheckpoint(ctx, "c", "contacts"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted checkpoint: %v", err)
	}
	if got, _ := s.GetCheckpoint(ctx, "d", "contacts"); string(got) != "other" {
		t.Errorf("other connector's checkpoint = %q", got)
	}
}

func testPurge(t *testing.T, b Backend) {
	ctx := t.Context()
	s, _ := Open(t, b)
	for _, c := range []string{"a", "b"} {
		if err := s.PutStatus(ctx, store.Status{ConnectorID: c}); err != nil {
			t.Fatal(err)
		}
		if err := s.PutCheckpoint(ctx, c, "x", []byte("1")); err != nil {
			t.Fatal(err)
		}
		if _, err := s.PutDocument(ctx, doc("connector", c, c, map[string]string{}), store.MustNotExist); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PurgeConnector(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetStatus(ctx, "a"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("status after purge: %v", err)
	}
	if _, err := s.GetCheckpoint(ctx, "a", "x"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("checkpoint after purge: %v", err)
	}
	if _, err := s.GetStatus(ctx, "b"); err != nil {
		t.Errorf("other connector's status: %v", err)
	}
	if _, err := s.GetDocument(ctx, "connector", "a"); err != nil {
		t.Errorf("purge removed the document: %v", err)
	}
}

func testReopen(t *testing.T, b Backend) {
	ctx := t.Context()
	s, u := Open(t, b)
	if _, err := s.PutDocument(ctx, doc("connector", "c", "c", map[string]string{"a": "b"}), store.MustNotExist); err != nil {
		t.Fatal(err)
	}
	// A second handle on the same store, as the agent beside the provider.
	s2, err := store.Open(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	d, err := s2.GetDocument(ctx, "connector", "c")
	if err != nil || string(d.Body) != `{"a":"b"}` {
		t.Fatalf("second handle reads %+v, %v", d, err)
	}
	if err := s2.PutStatus(ctx, store.Status{ConnectorID: "c", Connected: true}); err != nil {
		t.Fatal(err)
	}
	if st, err := s.GetStatus(ctx, "c"); err != nil || !st.Connected {
		t.Errorf("first handle reads status %+v, %v", st, err)
	}
}

func testConcurrentWriters(t *testing.T, b Backend) {
	ctx := t.Context()
	s, u := Open(t, b)
	agent, err := store.Open(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer agent.Close()
	const providers, docsEach, statusWriters, statusEach = 6, 20, 3, 40
	var wg sync.WaitGroup
	errs := make(chan error, providers*docsEach+statusWriters*statusEach)
	for p := range providers {
		wg.Go(func() {
			for i := range docsEach {
				id := fmt.Sprintf("c/M%d_%d", p, i)
				if _, err := s.PutDocument(ctx, doc("field_mapping", id, "c", map[string]int{"i": i}), store.MustNotExist); err != nil {
					errs <- err
				}
			}
		})
	}
	for w := range statusWriters {
		wg.Go(func() {
			for i := range statusEach {
				if err := agent.PutStatus(ctx, store.Status{ConnectorID: fmt.Sprintf("c%d", w), ContactsSynced: int64(i)}); err != nil {
					errs <- err
				}
				if err := agent.PutCheckpoint(ctx, fmt.Sprintf("c%d", w), "contacts", []byte{byte(i)}); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	rev, err := s.Revision(ctx)
	if err != nil || rev != providers*docsEach {
		t.Errorf("Revision = %d, %v; want %d", rev, err, providers*docsEach)
	}
	docs, _ := agent.ListDocuments(ctx, store.ListOptions{Kind: "field_mapping"})
	if len(docs) != providers*docsEach {
		t.Errorf("%d documents, want %d", len(docs), providers*docsEach)
	}
	seen := map[int64]bool{}
	for _, d := range docs {
		if seen[d.Revision] {
			t.Errorf("revision %d given to two writes", d.Revision)
		}
		seen[d.Revision] = true
	}
	for w := range statusWriters {
		st, err := s.GetStatus(ctx, fmt.Sprintf("c%d", w))
		if err != nil || st.ContactsSynced != statusEach-1 {
			t.Errorf("status c%d = %+v, %v", w, st, err)
		}
	}
}

func contextCancelled(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithCancel(ctx)
}

// rawDB is implemented by SQL stores; the schema test needs to tamper.
type rawDB interface{ SQL() *sql.DB }

func testSchemaTooNew(t *testing.T, b Backend) {
	ctx := context.Background()
	s, u := Open(t, b)
	raw, ok := s.(rawDB)
	if !ok {
		t.Skip("backend exposes no SQL handle")
	}
	if _, err := raw.SQL().ExecContext(ctx, `UPDATE schema_version SET version = 999`); err != nil {
		t.Fatal(err)
	}
	_, err := store.Open(ctx, u)
	if !errors.Is(err, store.ErrSchemaTooNew) {
		t.Fatalf("open of a newer store: %v; want ErrSchemaTooNew", err)
	}
	t.Logf("message: %v", err)
}
