package intercom

import (
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tajo/terraform-provider-tajo/agent/backoff"
	"github.com/tajo/terraform-provider-tajo/agent/ratelimit"
)

func TestNewClientOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		token    string
		opts     []Option
		wantBase string
		wantErr  string
	}{
		{name: "default is US", token: "t", wantBase: "https://api.intercom.io"},
		{name: "eu", token: "t", opts: []Option{WithRegion("eu")}, wantBase: "https://api.eu.intercom.io"},
		{name: "AU upper case", token: "t", opts: []Option{WithRegion("AU")}, wantBase: "https://api.au.intercom.io"},
		{name: "base URL with prefix", token: "t", opts: []Option{WithBaseURL("http://127.0.0.1:9/intercom/")}, wantBase: "http://127.0.0.1:9/intercom"},
		{name: "last option wins", token: "t", opts: []Option{WithBaseURL("http://x"), WithRegion("eu")}, wantBase: "https://api.eu.intercom.io"},
		{name: "unknown region", token: "t", opts: []Option{WithRegion("mars")}, wantErr: `unknown region "mars"`},
		{name: "relative base", token: "t", opts: []Option{WithBaseURL("/intercom")}, wantErr: "absolute http(s) URL"},
		{name: "credentials in base", token: "t", opts: []Option{WithBaseURL("https://u:p@api.intercom.io")}, wantErr: "credentials"},
		{name: "empty token", token: " ", wantErr: "empty access token"},
		{name: "token with newline", token: "a\nb", wantErr: "whitespace"},
		{name: "bad budget", token: "t", opts: []Option{WithBudget(0)}, wantErr: "budget must be positive"},
		{name: "bad retry", token: "t", opts: []Option{WithRetry(backoff.Policy{})}, wantErr: "attempts"},
		{name: "nil http client", token: "t", opts: []Option{WithHTTPClient(nil)}, wantErr: "nil HTTP client"},
		{name: "empty version", token: "t", opts: []Option{WithVersion("")}, wantErr: "empty API version"},
		{name: "incomplete limiters", token: "t", opts: []Option{WithLimiters(&Limiters{})}, wantErr: "limiters"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := NewClient(tc.token, tc.opts...)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.BaseURL() != tc.wantBase {
				t.Errorf("base = %q, want %q", c.BaseURL(), tc.wantBase)
			}
		})
	}
}

