package brevo

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tajo/terraform-provider-tajo/agent/backoff"
)

func TestNewClientValidates(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		key  string
		opts []Option
		want string
	}{
		{"empty key", "", nil, "API key is required"},
		{"key with newline", "abc\ndef", nil, "whitespace or control"},
		{"credentials in base URL", "sekrit-key-1", []Option{WithBaseURL("https://user:pw@api.brevo.com/v3")}, "must not contain credentials"},
		{"ftp base URL", "k", []Option{WithBaseURL("ftp://api.brevo.com/v3")}, "scheme must be http or https"},
		{"query in base URL", "k", []Option{WithBaseURL("https://api.brevo.com/v3?x=1")}, "query"},
		{"zero attempts", "k", []Option{WithRetry(backoff.Policy{})}, "at least one attempt"},
		{"burst above budget", "k", []Option{WithLimits(Limits{Other: Budget{PerHour: 5, Burst: 6}})}, "burst 6 exceeds"},
		{"tiny import budget", "k", []Option{WithImportMaxBytes(10)}, "out of range"},
		{"huge import budget", "k", []Option{WithImportMaxBytes(MaxImportBytes + 1)}, "out of range"},
		{"zero event batch", "k", []Option{WithEventBatchSize(0)}, "positive"},
		{"multi-line user agent", "k", []Option{WithUserAgent("a\r\nb")}, "single line"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := NewClient(tc.key, tc.opts...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("NewClient: %v, want %q", err, tc.want)
			}
			if tc.key != "" && strings.Contains(err.Error(), tc.key) {
				t.Errorf("error %q repeats the key", err)
			}
		})
	}
	c, err := NewClient("k")
	if err != nil {
		t.Fatal(err)
	}
	if c.BaseURL() != DefaultBaseURL {
		t.Errorf("base URL %q", c.BaseURL())
	}
	if diff := cmp.Diff(TierLimits(TierGeneral), c.Limits()); diff != "" {
		t.Errorf("default limits (-want +got):\n%s", diff)
	}
}

