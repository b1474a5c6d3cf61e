package brevo

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tajo/terraform-provider-tajo/agent/backoff"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox/fakebrevo"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox/harness"
)

// enforcingFake is the fake with the General tier's budgets enforced and
// a client paced by the same tier.
func enforcingFake(t *testing.T, retry backoff.Policy, copts ...Option) (*fakebrevo.Server, *Client) {
	t.Helper()
	fb := fakebrevo.New(fakebrevo.WithBasePath(fakeBase), fakebrevo.WithBudgets(fakebrevo.GeneralBudgets()))
	t.Cleanup(fb.Close)
	srv := httptest.NewServer(fb)
	t.Cleanup(srv.Close)
	opts := append([]Option{WithBaseURL(srv.URL + fakeBase), WithRetry(retry), WithHTTPClient(srv.Client())}, copts...)
	c, err := NewClient(fb.APIKey(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return fb, c
}

// TestPaceStaysInsideBudget: concurrent contact and event calls at the
// documented 10/s against the enforcing fake draw no 429, and a handful of
// "other" calls go at once thanks to the burst.
func TestPaceStaysInsideBudget(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("takes ~5 s")
	}
	fb, c := enforcingFake(t, backoff.Policy{Attempts: 1})
	ctx := t.Context()
	const workers, perWorker = 5, 10
	var wg sync.WaitGroup
	var failed atomic.Int32
	start := time.Now()
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				if _, _, err := c.Contacts.Upsert(ctx, &CreateContact{Email: fmt.Sprintf("w%d-%d@example.com", w, i)}); err != nil {
					t.Errorf("upsert: %v", err)
					failed.Add(1)
				}
			}
		})
	}
	wg.Go(func() {
		for i := range 20 {
			if _, err := c.Events.Create(ctx, &Event{Name: "tick", Identifiers: EventIdentifiers{ExtID: fmt.Sprint(i)}}); err != nil {
				t.Errorf("event: %v", err)
			}
		}
	})
	otherStart := time.Now()
	for i := range 5 {
		if _, _, err := c.Webhooks.List(ctx, &WebhookListOptions{Type: WebhookMarketing}); err != nil {
			t.Fatalf("webhook list %d: %v", i, err)
		}
	}
	if d := time.Since(otherStart); d > 2*time.Second {
		t.Errorf("5 'other' calls took %v; the burst should let them through", d)
	}
	wg.Wait()
	elapsed := time.Since(start)
	st := fb.Harness().Stats()
	contactCalls := workers * perWorker
	t.Logf("%d contact calls in %v (%.1f/s), %d requests in all, %d throttled", contactCalls, elapsed.Round(time.Millisecond),
		float64(contactCalls)/elapsed.Seconds(), st.Requests, st.Throttled)
	if st.Throttled != 0 || failed.Load() != 0 {
		t.Errorf("%d requests throttled, %d calls failed; want none", st.Throttled, failed.Load())
	}
	if min := time.Duration(contactCalls-10) * 100 * time.Millisecond; elapsed < min {
		t.Errorf("%d contact calls in %v: faster than 10/s", contactCalls, elapsed)
	}
	for id, n := range fb.ContactWrites() {
		if n != 1 {
			t.Errorf("contact %d written %d times", id, n)
		}
	}
}

