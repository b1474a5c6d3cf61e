package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tajo/terraform-provider-tajo/agent/config"
	"github.com/tajo/terraform-provider-tajo/agent/metrics"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox"
	"github.com/tajo/terraform-provider-tajo/agent/store"
	"github.com/tajo/terraform-provider-tajo/agent/sync"
)

// admin is a sandbox, a store URL holding one connector pointed at it, and
// the agent's environment.
type admin struct {
	t       *testing.T
	url     string
	secrets map[string]string
}

const wrongToken = "not-the-token-0123456789"

func newAdmin(t *testing.T) *admin {
	t.Helper()
	o := sandbox.Options{Contacts: 20, Seed: 5}
	o.Intercom.ScrollOpensPerMinute = -1
	sb := sandbox.New(o)
	srv := httptest.NewServer(sb)
	t.Cleanup(func() { srv.Close(); sb.Close() })
	ep := sb.Endpoints(srv.URL)
	a := &admin{t: t, url: "sqlite://" + filepath.Join(t.TempDir(), "tajo.db"),
		secrets: map[string]string{"INTERCOM_ACCESS_TOKEN": ep.IntercomToken, "BREVO_API_KEY": ep.BrevoAPIKey}}
	st := a.open()
	defer st.Close()
	c := config.NewConnector("intercom")
	c.Intercom.AccessToken, c.Brevo.APIKey = "env:INTERCOM_ACCESS_TOKEN", "env:BREVO_API_KEY"
	c.Intercom.BaseURL, c.Brevo.BaseURL = ep.IntercomURL, ep.BrevoURL
	c.Intercom.Plan = config.PlanPremium
	c.Sync = config.Sync{Contacts: true}
	c.Mode = config.ModeBatch
	for _, obj := range []store.Object{c, config.ListAssignment{ConnectorID: "intercom", ListID: 35, Rule: "all_users"}} {
		if _, err := store.Save(t.Context(), st, obj, store.AnyVersion); err != nil {
			t.Fatal(err)
		}
	}
	return a
}

func (a *admin) open() store.Store {
	a.t.Helper()
	st, err := store.Open(a.t.Context(), a.url)
	if err != nil {
		a.t.Fatal(err)
	}
	return st
}

// output collects what a command writes, from several goroutines.
type output struct {
	mu gosync.Mutex
	b  strings.Builder
}

func (o *output) Write(p []byte) (int, error) { o.mu.Lock(); defer o.mu.Unlock(); return o.b.Write(p) }

func (o *output) String() string { o.mu.Lock(); defer o.mu.Unlock(); return o.b.String() }

func (a *admin) env() *env {
	w := &output{}
	return &env{stdout: w, stderr: w,
		getenv:    func(k string) string { return map[string]string{"TAJO_STORE": a.url}[k] },
		lookupEnv: func(k string) (string, bool) { v, ok := a.secrets[k]; return v, ok },
	}
}

// serve returns the admin endpoints over st and a supervisor that is not
// running yet; run starts it until the test ends.
func (a *admin) serve(st store.Store) (base string, sup *sync.Supervisor, run func()) {
	a.t.Helper()
	log := hclog.New(&hclog.LoggerOptions{Level: hclog.Error, Output: io.Discard})
	sup = sync.NewSupervisor(st, a.env().engineOptions(log, "test-agent"))
	sup.Poll = 50 * time.Millisecond
	reg := metrics.NewRegistry(metrics.NewCollector(st, sup, metrics.Options{Version: "test"}))
	srv := httptest.NewServer(newAdminMux(st, sup, metrics.Handler(reg, log)))
	a.t.Cleanup(srv.Close)
	run = func() {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); _ = sup.Run(ctx) }()
		a.t.Cleanup(func() { cancel(); <-done })
	}
	return srv.URL, sup, run
}

// get returns the status and body of a GET.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// checked waits for the connector's first connection check.
func checked(t *testing.T, sup *sync.Supervisor) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if e := sup.Engine("intercom"); e != nil {
			if ok, _ := e.Connection(); ok {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("no connection check within 30 s")
}

func TestReadyz(t *testing.T) {
	t.Parallel()
	a := newAdmin(t)
	st := a.open()
	defer st.Close()
	base, sup, run := a.serve(st)

	if code, body := get(t, base+"/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz = %d %q", code, body)
	}
	if code, body := get(t, base+"/readyz"); code != 503 || !strings.Contains(body, "configuration not loaded yet") {
		t.Errorf("/readyz before the configuration loaded = %d %q", code, body)
	}

	run()
	checked(t, sup)
	if code, body := get(t, base+"/readyz"); code != 200 || body != "ready\n" {
		t.Errorf("/readyz = %d %q", code, body)
	}
	if err := testutil.ScrapeAndCompare(base+"/metrics", strings.NewReader(`
# HELP tajo_build_info Always 1; the version label is the agent's version.
# TYPE tajo_build_info gauge
tajo_build_info{version="test"} 1
# HELP tajo_store_up 1 when every store query of this scrape succeeded in time, else 0.
# TYPE tajo_store_up gauge
tajo_store_up 1
`), "tajo_build_info", "tajo_store_up"); err != nil {
		t.Error(err)
	}

	// The store goes away: not ready, and why; still alive.
	st.Close()
	if code, body := get(t, base+"/readyz"); code != 503 || !strings.HasPrefix(body, "store unreachable: ") {
		t.Errorf("/readyz with a closed store = %d %q", code, body)
	}
	if code, _ := get(t, base+"/healthz"); code != 200 {
		t.Errorf("/healthz with a closed store = %d", code)
	}
	if code, body := get(t, base+"/metrics"); code != 200 || !strings.Contains(body, "tajo_store_up 0") {
		t.Errorf("/metrics with a closed store = %d, tajo_store_up 0 missing", code)
	}
}