func TestRequestHeadersAndPaths(t *testing.T) {
	t.Parallel()
	h, srv := serve(t, status(200, `{"id":7,"email":"a@example.com","attributes":{"EXT_ID":"ic/42"},"listIds":[],"emailBlacklisted":false,"smsBlacklisted":false,"createdAt":"2024-01-10T11:22:33.123+01:00","modifiedAt":"bogus"}`))
	c := newTestClient(t, srv, WithUserAgent("ua-test"))
	got, resp, err := c.Contacts.Get(t.Context(), ByExtID("ic/42"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Request.Header.Get("api-key") != "" || resp.Request.URL.Path != "/v3/contacts/ic/42" {
		t.Errorf("response request: %v %v", resp.Request.Header, resp.Request.URL)
	}
	r := h.reqs[0]
	if r.Header.Get("api-key") != testKey || r.Header.Get("Accept") != "application/json" || r.Header.Get("User-Agent") != "ua-test" {
		t.Errorf("headers %v", r.Header)
	}
	if r.URL.EscapedPath() != "/v3/contacts/ic%2F42" || r.URL.RawQuery != "identifierType=ext_id" {
		t.Errorf("request %s ? %s", r.URL.EscapedPath(), r.URL.RawQuery)
	}
	if got.ExtID != "ic/42" || got.ID != 7 {
		t.Errorf("contact %+v", got)
	}
	if want := time.Date(2024, 1, 10, 10, 22, 33, 123e6, time.UTC); !got.CreatedAt.Equal(want) {
		t.Errorf("createdAt %v, want %v", got.CreatedAt, want)
	}
	if !got.ModifiedAt.IsZero() {
		t.Errorf("an unparsable time should decode to zero, got %v", got.ModifiedAt)
	}
}

// TestErrorPaths drives every failure mode against hand-written servers.
func TestErrorPaths(t *testing.T) {
	t.Parallel()
	getContact := func(c *Client) error { _, _, err := c.Contacts.Get(t.Context(), ByEmail("a@example.com")); return err }
	createContact := func(c *Client) error {
		_, _, err := c.Contacts.Create(t.Context(), &CreateContact{Email: "a@example.com"})
		return err
	}
	postEvent := func(c *Client) error {
		_, err := c.Events.Create(t.Context(), &Event{Name: "signed_up", Identifiers: EventIdentifiers{ExtID: "1"}})
		return err
	}
	okContact := status(200, `{"id":1,"email":"a@example.com","attributes":{},"listIds":[]}`)
	slow := func(w http.ResponseWriter, r *http.Request) { time.Sleep(300 * time.Millisecond); okContact(w, r) }

	for _, tc := range []struct {
		name    string
		answers []func(http.ResponseWriter, *http.Request)
		call    func(*Client) error
		opts    []Option
		calls   int
		is      []error // errors.Is targets; nil slice: success expected
		not     []error
		text    []string // substrings of the error
		minTime time.Duration
	}{
		{name: "401", answers: fns(status(401, `{"code":"unauthorized","message":"Key not found"}`)), call: getContact, calls: 1,
			is: []error{ErrUnauthorized}, not: []error{ErrNotFound, ErrOutcomeUnknown}, text: []string{"GET /contacts/{identifier}: 401 unauthorized: Key not found"}},
		{name: "400 duplicate", answers: fns(status(400, `{"code":"duplicate_parameter","message":"email is already associated with another Contact","metadata":{"duplicate_identifiers":["email"]}}`)),
			call: createContact, calls: 1, is: []error{ErrDuplicate}, text: []string{"duplicate identifiers: email"}},
		{name: "404", answers: fns(status(404, `{"code":"document_not_found","message":"Contact does not exist"}`)), call: getContact, calls: 1, is: []error{ErrNotFound}},
		{name: "425 then created", answers: fns(status(425, `{"code":"invalid_parameter","message":"Too early"}`), status(201, `{"id":9}`)), call: createContact, calls: 2},
		{name: "425 forever", answers: fns(status(425, `{"code":"invalid_parameter","message":"Too early"}`)), call: createContact, calls: fastRetry.Attempts, is: []error{ErrTooEarly}},
		{name: "429 with reset header", answers: fns(status(429, `{"code":"too_many_requests","message":"slow down"}`, HeaderRateLimit, "10", HeaderRateRemaining, "0", HeaderRateReset, "1"), okContact),
			call: getContact, calls: 2, minTime: 900 * time.Millisecond},
		{name: "429 with Retry-After", answers: fns(status(429, ``, "Retry-After", "1"), okContact), call: getContact, calls: 2, minTime: 900 * time.Millisecond},
		{name: "429 without headers", answers: fns(status(429, ``), status(429, ``), okContact), call: getContact, calls: 3},
		{name: "429 forever", answers: fns(status(429, `{"code":"too_many_requests","message":"nope"}`)), call: getContact, calls: fastRetry.Attempts, is: []error{ErrRateLimited}},
		{name: "429 event retried", answers: fns(status(429, ``), status(204, ``)), call: postEvent, calls: 2},
		{name: "429 beyond max wait", answers: fns(status(429, ``, HeaderRateRemaining, "0", HeaderRateReset, "3000")), call: getContact,
			opts: []Option{WithMaxRateWait(time.Minute)}, calls: 1, is: []error{ErrRateLimited}, text: []string{"retry after 50m0s"}},
		{name: "500 on GET retried", answers: fns(status(500, `{"code":"internal","message":"boom"}`), okContact), call: getContact, calls: 2},
		{name: "503 forever on GET", answers: fns(status(503, ``)), call: getContact, calls: fastRetry.Attempts, text: []string{"503", "Service Unavailable (empty body)"}, not: []error{ErrOutcomeUnknown}},
		{name: "500 on event not retried", answers: fns(status(500, `{"code":"internal","message":"boom"}`)), call: postEvent, calls: 1, is: []error{ErrOutcomeUnknown}},
		{name: "500 on plain create not retried", answers: fns(status(500, ``)), call: createContact, calls: 1, is: []error{ErrOutcomeUnknown}},
		{name: "dropped connection on GET retried", answers: fns(drop, okContact), call: getContact, calls: 2},
		{name: "dropped connection on event not retried", answers: fns(drop, status(204, ``)), call: postEvent, calls: 1, is: []error{ErrOutcomeUnknown}},
		{name: "timeout on GET retried", answers: fns(slow, okContact), call: getContact, calls: 2,
			opts: []Option{WithHTTPClient(&http.Client{Timeout: 100 * time.Millisecond})}},
		{name: "timeout on event not retried", answers: fns(slow), call: postEvent, calls: 1, is: []error{ErrOutcomeUnknown},
			opts: []Option{WithHTTPClient(&http.Client{Timeout: 100 * time.Millisecond})}, text: []string{"POST /events"}},
		{name: "HTML from a proxy", answers: fns(status(502, "<html><body><h1>502 Bad Gateway</h1>\n<p>nginx</p></body></html>", "Content-Type", "text/html")),
			call: postEvent, calls: 1, is: []error{ErrOutcomeUnknown}, text: []string{"502", "Bad Gateway (non-JSON text/html body:", "nginx"}},
		{name: "plain text 400", answers: fns(status(400, "bad things", "Content-Type", "text/plain")), call: getContact, calls: 1, text: []string{`400: Bad Request (non-JSON text/plain body: "bad things")`}},
		{name: "JSON that is not the error model", answers: fns(status(400, `{"error":"x"}`)), call: getContact, calls: 1, text: []string{"non-JSON application/json body"}},
		{name: "empty 404", answers: fns(status(404, ``)), call: getContact, calls: 1, is: []error{ErrNotFound}, text: []string{"Not Found (empty body)"}},
		{name: "malformed JSON on success", answers: fns(status(200, `{"id": 1, "email": `)), call: getContact, calls: 1, text: []string{"decode 200 response"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h, srv := serve(t, tc.answers...)
			c := newTestClient(t, srv, tc.opts...)
			start := time.Now()
			err := tc.call(c)
			elapsed := time.Since(start)
			if got := h.Calls(); got != tc.calls {
				t.Errorf("%d calls, want %d", got, tc.calls)
			}
			if tc.is == nil && tc.text == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
			} else if err == nil {
				t.Fatal("no error")
			}
			for _, target := range tc.is {
				if !errors.Is(err, target) {
					t.Errorf("error %v is not %v", err, target)
				}
			}
			for _, target := range tc.not {
				if errors.Is(err, target) {
					t.Errorf("error %v is %v", err, target)
				}
			}
			for _, s := range tc.text {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q lacks %q", err, s)
				}
			}
			if elapsed < tc.minTime {
				t.Errorf("took %v, want at least %v", elapsed, tc.minTime)
			}
		})
	}
}

