package sync

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tajo/terraform-provider-tajo/agent/backoff"
	"github.com/tajo/terraform-provider-tajo/agent/brevo"
	"github.com/tajo/terraform-provider-tajo/agent/config"
	"github.com/tajo/terraform-provider-tajo/agent/intercom"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox/dataset"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox/expect"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox/fakebrevo"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox/harness"
	"github.com/tajo/terraform-provider-tajo/agent/store"
)

// The fault-injection suite: every scenario runs a full sync and then an
// incremental sync of 3 % churn against a sandbox that misbehaves in one
// way, and must end with
//
//   - the exact Brevo state (expect.Compare, independent of the engine),
//   - bounded retries: the requests of each API stay within a stated
//     bound of a fault-free run of the same workspace, and
//   - the failure visible: the agent's request counters (Engine.Stats,
//     what /metrics exports as tajo_api_requests_total and
//     tajo_api_rate_limited_total) count every injected failure the
//     simulated API reports having served, and the store status is
//     clean once the faults have been survived.
//
// Both clients retry on a fast schedule here (the policy is data; the
// schedule is not what is under test, the bound on attempts is).

const faultContacts = 600

// faultRate is Brevo's per-second budget of contacts and events in the
// scenarios, client and sandbox: 20 times the General tier's, so that the
// scenarios take seconds (pacing is not what they test; 429s are
// injected).
const faultRate = 200

// fastRetry keeps the scenarios short; attempts are production's.
var fastRetry = backoff.Policy{Attempts: 6, Base: 20 * time.Millisecond, Max: 400 * time.Millisecond}

// injector sits in front of the sandbox and answers every n-th request of
// an API with a fault, deterministically (the harness's faults fire at
// random; these are reproducible). It counts every request it sees.
type injector struct {
	mu    gosync.Mutex
	rules []*rule
	seen  map[string]int // requests by API
	fired map[string]int // "intercom 500", "brevo drop", …
	// mw, when set, wraps the sandbox inside the injector (faults the
	// rules cannot express: altered bodies, one refused contact).
	mw func(http.Handler) http.Handler
	// inflight are the requests being served (a late write may land
	// after the pass that sent it has ended).
	inflight gosync.WaitGroup
}

// settle waits until every request the injector let in is answered.
func (in *injector) settle() { in.inflight.Wait() }

// rule fires on every n-th request of api ("intercom" or "brevo") that
// match selects (nil: all), starting with the offset-th.
type rule struct {
	api    string
	every  int
	offset int
	match  func(*http.Request) bool
	// act answers the request and names the fault ("500", "drop", …);
	// an empty name lets the request through after act.
	act func(w http.ResponseWriter, r *http.Request) string
	// max caps how often the rule fires (0: no cap).
	max          int
	count, fired int
}

