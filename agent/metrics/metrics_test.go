package metrics_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/tajo/terraform-provider-tajo/agent/config"
	"github.com/tajo/terraform-provider-tajo/agent/metrics"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox/fakebrevo"
	"github.com/tajo/terraform-provider-tajo/agent/store"
	_ "github.com/tajo/terraform-provider-tajo/agent/store/sqlite"
	"github.com/tajo/terraform-provider-tajo/agent/sync"
)

// fixture is a sandbox, a store holding a connector pointed at it, and a
// supervisor running that connector.
type fixture struct {
	t       *testing.T
	sb      *sandbox.Sandbox
	st      store.Store
	conn    config.Connector
	sup     *sync.Supervisor
	secrets map[string]string
}

func newFixture(t *testing.T, contacts int) *fixture {
	t.Helper()
	o := sandbox.Options{Contacts: contacts, Seed: 3}
	// Every engine is a new client without memory of the company scroll
	// its predecessor opened (a reload replaces the engine).
	o.Intercom.ScrollOpensPerMinute = -1
	o.Brevo = append(o.Brevo, fakebrevo.WithProcessDelay(20*time.Millisecond))
	sb := sandbox.New(o)
	srv := httptest.NewServer(sb)
	t.Cleanup(func() { srv.Close(); sb.Close() })
	ep := sb.Endpoints(srv.URL)
	st, err := store.Open(t.Context(), "sqlite://"+filepath.Join(t.TempDir(), "tajo.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c := config.NewConnector("intercom")
	c.Intercom.AccessToken, c.Brevo.APIKey = "env:INTERCOM_ACCESS_TOKEN", "env:BREVO_API_KEY"
	c.Intercom.BaseURL, c.Brevo.BaseURL = ep.IntercomURL, ep.BrevoURL
	c.Intercom.Plan = config.PlanPremium
	c.Sync = config.Sync{Contacts: true, Companies: true}
	c.Mode = config.ModeBatch
	f := &fixture{t: t, sb: sb, st: st, conn: c,
		secrets: map[string]string{"INTERCOM_ACCESS_TOKEN": ep.IntercomToken, "BREVO_API_KEY": ep.BrevoAPIKey}}
	f.save(c)
	// Every contact joins a list, so the writer imports them in bulk.
	f.save(config.ListAssignment{ConnectorID: "intercom", ListID: 35, Rule: "all_users"})
	f.save(config.ListAssignment{ConnectorID: "intercom", ListID: 37, Rule: "leads"})
	return f
}

func (f *fixture) save(obj store.Object) {
	f.t.Helper()
	if _, err := store.Save(f.t.Context(), f.st, obj, store.AnyVersion); err != nil {
		f.t.Fatal(err)
	}
}

// run starts the supervisor; it stops when the test ends.
func (f *fixture) run() {
	f.t.Helper()
	f.sup = sync.NewSupervisor(f.st, sync.Options{
		Logger:    hclog.New(&hclog.LoggerOptions{Level: hclog.Warn, Output: testWriter{f.t}}),
		Resolver:  config.Resolver{LookupEnv: func(k string) (string, bool) { v, ok := f.secrets[k]; return v, ok }},
		RetryBase: 10 * time.Millisecond,
	})
	f.sup.Poll = 50 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = f.sup.Run(ctx) }()
	f.t.Cleanup(func() { cancel(); <-done })
}

// synced waits for the connector's first successful pass with nothing
// left to write, and returns its engine.
func (f *fixture) synced() *sync.Engine {
	f.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if e := f.sup.Engine("intercom"); e != nil && !e.Stats().LastSuccess.IsZero() {
			if n, err := f.st.CountPending(f.t.Context(), "intercom", ""); err == nil && n == 0 {
				return e
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	f.t.Fatal("the connector did not complete a pass within 2 minutes")
	return nil
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// serve exposes a collector the way tajo-agent run does.
func serve(t *testing.T, c *metrics.Collector) string {
	t.Helper()
	srv := httptest.NewServer(metrics.Handler(metrics.NewRegistry(c), nil))
	t.Cleanup(srv.Close)
	return srv.URL
}

// families scrapes url and parses the text exposition.
type families map[string]*dto.MetricFamily

func scrape(t *testing.T, url string) families {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse %s: %v", url, err)
	}
	return fams
}

// get returns the value of the series of name whose labels include want.
func (fs families) get(name string, want map[string]string) (float64, bool) {
	var sum float64
	found := false
	for _, m := range fs[name].GetMetric() {
		if matches(m, want) {
			sum += value(m)
			found = true
		}
	}
	return sum, found
}

// sum adds the series of name whose labels include want.
func (fs families) sum(name string, want map[string]string) float64 {
	v, _ := fs.get(name, want)
	return v
}

func matches(m *dto.Metric, want map[string]string) bool {
	n := 0
	for _, l := range m.GetLabel() {
		if v, ok := want[l.GetName()]; ok {
			if v != l.GetValue() {
				return false
			}
			n++
		}
	}
	return n == len(want)
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Untyped != nil:
		return m.Untyped.GetValue()
	}
	return 0
}

func TestMetricsAfterFullSync(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 300)
	start := time.Now()
	f.run()
	eng := f.synced()
	c := metrics.NewCollector(f.st, f.sup, metrics.Options{Version: "1.2.3"})
	url := serve(t, c) + "/metrics"

	before := eng.Stats()
	fams := scrape(t, url)
	after := eng.Stats()
	conn := map[string]string{"connector": "intercom"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{"connector": "intercom"}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}

	// Records: what the store links and Brevo holds.
	links, err := f.st.CountLinks(t.Context(), "intercom", store.KindContact)
	if err != nil {
		t.Fatal(err)
	}
	brevoContacts := f.sb.Brevo.ContactCount()
	written, ok := fams.get("tajo_records_total", with("resource", "contacts", "outcome", "written"))
	if !ok || written == 0 || int64(written) != links || int(written) != brevoContacts {
		t.Errorf("written contacts = %v (present %v); store links %d, Brevo contacts %d", written, ok, links, brevoContacts)
	}
	if read := fams.sum("tajo_records_total", with("resource", "contacts", "outcome", "read")); read != 300 {
		t.Errorf("read contacts = %v, want 300", read)
	}
	for _, o := range []string{"read", "written", "unchanged", "skipped", "failed"} {
		for _, r := range []string{"contacts", "companies"} {
			got, ok := fams.get("tajo_records_total", with("resource", r, "outcome", o))
			if want := before.Records[sync.RecordKey{Resource: r, Outcome: o}]; !ok || int64(got) != want {
				t.Errorf("records %s %s = %v (present %v), Stats say %d", r, o, got, ok, want)
			}
		}
	}

	// Requests: the Stats' counts, split by API, class and status.
	for _, api := range []string{"intercom", "brevo"} {
		got := fams.sum("tajo_api_requests_total", with("api", api))
		lo, hi := before.IntercomRequests, after.IntercomRequests
		if api == "brevo" {
			lo, hi = before.BrevoRequests, after.BrevoRequests
		}
		if got == 0 || int64(got) < lo || int64(got) > hi {
			t.Errorf("%s requests = %v, Stats say %d–%d", api, got, lo, hi)
		}
	}
	for k, v := range before.Requests {
		if got := fams.sum("tajo_api_requests_total", with("api", k.API, "class", k.Class, "status", k.Status)); int64(got) < v {
			t.Errorf("requests %+v = %v, Stats say %d", k, got, v)
		}
	}
	if got := fams.sum("tajo_api_requests_total", with("api", "intercom", "class", "app", "status", "200")); got == 0 {
		t.Error("no successful Intercom app request counted")
	}
	// Nothing was refused: exact exposition of the 429 counters.
	if err := testutil.ScrapeAndCompare(url, strings.NewReader(`
# HELP tajo_api_rate_limited_total Requests refused with 429 Too Many Requests.
# TYPE tajo_api_rate_limited_total counter
tajo_api_rate_limited_total{api="brevo",connector="intercom"} 0
tajo_api_rate_limited_total{api="intercom",connector="intercom"} 0
# HELP tajo_build_info Always 1; the version label is the agent's version.
# TYPE tajo_build_info gauge
tajo_build_info{version="1.2.3"} 1
# HELP tajo_store_up 1 when every store query of this scrape succeeded in time, else 0.
# TYPE tajo_store_up gauge
tajo_store_up 1
`), "tajo_api_rate_limited_total", "tajo_build_info", "tajo_store_up"); err != nil {
		t.Error(err)
	}

	// Times.
	last, ok := fams.get("tajo_last_success_timestamp_seconds", conn)
	if !ok || last < float64(start.Unix()) || last > float64(time.Now().Unix()+1) {
		t.Errorf("last success = %v (present %v), test started at %d", last, ok, start.Unix())
	}
	if lag, ok := fams.get("tajo_sync_lag_seconds", conn); !ok || lag <= 0 {
		t.Errorf("sync lag = %v (present %v)", lag, ok)
	}

	// Store gauges: everything written, nothing failed, no inbox yet.
	for name, want := range map[string]float64{
		"tajo_pending_writes": 0, "tajo_failed_records": 0,
		"tajo_inbox_depth": 0, "tajo_inbox_oldest_age_seconds": 0, "tajo_dead_letters": 0,
	} {
		if got, ok := fams.get(name, conn); !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", name, got, ok, want)
		}
	}
	// The only agent holds the lease while it runs.
	if v, ok := fams.get("tajo_leader", conn); !ok || v != 1 {
		t.Errorf("tajo_leader = %v (present %v), want 1", v, ok)
	}
	if f, ok := fams["tajo_lease_holder"]; !ok || len(f.GetMetric()) != 1 || f.GetMetric()[0].GetGauge().GetValue() != 1 {
		t.Errorf("tajo_lease_holder: %v", f)
	}

	// Budgets: one series per paced class, a share of the budget.
	for _, k := range [][2]string{{"intercom", "app"}, {"intercom", "search"}, {"intercom", "scroll"}, {"brevo", "contacts"}, {"brevo", "events"}, {"brevo", "other"}} {
		r, ok := fams.get("tajo_rate_budget_used_ratio", with("api", k[0], "class", k[1]))
		if !ok || r < 0 || r > 1 {
			t.Errorf("budget used %s/%s = %v (present %v)", k[0], k[1], r, ok)
		}
	}

	// The Go and process collectors are registered.
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total"} {
		if _, ok := fams[name]; !ok {
			t.Errorf("%s missing", name)
		}
	}
	problems, err := testutil.CollectAndLint(c)
	if err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %+v", err, problems)
	}

	// A reload replaces the engine; the counters carry on.
	reloads := f.sup.Reloads()
	f.conn.BatchInterval = "2h"
	f.save(f.conn)
	deadline := time.Now().Add(time.Minute)
	for f.sup.Reloads() == reloads || f.sup.Engine("intercom") == nil || f.sup.Engine("intercom") == eng {
		if time.Now().After(deadline) {
			t.Fatal("no reload within a minute")
		}
		time.Sleep(20 * time.Millisecond)
	}
	again := scrape(t, url)
	if got := again.sum("tajo_records_total", with("resource", "contacts", "outcome", "written")); got < written {
		t.Errorf("written contacts went from %v to %v across a reload", written, got)
	}
	for _, api := range []string{"intercom", "brevo"} {
		if b, a := fams.sum("tajo_api_requests_total", with("api", api)), again.sum("tajo_api_requests_total", with("api", api)); a < b {
			t.Errorf("%s requests went from %v to %v across a reload", api, b, a)
		}
	}
	if got, ok := again.get("tajo_last_success_timestamp_seconds", conn); !ok || got < last {
		t.Errorf("last success after reload = %v (present %v), was %v", got, ok, last)
	}
}