// TestStormsRecoverWithoutDuplicates: 429 storms (with and without reset
// headers), 5xx bursts and dropped connections are ridden out, and the
// write log shows every contact written exactly once.
func TestStormsRecoverWithoutDuplicates(t *testing.T) {
	t.Parallel()
	retry := backoff.Policy{Attempts: 10, Base: 5 * time.Millisecond, Max: 50 * time.Millisecond}
	for _, tc := range []struct {
		name   string
		faults []harness.Fault
	}{
		{"429 storm without headers", []harness.Fault{{Kind: harness.FaultStorm, PathPrefix: fakeBase + "/contacts", Count: 12, NoReset: true}}},
		{"429 storm with Retry-After", []harness.Fault{{Kind: harness.FaultStorm, PathPrefix: fakeBase + "/contacts", Count: 2, RetryAfter: time.Second}}},
		{"5xx burst", []harness.Fault{{Kind: harness.FaultStatus, PathPrefix: fakeBase + "/contacts", Count: 12, Status: 503, Code: "unavailable"}}},
		{"dropped connections", []harness.Fault{{Kind: harness.FaultDrop, PathPrefix: fakeBase + "/contacts", Count: 8}}},
		{"mixed, half the requests", []harness.Fault{
			{Kind: harness.FaultStatus, PathPrefix: fakeBase + "/contacts", Probability: 0.25, Count: 10, Status: 500},
			{Kind: harness.FaultStorm, PathPrefix: fakeBase + "/contacts", Probability: 0.3, Count: 10, NoReset: true},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fb, c := enforcingFake(t, retry, WithLimits(Unlimited()))
			fb.Lift(true)
			fb.Harness().Inject(tc.faults...)
			ctx := t.Context()
			var wg sync.WaitGroup
			for w := range 3 {
				wg.Go(func() {
					for i := range 10 {
						if _, _, err := c.Contacts.Upsert(ctx, &CreateContact{Email: fmt.Sprintf("s%d-%d@example.com", w, i), ExtID: fmt.Sprintf("s-%d-%d", w, i)}); err != nil {
							t.Errorf("upsert: %v", err)
						}
					}
				})
			}
			wg.Wait()
			ids := make([]string, 30)
			for i := range ids {
				ids[i] = fmt.Sprintf("s-%d-%d", i/10, i%10)
			}
			l, _, err := c.Lists.Create(ctx, &CreateList{Name: "storm", FolderID: 1})
			for errors.Is(err, ErrOutcomeUnknown) || errors.Is(err, ErrRateLimited) {
				l, _, err = c.Lists.Create(ctx, &CreateList{Name: "storm", FolderID: 1})
			}
			if err != nil {
				t.Fatal(err)
			}
			res, _, err := c.Lists.AddExtIDs(ctx, l, ids)
			if err != nil || len(res.Success)+len(res.Failure) != 30 {
				t.Fatalf("list add: %+v %v", res, err)
			}
			if fb.ContactCount() != 30 {
				t.Errorf("%d contacts", fb.ContactCount())
			}
			for id, n := range fb.ContactWrites() {
				if n != 1 {
					t.Errorf("contact %d written %d times", id, n)
				}
			}
			if m, _ := fb.ListMembers(l); len(m) != 30 {
				t.Errorf("%d list members", len(m))
			}
			st := fb.Harness().Stats()
			t.Logf("%d requests, %d faults, %d throttled", st.Requests, st.Faults, st.Throttled)
		})
	}
}

// loseAnswer applies the request, then drops the connection: the worst
// case for a request that is not safe to repeat.
func loseAnswer(next http.Handler, lose func(*http.Request) bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !lose(r) {
			next.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(httptest.NewRecorder(), r)
		if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
			conn.Close()
		}
	})
}

// TestEventsNotRepeatedWhenTheAnswerIsLost: an event Brevo recorded but
// whose answer was lost is reported as ErrOutcomeUnknown, not sent again.
func TestEventsNotRepeatedWhenTheAnswerIsLost(t *testing.T) {
	t.Parallel()
	fb := fakebrevo.New(fakebrevo.WithBasePath(fakeBase), fakebrevo.WithLiftedBudgets())
	t.Cleanup(fb.Close)
	var n atomic.Int32
	srv := httptest.NewServer(loseAnswer(fb, func(r *http.Request) bool { return r.Method == "POST" && n.Add(1)%3 == 0 }))
	t.Cleanup(srv.Close)
	c, err := NewClient(fb.APIKey(), WithBaseURL(srv.URL+fakeBase), WithLimits(Unlimited()), WithRetry(fastRetry))
	if err != nil {
		t.Fatal(err)
	}
	unknown := 0
	for i := range 30 {
		_, err := c.Events.Create(t.Context(), &Event{Name: "clicked", Identifiers: EventIdentifiers{ExtID: fmt.Sprint(i)}})
		switch {
		case errors.Is(err, ErrOutcomeUnknown):
			unknown++
		case err != nil:
			t.Fatal(err)
		}
	}
	if got := len(fb.Events()); got != 30 {
		t.Errorf("%d events recorded, want 30 (each exactly once)", got)
	}
	if d := fb.DuplicateEvents(); len(d) != 0 {
		t.Errorf("duplicated events: %v", d)
	}
	if unknown != 10 {
		t.Errorf("%d outcomes unknown, want 10", unknown)
	}
	// An idempotent upsert whose answer was lost is repeated: same state.
	r, _, err := c.Contacts.Upsert(t.Context(), &CreateContact{Email: "lost@example.com"})
	if err != nil {
		t.Fatalf("upsert: %v (%+v)", err, r)
	}
	if fb.ContactCount() != 1 {
		t.Errorf("%d contacts after a repeated upsert", fb.ContactCount())
	}
}

// TestServerHeadersCorrectThePace: a server announcing a smaller budget
// than configured (x-sib-ratelimit-remaining 0) holds the client back
// until the reset.
func TestServerHeadersCorrectThePace(t *testing.T) {
	t.Parallel()
	fb, c := enforcingFake(t, backoff.Policy{Attempts: 1})
	fb.SetBudgets(fakebrevo.Budgets{Contacts: fakebrevo.Budget{PerSecond: 3}})
	ctx := t.Context()
	start := time.Now()
	for i := range 7 {
		if _, _, err := c.Contacts.Upsert(ctx, &CreateContact{Email: fmt.Sprintf("h%d@example.com", i)}); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if st := fb.Harness().Stats(); st.Throttled != 0 {
		t.Errorf("%d throttled: the headers should have held the client back", st.Throttled)
	}
	if d := time.Since(start); d < time.Second {
		t.Errorf("7 calls at 3/s took %v", d)
	}
}