func (in *injector) wrap(next http.Handler) http.Handler {
	if in.mw != nil {
		next = in.mw(next)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in.inflight.Add(1)
		defer in.inflight.Done()
		api := ""
		switch {
		case strings.HasPrefix(r.URL.Path, sandbox.IntercomPath+"/"):
			api = "intercom"
		case strings.HasPrefix(r.URL.Path, sandbox.BrevoPath+"/"):
			api = "brevo"
		}
		in.mu.Lock()
		if in.seen == nil {
			in.seen, in.fired = map[string]int{}, map[string]int{}
		}
		in.seen[api]++
		var act func(http.ResponseWriter, *http.Request) string
		for _, ru := range in.rules {
			if ru.api != api || (ru.match != nil && !ru.match(r)) {
				continue
			}
			ru.count++
			if ru.count >= ru.offset && (ru.count-ru.offset)%ru.every == 0 && (ru.max == 0 || ru.fired < ru.max) {
				ru.fired++
				act = ru.act
				break
			}
		}
		in.mu.Unlock()
		if act != nil {
			name := act(w, r)
			pass := strings.HasSuffix(name, ":") // the fault delays, then serves
			if name = strings.TrimSuffix(name, ":"); name != "" {
				in.mu.Lock()
				in.fired[api+" "+name]++
				in.mu.Unlock()
			}
			if name != "" && !pass {
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func (in *injector) add(rs ...*rule) {
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, r := range rs {
		if r.offset == 0 {
			r.offset = r.every
		}
		if r.api == "intercom" && r.match == nil {
			// The pages of an open company scroll are spared: after a
			// lost one the pass waits for Intercom to expire the scroll,
			// a minute (TestFaultScrollPageLost, with a short expiry).
			r.match = func(r *http.Request) bool { return !isScrollPage(r) }
		}
	}
	in.rules = append(in.rules, rs...)
}

// requests returns what an API was asked, faults included.
func (in *injector) requests(api string) int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.seen[api]
}

// firedAs returns how often faults fired on an API, by name.
func (in *injector) firedAs(api string, names ...string) int {
	in.mu.Lock()
	defer in.mu.Unlock()
	n := 0
	for _, name := range names {
		n += in.fired[api+" "+name]
	}
	return n
}

// isAttributeCreation: POST of a contact or company attribute.
func isAttributeCreation(r *http.Request) bool {
	return r.Method == http.MethodPost && (strings.HasPrefix(r.URL.Path, sandbox.BrevoPath+"/contacts/attributes/") ||
		r.URL.Path == sandbox.BrevoPath+"/crm/attributes")
}

// isScrollPage: GET of a page of an open company scroll.
func isScrollPage(r *http.Request) bool {
	return r.URL.Path == sandbox.IntercomPath+"/companies/scroll" && r.URL.Query().Get("scroll_param") != ""
}

// status answers with an HTTP status and the API's error body.
func status(code int) func(http.ResponseWriter, *http.Request) string {
	return func(w http.ResponseWriter, r *http.Request) string {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		if strings.HasPrefix(r.URL.Path, sandbox.IntercomPath) {
			fmt.Fprintf(w, `{"type":"error.list","request_id":null,"errors":[{"code":"server_error","message":"injected %d"}]}`, code)
		} else {
			fmt.Fprintf(w, `{"code":"internal_error","message":"injected %d"}`, code)
		}
		return strconv.Itoa(code)
	}
}

// html answers with an HTTP status and a body that is not JSON, as a
// proxy or load balancer in front of the API does.
func html(code int) func(http.ResponseWriter, *http.Request) string {
	return func(w http.ResponseWriter, r *http.Request) string {
		if code == http.StatusBadGateway {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(code)
			fmt.Fprint(w, "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>")
		} else {
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(code)
			fmt.Fprint(w, "upstream connect error or disconnect/reset before headers. reset reason: overflow")
		}
		return strconv.Itoa(code)
	}
}

// drop closes the connection without an answer.
func drop(w http.ResponseWriter, r *http.Request) string {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return "drop"
		}
	}
	panic(http.ErrAbortHandler)
}

// slow delays the answer by d; an answer later than the client's timeout
// is never served (the request is lost on its way).
func slow(d time.Duration) func(http.ResponseWriter, *http.Request) string {
	return func(w http.ResponseWriter, r *http.Request) string {
		time.Sleep(d)
		if d >= 3*time.Second {
			return "timeout"
		}
		return ""
	}
}

// late serves the request d later, after the client has given up on it
// (its timeout is 3 s): the write happens, the client does not know it.
func late(d time.Duration) func(http.ResponseWriter, *http.Request) string {
	return func(w http.ResponseWriter, r *http.Request) string {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		time.Sleep(d)
		return "late:" // served after the sleep, counted as "late"
	}
}

// faultEnv is newEnv with an injector in front of the sandbox, Brevo's
// 100/hour "other" budget lifted (client and sandbox: budgets are not
// what these scenarios test) and small company scroll pages (so that a
// scroll has pages to fail between).
func faultEnv(t *testing.T, contacts int, in *injector, mods ...func(*sandbox.Options)) *env {
	t.Helper()
	o := sandbox.Options{Contacts: contacts, Seed: 7}
	o.Intercom.ScrollOpensPerMinute = -1
	o.Intercom.ScrollPageSize = 10
	o.Brevo = append(o.Brevo, fakebrevo.WithProcessDelay(20*time.Millisecond),
		fakebrevo.WithBudgets(fakebrevo.Budgets{Contacts: fakebrevo.Budget{PerSecond: faultRate}, Events: fakebrevo.Budget{PerSecond: faultRate}}))
	for _, m := range mods {
		m(&o)
	}
	sb := sandbox.New(o)
	var h http.Handler = sb
	if in != nil {
		h = in.wrap(sb)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() { srv.Close(); sb.Close() })
	e := newEnv(t, 1) // the store, bundle and secrets of newEnv …
	ep := sb.Endpoints(srv.URL)
	e.sb, e.url = sb, srv.URL // … pointed at this sandbox
	e.bundle.Connector.Intercom.BaseURL, e.bundle.Connector.Brevo.BaseURL = ep.IntercomURL, ep.BrevoURL
	e.secret["INTERCOM_ACCESS_TOKEN"], e.secret["BREVO_API_KEY"] = ep.IntercomToken, ep.BrevoAPIKey
	return e
}

// run is one engine pass with the suite's client options; it returns the
// engine (for its counters) and the pass's error.
func (e *env) run(o PassOptions, mod func(*Options)) (*Engine, error) {
	e.t.Helper()
	opts := e.options()
	limits := brevo.Limits{Contacts: brevo.Budget{PerSecond: faultRate}, Events: brevo.Budget{PerSecond: faultRate},
		Other: brevo.Budget{PerSecond: faultRate, Burst: 20}}
	// A restarted company scroll waits for Intercom's one new scroll per
	// minute in production; here a moment.
	opts.IntercomOptions = append(opts.IntercomOptions, intercom.WithRetry(fastRetry), intercom.WithScrollOpenInterval(200*time.Millisecond))
	opts.BrevoOptions = append(opts.BrevoOptions, brevo.WithRetry(fastRetry), brevo.WithLimits(limits))
	opts.HTTPClient = &http.Client{Timeout: 3 * time.Second}
	if mod != nil {
		mod(&opts)
	}
	eng, err := New(e.bundle, e.st, opts)
	if err != nil {
		e.t.Fatal(err)
	}
	// An import answered with a 5xx or not at all is looked for this
	// long (production: 15 s) before it is sent again; the late answers
	// injected here come 4 s after the request.
	eng.unsentWait = 7 * time.Second
	ctx, cancel := context.WithTimeout(e.t.Context(), 3*time.Minute)
	defer cancel()
	return eng, eng.Sync(ctx, o)
}

// churn changes 3 % of the contacts with an email (name and plan tier).
func churn(e *env, tag string) int {
	n := 0
	for i, id := range e.sb.Intercom.ContactIDs() {
		if i%33 != 5 {
			continue
		}
		if c, _ := e.sb.Intercom.Contact(id); c.Email == "" {
			continue
		}
		if err := e.sb.Intercom.UpdateContact(id, func(c *dataset.Contact) {
			c.Name = "Churned " + tag + " " + c.ID[len(c.ID)-3:]
			c.CustomAttributes["plan_tier"] = tag
		}); err != nil {
			e.t.Fatal(err)
		}
		n++
	}
	return n
}

// counts sums the agent's request counters by API and status.
type counts map[string]int64 // "intercom 500", "brevo 429", "brevo error"

func (c counts) add(s Stats) {
	for k, v := range s.Requests {
		c[k.API+" "+k.Status] += v
	}
}

func (c counts) sum(api string, statuses ...string) int64 {
	var n int64
	for _, s := range statuses {
		n += c[api+" "+s]
	}
	return n
}

// phases runs the full sync and the churn sync; both must succeed and
// leave Brevo exact. It returns the agent's request counters.
func phases(t *testing.T, e *env, in *injector) counts {
	t.Helper()
	c := counts{}
	for i, phase := range []string{"full sync", "incremental sync of 3 % churn"} {
		if i == 1 {
			churn(e, "faulty")
		}
		eng, err := e.run(PassOptions{}, nil)
		if err != nil {
			t.Fatalf("%s under faults: %v", phase, err)
		}
		c.add(eng.Stats())
		in.settle()
		if err := e.sb.Brevo.WaitIdle(t.Context()); err != nil {
			t.Fatal(err)
		}
		if r := expect.Compare(e.sb, e.setup); r.Err() != nil {
			t.Fatalf("after the %s: %v", phase, r.Err())
		}
	}
	return c
}

// baseline is the cost of the two phases without faults.
var baseline struct {
	once            gosync.Once
	intercom, brevo int
}

func faultBaseline(t *testing.T) (intercom, brevo int) {
	t.Helper()
	baseline.once.Do(func() {
		in := &injector{}
		e := faultEnv(t, faultContacts, in)
		phases(t, e, in)
		baseline.intercom, baseline.brevo = in.requests("intercom"), in.requests("brevo")
		t.Logf("fault-free baseline: intercom %d requests, brevo %d requests", baseline.intercom, baseline.brevo)
	})
	if baseline.intercom == 0 {
		t.Fatal("no baseline")
	}
	return baseline.intercom, baseline.brevo
}

// fired sums how often the injected faults of a harness fired.
func fired(h *harness.Harness) int {
	n := 0
	for _, f := range h.Faults() {
		n += f.Fired
	}
	return n
}

// cleanStatus: once the faults are survived the connector reports no
// error and nothing is left to write.
func cleanStatus(t *testing.T, e *env) {
	t.Helper()
	st, err := e.st.GetStatus(t.Context(), "intercom")
	if err != nil {
		t.Fatal(err)
	}
	if st.State != StateIdle || st.LastError != "" || len(st.Errors) != 0 || st.LastSync.IsZero() {
		t.Errorf("status after surviving the faults = state %q, last error %q, errors %v, last sync %v", st.State, st.LastError, st.Errors, st.LastSync)
	}
	for _, kind := range []string{store.KindContact, store.KindCompany} {
		if n, err := e.st.CountPending(t.Context(), "intercom", kind); err != nil || n != 0 {
			t.Errorf("%d %s writes still pending (%v)", n, kind, err)
		}
	}
}

// within checks a request count against its bound.
func within(t *testing.T, api string, got, base int, factor float64, extra int) {
	t.Helper()
	bound := int(float64(base)*factor) + extra
	if got > bound {
		t.Errorf("%s: %d requests, more than the bound %d (fault-free %d × %.2f + %d): retries are not bounded", api, got, bound, base, factor, extra)
	}
	t.Logf("%s: %d requests (fault-free %d; bound %d)", api, got, base, bound)
}

// faultScenarios counts the scenarios of TestFaults that passed, for the
// summary line.
var faultScenarios atomic.Int32

// TestFaults is the fault-injection suite.
func TestFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("the fault suite runs two dozen syncs")
	}
	baseIC, baseBR := faultBaseline(t)
	type scenario struct {
		name string
		// inject sets the faults up on a fresh sandbox.
		rules  []*rule
		inject func(e *env)
		// Each API's requests stay within factor × fault-free + extra.
		icFactor, brFactor float64
		icExtra, brExtra   int
		// seen: the agent's counters show every fault (API, statuses
		// the agent records it under, faults as the injector or the
		// harness counts them).
		seen []visible
	}
	// lostImport is what an import whose outcome is unknown (a 5xx, a
	// dropped connection) may cost again: its rows, found not applied,
	// are written once more, one by one when fewer than ImportThreshold.
	const lostImport = 50
	postContacts := func(r *http.Request) bool {
		return (r.Method == http.MethodPost && (r.URL.Path == sandbox.BrevoPath+"/contacts" || r.URL.Path == sandbox.BrevoPath+"/contacts/import")) ||
			(r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, sandbox.BrevoPath+"/contacts/"))
	}
	scenarios := []scenario{
		{
			name:     "intercom 5xx on 10 percent",
			rules:    []*rule{{api: "intercom", every: 20, act: status(500)}, {api: "intercom", every: 20, offset: 10, act: status(503)}},
			icFactor: 1.25, icExtra: 5, brFactor: 1.3, brExtra: 20,
			seen: []visible{{api: "intercom", statuses: []string{"500", "503"}, injected: []string{"500", "503"}}},
		},
		{
			name: "intercom 429 storm with reset headers",
			inject: func(e *env) {
				e.sb.Intercom.Harness().Inject(harness.Fault{Kind: harness.FaultStorm, Count: 6, RetryAfter: time.Second})
			},
			icFactor: 1, icExtra: 6 + 3, brFactor: 1.3, brExtra: 20,
			seen: []visible{{api: "intercom", statuses: []string{"429"}, harness: true}},
		},
		{
			name: "intercom 429 storm without reset headers",
			inject: func(e *env) {
				e.sb.Intercom.Harness().Inject(harness.Fault{Kind: harness.FaultStorm, Count: 10, NoReset: true})
			},
			icFactor: 1, icExtra: 10 + 3, brFactor: 1.3, brExtra: 20,
			seen: []visible{{api: "intercom", statuses: []string{"429"}, harness: true}},
		},
		{
			name: "brevo 5xx on 10 percent",
			rules: []*rule{{api: "brevo", every: 30, act: status(500)}, {api: "brevo", every: 30, offset: 10, act: status(502)},
				{api: "brevo", every: 30, offset: 20, act: status(503)}},
			icFactor: 1.3, icExtra: 10, brFactor: 1.4, brExtra: 20 + lostImport,
			seen: []visible{{api: "brevo", statuses: []string{"500", "502", "503"}, injected: []string{"500", "502", "503"}}},
		},
		{
			name:     "brevo 425 on contact writes",
			rules:    []*rule{{api: "brevo", every: 3, match: postContacts, act: status(425)}},
			icFactor: 1.3, icExtra: 10, brFactor: 1.6, brExtra: 20,
			seen: []visible{{api: "brevo", statuses: []string{"425"}, injected: []string{"425"}}},
		},
		{
			name: "brevo 429 storm with reset headers",
			inject: func(e *env) {
				e.sb.Brevo.Harness().Inject(harness.Fault{Kind: harness.FaultStorm, Count: 5, RetryAfter: time.Second})
			},
			icFactor: 1.3, icExtra: 10, brFactor: 1, brExtra: 5 + 10,
			seen: []visible{{api: "brevo", statuses: []string{"429"}, harness: true}},
		},
		{
			name: "brevo 429 storm without reset headers",
			inject: func(e *env) {
				e.sb.Brevo.Harness().Inject(harness.Fault{Kind: harness.FaultStorm, Count: 10, NoReset: true})
			},
			icFactor: 1.3, icExtra: 10, brFactor: 1, brExtra: 10 + 10,
			seen: []visible{{api: "brevo", statuses: []string{"429"}, harness: true}},
		},
		{
			name: "slow responses and timeouts",
			// Every 5th answer 150 ms late; two slower than the
			// client's 3 s timeout on each API.
			rules: []*rule{
				{api: "intercom", every: 1000, offset: 4, act: slow(5 * time.Second)},
				{api: "intercom", every: 1000, offset: 12, act: slow(5 * time.Second)},
				{api: "brevo", every: 1000, offset: 6, act: slow(5 * time.Second)},
				{api: "brevo", every: 1000, offset: 20, act: slow(5 * time.Second)},
				{api: "intercom", every: 5, act: slow(150 * time.Millisecond)},
				{api: "brevo", every: 5, act: slow(150 * time.Millisecond)},
			},
			icFactor: 1.1, icExtra: 4, brFactor: 1.3, brExtra: 20,
			seen: []visible{{api: "intercom", statuses: []string{"error"}, injected: []string{"timeout"}, resent: true},
				{api: "brevo", statuses: []string{"error"}, injected: []string{"timeout"}, resent: true}},
		},
		{
			name: "brevo contact writes applied after the client gave up",
			// The answer comes after the client's 3 s timeout: the
			// write happened, the agent cannot know it (unknown outcome).
			rules: []*rule{{api: "brevo", every: 1 << 30, offset: 1, match: isContactImport, act: late(4 * time.Second)},
				{api: "brevo", every: 3, max: 3, match: isContactUpsert, act: late(4 * time.Second)}},
			icFactor: 1.3, icExtra: 10, brFactor: 1.6, brExtra: 30,
			seen: []visible{{api: "brevo", statuses: []string{"error"}, injected: []string{"late"}}},
		},
		{
			name:     "dropped connections",
			rules:    []*rule{{api: "intercom", every: 15, act: drop}, {api: "brevo", every: 20, act: drop}},
			icFactor: 1.2, icExtra: 5, brFactor: 1.4, brExtra: 20 + lostImport,
			seen: []visible{{api: "intercom", statuses: []string{"error"}, injected: []string{"drop"}, resent: true},
				{api: "brevo", statuses: []string{"error"}, injected: []string{"drop"}, resent: true}},
		},
		{
			name: "expired company scroll",
			inject: func(e *env) {
				e.sb.Intercom.FailScroll(1)
			},
			// The restarted scroll reads the served pages again.
			icFactor: 1.1, icExtra: 10, brFactor: 1.3, brExtra: 20,
			seen: []visible{{api: "intercom", statuses: []string{"500"}, scroll: true}},
		},
		{
			name:     "brevo error bodies that are not JSON",
			rules:    []*rule{{api: "brevo", every: 20, act: html(502)}, {api: "brevo", every: 20, offset: 10, act: html(503)}},
			icFactor: 1.3, icExtra: 10, brFactor: 1.4, brExtra: 20 + lostImport,
			seen: []visible{{api: "brevo", statuses: []string{"502", "503"}, injected: []string{"502", "503"}}},
		},
		{
			name:     "intercom error bodies that are not JSON",
			rules:    []*rule{{api: "intercom", every: 10, act: html(502)}},
			icFactor: 1.25, icExtra: 5, brFactor: 1.3, brExtra: 20,
			seen: []visible{{api: "intercom", statuses: []string{"502"}, injected: []string{"502"}}},
		},
	}
	t.Cleanup(func() { t.Logf("%d of %d fault scenarios passed", faultScenarios.Load(), len(scenarios)) })
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			in := &injector{}
			in.add(sc.rules...)
			e := faultEnv(t, faultContacts, in)
			if sc.inject != nil {
				sc.inject(e)
			}
			c := phases(t, e, in)
			within(t, "intercom", in.requests("intercom"), baseIC, sc.icFactor, sc.icExtra)
			within(t, "brevo", in.requests("brevo"), baseBR, sc.brFactor, sc.brExtra)
			for _, v := range sc.seen {
				v.check(t, e, in, c)
			}
			cleanStatus(t, e)
			if !t.Failed() {
				faultScenarios.Add(1)
			}
		})
	}
}

