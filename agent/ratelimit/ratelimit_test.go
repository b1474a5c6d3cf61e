package ratelimit

import (
	"net/http"
	"testing"
	"time"
)

func TestPacingStaysInBudget(t *testing.T) {
	t.Parallel()
	// 10 per 100ms: 30 requests need at least ~200ms and never more than 10
	// in any 100ms window.
	l := New("test", 10, 100*time.Millisecond)
	var sent []time.Time
	start := time.Now()
	for range 30 {
		if err := l.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
		sent = append(sent, time.Now())
	}
	if el := time.Since(start); el < 190*time.Millisecond {
		t.Errorf("30 requests at 10/100ms took %v", el)
	}
	for i := range sent {
		n := 0
		for j := i; j < len(sent) && sent[j].Sub(sent[i]) < 100*time.Millisecond; j++ {
			n++
		}
		// 10 plus one for the scheduling jitter of the measurement itself.
		if n > 11 {
			t.Fatalf("%d requests within one window starting at request %d", n, i)
		}
	}
	if l.Requests() != 30 {
		t.Errorf("Requests() = %d", l.Requests())
	}
}

func TestObserveRemainingZeroWaitsForReset(t *testing.T) {
	t.Parallel()
	l := New("test", 1000, time.Second, WithBurst(1000))
	reset := time.Now().Add(150 * time.Millisecond)
	l.Observe(State{Limit: 1000, Remaining: 2, Reset: reset})
	for range 2 {
		if err := l.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if time.Now().After(reset) {
		t.Fatal("the two remaining requests waited for the reset")
	}
	if err := l.Wait(t.Context()); err != nil {
		t.Fatal(err)
	}
	if time.Now().Before(reset) {
		t.Error("a request went out with 0 remaining before the reset")
	}
}

// fixedWindows is a server budget over fixed windows aligned to the
// clock, which reports its reset rounded up to whole seconds (as Brevo's
// x-sib-ratelimit-reset and the sandbox do).
type fixedWindows struct {
	budget, used int
	window       time.Duration
	start        time.Time
}

func (f *fixedWindows) take(now time.Time) (bool, State) {
	if ws := now.Truncate(f.window); !ws.Equal(f.start) {
		f.start, f.used = ws, 0
	}
	if f.used >= f.budget {
		return false, State{}
	}
	f.used++
	secs := (f.start.Add(f.window).Sub(now) + time.Second - 1) / time.Second
	return true, State{Limit: f.budget, Remaining: f.budget - f.used, Reset: now.Add(secs * time.Second)}
}

// TestCoarseResetOfOwnWindow: a 1 s window spent by this client alone is
// over one window after its first answer, not at the reset the server
// reports rounded up to the next whole second (up to a second later, which
// halved the throughput of a saturated per-second budget); no request is
// refused either way.
func TestCoarseResetOfOwnWindow(t *testing.T) {
	t.Parallel()
	srv := &fixedWindows{budget: 10, window: time.Second}
	l := New("test", srv.budget, srv.window)
	var spent time.Time // the coarse reset reported when a window ran out
	early := 0
	for i := range 25 {
		if err := l.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		if !spent.IsZero() && now.Before(spent) {
			early++
		}
		spent = time.Time{}
		ok, st := srv.take(now)
		if !ok {
			t.Fatalf("request %d refused by the server", i+1)
		}
		l.Observe(st)
		if st.Remaining == 0 {
			spent = st.Reset
		}
	}
	if early == 0 {
		t.Errorf("every request after a spent window waited for the reset reported, rounded up to a whole second")
	}
}

// TestForeignSpendingKeepsReportedReset: when another client spends part
// of the window, its end cannot be estimated from our answers; the limiter
// waits for the reset reported.
func TestForeignSpendingKeepsReportedReset(t *testing.T) {
	t.Parallel()
	l := New("test", 10, time.Second, WithBurst(10))
	now := time.Now()
	l.Observe(State{Limit: 10, Remaining: 9, Reset: now.Add(time.Second)})
	l.Observe(State{Limit: 10, Remaining: 5, Reset: now.Add(time.Second)}) // 3 not ours
	reset := now.Add(1300 * time.Millisecond)
	l.Observe(State{Limit: 10, Remaining: 0, Reset: reset})
	if err := l.Wait(t.Context()); err != nil {
		t.Fatal(err)
	}
	if time.Now().Before(reset) {
		t.Error("a request went out before the reported reset of a window others spent")
	}
}

func TestObserveKeepsLowestRemainingAndAdoptsLimit(t *testing.T) {
	t.Parallel()
	l := New("test", 20, 10*time.Second)
	reset := time.Now().Add(5 * time.Second)
	l.Observe(State{Limit: 166, Remaining: 50, Reset: reset})
	l.Observe(State{Limit: 166, Remaining: 60, Reset: reset}) // late, stale response
	if l.remaining != 50 {
		t.Errorf("remaining = %d, want the lower 50", l.remaining)
	}
	if b, _ := l.Budget(); b != 166 {
		t.Errorf("budget = %d, want the server's 166", b)
	}
	l.Observe(State{Limit: 166, Remaining: 165, Reset: reset.Add(10 * time.Second)})
	if l.remaining != 165 {
		t.Errorf("new window remaining = %d", l.remaining)
	}
}

func TestBlockAndCancel(t *testing.T) {
	t.Parallel()
	l := New("test", 100, time.Second)
	l.Block(time.Now().Add(time.Hour))
	ctx, cancel := contextWithTimeout(t, 50*time.Millisecond)
	defer cancel()
	if err := l.Wait(ctx); err == nil {
		t.Fatal("Wait returned before the block ended")
	}
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Time{
		"7":                             now.Add(7 * time.Second),
		"Thu, 01 Jan 2026 00:01:00 GMT": now.Add(time.Minute),
	} {
		got, ok := RetryAfter(http.Header{"Retry-After": {v}}, now)
		if !ok || !got.Equal(want) {
			t.Errorf("RetryAfter(%q) = %v, %v", v, got, ok)
		}
	}
	if _, ok := RetryAfter(http.Header{"Retry-After": {"soon"}}, now); ok {
		t.Error("accepted garbage")
	}
}