func fns(f ...func(http.ResponseWriter, *http.Request)) []func(http.ResponseWriter, *http.Request) {
	return f
}

func TestAPIErrorAs(t *testing.T) {
	t.Parallel()
	_, srv := serve(t, status(400, `{"code":"duplicate_parameter","message":"ext_id is already associated with another Contact","metadata":{"duplicate_identifiers":["ext_id","email"]}}`))
	c := newTestClient(t, srv)
	_, _, err := c.Contacts.Upsert(t.Context(), &CreateContact{Email: "a@example.com", ExtID: "x"})
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("%v is not an *APIError", err)
	}
	want := &APIError{StatusCode: 400, Code: CodeDuplicateParameter, Message: "ext_id is already associated with another Contact",
		Metadata: map[string]any{"duplicate_identifiers": []any{"ext_id", "email"}}, Method: "POST", Path: "/contacts"}
	if diff := cmp.Diff(want, apiErr); diff != "" {
		t.Errorf("APIError (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"ext_id", "email"}, apiErr.DuplicateIdentifiers()); diff != "" {
		t.Error(diff)
	}
}

func TestRetriedDeleteNotFoundIsSuccess(t *testing.T) {
	t.Parallel()
	h, srv := serve(t, drop, status(404, `{"code":"document_not_found","message":"Contact does not exist"}`))
	c := newTestClient(t, srv)
	if _, err := c.Contacts.Delete(t.Context(), ByExtID("x")); err != nil {
		t.Fatalf("delete after a lost answer: %v", err)
	}
	if h.Calls() != 2 {
		t.Errorf("%d calls", h.Calls())
	}
}

func TestContextCancelStopsRetries(t *testing.T) {
	t.Parallel()
	_, srv := serve(t, status(503, ``))
	c := newTestClient(t, srv, WithRetry(backoff.Policy{Attempts: 100, Base: 50 * time.Millisecond, Max: 50 * time.Millisecond}))
	ctx, cancel := context.WithTimeout(t.Context(), 120*time.Millisecond)
	defer cancel()
	_, _, err := c.Contacts.Get(ctx, ByEmail("a@example.com"))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want deadline exceeded", err)
	}
}