// visible is what the agent's counters must show of a scenario's faults.
type visible struct {
	api      string
	statuses []string // the agent's status labels for the fault
	injected []string // the injector's fault names
	harness  bool     // faults injected through the API's harness
	scroll   bool     // fakeintercom.FailScroll
	// resent: Go's transport re-sends an idempotent request whose reused
	// connection closed before any answer, unseen by the client; such a
	// drop shows as a request the server got and the agent did not count.
	resent bool
}

func (v visible) check(t *testing.T, e *env, in *injector, c counts) {
	t.Helper()
	n := 0
	switch {
	case v.harness && v.api == "intercom":
		n = fired(e.sb.Intercom.Harness())
	case v.harness:
		n = fired(e.sb.Brevo.Harness())
	case v.scroll:
		n = 1 // FailScroll answers one 500
	default:
		n = in.firedAs(v.api, v.injected...)
	}
	seen := c.sum(v.api, v.statuses...)
	if v.resent {
		var attempts int64
		for k, x := range c {
			if strings.HasPrefix(k, v.api+" ") {
				attempts += x
			}
		}
		invisible := int64(in.requests(v.api)) - attempts
		t.Logf("%s: %d requests re-sent by the transport, unseen by the client", v.api, invisible)
		seen += invisible
	}
	if n == 0 {
		t.Fatalf("no %s fault fired: the scenario tested nothing", v.api)
	}
	// Every fault the API served is in the agent's request counters
	// (tajo_api_requests_total, tajo_api_rate_limited_total); a dropped
	// connection or a timeout is status "error".
	if seen < int64(n) {
		t.Errorf("%s: %d faults served, the agent counted %d requests with status %v", v.api, n, seen, v.statuses)
	}
	t.Logf("%s: %d faults injected, %d counted by the agent as %v", v.api, n, seen, v.statuses)
}

