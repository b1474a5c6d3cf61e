package harness

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

var ok = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"ok":true}`) })

func get(h http.Handler, method, path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	return rec
}

func intercomBody(status int, code, msg string) []byte {
	b, _ := json.Marshal(map[string]any{"type": "error.list", "errors": []map[string]string{{"code": code, "message": msg}}})
	return b
}

func TestWindowStartIsEpochAligned(t *testing.T) {
	t.Parallel()
	tests := []struct {
		at     time.Time
		window time.Duration
		want   time.Time
	}{
		{time.Unix(1700000009, 900), 10 * time.Second, time.Unix(1700000000, 0)},
		{time.Unix(1700000010, 0), 10 * time.Second, time.Unix(1700000010, 0)},
		{time.Unix(1700000059, 0), time.Minute, time.Unix(1700000040, 0)},
		{time.Unix(1700000039, 0), time.Minute, time.Unix(1699999980, 0)},
		// 7 s does not divide the zero-time offset: Truncate would be off.
		{time.Unix(700, 0), 7 * time.Second, time.Unix(700, 0)},
		{time.Unix(706, 999), 7 * time.Second, time.Unix(700, 0)},
		{time.Unix(0, 250_000_001), 250 * time.Millisecond, time.Unix(0, 250_000_000)},
	}
	for _, tc := range tests {
		if got := windowStart(tc.at, tc.window); !got.Equal(tc.want) {
			t.Errorf("windowStart(%v, %v) = %v, want %v", tc.at.UnixNano(), tc.window, got.UnixNano(), tc.want.UnixNano())
		}
	}
}

func TestIntercomBudgetAndHeaders(t *testing.T) {
	t.Parallel()
	clk := &fakeClock{t: time.Unix(1700000003, 400_000_000)}
	h := &Harness{Style: Intercom, ErrorBody: intercomBody}
	h.SetClock(clk.now)
	h.SetLimits(&Limit{Name: "app", Budget: 3, Window: 10 * time.Second, Headers: true})
	srv := h.Wrap(ok)
	for i := range 3 {
		rec := get(srv, "GET", "/contacts")
		if rec.Code != 200 || rec.Header().Get("X-RateLimit-Limit") != "3" ||
			rec.Header().Get("X-RateLimit-Remaining") != strconv.Itoa(2-i) || rec.Header().Get("X-RateLimit-Reset") != "1700000010" {
			t.Fatalf("request %d: %d %v", i, rec.Code, rec.Header())
		}
	}
	rec := get(srv, "GET", "/contacts")
	if rec.Code != 429 || rec.Header().Get("X-RateLimit-Remaining") != "0" || !strings.Contains(rec.Body.String(), "rate_limit_exceeded") {
		t.Fatalf("over budget: %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	if rec.Header().Get("Retry-After") != "" {
		t.Error("Retry-After without the limit asking for it")
	}
	clk.set(time.Unix(1700000010, 0)) // the next window
	if rec := get(srv, "GET", "/contacts"); rec.Code != 200 || rec.Header().Get("X-RateLimit-Remaining") != "2" {
		t.Errorf("new window: %d %v", rec.Code, rec.Header())
	}
	st := h.Stats()
	if st.Requests != 5 || st.Throttled != 1 || st.Refused["app"] != 1 || st.ByStatus[200] != 4 || st.ByRoute["GET /contacts"] != 5 {
		t.Errorf("stats %+v", st)
	}
}

func TestBrevoHeaders(t *testing.T) {
	t.Parallel()
	clk := &fakeClock{t: time.Unix(1700000003, 400_000_000)}
	h := &Harness{Style: Brevo}
	h.SetClock(clk.now)
	h.SetLimits(&Limit{Name: "contacts", Budget: 10, Window: time.Hour, Headers: true})
	rec := get(h.Wrap(ok), "GET", "/v3/contacts")
	want := map[string]string{"x-sib-ratelimit-limit": "10", "x-sib-ratelimit-remaining": "9",
		"x-sib-ratelimit-reset": strconv.Itoa(int(time.Unix(1700002800, 0).Sub(clk.now()).Seconds()) + 1)}
	for k, v := range want {
		if got := rec.Header().Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
}

func TestClassLimitsMatchExemptAndRetryAfter(t *testing.T) {
	t.Parallel()
	clk := &fakeClock{t: time.Unix(1700000000, 300_000_000)}
	h := &Harness{Style: Intercom, Exempt: func(r *http.Request) bool { return r.Header.Get("Authorization") == "" }}
	h.SetClock(clk.now)
	h.SetLimits(
		&Limit{Name: "search", Budget: 1, Window: time.Second, RetryAfter: true,
			Match: func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, "/search") }},
		&Limit{Name: "app", Budget: 100, Window: 10 * time.Second, Headers: true},
	)
	srv := h.Wrap(ok)
	do := func(path string, auth bool) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", path, nil)
		if auth {
			req.Header.Set("Authorization", "Bearer x")
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		return rec
	}
	if rec := do("/contacts/search", true); rec.Code != 200 {
		t.Fatal(rec.Code)
	}
	rec := do("/contacts/search", true)
	if rec.Code != 429 || rec.Header().Get("Retry-After") != "1" {
		t.Errorf("second search: %d Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
	if rec.Header().Get("X-RateLimit-Remaining") != "" {
		t.Error("the refusing class limit came with the app headers")
	}
	if rec := do("/contacts", true); rec.Code != 200 || rec.Header().Get("X-RateLimit-Remaining") != "98" {
		t.Errorf("other request: %d remaining %q (the refused search must not count)", rec.Code, rec.Header().Get("X-RateLimit-Remaining"))
	}
	for range 3 {
		if rec := do("/contacts/search", false); rec.Code != 200 || rec.Header().Get("X-RateLimit-Remaining") != "" {
			t.Errorf("exempt request: %d %v", rec.Code, rec.Header())
		}
	}
	h.Lift(true)
	if rec := do("/contacts/search", true); rec.Code != 200 || rec.Header().Get("X-RateLimit-Remaining") != "" {
		t.Errorf("lifted: %d", rec.Code)
	}
	h.Lift(false)
	if rec := do("/contacts/search", true); rec.Code != 429 {
		t.Errorf("re-enforced: %d", rec.Code)
	}
	if st := h.Stats(); st.Refused["search"] != 2 || st.Refused["app"] != 0 {
		t.Errorf("refused %v", st.Refused)
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	h := &Harness{Style: Intercom, ErrorBody: intercomBody, KeepLog: true}
	srv := httptest.NewServer(h.Wrap(ok))
	defer srv.Close()
	send := func(method, path string) (*http.Response, error) {
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		return http.DefaultClient.Do(req)
	}
	h.Inject(
		Fault{Kind: FaultStatus, Method: "GET", PathPrefix: "/contacts", Count: 2, Status: 503, Code: "service_unavailable"},
		Fault{Kind: FaultDrop, PathPrefix: "/drop", Count: 1},
		Fault{Kind: FaultLatency, PathPrefix: "/slow", Latency: 150 * time.Millisecond},
		Fault{Kind: FaultStorm, PathPrefix: "/storm", Count: 1, RetryAfter: 1500 * time.Millisecond},
		Fault{Kind: FaultStorm, PathPrefix: "/bare", NoReset: true},
	)
	for i := range 3 {
		resp, err := send("GET", "/contacts/1")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if i < 2 && (resp.StatusCode != 503 || !strings.Contains(string(body), "service_unavailable")) {
			t.Errorf("fault %d: %d %s", i, resp.StatusCode, body)
		}
		if i == 2 && resp.StatusCode != 200 {
			t.Errorf("after Count: %d", resp.StatusCode)
		}
	}
	if resp, _ := send("POST", "/contacts/1"); resp.StatusCode != 200 {
		t.Errorf("the method filter matched POST")
	}
	if _, err := send("GET", "/drop"); err == nil {
		t.Error("dropped connection answered")
	}
	start := time.Now()
	if resp, _ := send("GET", "/slow"); resp.StatusCode != 200 || time.Since(start) < 150*time.Millisecond {
		t.Errorf("latency: %d after %v", resp.StatusCode, time.Since(start))
	}
	resp, _ := send("GET", "/storm")
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "2" || resp.Header.Get("X-RateLimit-Reset") == "" {
		t.Errorf("storm: %d %v (Retry-After rounds 1.5 s up)", resp.StatusCode, resp.Header)
	}
	resp, _ = send("GET", "/bare")
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "" || resp.Header.Get("X-RateLimit-Reset") != "" {
		t.Errorf("bare storm: %d %v", resp.StatusCode, resp.Header)
	}
	st := h.Stats()
	want := map[int]int{503: 2, 200: 3, -1: 1, 429: 2}
	if d := cmp.Diff(want, st.ByStatus); d != "" {
		t.Errorf("by status (-want +got):\n%s", d)
	}
	if st.Faults != 5 || st.Throttled != 2 || len(st.Refused) != 0 {
		t.Errorf("faults %d throttled %d refused %v", st.Faults, st.Throttled, st.Refused)
	}
	if log := h.Log(); len(log) != 8 || log[0].Fault != FaultStatus || log[4].Fault != FaultDrop || log[4].Status != -1 {
		t.Errorf("log %+v", log)
	}
	fs := h.Faults()
	if fs[0].Fired != 2 || fs[1].Fired != 1 || fs[4].Fired != 1 {
		t.Errorf("fired %+v", fs)
	}
	h.ClearFaults()
	h.ResetStats()
	if resp, _ := send("GET", "/storm"); resp.StatusCode != 200 || h.Stats().Requests != 1 || len(h.Log()) != 1 {
		t.Error("clear/reset did not take")
	}
}

func TestFaultProbability(t *testing.T) {
	t.Parallel()
	h := &Harness{}
	h.Inject(Fault{Kind: FaultStatus, Status: 500, Probability: 0.3})
	srv := h.Wrap(ok)
	for range 1000 {
		get(srv, "GET", "/x")
	}
	if n := h.Stats().ByStatus[500]; n < 200 || n > 400 {
		t.Errorf("%d of 1000 at probability 0.3", n)
	}
}

func TestControlHandler(t *testing.T) {
	t.Parallel()
	h := &Harness{Style: Intercom, KeepLog: true, Route: func(r *http.Request) string { return "route" }}
	h.SetLimits(&Limit{Name: "app", Budget: 1, Window: time.Hour})
	api, ctl := h.Wrap(ok), h.ControlHandler()
	send := func(method, path, body string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		ctl.ServeHTTP(rec, httptest.NewRequest(method, path, strings.NewReader(body)))
		return rec
	}
	if rec := send("POST", "/faults", `[{"kind":"status","status":418,"count":1}]`); rec.Code != 204 {
		t.Fatal(rec.Code)
	}
	if rec := get(api, "GET", "/a"); rec.Code != 418 {
		t.Errorf("injected fault: %d", rec.Code)
	}
	var fs []FaultState
	json.Unmarshal(send("GET", "/faults", "").Body.Bytes(), &fs)
	if len(fs) != 1 || fs[0].Fired != 1 || fs[0].Status != 418 {
		t.Errorf("faults %+v", fs)
	}
	send("DELETE", "/faults", "")
	get(api, "GET", "/a") // 200, spends the budget
	if rec := get(api, "GET", "/a"); rec.Code != 429 {
		t.Errorf("budget: %d", rec.Code)
	}
	if rec := send("POST", "/lift", `{"lifted":true}`); rec.Code != 204 {
		t.Fatal(rec.Code)
	}
	if rec := get(api, "GET", "/a"); rec.Code != 200 {
		t.Errorf("lifted: %d", rec.Code)
	}
	var st Stats
	json.Unmarshal(send("GET", "/stats", "").Body.Bytes(), &st)
	if st.Requests != 4 || st.ByRoute["route"] != 4 || st.Throttled != 1 || st.Refused["app"] != 1 {
		t.Errorf("stats %+v", st)
	}
	var log []Request
	json.Unmarshal(send("GET", "/log", "").Body.Bytes(), &log)
	if len(log) != 4 || log[0].Status != 418 {
		t.Errorf("log %+v", log)
	}
	send("POST", "/reset", "")
	json.Unmarshal(send("GET", "/stats", "").Body.Bytes(), &st)
	if st.Requests != 0 {
		t.Errorf("after reset: %+v", st)
	}
	for _, bad := range [][2]string{{"/faults", `{"kind":1}`}, {"/lift", `nope`}} {
		if rec := send("POST", bad[0], bad[1]); rec.Code != 400 {
			t.Errorf("POST %s %s: %d", bad[0], bad[1], rec.Code)
		}
	}
}

func TestConcurrentRequestsStayInBudget(t *testing.T) {
	t.Parallel()
	h := &Harness{Style: Intercom}
	clk := &fakeClock{t: time.Unix(1700000001, 0)}
	h.SetClock(clk.now)
	h.SetLimits(&Limit{Name: "app", Budget: 50, Window: 10 * time.Second, Headers: true})
	srv := h.Wrap(ok)
	var wg sync.WaitGroup
	for range 200 {
		wg.Go(func() { get(srv, "GET", "/x") })
	}
	wg.Wait()
	st := h.Stats()
	if st.ByStatus[200] != 50 || st.ByStatus[429] != 150 {
		t.Errorf("by status %v, want exactly the budget through", st.ByStatus)
	}
}
