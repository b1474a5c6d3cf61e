package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/jackc/pgx/v5"

	"github.com/tajo/terraform-provider-tajo/agent/sandbox"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox/dataset"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox/fakebrevo"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox/fakeintercom"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox/harness"
	"github.com/tajo/terraform-provider-tajo/agent/store"
	"github.com/tajo/terraform-provider-tajo/agent/store/postgres/pgtest"
)

// canaries are secret values that must never appear outside the agent's
// memory and the API requests they authenticate.
type canaries struct {
	values map[string]string // name → value
	mu     gosync.Mutex
	// searched counts the places searched; hits lists what was found.
	searched int
	hits     []string
}

func newCanaries(names ...string) *canaries {
	c := &canaries{values: map[string]string{}}
	for _, n := range names {
		var b [10]byte
		rand.Read(b[:])
		c.values[n] = "canary-" + strings.ToLower(strings.ReplaceAll(n, "_", "-")) + "-" + hex.EncodeToString(b[:])
	}
	return c
}

// search records every canary found in what, also URL-, JSON- and
// hex-encoded, and in fragments of 12 characters (a truncated echo).
func (c *canaries) search(where string, data []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.searched++
	text := string(data)
	lower := strings.ToLower(text)
	for name, v := range c.values {
		forms := []string{v, url.QueryEscape(v), hex.EncodeToString([]byte(v)), v[len(v)-12:]}
		if b, _ := json.Marshal(v); len(b) > 2 {
			forms = append(forms, string(b[1:len(b)-1]))
		}
		for _, f := range forms {
			if strings.Contains(text, f) || strings.Contains(lower, strings.ToLower(f)) {
				c.hits = append(c.hits, fmt.Sprintf("%s in %s", name, where))
				break
			}
		}
	}
}

// TestSecretsCanary places canary values in the secrets the references
// name — the Intercom access token and the webhook signing secret in
// environment variables, the Brevo API key and the Brevo webhook token in
// files (the API key's with loose permissions) — then runs terraform apply
// with everything the agent can log turned on (debug, log_level trace,
// log_webhooks), a sync against the sandbox, signed and forged webhook
// deliveries from both sides, and errors provoked by an API that echoes
// the credentials back. It searches the Terraform plans and states, every
// log and command output, /metrics, the status, and the store (SQLite
// file bytes; every PostgreSQL table dumped as text) for the canaries:
// there must be none.
func TestSecretsCanary(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) { secretsCanary(t, backend) })
	}
}

