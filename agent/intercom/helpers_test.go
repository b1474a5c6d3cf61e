package intercom

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/tajo/terraform-provider-tajo/agent/backoff"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox/dataset"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox/fakeintercom"
)

// fastRetry keeps retry tests quick.
var fastRetry = backoff.Policy{Attempts: 4, Base: 5 * time.Millisecond, Max: 20 * time.Millisecond}

// refNow is the reference instant of test workspaces.
var refNow = time.Date(2026, time.March, 10, 15, 30, 0, 0, time.UTC)

// newFake serves a simulated workspace under /intercom and returns it with
// the client base URL. Budgets are lifted unless the test sets them.
func newFake(t testing.TB, opts fakeintercom.Options) (*fakeintercom.Server, string) {
	t.Helper()
	if opts.Dataset.Now.IsZero() {
		opts.Dataset.Now = refNow
	}
	f := fakeintercom.New(opts)
	mux := http.NewServeMux()
	mux.Handle("/intercom/", http.StripPrefix("/intercom", f))
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return f, ts.URL + "/intercom"
}

// unlimited lifts every budget of the fake.
func unlimited(contacts int) fakeintercom.Options {
	return fakeintercom.Options{Dataset: dataset.Options{Contacts: contacts, Seed: 42}, AppBudget: -1, SearchPerSecond: -1, ScrollOpensPerMinute: -1}
}

// newTestClient is a client with generous budgets and fast retries.
func newTestClient(t testing.TB, base string, opts ...Option) *Client {
	t.Helper()
	all := append([]Option{WithBaseURL(base), WithBudget(10000), WithSearchRate(1000), WithScrollOpenInterval(time.Millisecond), WithRetry(fastRetry)}, opts...)
	c, err := NewClient(fakeintercom.DefaultToken, all...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// logBuffer captures log output safely across goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func traceLogger(w *logBuffer) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Output: w, Level: hclog.Trace})
}

// handler serves canned answers in order (the last one repeats) and
// records the requests.
type handler struct {
	mu       sync.Mutex
	answers  []func(w http.ResponseWriter, r *http.Request)
	requests []*http.Request
	bodies   [][]byte
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	n := len(h.requests)
	var body bytes.Buffer
	body.ReadFrom(r.Body)
	h.requests = append(h.requests, r)
	h.bodies = append(h.bodies, body.Bytes())
	a := h.answers[min(n, len(h.answers)-1)]
	h.mu.Unlock()
	a(w, r)
}

func (h *handler) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.requests)
}

func serve(t testing.TB, answers ...func(w http.ResponseWriter, r *http.Request)) (*handler, string) {
	t.Helper()
	h := &handler{answers: answers}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return h, ts.URL
}

func reply(status int, body string, headers ...string) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		if body != "" && w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(status)
		w.Write([]byte(body))
	}
}

// drop closes the connection without an answer.
func drop(w http.ResponseWriter, r *http.Request) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		conn.Close()
	}
}

func errBody(code, msg string) string {
	return `{"type":"error.list","request_id":"b49593ed-49a6-4497-8fb7-220ff74527f6","errors":[{"code":"` + code + `","message":"` + msg + `"}]}`
}