// fastClock runs 60 times faster than the wall clock from now on: the
// engine's two-minute wait for an imported contact to appear takes two
// seconds.
func fastClock() func() time.Time {
	start := time.Now()
	return func() time.Time { return start.Add(time.Since(start) * 60) }
}

// TestFaultBrevoImportProcessFails: Brevo accepts a contact import (202)
// and its process then ends "failed". The contacts it carried must still
// reach Brevo — in the same pass, which reports success only when Brevo
// holds what was planned — and the failure must be visible.
//
// Regression: the engine used to forget the contacts' digests and enqueue
// nothing, so Sync returned nil with the contacts missing in Brevo until
// a later full pass, and nothing counted the failed import. Now they are
// enqueued again (Engine.requeue) and counted as outcome "requeued"
// (tajo_records_total).
func TestFaultBrevoImportProcessFails(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two syncs")
	}
	t.Parallel()
	e := faultEnv(t, faultContacts, nil)
	e.sb.Brevo.FailProcesses("IMPORTUSER", 1)
	eng, err := e.run(PassOptions{}, func(o *Options) {
		// The fast clock would make a 15 s lease look expired at once.
		o.Now, o.LeaseTTL = fastClock(), 24*time.Hour
	})
	if err != nil {
		t.Fatalf("sync: %v", err)
	}
	if err := e.sb.Brevo.WaitIdle(t.Context()); err != nil {
		t.Fatal(err)
	}
	failed := 0
	for _, p := range e.sb.Brevo.Processes() {
		if p.Status == "failed" {
			failed++
		}
	}
	if failed != 1 {
		t.Fatalf("%d import processes failed, want 1 (the scenario tested nothing)", failed)
	}
	r := expect.Compare(e.sb, e.setup)
	if err := r.Err(); err != nil {
		t.Errorf("Sync returned success, but Brevo is not exact: %v", err)
	}
	// Visible in the counters /metrics exports (tajo_records_total
	// {outcome="requeued"}) and the log; the status is clean, since the
	// pass survived it.
	requeued := eng.Stats().Records[RecordKey{ResourceContacts, OutcomeRequeued}]
	if requeued == 0 {
		t.Errorf("the failed import is not counted: records %v", eng.Stats().Records)
	}
	t.Logf("%d contacts of the failed import written again", requeued)
	cleanStatus(t, e)
}

