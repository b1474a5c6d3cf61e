package intercom

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

const contactJSONBody = `{"type":"contact","id":"c1","role":"user","email":"a@example.com","created_at":1700000000,"updated_at":1700000100}`

func TestErrorPaths(t *testing.T) {
	t.Parallel()
	type answer = func(w http.ResponseWriter, r *http.Request)
	ok := reply(200, contactJSONBody)
	tests := []struct {
		name     string
		answers  []answer
		submit   bool // POST /events instead of GET /contacts/{id}
		timeout  time.Duration
		wantErr  []error // errors.Is must hold
		notErr   []error // errors.Is must not hold
		wantReqs int
		check    func(t *testing.T, err error)
	}{
		{name: "401 unauthorized", answers: []answer{reply(401, errBody("unauthorized", "Access Token Invalid"))},
			wantErr: []error{ErrUnauthorized}, notErr: []error{ErrNotFound, ErrServer}, wantReqs: 1,
			check: func(t *testing.T, err error) {
				var ae *APIError
				if !errors.As(err, &ae) || ae.Code() != "unauthorized" || ae.RequestID != "b49593ed-49a6-4497-8fb7-220ff74527f6" || ae.Path != "/contacts/{id}" {
					t.Errorf("APIError = %#v", ae)
				}
			}},
		{name: "token_revoked code", answers: []answer{reply(401, errBody("token_revoked", "Token revoked"))},
			wantErr: []error{ErrUnauthorized}, wantReqs: 1},
		{name: "403 plan restricted", answers: []answer{reply(403, errBody("api_plan_restricted", "Active subscription needed."))},
			wantErr: []error{ErrPlanRestricted}, notErr: []error{ErrForbidden, ErrUnauthorized}, wantReqs: 1},
		{name: "403 forbidden", answers: []answer{reply(403, errBody("forbidden", "Missing scope"))},
			wantErr: []error{ErrForbidden}, notErr: []error{ErrPlanRestricted}, wantReqs: 1},
		{name: "404", answers: []answer{reply(404, errBody("not_found", "User Not Found"))},
			wantErr: []error{ErrNotFound}, wantReqs: 1},
		{name: "409", answers: []answer{reply(409, errBody("conflict", "Multiple existing users match this email address"))},
			wantErr: []error{ErrConflict}, wantReqs: 1},
		{name: "422 with field", answers: []answer{reply(422, `{"type":"error.list","request_id":null,"errors":[{"code":"data_invalid","message":"bad value","field":"email"}]}`)},
			wantErr: []error{ErrInvalid}, wantReqs: 1,
			check: func(t *testing.T, err error) {
				if !strings.Contains(err.Error(), "field email") || !strings.Contains(err.Error(), "data_invalid bad value") {
					t.Errorf("message %q lacks code, message or field", err)
				}
			}},
		{name: "429 with Retry-After then ok", answers: []answer{
			reply(429, errBody("rate_limit_exceeded", "Exceeded rate limit"), "Retry-After", "1"), ok},
			wantReqs: 2},
		{name: "429 with reset header then ok", answers: []answer{
			func(w http.ResponseWriter, r *http.Request) {
				reply(429, errBody("rate_limit_exceeded", "Exceeded rate limit of 20 in 10_seconds"),
					"X-RateLimit-Limit", "20", "X-RateLimit-Remaining", "0",
					"X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(time.Second).Unix(), 10))(w, r)
			}, ok},
			wantReqs: 2},
		{name: "429 without headers then ok", answers: []answer{reply(429, errBody("rate_limit_exceeded", "slow down")), ok},
			wantReqs: 2},
		{name: "429 forever", answers: []answer{reply(429, errBody("rate_limit_exceeded", "slow down"))},
			wantErr: []error{ErrRateLimited}, wantReqs: 10},
		{name: "500 then ok", answers: []answer{reply(500, errBody("server_error", "oops")), ok}, wantReqs: 2},
		{name: "503 forever", answers: []answer{reply(503, errBody("service_unavailable", "down"))},
			wantErr: []error{ErrServer}, wantReqs: fastRetry.Attempts},
		{name: "500 on a submit is not repeated", submit: true, answers: []answer{reply(500, errBody("server_error", "oops"))},
			wantErr: []error{ErrServer}, wantReqs: 1},
		{name: "429 on a submit is repeated", submit: true, answers: []answer{reply(429, ""), reply(202, "")}, wantReqs: 2},
		{name: "dropped connection then ok", answers: []answer{drop, ok}, wantReqs: 2},
		{name: "dropped connection on a submit", submit: true, answers: []answer{drop}, wantReqs: 1,
			check: func(t *testing.T, err error) {
				var te *transportError
				if !errors.As(err, &te) {
					t.Errorf("error %T %v is not a transport error", err, err)
				}
			}},
		{name: "slow response then ok", timeout: 100 * time.Millisecond, answers: []answer{
			func(w http.ResponseWriter, r *http.Request) {
				select {
				case <-time.After(2 * time.Second):
				case <-r.Context().Done():
				}
			}, ok}, wantReqs: 2},
		{name: "always slow", timeout: 50 * time.Millisecond, answers: []answer{
			func(w http.ResponseWriter, r *http.Request) {
				select {
				case <-time.After(2 * time.Second):
				case <-r.Context().Done():
				}
			}}, wantReqs: fastRetry.Attempts,
			check: func(t *testing.T, err error) {
				if !strings.Contains(err.Error(), "timeout") {
					t.Errorf("error %q does not say timeout", err)
				}
			}},
		{name: "malformed JSON", answers: []answer{reply(200, `{"type":"contact","id":`)}, wantReqs: 1,
			check: func(t *testing.T, err error) {
				var de *decodeError
				if !errors.As(err, &de) || !strings.Contains(err.Error(), "decode response") {
					t.Errorf("error %T %v", err, err)
				}
			}},
		{name: "wrong JSON type", answers: []answer{reply(200, `{"type":"contact","id":"x","created_at":"yesterday"}`)}, wantReqs: 1,
			check: func(t *testing.T, err error) {
				var de *decodeError
				if !errors.As(err, &de) {
					t.Errorf("error %T %v", err, err)
				}
			}},
		{name: "non-JSON error body", answers: []answer{reply(502, "<html><body>Bad Gateway</body></html>", "Content-Type", "text/html")},
			wantErr: []error{ErrServer}, wantReqs: fastRetry.Attempts,
			check: func(t *testing.T, err error) {
				var ae *APIError
				if !errors.As(err, &ae) || !strings.Contains(ae.Body, "Bad Gateway") || len(ae.Errors) != 0 {
					t.Errorf("APIError = %#v", ae)
				}
			}},
		{name: "error body of another shape", answers: []answer{reply(400, `{"error":"invalid_request","message":"nope"}`)},
			wantErr: []error{ErrInvalid}, wantReqs: 1,
			check: func(t *testing.T, err error) {
				if !strings.Contains(err.Error(), "invalid_request nope") {
					t.Errorf("message %q", err)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h, base := serve(t, tc.answers...)
			opts := []Option{}
			if tc.timeout > 0 {
				opts = append(opts, WithHTTPClient(&http.Client{Timeout: tc.timeout}))
			}
			c := newTestClient(t, base, opts...)
			var err error
			if tc.submit {
				_, err = c.Events.Submit(t.Context(), &EventSubmission{EventName: "x", CreatedAt: 1, ID: "c1"})
			} else {
				var ct *Contact
				ct, _, err = c.Contacts.Get(t.Context(), "c1")
				if err == nil && ct.ID != "c1" {
					t.Errorf("contact = %+v", ct)
				}
			}
			if len(tc.wantErr) == 0 && tc.check == nil && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			for _, want := range tc.wantErr {
				if !errors.Is(err, want) {
					t.Errorf("errors.Is(%v, %v) = false", err, want)
				}
			}
			for _, not := range tc.notErr {
				if errors.Is(err, not) {
					t.Errorf("errors.Is(%v, %v) = true", err, not)
				}
			}
			if tc.check != nil {
				if err == nil {
					t.Fatal("no error")
				}
				tc.check(t, err)
			}
			if got := h.count(); got != tc.wantReqs {
				t.Errorf("%d requests, want %d", got, tc.wantReqs)
			}
		})
	}
}

func TestRateLimitedErrorCarriesRetryAfter(t *testing.T) {
	t.Parallel()
	_, base := serve(t, reply(429, errBody("rate_limit_exceeded", "x"), "Retry-After", "0"))
	c := newTestClient(t, base, WithRetry(fastRetry))
	_, _, err := c.Tags.List(t.Context())
	var ae *APIError
	if !errors.As(err, &ae) || ae.StatusCode != 429 {
		t.Fatalf("err = %v", err)
	}
	if ae.RetryAfter < 0 || ae.RetryAfter > time.Second {
		t.Errorf("RetryAfter = %v", ae.RetryAfter)
	}
}

func TestCancelDuring429Wait(t *testing.T) {
	t.Parallel()
	_, base := serve(t, reply(429, errBody("rate_limit_exceeded", "x"), "Retry-After", "30"))
	c := newTestClient(t, base)
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err := c.Tags.List(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want the context's deadline", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Error("the wait ignored the context")
	}
}

func TestScrollErrors(t *testing.T) {
	t.Parallel()
	_, base := serve(t, reply(400, errBody("scroll_exists", "scroll already exists for this workspace")))
	c := newTestClient(t, base)
	_, _, err := c.Companies.Scroll(t.Context(), "")
	if !errors.Is(err, ErrScrollExists) || !errors.Is(err, ErrInvalid) {
		t.Errorf("scroll_exists: %v", err)
	}

	h, base := serve(t, reply(500, errBody("server_error", "Request failed due to an internal network error. Please restart the scroll operation.")))
	c = newTestClient(t, base)
	_, _, err = c.Companies.Scroll(t.Context(), "abc")
	if !errors.Is(err, ErrScrollRestart) || !errors.Is(err, ErrServer) {
		t.Errorf("restart: %v", err)
	}
	if h.count() != 1 {
		t.Errorf("a scroll page was repeated (%d requests)", h.count())
	}
}

func TestScrollAllHandlesExistsAndRestart(t *testing.T) {
	t.Parallel()
	page := func(param string, ids ...string) func(w http.ResponseWriter, r *http.Request) {
		var b strings.Builder
		b.WriteString(`{"type":"list","data":[`)
		for i, id := range ids {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`{"type":"company","id":"` + id + `","name":"n` + id + `"}`)
		}
		b.WriteString(`],"pages":null,"total_count":null,"scroll_param":"` + param + `"}`)
		return reply(200, b.String())
	}
	h, base := serve(t,
		reply(400, errBody("scroll_exists", "scroll already exists")),
		reply(400, errBody("scroll_exists", "scroll already exists")),
		page("p1", "a", "b"),
		page("p1", "c"),
		reply(500, errBody("server_error", "Request failed due to an internal network error. Please restart the scroll operation.")),
		page("p2", "a", "b"),
		page("p2", "c", "d"),
		page("p2", "e"),
		page("p2"),
	)
	c := newTestClient(t, base)
	var got []string
	for co, err := range c.Companies.ScrollAll(t.Context()) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, co.ID)
	}
	if strings.Join(got, ",") != "a,b,c,d,e" {
		t.Errorf("companies = %v, want each of a..e once", got)
	}
	// Restart and exists requests carry no scroll_param; pages do.
	h.mu.Lock()
	defer h.mu.Unlock()
	want := []string{"", "", "", "p1", "p1", "", "p2", "p2", "p2"}
	for i, r := range h.requests {
		if p := r.URL.Query().Get("scroll_param"); i < len(want) && p != want[i] {
			t.Errorf("request %d scroll_param = %q, want %q", i, p, want[i])
		}
	}
}

// TestScrollAllGivesUp: a scroll blocked by another open one is waited
// for as long as WithScrollWait says — past the retry policy's attempts,
// since the other scroll stays open until Intercom expires it — and then
// given up with scroll_exists.
func TestScrollAllGivesUp(t *testing.T) {
	t.Parallel()
	_, base := serve(t, reply(400, errBody("scroll_exists", "scroll already exists")))
	const wait = 500 * time.Millisecond
	c := newTestClient(t, base, WithScrollWait(wait))
	start := time.Now()
	errs := 0
	for _, err := range c.Companies.ScrollAll(t.Context()) {
		errs++
		if !errors.Is(err, ErrScrollExists) {
			t.Errorf("err = %v", err)
		}
	}
	if errs != 1 {
		t.Errorf("%d errors yielded, want 1", errs)
	}
	if took := time.Since(start); took < wait {
		t.Errorf("gave up after %s, before the scroll wait of %s", took, wait)
	}
}