func secretsCanary(t *testing.T, backend string) {
	c := newCanaries("INTERCOM_ACCESS_TOKEN", "BREVO_API_KEY", "INTERCOM_CLIENT_SECRET", "BREVO_WEBHOOK_TOKEN")
	secretDir := t.TempDir()
	brevoKeyFile := filepath.Join(secretDir, "brevo_api_key")
	hookTokenFile := filepath.Join(secretDir, "brevo_webhook_token")
	// The key's file is readable by everyone: the agent must warn.
	if err := os.WriteFile(brevoKeyFile, []byte(c.values["BREVO_API_KEY"]+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(brevoKeyFile, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(hookTokenFile, []byte(c.values["BREVO_WEBHOOK_TOKEN"]), 0o600); err != nil {
		t.Fatal(err)
	}

	sb := sandbox.New(sandbox.Options{Contacts: 120, Seed: 5,
		Intercom: fakeintercom.Options{Tokens: []string{c.values["INTERCOM_ACCESS_TOKEN"]}, ClientSecret: c.values["INTERCOM_CLIENT_SECRET"], ScrollOpensPerMinute: -1},
		Brevo:    []fakebrevo.Option{fakebrevo.WithAPIKey(c.values["BREVO_API_KEY"]), fakebrevo.WithProcessDelay(20 * time.Millisecond)}})
	api := httptest.NewServer(sb)
	t.Cleanup(func() { api.Close(); sb.Close() })
	ep := sb.Endpoints(api.URL)

	storeURL := "sqlite://" + filepath.Join(t.TempDir(), "tajo.db")
	if backend == "postgres" {
		storeURL = pgtest.NewURL(t)
		if u, err := url.Parse(storeURL); err == nil {
			if pw, ok := u.User.Password(); ok && len(pw) >= 8 {
				c.values["POSTGRES_PASSWORD"] = pw // the store URL's password is a secret too
			}
		}
	}
	t.Setenv("TAJO_STORE", storeURL) // the provider reads it; no URL in the configuration
	agentEnv := map[string]string{
		"INTERCOM_ACCESS_TOKEN": c.values["INTERCOM_ACCESS_TOKEN"], "INTERCOM_CLIENT_SECRET": c.values["INTERCOM_CLIENT_SECRET"],
	}
	addr, admin := freeAddr(t), freeAddr(t)
	hcl := fmt.Sprintf(`
resource "tajo_connector" "intercom" {
  name = "intercom"
  intercom = {
    access_token  = "env:INTERCOM_ACCESS_TOKEN"
    client_secret = "env:INTERCOM_CLIENT_SECRET"
    base_url      = %q
    plan          = "premium"
  }
  brevo = {
    api_key  = "file:%s"
    base_url = %q
  }
  sync         = { contacts = true, companies = true, tags = true }
  direction    = "bidirectional"
  mode         = "hybrid"
  debug        = true
  log_level    = "trace"
  log_webhooks = true
}

resource "tajo_field_mapping" "plan_tier" {
  connector_id = tajo_connector.intercom.id
  source       = "custom_attributes.plan_tier"
  target       = "PLAN_TIER"
}

resource "tajo_list_assignment" "all_users" {
  connector_id = tajo_connector.intercom.id
  list_id      = 35
  rule         = "all_users"
}

resource "tajo_webhook_subscription" "intercom" {
  connector_id = tajo_connector.intercom.id
  source       = "intercom"
  topics       = ["contact.updated", "contact.deleted"]
  secret       = "env:INTERCOM_CLIENT_SECRET"
  path         = "/webhooks/intercom"
}

resource "tajo_webhook_subscription" "brevo" {
  connector_id = tajo_connector.intercom.id
  source       = "brevo"
  topics       = ["unsubscribed"]
  secret       = "file:%s"
  path         = "/webhooks/brevo"
}
`, ep.IntercomURL, brevoKeyFile, ep.BrevoURL, hookTokenFile)
	status := `
data "tajo_connector_status" "intercom" {
  connector_id = tajo_connector.intercom.id
}
`

	var outputs []*lockedWriter
	cmd := func(ctx context.Context, args ...string) (int, string) {
		out := &lockedWriter{w: &bytes.Buffer{}}
		outputs = append(outputs, out)
		env := &env{stdout: out, stderr: out, getenv: func(k string) string { return map[string]string{"TAJO_STORE": storeURL}[k] },
			lookupEnv: func(k string) (string, bool) { v, ok := agentEnv[k]; return v, ok }}
		code := runEnv(ctx, env, args)
		return code, out.String()
	}
	var metricsBody []byte
	runAgentAndProvoke := func() error {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := make(chan int, 1)
		go func() {
			code, _ := cmd(ctx, "run", "--listen", addr, "--admin-listen", admin, "--public-url", "http://"+addr, "--log-level", "trace")
			done <- code
		}()
		st, err := store.Open(context.Background(), storeURL)
		if err != nil {
			return err
		}
		defer st.Close()
		if !crashWaitUntil(2*time.Minute, func() bool {
			s, err := st.GetStatus(context.Background(), "intercom")
			return err == nil && !s.LastSync.IsZero()
		}) {
			return fmt.Errorf("no first sync:\n%s", outputs[len(outputs)-1].String())
		}
		// Signed and forged Intercom deliveries; a Brevo unsubscribe
		// delivered with the registered bearer token, and a forged one.
		hook := "http://" + addr + "/webhooks/intercom"
		var users []string
		for _, id := range sb.Intercom.ContactIDs() {
			if ct, _ := sb.Intercom.Contact(id); ct.Email != "" && ct.Role == "user" {
				users = append(users, id)
			}
		}
		for _, id := range users[:5] {
			n, err := sb.Intercom.Notify("contact.user.updated", id)
			if err != nil {
				return err
			}
			if code, err := sb.Intercom.Deliver(context.Background(), hook, n); err != nil || code != http.StatusOK {
				return fmt.Errorf("signed delivery: %d %v", code, err)
			}
			b, _ := json.Marshal(n)
			if code, _ := fakeintercom.DeliverRaw(context.Background(), hook, "not-the-secret", b); code != http.StatusUnauthorized {
				return fmt.Errorf("forged delivery: %d", code)
			}
		}
		if len(sb.Brevo.Webhooks()) == 0 {
			return fmt.Errorf("the Brevo webhook was not registered")
		}
		ct, _ := sb.Intercom.Contact(users[6])
		if _, err := sb.Brevo.Unsubscribe(context.Background(), ct.Email, nil); err != nil {
			return err
		}
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/webhooks/brevo", strings.NewReader(`{"event":"unsubscribe","email":"x@example.com"}`))
		req.Header.Set("Authorization", "Bearer guess")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
		crashWaitUntil(10*time.Second, func() bool {
			c2, _ := sb.Intercom.Contact(users[6])
			return c2.UnsubscribedFromEmails
		})
		// APIs that echo the credentials in their errors.
		sb.Intercom.Harness().Inject(
			harness.Fault{Kind: harness.FaultStatus, PathPrefix: "/me", Status: 401, Code: "unauthorized", Count: 2,
				Message: "Access Token Invalid: Bearer " + c.values["INTERCOM_ACCESS_TOKEN"]},
			harness.Fault{Kind: harness.FaultStatus, Method: http.MethodGet, PathPrefix: "/contacts", Status: 500, Code: "server_error", Count: 2,
				Message: "upstream rejected token " + c.values["INTERCOM_ACCESS_TOKEN"]})
		sb.Brevo.Harness().Inject(
			harness.Fault{Kind: harness.FaultStatus, PathPrefix: sandbox.BrevoPath + "/account", Status: 401, Code: "unauthorized", Count: 2,
				Message: "Key not found: " + c.values["BREVO_API_KEY"]},
			harness.Fault{Kind: harness.FaultStatus, Method: http.MethodPost, PathPrefix: sandbox.BrevoPath + "/contacts", Status: 400,
				Code: "invalid_parameter", Count: 3, Message: "api-key " + c.values["BREVO_API_KEY"] + " is not allowed"})
		for _, id := range users[7:20] {
			_ = sb.Intercom.UpdateContact(id, func(ct *dataset.Contact) { ct.CustomAttributes["plan_tier"] = "canary-run" })
		}
		time.Sleep(1500 * time.Millisecond)
		for _, p := range []string{"/metrics", "/readyz", "/healthz"} {
			resp, err := http.Get("http://" + admin + p)
			if err != nil {
				return err
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			c.search("GET "+p, b)
			if p == "/metrics" {
				metricsBody = b
			}
		}
		cancel()
		if code := <-done; code != exitOK {
			return fmt.Errorf("run exited %d", code)
		}
		// One-shot commands with the faults still armed.
		cmd(context.Background(), "test")
		cmd(context.Background(), "sync", "--once", "--full", "--log-level", "trace")
		cmd(context.Background(), "status")
		cmd(context.Background(), "status", "--json")
		cmd(context.Background(), "inbox")
		return nil
	}

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: factories,
		Steps: []resource.TestStep{
			{
				Config:            hcl,
				ConfigPlanChecks:  resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{c}},
				ConfigStateChecks: []statecheck.StateCheck{c},
				Check:             func(*terraform.State) error { return runAgentAndProvoke() },
			},
			{
				Config:            hcl + status,
				ConfigPlanChecks:  resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{c}},
				ConfigStateChecks: []statecheck.StateCheck{c},
				Check: resource.ComposeTestCheckFunc(
					resource.TestCheckResourceAttrSet("data.tajo_connector_status.intercom", "last_sync"),
				),
			},
		},
	})
	if t.Failed() {
		return
	}
	all := ""
	for i, o := range outputs {
		c.search(fmt.Sprintf("output of agent command %d", i+1), []byte(o.String()))
		all += o.String()
	}
	if !strings.Contains(all, "secret file permissions") || !strings.Contains(all, brevoKeyFile) {
		t.Errorf("no warning about the secret file readable by others (%s)", brevoKeyFile)
	}
	for _, want := range []string{"webhook rejected", "[redacted]"} {
		if !strings.Contains(all, want) {
			t.Errorf("the logs lack %q: the provoked errors did not happen", want)
		}
	}
	if !bytes.Contains(metricsBody, []byte("tajo_api_requests_total")) {
		t.Error("no metrics scraped")
	}
	dumpStore(t, c, backend, storeURL)
	// The search works: a control with each canary is found.
	probe := &canaries{values: c.values}
	for name, v := range c.values {
		probe.search("control "+name, []byte("…"+v[len(v)-14:]+"…"))
	}
	if len(probe.hits) != len(c.values) {
		t.Fatalf("the search misses canaries: %v", probe.hits)
	}
	t.Logf("%s: %d canaries searched in %d places (plans, states, %d command outputs, /metrics, store): %d hits",
		backend, len(c.values), c.searched, len(outputs), len(c.hits))
	if len(c.hits) > 0 {
		t.Errorf("secret canaries found: %v", c.hits)
	}
}

