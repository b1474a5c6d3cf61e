package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/tajo/terraform-provider-tajo/agent/sandbox"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox/dataset"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox/expect"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox/fakebrevo"
	"github.com/tajo/terraform-provider-tajo/agent/store"
	"github.com/tajo/terraform-provider-tajo/provider"
)

// e2e is a sandbox served on loopback, a store, and the environment the
// agent runs with.
type e2e struct {
	t       *testing.T
	sb      *sandbox.Sandbox
	ep      sandbox.Endpoints
	store   string
	secrets map[string]string
}

func newE2E(t *testing.T, contacts int) *e2e {
	t.Helper()
	sb := sandbox.New(sandbox.Options{Contacts: contacts, Seed: 11,
		Brevo: []fakebrevo.Option{fakebrevo.WithProcessDelay(20 * time.Millisecond)}})
	srv := httptest.NewServer(sb)
	t.Cleanup(func() { srv.Close(); sb.Close() })
	ep := sb.Endpoints(srv.URL)
	return &e2e{
		t: t, sb: sb, ep: ep,
		store: "sqlite://" + filepath.Join(t.TempDir(), "tajo.db"),
		secrets: map[string]string{
			"INTERCOM_ACCESS_TOKEN": ep.IntercomToken, "BREVO_API_KEY": ep.BrevoAPIKey,
			"INTERCOM_CLIENT_SECRET": ep.IntercomClientSecret,
		},
	}
}

// agent runs a tajo-agent command in-process with the agent's environment.
func (x *e2e) agent(ctx context.Context, args ...string) (int, string) {
	var out bytes.Buffer
	w := &lockedWriter{w: &out}
	env := &env{stdout: w, stderr: w,
		getenv:    func(k string) string { return map[string]string{"TAJO_STORE": x.store}[k] },
		lookupEnv: func(k string) (string, bool) { v, ok := x.secrets[k]; return v, ok },
	}
	code := runEnv(ctx, env, args)
	return code, w.String()
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.String()
}

// quickstart is examples/quickstart with the sandbox's URLs, without its
// terraform block (the test framework supplies the provider).
func (x *e2e) quickstart(extra string) string {
	b, err := os.ReadFile("../../../examples/quickstart/main.tf")
	if err != nil {
		x.t.Fatal(err)
	}
	hcl := string(b)
	start := strings.Index(hcl, "terraform {")
	end := start + strings.Index(hcl[start:], "\n}\n") + 3
	hcl = hcl[:start] + hcl[end:]
	// The status data source changes once the agent runs; these tests
	// read the status from the store instead.
	if i := strings.Index(hcl, `data "tajo_connector_status"`); i >= 0 {
		hcl = hcl[:i]
	}
	hcl = strings.Replace(hcl, `provider "tajo" {}`, fmt.Sprintf("provider \"tajo\" {\n  store = %q\n}", x.store), 1)
	hcl = strings.Replace(hcl, `default     = null
}

variable "brevo_base_url"`, fmt.Sprintf("default     = %q\n}\n\nvariable \"brevo_base_url\"", x.ep.IntercomURL), 1)
	hcl = strings.Replace(hcl, `description = "Brevo API base URL; null means https://api.brevo.com/v3."
  type        = string
  default     = null`, fmt.Sprintf("description = \"Brevo API base URL.\"\n  type        = string\n  default     = %q", x.ep.BrevoURL), 1)
	return hcl + extra
}

// setup is what the quickstart declares, for expect.Compare. List 36
// (active_conversations) is checked by the conversation tests.
var quickstartSetup = expect.Setup{Custom: true, Companies: true, Lists: map[string]int64{"all_users": 35, "leads": 37}}

var factories = map[string]func() (tfprotov6.ProviderServer, error){
	"tajo": providerserver.NewProtocol6WithError(provider.New("e2e")()),
}

func (x *e2e) check(f func() error) resource.TestCheckFunc {
	return func(*terraform.State) error { return f() }
}

func (x *e2e) syncOnce(args ...string) error {
	code, out := x.agent(x.t.Context(), append([]string{"sync", "--once", "--log-level", "warn"}, args...)...)
	x.t.Logf("tajo-agent sync --once %s:\n%s", strings.Join(args, " "), out)
	if code != 0 {
		return fmt.Errorf("tajo-agent sync exited %d", code)
	}
	return nil
}

func contactWrites(w []fakebrevo.Write) map[int64]int {
	n := map[int64]int{}
	for _, x := range w {
		if x.Kind == fakebrevo.WriteContact {
			for _, id := range x.ContactIDs {
				n[id]++
			}
		}
	}
	return n
}