func TestRequestHeadersAndPaths(t *testing.T) {
	t.Parallel()
	h, base := serve(t, reply(200, `{"type":"list","data":[]}`))
	c, err := NewClient("tok", WithBaseURL(base+"/prefix"), WithUserAgent("ua/1"), WithVersion("2.11"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Contacts.Get(t.Context(), "a/b c"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Contacts.Search(t.Context(), &SearchRequest{Query: Filter("email", OpEquals, "x@y.z")}); err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	get, post := h.requests[0], h.requests[1]
	for _, r := range h.requests {
		want := map[string]string{"Authorization": "Bearer tok", "Intercom-Version": "2.11", "Accept": "application/json", "User-Agent": "ua/1"}
		for k, v := range want {
			if got := r.Header.Get(k); got != v {
				t.Errorf("%s %s: %s = %q, want %q", r.Method, r.URL.Path, k, got, v)
			}
		}
	}
	if get.URL.EscapedPath() != "/prefix/contacts/a%2Fb%20c" {
		t.Errorf("path = %q: the id must be one escaped segment under the prefix", get.URL.EscapedPath())
	}
	if get.Header.Get("Content-Type") != "" {
		t.Error("a GET without body sent a Content-Type")
	}
	if post.Header.Get("Content-Type") != "application/json" || post.URL.Path != "/prefix/contacts/search" {
		t.Errorf("search: %s %q", post.URL.Path, post.Header.Get("Content-Type"))
	}
	var body map[string]any
	if err := json.Unmarshal(h.bodies[1], &body); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"query":      map[string]any{"field": "email", "operator": "=", "value": "x@y.z"},
		"pagination": map[string]any{"per_page": float64(150)},
	}
	if d := cmp.Diff(want, body); d != "" {
		t.Errorf("search body (-want +got):\n%s", d)
	}
}

func TestEmptyIDsAreRefused(t *testing.T) {
	t.Parallel()
	h, base := serve(t, reply(200, `{}`))
	c := newTestClient(t, base)
	ctx := t.Context()
	for name, err := range map[string]error{
		"contact":      func() error { _, _, err := c.Contacts.Get(ctx, ""); return err }(),
		"company":      func() error { _, _, err := c.Companies.Get(ctx, " "); return err }(),
		"conversation": func() error { _, _, err := c.Conversations.Get(ctx, "", nil); return err }(),
		"tags":         func() error { _, _, err := c.Contacts.ListTags(ctx, ""); return err }(),
	} {
		if err == nil || !strings.Contains(err.Error(), "empty") {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	if h.count() != 0 {
		t.Errorf("%d requests sent", h.count())
	}
}

func TestObserverAndResponse(t *testing.T) {
	t.Parallel()
	_, base := serve(t,
		reply(500, errBody("server_error", "x")),
		reply(200, `{"type":"list","data":[{"type":"tag","id":"1","name":"vip"}]}`,
			"X-RateLimit-Limit", "166", "X-RateLimit-Remaining", "150", "X-RateLimit-Reset", "1900000000", "X-Request-Id", "req-1"))
	var mu sync.Mutex
	var infos []RequestInfo
	c := newTestClient(t, base, WithObserver(func(i RequestInfo) {
		mu.Lock()
		defer mu.Unlock()
		i.Duration = 0
		infos = append(infos, i)
	}))
	tags, resp, err := c.Tags.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(tags) != 1 || tags[0].Name != "vip" || tags[0].ID != "1" {
		t.Errorf("tags = %+v", tags)
	}
	wantRate := ratelimit.State{Limit: 166, Remaining: 150, Reset: time.Unix(1900000000, 0)}
	if d := cmp.Diff(wantRate, resp.Rate); d != "" {
		t.Errorf("rate (-want +got):\n%s", d)
	}
	if resp.RequestID != "req-1" || resp.Attempts != 2 {
		t.Errorf("request id %q, attempts %d", resp.RequestID, resp.Attempts)
	}
	want := []RequestInfo{
		{Class: ClassApp, Method: "GET", Path: "/tags", Status: 500, Attempt: 1, RateLimitRemaining: -1},
		{Class: ClassApp, Method: "GET", Path: "/tags", Status: 200, Attempt: 2, RateLimitRemaining: 150},
	}
	if d := cmp.Diff(want, infos); d != "" {
		t.Errorf("observed (-want +got):\n%s", d)
	}
	// The server's limit replaced the configured budget.
	if b, _ := c.Limiters().App.Budget(); b != 166 {
		t.Errorf("app budget = %d, want the server's 166", b)
	}
}

func TestSearchAndScrollPassTheirBudgets(t *testing.T) {
	t.Parallel()
	_, base := serve(t, reply(200, `{"type":"list","data":[],"scroll_param":"p"}`))
	c := newTestClient(t, base)
	var mu sync.Mutex
	var classes []string
	c.observer = func(i RequestInfo) { mu.Lock(); classes = append(classes, i.Class); mu.Unlock() }
	ctx := t.Context()
	c.Contacts.Search(ctx, &SearchRequest{Query: Filter("role", OpEquals, "user")})
	c.Conversations.Search(ctx, &SearchRequest{Query: Filter("state", OpEquals, "open")})
	c.Companies.Scroll(ctx, "")
	c.Companies.Scroll(ctx, "p")
	c.Tags.List(ctx)
	if d := cmp.Diff([]string{ClassSearch, ClassSearch, ClassScroll, ClassApp, ClassApp}, classes); d != "" {
		t.Errorf("classes (-want +got):\n%s", d)
	}
	l := c.Limiters()
	if l.Search.Requests() != 2 || l.ScrollOpen.Requests() != 1 || l.App.Requests() != 5 {
		t.Errorf("limiter counts: search %d, scroll %d, app %d", l.Search.Requests(), l.ScrollOpen.Requests(), l.App.Requests())
	}
}

func TestSharedLimitersPaceTogether(t *testing.T) {
	t.Parallel()
	_, base := serve(t, reply(200, `{"type":"list","data":[]}`))
	shared := NewLimiters(10, 1) // 10 per 10 s: about one a second
	a, _ := NewClient("t", WithBaseURL(base), WithLimiters(shared))
	b, _ := NewClient("t", WithBaseURL(base), WithLimiters(shared))
	start := time.Now()
	for _, c := range []*Client{a, b, a} {
		if _, _, err := c.Tags.List(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if el := time.Since(start); el < 1500*time.Millisecond {
		t.Errorf("3 requests on a shared 10/10s budget took %v; the clients did not share it", el)
	}
}

func TestServerRemainingZeroWaitsForReset(t *testing.T) {
	t.Parallel()
	reset := time.Now().Add(1500 * time.Millisecond).Truncate(time.Second).Add(time.Second)
	_, base := serve(t, reply(200, `{"type":"list","data":[]}`,
		"X-RateLimit-Limit", "1000", "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", itoa(reset.Unix())))
	c := newTestClient(t, base)
	c.Tags.List(t.Context())
	if _, _, err := c.Tags.List(t.Context()); err != nil {
		t.Fatal(err)
	}
	if time.Now().Before(reset) {
		t.Error("a request went out while the server said 0 remaining")
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestNilArguments(t *testing.T) {
	t.Parallel()
	c := newTestClient(t, "http://127.0.0.1:9")
	ctx := t.Context()
	if _, _, err := c.Contacts.Search(ctx, nil); !errors.Is(err, ErrInvalidQuery) {
		t.Errorf("nil search: %v", err)
	}
	if _, _, err := c.Contacts.Update(ctx, "x", nil); err == nil {
		t.Error("nil update accepted")
	}
	if _, _, err := c.Contacts.List(ctx, &ListOptions{PerPage: 151}); err == nil {
		t.Error("per_page 151 accepted")
	}
	if _, err := c.Events.Submit(ctx, nil); err == nil {
		t.Error("nil event accepted")
	}
}