// dumpStore searches the whole store: the SQLite files byte for byte, or
// every PostgreSQL table rendered as text.
func dumpStore(t *testing.T, c *canaries, backend, storeURL string) {
	t.Helper()
	if backend == "sqlite" {
		path := strings.TrimPrefix(storeURL, "sqlite://")
		files, _ := filepath.Glob(path + "*")
		if len(files) == 0 {
			t.Fatal("no store files")
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			c.search("store file "+filepath.Base(f), b)
		}
		return
	}
	conn, err := pgx.Connect(t.Context(), storeURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(t.Context(), `SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) FROM information_schema.tables
		WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND table_type = 'BASE TABLE'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	if len(tables) < 5 {
		t.Fatalf("only %d tables in the PostgreSQL store: %v", len(tables), tables)
	}
	for _, tbl := range tables {
		rows, err := conn.Query(t.Context(), "SELECT t::text FROM "+tbl+" t")
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			buf.WriteString(line + "\n")
		}
		rows.Close()
		c.search("table "+tbl, buf.Bytes())
	}
}

// searchJSON searches v rendered as JSON.
func (c *canaries) searchJSON(where string, v any) error {
	b, err := json.Marshal(v)
	if err == nil {
		c.search(where, b)
	}
	return err
}

// CheckPlan searches a plan (a plancheck.PlanCheck).
func (c *canaries) CheckPlan(_ context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	resp.Error = c.searchJSON("terraform plan", req.Plan)
}

// CheckState searches a state (a statecheck.StateCheck).
func (c *canaries) CheckState(_ context.Context, req statecheck.CheckStateRequest, resp *statecheck.CheckStateResponse) {
	resp.Error = c.searchJSON("terraform state", req.State)
}
