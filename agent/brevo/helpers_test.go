package brevo

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/tajo/terraform-provider-tajo/agent/backoff"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox/fakebrevo"
)

// fastRetry keeps retry tests quick.
var fastRetry = backoff.Policy{Attempts: 4, Base: time.Millisecond, Max: 5 * time.Millisecond}

// testKey is the key of clients against hand-written handlers.
const testKey = "test-key-0123456789"

// newTestClient returns a client for srv (unpaced, fast retries).
func newTestClient(t *testing.T, srv *httptest.Server, opts ...Option) *Client {
	t.Helper()
	base := []Option{WithBaseURL(srv.URL + "/v3"), WithLimits(Unlimited()), WithRetry(fastRetry), WithHTTPClient(srv.Client())}
	c, err := NewClient(testKey, append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// handler serves a sequence of answers, then repeats the last one; it
// records what it received.
type scripted struct {
	mu      sync.Mutex
	answers []func(http.ResponseWriter, *http.Request)
	calls   int
	reqs    []*http.Request
	bodies  [][]byte
}

func (s *scripted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var b bytes.Buffer
	b.ReadFrom(r.Body)
	s.mu.Lock()
	i := min(s.calls, len(s.answers)-1)
	s.calls++
	s.reqs = append(s.reqs, r)
	s.bodies = append(s.bodies, b.Bytes())
	s.mu.Unlock()
	s.answers[i](w, r)
}

func (s *scripted) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

func serve(t *testing.T, answers ...func(http.ResponseWriter, *http.Request)) (*scripted, *httptest.Server) {
	t.Helper()
	s := &scripted{answers: answers}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv
}

func status(code int, body string, headers ...string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		if body != "" && w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(code)
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

// fakeBase is where tests mount the fake (the sandbox's prefix).
const fakeBase = "/brevo/v3"

// newFake starts the simulated Brevo with budgets lifted (functional
// tests) and returns it with an unpaced client.
func newFake(t *testing.T, fopts []fakebrevo.Option, copts ...Option) (*fakebrevo.Server, *Client, *httptest.Server) {
	t.Helper()
	fb := fakebrevo.New(append([]fakebrevo.Option{fakebrevo.WithBasePath(fakeBase), fakebrevo.WithLiftedBudgets(),
		fakebrevo.WithProcessDelay(10 * time.Millisecond)}, fopts...)...)
	t.Cleanup(fb.Close)
	srv := httptest.NewServer(fb)
	t.Cleanup(srv.Close)
	base := []Option{WithBaseURL(srv.URL + fakeBase), WithLimits(Unlimited()), WithRetry(fastRetry), WithHTTPClient(srv.Client())}
	c, err := NewClient(fb.APIKey(), append(base, copts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return fb, c, srv
}

// logBuffer captures hclog output.
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

func captureLogger(buf *logBuffer) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Name: "test", Level: hclog.Trace, Output: buf})
}