// TestFaultBrevoPermanentRefusal: Brevo refuses one contact with a 400
// every time. The others are written; that one is recorded as failed
// after the maximum attempts and named in the status and the counters.
func TestFaultBrevoPermanentRefusal(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two syncs")
	}
	t.Parallel()
	const poison = "poisoned-plan"
	var refused atomic.Int32
	e := faultEnv(t, faultContacts, &injector{mw: func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, sandbox.BrevoPath+"/contacts") && (r.Method == http.MethodPost || r.Method == http.MethodPut) {
				body, _ := io.ReadAll(r.Body)
				r.Body = io.NopCloser(bytes.NewReader(body))
				if bytes.Contains(body, []byte(poison)) {
					refused.Add(1)
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusBadRequest)
					fmt.Fprint(w, `{"code":"invalid_parameter","message":"attributes value is invalid"}`)
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	}})
	if _, err := e.run(PassOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	e.exact()
	victim := someUsers(e, 1)[0]
	if err := e.sb.Intercom.UpdateContact(victim, func(c *dataset.Contact) { c.CustomAttributes["plan_tier"] = poison }); err != nil {
		t.Fatal(err)
	}
	churn(e, "ok")
	var stats Stats
	for range 6 { // passes until the record has used its attempts (RetryBase 10 ms)
		eng, err := e.run(PassOptions{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		s := eng.Stats()
		stats.Failed += s.Failed
		if stats.Failed > 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if stats.Failed != 1 {
		t.Fatalf("failed records = %d, want 1", stats.Failed)
	}
	if n := refused.Load(); n != 5 {
		t.Errorf("the refused contact was sent %d times, want MaxAttempts = 5", n)
	}
	st, _ := e.st.GetStatus(t.Context(), "intercom")
	if len(st.Errors) != 1 || !strings.Contains(st.Errors[0], victim) || !strings.Contains(st.Errors[0], "invalid_parameter") {
		t.Errorf("status errors = %q; want the failed contact %s with Brevo's reason", st.Errors, victim)
	}
	r := expect.Compare(e.sb, e.setup)
	if len(r.Problems) != 1 || !strings.Contains(r.Problems[0], victim) {
		t.Errorf("want exactly the refused contact to differ, got %v", r.Err())
	}
}

// TestHostileIntercomMissingFields: Intercom answers with contacts and
// companies that lack most optional fields, some null instead: decoding
// and the sync still work, every contact with an email reaches Brevo.
func TestHostileIntercomMissingFields(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a sync")
	}
	t.Parallel()
	var stripped atomic.Int64
	strip := func(item map[string]any, n int) {
		drop := []string{"name", "phone", "formatted_phone", "custom_attributes", "location", "tags", "companies", "notes",
			"signed_up_at", "last_seen_at", "avatar", "social_profiles", "unsubscribed_from_emails", "plan", "size", "user_count",
			"industry", "website", "session_count", "monthly_spend", "external_id", "owner_id", "browser", "os"}
		for i, k := range drop {
			if _, ok := item[k]; !ok {
				continue
			}
			if (i+n)%3 == 0 {
				item[k] = nil
			} else {
				delete(item, k)
			}
			stripped.Add(1)
		}
	}
	e := faultEnv(t, 200, &injector{mw: func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !strings.HasPrefix(r.URL.Path, sandbox.IntercomPath+"/contacts") && !strings.HasPrefix(r.URL.Path, sandbox.IntercomPath+"/companies") {
				next.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			body := rec.Body.Bytes()
			var doc map[string]any
			if rec.Code == http.StatusOK && json.Unmarshal(body, &doc) == nil {
				if data, ok := doc["data"].([]any); ok {
					for i, it := range data {
						if m, ok := it.(map[string]any); ok {
							strip(m, i)
						}
					}
				} else if doc["type"] == "contact" || doc["type"] == "company" {
					strip(doc, 0)
				}
				body, _ = json.Marshal(doc)
			}
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.Header().Del("Content-Length")
			w.WriteHeader(rec.Code)
			w.Write(body)
		})
	}})
	eng, err := e.run(PassOptions{}, nil)
	if err != nil {
		t.Fatalf("sync of contacts with missing fields: %v", err)
	}
	if stripped.Load() == 0 {
		t.Fatal("no field was removed")
	}
	missing := 0
	withEmail := 0
	for _, id := range e.sb.Intercom.ContactIDs() {
		c, _ := e.sb.Intercom.Contact(id)
		if c.Email == "" {
			continue
		}
		withEmail++
		bc, ok := e.sb.Brevo.ContactByExtID(id)
		if !ok || !strings.EqualFold(bc.Email, c.Email) {
			missing++
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d contacts with an email are not in Brevo", missing, withEmail)
	}
	st, _ := e.st.GetStatus(t.Context(), "intercom")
	if st.LastError != "" || len(st.Errors) > 0 || eng.Stats().Failed > 0 {
		t.Errorf("status = %q %v, failed %d", st.LastError, st.Errors, eng.Stats().Failed)
	}
	t.Logf("%d fields removed or nulled; %d contacts written", stripped.Load(), withEmail)
}

// refuseOnce answers the first matching request with Brevo's 400
// invalid_parameter: a refusal the engine retries later (RetryBase).
func refuseOnce(match func(*http.Request) bool) *rule {
	return &rule{api: "brevo", every: 1 << 30, offset: 1, match: match, act: func(w http.ResponseWriter, r *http.Request) string {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"code":"invalid_parameter","message":"injected refusal"}`)
		return "400"
	}}
}

func isContactUpsert(r *http.Request) bool {
	return r.Method == http.MethodPost && r.URL.Path == sandbox.BrevoPath+"/contacts"
}

func isContactImport(r *http.Request) bool {
	return r.Method == http.MethodPost && r.URL.Path == sandbox.BrevoPath+"/contacts/import"
}

// TestFaultSyncSucceedsWithWritesPending: one contact import is refused
// once; its contacts are scheduled for a retry RetryBase later. Sync
// (tajo-agent sync --once) must not report success — nor record
// last_sync — while those writes are still pending.
//
// Regression: Drain used to return as soon as no pending write was ready,
// so Sync returned nil with a fresh last_sync and the refused contacts
// missing in Brevo until some later pass ran. Drain now waits for the
// scheduled retries (bounded by MaxAttempts).
func TestFaultSyncSucceedsWithWritesPending(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a sync")
	}
	t.Parallel()
	in := &injector{}
	in.add(refuseOnce(isContactImport))
	e := faultEnv(t, faultContacts, in)
	e.bundle.Connector.Sync.Companies, e.setup.Companies = false, false
	_, err := e.run(PassOptions{}, func(o *Options) { o.RetryBase = 2 * time.Second })
	if in.firedAs("brevo", "400") != 1 {
		t.Fatal("the import was not refused: the scenario tested nothing")
	}
	pending, _ := e.st.CountPending(t.Context(), "intercom", store.KindContact)
	if err == nil && pending > 0 {
		t.Errorf("Sync returned success with %d contact writes still pending; Brevo: %v", pending, expect.Compare(e.sb, e.setup).Err())
	}
}

// TestFaultCompanyRewriteLookups: when a contact import is refused once,
// the companies are written before those contacts and written again once
// the contacts are. The second write of a company the first one imported
// must not cost a lookup per company: GET /companies is in Brevo's
// "other" class, 100 requests per hour on the General tier (36 s each
// after a burst of 10), so a workspace of 1,000 companies would take ten
// hours.
//
// Regression: writeCompanies called discoverCompany — one GET /companies
// filtered by intercom_id — for every company whose link had no Brevo id;
// knownCompanies now lists them in pages when that is cheaper.
func TestFaultCompanyRewriteLookups(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two syncs")
	}
	t.Parallel()
	in := &injector{}
	in.add(refuseOnce(isContactImport))
	e := faultEnv(t, faultContacts, in)
	for range 2 { // the second pass writes what the first left pending
		if _, err := e.run(PassOptions{}, func(o *Options) { o.RetryBase = time.Second }); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
	}
	if err := e.sb.Brevo.WaitIdle(t.Context()); err != nil {
		t.Fatal(err)
	}
	e.exact()
	companies := len(e.sb.Brevo.Companies())
	lookups := e.sb.Brevo.Harness().Stats().ByRoute["GET /companies"]
	t.Logf("%d companies, %d GET /companies", companies, lookups)
	if lookups > 3 {
		t.Errorf("%d GET /companies for %d companies: one request per company on a 100/hour budget", lookups, companies)
	}
}

// TestFaultAttributeCreationUnknownOutcome: a new mapping needs a new
// Brevo attribute, and the request creating it gets a 503 (it may or may
// not have been created). Creating an attribute is idempotent for the
// engine (a duplicate counts as created), so the writer must go on: Drain,
// the last step of every pass, must not fail on it.
//
// Regression: Engine.prepare (and prepareCompanies) returned the
// brevo.ErrOutcomeUnknown of the creation as Drain's error, so
// tajo-agent sync --once exited 1 after a single 5xx there; the creation
// is now sent again (createAttribute).
func TestFaultAttributeCreationUnknownOutcome(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a sync")
	}
	t.Parallel()
	in := &injector{}
	e := faultEnv(t, 100, in)
	if _, err := e.run(PassOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	e.bundle.Mappings = append(e.bundle.Mappings, config.FieldMapping{ConnectorID: "intercom", Source: "location.country", Target: "COUNTRY", Type: "text"})
	in.add(&rule{api: "brevo", every: 1 << 30, offset: 1, match: isAttributeCreation, act: status(503)})
	opts := e.options()
	opts.BrevoOptions = append(opts.BrevoOptions, brevo.WithRetry(fastRetry))
	eng, err := New(e.bundle, e.st, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Drain(t.Context()); err != nil {
		t.Errorf("Drain after one 503 on an attribute creation: %v", err)
	}
	if in.firedAs("brevo", "503") != 1 {
		t.Fatal("the attribute creation was not refused: the scenario tested nothing")
	}
}

// TestFaultScrollPageLost: the answer to the second page of the company
// scroll is lost (the client times out). The scroll is still open on
// Intercom's side until it expires (a minute after its last use; 8 s in
// this sandbox), so a new scroll is refused with scroll_exists until
// then. The pass must wait that out and complete.
//
// Regression: CompaniesService.ScrollAll waited for scroll_exists only
// retry.Attempts times (about 8–15 s with the default policy, well short
// of Intercom's one-minute expiry), then failed the pass; it now waits up
// to intercom.DefaultScrollWait.
func TestFaultScrollPageLost(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a sync")
	}
	t.Parallel()
	in := &injector{}
	in.add(&rule{api: "intercom", every: 1 << 30, offset: 1, match: isScrollPage, act: slow(5 * time.Second)})
	e := faultEnv(t, faultContacts, in, func(o *sandbox.Options) { o.Intercom.ScrollExpiry = 8 * time.Second })
	if _, err := e.run(PassOptions{}, nil); err != nil {
		t.Fatalf("a lost scroll page failed the pass: %v", err)
	}
	if in.firedAs("intercom", "timeout") != 1 {
		t.Fatal("no scroll page was lost: the scenario tested nothing")
	}
	e.exact()
}

// TestFaultCompanyImportAppliedLate: Brevo applies the companies import
// but its answer never reaches the agent (it comes after the client's
// timeout). Writing the companies again must not create them twice.
//
// Regression: after the unknown outcome the companies were looked up at
// once, before Brevo applied the late import, and imported again: Brevo
// held every company twice. They are now looked for until unsentWait
// after the import was sent (companyLinkData.Sent).
func TestFaultCompanyImportAppliedLate(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a sync")
	}
	t.Parallel()
	in := &injector{}
	in.add(&rule{api: "brevo", every: 1 << 30, offset: 1, act: late(4 * time.Second), match: func(r *http.Request) bool {
		return r.Method == http.MethodPost && r.URL.Path == sandbox.BrevoPath+"/companies/import"
	}})
	e := faultEnv(t, faultContacts, in)
	if _, err := e.run(PassOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	in.settle()
	if in.firedAs("brevo", "late") != 1 {
		t.Fatal("no company import was answered late: the scenario tested nothing")
	}
	if err := e.sb.Brevo.WaitIdle(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := expect.Compare(e.sb, e.setup).Err(); err != nil {
		t.Errorf("after a late company import: %v", err)
	}
}

// TestImportsVerifiedDuringPass: with rounds of 100 contacts, the writer
// verifies older imports while the pass goes on instead of keeping every
// imported id to its end (memory bounded by the batch, not the
// workspace), and a failed import found that way is written again in the
// same pass.
func TestImportsVerifiedDuringPass(t *testing.T) {
	t.Parallel()
	e := faultEnv(t, faultContacts, nil)
	e.sb.Brevo.Harness().KeepLog = true
	e.sb.Brevo.FailProcesses("IMPORTUSER", 1)
	eng, err := e.run(PassOptions{}, func(o *Options) {
		o.Now, o.LeaseTTL = fastClock(), 24*time.Hour
		o.ImportBatch = 100
	})
	if err != nil {
		t.Fatalf("sync: %v", err)
	}
	if err := expect.Compare(e.sb, e.setup).Err(); err != nil {
		t.Errorf("Brevo is not exact: %v", err)
	}
	if n := eng.Stats().Records[RecordKey{ResourceContacts, OutcomeRequeued}]; n == 0 {
		t.Errorf("the failed import is not counted as requeued")
	}
	// Probes (GET of a contact by ext_id) between imports, not only after
	// the last one.
	imports, probesBefore, lastImport := 0, 0, -1
	log := e.sb.Brevo.Harness().Log()
	for i, r := range log {
		if r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/contacts/import") {
			imports, lastImport = imports+1, i
		}
	}
	for _, r := range log[:max(lastImport, 0)] {
		if r.Method == http.MethodGet && strings.Contains(r.Query, "identifierType=ext_id") {
			probesBefore++
		}
	}
	if imports < 4 || probesBefore < 2 {
		t.Errorf("%d imports, %d verified before the last one: want imports verified during the pass", imports, probesBefore)
	}
	eng.mu.Lock()
	left := len(eng.imports)
	eng.mu.Unlock()
	if left != 0 {
		t.Errorf("%d imports left unverified after a successful pass", left)
	}
	t.Logf("%d imports, %d verified before the last was sent", imports, probesBefore)
}

// TestImportsFailingFailPass: when Brevo fails every import, the pass
// ends with an error after MaxAttempts failed imports in a row (the
// records stay pending), instead of writing them again forever.
func TestImportsFailingFailPass(t *testing.T) {
	t.Parallel()
	e := faultEnv(t, faultContacts, nil)
	e.sb.Brevo.FailProcesses("IMPORTUSER", 1_000_000)
	_, syncErr := e.run(PassOptions{}, func(o *Options) {
		o.Now, o.LeaseTTL = fastClock(), 24*time.Hour
		o.ImportBatch = 100
	})
	if syncErr == nil || !strings.Contains(syncErr.Error(), "imports in a row") {
		t.Fatalf("sync: %v, want the failed imports reported", syncErr)
	}
	pending, err := e.st.CountPending(t.Context(), e.bundle.Connector.ID(), store.KindContact)
	if err != nil || pending == 0 {
		t.Errorf("%d contacts pending (%v): the records of failed imports must stay pending", pending, err)
	}
	t.Logf("%v; %d contacts pending", syncErr, pending)
}

// TestImportVerificationGivesUp: an import whose verification keeps
// failing (Brevo answers 500 to the contact probe and the process status)
// is tried again by later verifications, MaxAttempts times in all, then
// dropped, so an idle agent does not retry it forever.
func TestImportVerificationGivesUp(t *testing.T) {
	t.Parallel()
	in := &injector{rules: []*rule{{api: "brevo", every: 1, match: func(r *http.Request) bool { return r.Method == http.MethodGet }, act: status(500)}}}
	e := faultEnv(t, 10, in)
	opts := e.options()
	opts.BrevoOptions = append(opts.BrevoOptions, brevo.WithRetry(fastRetry))
	opts.MaxAttempts = 3
	eng, err := New(e.bundle, e.st, opts)
	if err != nil {
		t.Fatal(err)
	}
	eng.importWait = 0
	eng.imports = []importBatch{{kind: store.KindContact, process: 42, ids: []string{"c1"}}}
	for try := 1; try <= opts.MaxAttempts; try++ {
		if _, err := eng.verifyImports(t.Context()); err == nil {
			t.Fatalf("verification %d succeeded against a failing Brevo", try)
		}
		eng.mu.Lock()
		left := len(eng.imports)
		eng.mu.Unlock()
		if want := 1; try == opts.MaxAttempts {
			want = 0
			if left != want {
				t.Errorf("after %d failed verifications %d imports are still tracked, want %d", try, left, want)
			}
		} else if left != want {
			t.Errorf("after failed verification %d, %d imports tracked, want %d (kept for a later try)", try, left, want)
		}
	}
}