func TestReadyzRejectedToken(t *testing.T) {
	t.Parallel()
	a := newAdmin(t)
	a.secrets["INTERCOM_ACCESS_TOKEN"] = wrongToken
	st := a.open()
	defer st.Close()
	base, sup, run := a.serve(st)
	run()
	checked(t, sup)
	code, body := get(t, base+"/readyz")
	t.Logf("/readyz: %d\n%s", code, body)
	if code != 503 {
		t.Fatalf("/readyz with a rejected token = %d %q", code, body)
	}
	for _, want := range []string{"connector intercom: credentials rejected: intercom: ", "401", "fix (401 Unauthorized (Intercom)): ", "regenerate it"} {
		if !strings.Contains(body, want) {
			t.Errorf("/readyz body lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, wrongToken) {
		t.Errorf("/readyz shows the token:\n%s", body)
	}
	if code, _ := get(t, base+"/healthz"); code != 200 {
		t.Errorf("/healthz = %d", code)
	}
}

// freeAddr returns a loopback address nobody listens on (for a moment).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestRunAdminListen(t *testing.T) {
	t.Parallel()
	a := newAdmin(t)

	e := a.env()
	if code := runEnv(t.Context(), e, []string{"run", "--listen", "127.0.0.1:1", "--admin-listen", "127.0.0.1:1"}); code != exitUsage {
		t.Errorf("run with the same address twice: exit %d, want %d", code, exitUsage)
	}

	public, private := freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(t.Context())
	e = a.env()
	done := make(chan int, 1)
	go func() {
		done <- runEnv(ctx, e, []string{"run", "--listen", public, "--admin-listen", private, "--log-format", "json"})
	}()
	ready := false
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && !ready; time.Sleep(20 * time.Millisecond) {
		if resp, err := http.Get("http://" + private + "/readyz"); err == nil {
			resp.Body.Close()
			ready = resp.StatusCode == http.StatusOK
		}
	}
	if !ready {
		cancel()
		<-done
		t.Fatalf("--admin-listen %s never became ready; output:\n%s", private, e.stderr)
	}
	if code, body := get(t, "http://"+private+"/metrics"); code != 200 || !strings.Contains(body, `tajo_records_total{connector="intercom",outcome="read",resource="contacts"}`) {
		t.Errorf("/metrics on --admin-listen = %d:\n%.500s", code, body)
	}
	for _, path := range []string{"/metrics", "/readyz", "/healthz"} {
		if code, _ := get(t, "http://"+public+path); code != http.StatusNotFound {
			t.Errorf("%s on --listen with --admin-listen = %d, want 404", path, code)
		}
	}
	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("run exited %d; output:\n%s", code, e.stderr)
		}
	case <-time.After(time.Minute):
		t.Fatal("run did not stop within a minute of its context ending")
	}
	out := fmt.Sprint(e.stderr)
	for _, want := range []string{`"@message":"listening"`, `"serves":"webhooks"`, `"serves":"health and metrics"`, `"@message":"agent stopped"`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
}

// TestStatusUnknownEvents: Brevo events whose answer was lost are
// counted in the status, as text and JSON.
func TestStatusUnknownEvents(t *testing.T) {
	a := newAdmin(t)
	st := a.open()
	for _, b := range []store.Batch{
		{Events: []store.Event{{Key: "a", Payload: []byte(`{}`)}, {Key: "b", Payload: []byte(`{}`)}}},
		{EventUpdates: []store.EventUpdate{{Keys: []string{"a", "b"}, State: store.EventUnknown}}},
	} {
		if err := st.Apply(t.Context(), "intercom", b); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	code, out, errs := runCLI(t, "status", "--store", a.url)
	if code != exitOK || !strings.Contains(out, "intercom: 2 Brevo events of unknown outcome") {
		t.Errorf("status: exit %d\n%s%s", code, out, errs)
	}
	code, out, _ = runCLI(t, "status", "--json", "--store", a.url, "intercom")
	var s struct{ EventsUnknown int64 }
	if err := json.Unmarshal([]byte(out), &s); code != exitOK || err != nil || s.EventsUnknown != 2 {
		t.Errorf("status --json: exit %d, eventsUnknown %d (%v)\n%s", code, s.EventsUnknown, err, out)
	}
}