func TestObserver(t *testing.T) {
	t.Parallel()
	_, srv := serve(t, status(500, ``), status(200, `{"id":1,"attributes":{},"listIds":[]}`, HeaderRateLimit, "10", HeaderRateRemaining, "9", HeaderRateReset, "1"))
	var mu sync.Mutex
	var seen []RequestInfo
	c := newTestClient(t, srv, WithObserver(func(i RequestInfo) {
		mu.Lock()
		defer mu.Unlock()
		i.Duration, i.Wait = 0, 0
		seen = append(seen, i)
	}))
	_, resp, err := c.Contacts.Get(t.Context(), ByExtID("secret-ext"))
	if err != nil {
		t.Fatal(err)
	}
	want := []RequestInfo{
		{Class: ClassContacts, Method: "GET", Path: "/contacts/{identifier}", Status: 500, Attempt: 1},
		{Class: ClassContacts, Method: "GET", Path: "/contacts/{identifier}", Status: 200, Attempt: 2},
	}
	if diff := cmp.Diff(want, seen); diff != "" {
		t.Errorf("observed (-want +got):\n%s", diff)
	}
	if resp.Attempts != 2 || resp.Rate == nil || resp.Rate.Limit != 10 || resp.Rate.Remaining != 9 || resp.Rate.Reset != time.Second {
		t.Errorf("response %+v rate %+v", resp, resp.Rate)
	}
}

// TestKeyNeverLeaks: a client with a canary key against servers that fail
// in every way — some echoing the key back — must not put the key in any
// error or log line.
func TestKeyNeverLeaks(t *testing.T) {
	t.Parallel()
	const canary = "canary-key-5f1d0c3b9a7e42d8"
	echo := func(code int, ctype string) func(http.ResponseWriter, *http.Request) {
		return func(w http.ResponseWriter, r *http.Request) {
			k := r.Header.Get("api-key")
			w.Header().Set("Content-Type", ctype)
			w.WriteHeader(code)
			if ctype == "application/json" {
				w.Write([]byte(`{"code":"unauthorized","message":"Key ` + k + ` not found","metadata":{"key":"` + k + `"}}`))
				return
			}
			w.Write([]byte("<html><body>bad key " + k + "</body></html>"))
		}
	}
	var logs logBuffer
	var observed []string
	var mu sync.Mutex
	for _, tc := range []struct {
		name    string
		answers []func(http.ResponseWriter, *http.Request)
	}{
		{"401 echoing the key", fns(echo(401, "application/json"))},
		{"500 HTML echoing the key", fns(echo(500, "text/html"))},
		{"400 HTML echoing the key", fns(echo(400, "text/html"))},
		{"429 storm", fns(status(429, ``))},
		{"dropped connections", fns(drop)},
		{"malformed success", fns(status(200, `{"id":`))},
	} {
		_, srv := serve(t, tc.answers...)
		c, err := NewClient(canary, WithBaseURL(srv.URL+"/v3"), WithLimits(Unlimited()), WithRetry(fastRetry), WithLogger(captureLogger(&logs)),
			WithObserver(func(i RequestInfo) {
				mu.Lock()
				defer mu.Unlock()
				if i.Err != nil {
					observed = append(observed, i.Err.Error())
				}
			}))
		if err != nil {
			t.Fatal(err)
		}
		var errs []error
		_, _, err = c.Contacts.Get(t.Context(), ByEmail("a@example.com"))
		errs = append(errs, err)
		_, err = c.Events.Create(t.Context(), &Event{Name: "x", Identifiers: EventIdentifiers{ExtID: "1"}})
		errs = append(errs, err)
		_, _, err = c.Contacts.Import(t.Context(), &ImportRequest{Contacts: []ImportContact{{Email: "a@example.com"}}, ListIDs: []int64{1}})
		errs = append(errs, err)
		failed := 0
		for _, err := range errs {
			if err == nil {
				continue
			}
			failed++
			if strings.Contains(err.Error(), canary) || strings.Contains(fmtAll(err), canary) {
				t.Errorf("%s: error leaks the key: %v", tc.name, err)
			}
		}
		if failed == 0 {
			t.Errorf("%s: no call failed", tc.name)
		}
	}
	if out := logs.String(); out == "" || strings.Contains(out, canary) {
		t.Errorf("logs empty or leak the key:\n%s", out)
	}
	for _, s := range observed {
		if strings.Contains(s, canary) {
			t.Errorf("observer saw the key: %s", s)
		}
	}
}

// fmtAll renders an error with %+v and its APIError fields.
func fmtAll(err error) string {
	var b strings.Builder
	b.WriteString(err.Error())
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		b.WriteString(apiErr.Message)
		for k, v := range apiErr.Metadata {
			b.WriteString(k)
			if s, ok := v.(string); ok {
				b.WriteString(s)
			}
		}
	}
	return b.String()
}