// TestE2E_TerraformApplyAgentSandbox: terraform apply of the quickstart, a
// full sync checked contact by contact, an unchanged re-sync that writes
// nothing, and 1 % churn written alone.
func TestE2E_TerraformApplyAgentSandbox(t *testing.T) {
	x := newE2E(t, 2000)
	var writesBefore int
	changed := map[string]bool{}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories,
		Steps: []resource.TestStep{{
			Config: x.quickstart(""),
			Check: resource.ComposeTestCheckFunc(
				x.check(func() error { return x.syncOnce() }),
				x.check(func() error {
					r := expect.Compare(x.sb, quickstartSetup)
					t.Logf("full sync: %d contacts, %d leads without email skipped, %d companies", r.Contacts, r.Skipped, r.Companies)
					return r.Err()
				}),
				x.check(func() error {
					writesBefore = len(x.sb.Brevo.Writes())
					if err := x.syncOnce(); err != nil {
						return err
					}
					for _, w := range x.sb.Brevo.Writes()[writesBefore:] {
						if w.Kind != fakebrevo.WriteAttribute {
							return fmt.Errorf("unchanged re-sync wrote to Brevo: %+v", w)
						}
					}
					return nil
				}),
				x.check(func() error {
					ids := x.sb.Intercom.ContactIDs()
					for i := 3; i < len(ids); i += 100 { // 1 %
						c, _ := x.sb.Intercom.Contact(ids[i])
						if c.Email == "" {
							continue
						}
						changed[ids[i]] = true
						if err := x.sb.Intercom.UpdateContact(ids[i], func(c *dataset.Contact) {
							c.CustomAttributes["plan_tier"] = "churned-" + c.ID[len(c.ID)-3:]
						}); err != nil {
							return err
						}
					}
					writesBefore = len(x.sb.Brevo.Writes())
					if err := x.syncOnce(); err != nil {
						return err
					}
					written := contactWrites(x.sb.Brevo.Writes()[writesBefore:])
					for id := range written {
						c, _ := x.sb.Brevo.ContactByID(id)
						if !changed[c.ExtID] {
							return fmt.Errorf("contact %s written although unchanged", c.ExtID)
						}
					}
					if len(written) != len(changed) {
						return fmt.Errorf("%d contacts written for %d changed", len(written), len(changed))
					}
					t.Logf("1%% churn: %d contacts changed, %d written", len(changed), len(written))
					return expect.Compare(x.sb, quickstartSetup).Err()
				}),
			),
		}},
	})
}

// TestE2E_ReloadWithoutRestart: terraform apply of a new mapping while
// `tajo-agent run` is active takes effect on every contact, with no
// restart.
func TestE2E_ReloadWithoutRestart(t *testing.T) {
	x := newE2E(t, 500)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	var runOut func() string
	waitFor := func(what string, ok func() bool) error {
		deadline := time.Now().Add(90 * time.Second)
		for time.Now().Before(deadline) {
			if ok() {
				return nil
			}
			time.Sleep(200 * time.Millisecond)
		}
		return fmt.Errorf("timed out waiting for %s; agent output:\n%s", what, runOut())
	}
	synced := func() bool {
		st, err := store.Open(context.Background(), x.store)
		if err != nil {
			return false
		}
		defer st.Close()
		s, err := st.GetStatus(context.Background(), "intercom")
		return err == nil && !s.LastSync.IsZero()
	}
	mapping := `
resource "tajo_field_mapping" "country" {
  connector_id = tajo_connector.intercom.id
  source       = "location.country"
  target       = "COUNTRY"
}
`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories,
		Steps: []resource.TestStep{
			{
				Config: x.quickstart(""),
				Check: x.check(func() error {
					var out lockedWriter
					out.w = &bytes.Buffer{}
					runOut = out.String
					wg.Add(1)
					go func() {
						defer wg.Done()
						env := &env{stdout: &out, stderr: &out, getenv: func(string) string { return "" },
							lookupEnv: func(k string) (string, bool) { v, ok := x.secrets[k]; return v, ok }}
						runEnv(ctx, env, []string{"run", "--store", x.store, "--log-level", "info"})
					}()
					return waitFor("the first sync", synced)
				}),
			},
			{
				Config: x.quickstart(mapping),
				Check: x.check(func() error {
					err := waitFor("COUNTRY on every contact", func() bool {
						missing := 0
						for _, id := range x.sb.Intercom.ContactIDs() {
							c, _ := x.sb.Intercom.Contact(id)
							if c.Email == "" || c.Country == "" {
								continue
							}
							bc, ok := x.sb.Brevo.ContactByExtID(id)
							if !ok || bc.Attributes["COUNTRY"] != c.Country {
								missing++
							}
						}
						return missing == 0
					})
					if err != nil {
						return err
					}
					if n := strings.Count(runOut(), "agent starting"); n != 1 {
						return fmt.Errorf("agent started %d times", n)
					}
					if !strings.Contains(runOut(), "configuration changed since the last full pass") {
						return fmt.Errorf("no full pass after the mapping change:\n%s", runOut())
					}
					return nil
				}),
			},
		},
	})
}