// optional adds the interfaces the inbox and lease work will bring, and
// can fail queries.
type optional struct {
	store.Store
	fail     error
	depth    int64
	oldest   time.Time
	dead     int64
	holder   string
	inboxErr error
}

func (o *optional) CountPending(ctx context.Context, id, kind string) (int64, error) {
	if o.fail != nil {
		return 0, o.fail
	}
	return o.Store.CountPending(ctx, id, kind)
}

func (o *optional) InboxStats(ctx context.Context, id string) (int64, time.Time, int64, error) {
	return o.depth, o.oldest, o.dead, o.inboxErr
}

func (o *optional) LeaseHolder(ctx context.Context, id string) (string, bool, error) {
	return o.holder, o.holder != "", nil
}

var (
	_ metrics.Inbox  = (*optional)(nil)
	_ metrics.Leases = (*optional)(nil)
)

// engines is a fixed set of engines that have not run.
type engines map[string]*sync.Engine

func (e engines) Engines() map[string]*sync.Engine { return e }

func TestStoreGauges(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 10)
	bundles, _, err := store.LoadBundles(t.Context(), f.st)
	if err != nil || len(bundles) != 1 {
		t.Fatalf("bundles: %v %v", bundles, err)
	}
	eng, err := sync.New(bundles[0], f.st, sync.Options{
		Resolver: config.Resolver{LookupEnv: func(k string) (string, bool) { v, ok := f.secrets[k]; return v, ok }},
	})
	if err != nil {
		t.Fatal(err)
	}
	// Two events in the outbox; the answer to the one sent was lost.
	if err := f.st.Apply(t.Context(), "intercom", store.Batch{Events: []store.Event{{Key: "a", Payload: []byte(`{}`)}, {Key: "b", Payload: []byte(`{}`)}}}); err != nil {
		t.Fatal(err)
	}
	if err := f.st.Apply(t.Context(), "intercom", store.Batch{EventUpdates: []store.EventUpdate{{Keys: []string{"a"}, State: store.EventUnknown}}}); err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	st := &optional{Store: f.st, depth: 7, oldest: now.Add(-90 * time.Second), dead: 2, holder: "agent-a"}
	c := metrics.NewCollector(st, engines{"intercom": eng}, metrics.Options{Now: func() time.Time { return now }})
	url := serve(t, c) + "/metrics"
	conn := map[string]string{"connector": "intercom"}

	fams := scrape(t, url)
	for name, want := range map[string]float64{
		"tajo_inbox_depth": 7, "tajo_inbox_oldest_age_seconds": 90, "tajo_dead_letters": 2,
		"tajo_pending_writes": 0, "tajo_failed_records": 0, "tajo_store_up": 1,
	} {
		labels := conn
		if name == "tajo_store_up" {
			labels = nil
		}
		if got, ok := fams.get(name, labels); !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", name, got, ok, want)
		}
	}
	for state, want := range map[string]float64{"pending": 1, "sending": 0, "sent": 0, "failed": 0, "unknown": 1} {
		if got, ok := fams.get("tajo_brevo_events", map[string]string{"connector": "intercom", "state": state}); !ok || got != want {
			t.Errorf("tajo_brevo_events{state=%q} = %v (present %v), want %v", state, got, ok, want)
		}
	}
	if got, ok := fams.get("tajo_lease_holder", map[string]string{"connector": "intercom", "agent": "agent-a"}); !ok || got != 1 {
		t.Errorf("lease holder = %v (present %v)", got, ok)
	}
	// Before any pass: no lag, no last success; zero counters.
	for _, name := range []string{"tajo_sync_lag_seconds", "tajo_last_success_timestamp_seconds"} {
		if _, ok := fams[name]; ok {
			t.Errorf("%s reported before the first pass", name)
		}
	}
	if got, ok := fams.get("tajo_records_total", map[string]string{"resource": "companies", "outcome": "failed"}); !ok || got != 0 {
		t.Errorf("failed companies = %v (present %v), want a 0 series", got, ok)
	}

	// A failing query: the scrape still succeeds, tajo_store_up says so and
	// the gauge it would have given is left out rather than wrong.
	st.fail = errors.New("database is locked")
	st.inboxErr = errors.New("inbox table missing")
	st.holder = ""
	fams = scrape(t, url)
	if got, _ := fams.get("tajo_store_up", nil); got != 0 {
		t.Errorf("tajo_store_up = %v with a failing query", got)
	}
	for _, name := range []string{"tajo_pending_writes", "tajo_inbox_depth", "tajo_lease_holder"} {
		if _, ok := fams[name]; ok {
			t.Errorf("%s reported although its query failed or found nothing", name)
		}
	}
	if got, ok := fams.get("tajo_failed_records", conn); !ok || got != 0 {
		t.Errorf("tajo_failed_records = %v (present %v): its query did not fail", got, ok)
	}

	// A closed store: every query fails fast.
	f.st.Close()
	st.fail, st.inboxErr = nil, nil
	start := time.Now()
	fams = scrape(t, url)
	if got, _ := fams.get("tajo_store_up", nil); got != 0 {
		t.Errorf("tajo_store_up = %v with a closed store", got)
	}
	if _, ok := fams["tajo_records_total"]; !ok {
		t.Error("engine counters missing while the store is down")
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("scrape with a closed store took %v", el)
	}
}

// slow blocks every query until its context ends.
type slow struct{ store.Store }

func (slow) Revision(ctx context.Context) (int64, error) { <-ctx.Done(); return 0, ctx.Err() }

func TestSlowStoreIsBounded(t *testing.T) {
	t.Parallel()
	st, err := store.Open(t.Context(), "sqlite://"+filepath.Join(t.TempDir(), "tajo.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c := metrics.NewCollector(slow{st}, engines{}, metrics.Options{StoreTimeout: 100 * time.Millisecond})
	start := time.Now()
	fams := scrape(t, serve(t, c)+"/metrics")
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("scrape took %v with a 100 ms store timeout", el)
	}
	if got, ok := fams.get("tajo_store_up", nil); !ok || got != 0 {
		t.Errorf("tajo_store_up = %v (present %v)", got, ok)
	}
}
