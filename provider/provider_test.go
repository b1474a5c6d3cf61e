package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/tajo/terraform-provider-tajo/agent/config"
	"github.com/tajo/terraform-provider-tajo/agent/store"
	"github.com/tajo/terraform-provider-tajo/agent/store/postgres/pgtest"
)

// protoV6 serves the provider in-process to the Terraform CLI under test.
var protoV6 = map[string]func() (tfprotov6.ProviderServer, error){
	"tajo": providerserver.NewProtocol6WithError(New("test")()),
}

// testStore is a store for one acceptance test: its URL for the provider
// block, and a handle for the test to inspect and tamper with.
type testStore struct {
	URL  string
	Path string
	S    store.Store
}

// newTestStore returns a fresh store: SQLite, or PostgreSQL when
// TAJO_TEST_STORE_BACKEND=postgres (see TestMain).
func newTestStore(t *testing.T) *testStore {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tajo.db")
	u := "sqlite://" + p
	if newBackendURL != nil {
		u, p = newBackendURL(t), ""
	}
	s, err := store.Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return &testStore{URL: u, Path: p, S: s}
}

// newBackendURL, when set by TestMain, provides store URLs of another backend.
var newBackendURL func(t *testing.T) string

// TestMain runs the acceptance tests against SQLite, or against a
// throwaway PostgreSQL cluster with TAJO_TEST_STORE_BACKEND=postgres
// (make test runs both).
func TestMain(m *testing.M) {
	if os.Getenv("TAJO_TEST_STORE_BACKEND") == "postgres" {
		newBackendURL = func(t *testing.T) string { return pgtest.NewURL(t) }
		pgtest.Main(m)
		return
	}
	os.Exit(m.Run())
}

func (ts *testStore) provider() string {
	return fmt.Sprintf("provider \"tajo\" {\n  store = %q\n}\n", ts.URL)
}

// connectorHCL is a minimal valid connector, labelled as it is named.
func connectorHCL(name, extra string) string { return connectorNamed(name, name, extra) }

// connectorNamed is a minimal valid connector.
func connectorNamed(label, name, extra string) string {
	return fmt.Sprintf(`
resource "tajo_connector" %[3]q {
  name = %[1]q
  intercom = {
    access_token = "env:INTERCOM_ACCESS_TOKEN"
  }
  brevo = {
    api_key = "env:BREVO_API_KEY"
  }
%[2]s
}
`, name, extra, label)
}

func storeSave(ts *testStore, obj store.Object) (store.Document, error) {
	return store.Save(context.Background(), ts.S, obj, store.MustNotExist)
}

func writeFile(path, content string) error { return os.WriteFile(path, []byte(content), 0o600) }

// checkDoc asserts a document's decoded body.
func (ts *testStore) checkDoc(kind, id string, check func(body map[string]any) error) resource.TestCheckFunc {
	return func(*terraform.State) error {
		d, err := ts.S.GetDocument(context.Background(), kind, id)
		if err != nil {
			return err
		}
		var body map[string]any
		if err := json.Unmarshal(d.Body, &body); err != nil {
			return err
		}
		if check == nil {
			return nil
		}
		return check(body)
	}
}

func (ts *testStore) checkNoDoc(kind, id string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		_, err := ts.S.GetDocument(context.Background(), kind, id)
		if !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("%s %s still in the store (err %v)", kind, id, err)
		}
		return nil
	}
}

// checkEmpty is a CheckDestroy: no configuration document is left.
func (ts *testStore) checkEmpty(*terraform.State) error {
	docs, err := ts.S.ListDocuments(context.Background(), store.ListOptions{})
	if err != nil {
		return err
	}
	if len(docs) > 0 {
		ids := make([]string, len(docs))
		for i, d := range docs {
			ids[i] = d.Kind + ":" + d.ID
		}
		return fmt.Errorf("destroy left %d documents in the store: %v", len(docs), ids)
	}
	return nil
}

// edit changes a stored document behind Terraform's back (drift).
func (ts *testStore) edit(t *testing.T, kind, id string, change func(map[string]any)) func() {
	return func() {
		ctx := context.Background()
		d, err := ts.S.GetDocument(ctx, kind, id)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		if err := json.Unmarshal(d.Body, &body); err != nil {
			t.Fatal(err)
		}
		change(body)
		d.Body, _ = json.Marshal(body)
		if _, err := ts.S.PutDocument(ctx, d, d.Version); err != nil {
			t.Fatal(err)
		}
	}
}

func (ts *testStore) remove(t *testing.T, kind, id string) func() {
	return func() {
		if err := ts.S.DeleteDocument(context.Background(), kind, id, store.AnyVersion); err != nil {
			t.Fatal(err)
		}
	}
}

func expectAction(addr string, a plancheck.ResourceActionType) resource.ConfigPlanChecks {
	return resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(addr, a)}}
}

// noCanary fails when a canary appears in a plan or state rendered as JSON.
type noCanary struct{ canaries []string }

func (c noCanary) find(what string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	for _, canary := range c.canaries {
		if strings.Contains(string(b), canary) {
			return fmt.Errorf("secret canary found in the %s", what)
		}
	}
	return nil
}

func (c noCanary) CheckPlan(_ context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	resp.Error = c.find("plan", req.Plan)
}

func (c noCanary) CheckState(_ context.Context, req statecheck.CheckStateRequest, resp *statecheck.CheckStateResponse) {
	resp.Error = c.find("state", req.State)
}

// inStore fails when a canary appears in any document or status of the
// store, and for SQLite in its files (database, WAL and shared memory).
func (c noCanary) inStore(ts *testStore) resource.TestCheckFunc {
	return func(st *terraform.State) error {
		docs, err := ts.S.ListDocuments(context.Background(), store.ListOptions{})
		if err != nil {
			return err
		}
		if len(docs) == 0 {
			return errors.New("no documents to search")
		}
		if err := c.find("store documents", docs); err != nil {
			return err
		}
		if ts.Path == "" {
			return nil
		}
		return c.inFiles(ts.Path)(st)
	}
}

// inFiles fails when a canary appears in the files of an SQLite store.
func (c noCanary) inFiles(path string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		matches, _ := filepath.Glob(path + "*")
		if len(matches) == 0 {
			return fmt.Errorf("no store files at %s", path)
		}
		for _, m := range matches {
			b, err := os.ReadFile(m)
			if err != nil {
				return err
			}
			for _, canary := range c.canaries {
				if strings.Contains(string(b), canary) {
					return fmt.Errorf("secret canary found in store file %s", m)
				}
			}
		}
		return nil
	}
}

func TestProviderStoreRequired(t *testing.T) {
	t.Setenv(EnvStore, "")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6,
		Steps: []resource.TestStep{{
			Config:      connectorHCL("intercom", ""),
			ExpectError: regexpMust(`(?s)No store configured.*TAJO_STORE`),
		}},
	})
}

func TestProviderStoreFromEnv(t *testing.T) {
	ts := newTestStore(t)
	t.Setenv(EnvStore, ts.URL)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6,
		CheckDestroy:             ts.checkEmpty,
		Steps: []resource.TestStep{{
			Config: connectorHCL("intercom", ""),
			Check:  ts.checkDoc(config.KindConnector, "intercom", nil),
		}},
	})
}

func TestProviderBadStoreURL(t *testing.T) {
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: protoV6,
		Steps: []resource.TestStep{{
			Config:      "provider \"tajo\" {\n store = \"mysql://db/tajo\"\n}\n" + connectorHCL("intercom", ""),
			ExpectError: regexpMust(`(?s)Cannot open the store.*"mysql" is not supported`),
		}},
	})
}
