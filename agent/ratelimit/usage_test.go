package ratelimit

import (
	"sync"
	"testing"
	"time"
)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func TestUsageSlidesWithTheWindow(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	// A budget the token bucket never makes anyone wait for.
	l := New("test", 1000, 10*time.Second, WithClock(c.now), WithBurst(1000))
	send := func(n int) {
		for range n {
			if err := l.Wait(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
	}
	send(100)
	c.add(5 * time.Second)
	send(50)
	steps := []struct {
		advance time.Duration
		sent    int
	}{
		{0, 150},
		{4 * time.Second, 150},        // 9 s after the first 100: all inside
		{1500 * time.Millisecond, 50}, // 10.5 s: the slot of the first 100 (0–0.5 s) has left
		{5 * time.Second, 0},          // 15.5 s: both batches are older than a window
		{time.Hour, 0},
	}
	for _, s := range steps {
		c.add(s.advance)
		u := l.Usage()
		if u.Sent != s.sent || u.Budget != 1000 || u.Window != 10*time.Second || u.Reported != -1 {
			t.Fatalf("after +%v: %+v, want Sent %d", s.advance, u, s.sent)
		}
	}
	if got := l.Requests(); got != 150 {
		t.Errorf("Requests() = %d", got)
	}
}

func TestUsagePartialSlot(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Unix(1_700_000_000, 0)} // a slot boundary
	l := New("test", 1000, 10*time.Second, WithClock(c.now), WithBurst(1000))
	for range 100 {
		if err := l.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	// A quarter of a slot (0.5 s) past one window: three quarters of the
	// oldest slot are counted.
	c.add(10*time.Second + 125*time.Millisecond)
	if u := l.Usage(); u.Sent != 75 {
		t.Errorf("Sent = %d, want 75", u.Sent)
	}
}

func TestUsageReportedByServer(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	l := New("test", 100, 10*time.Second, WithClock(c.now), WithBurst(100))
	if err := l.Wait(t.Context()); err != nil {
		t.Fatal(err)
	}
	// The server counts 60 spent: someone else shares the budget.
	l.Observe(State{Limit: 100, Remaining: 40, Reset: c.now().Add(5 * time.Second)})
	if err := l.Wait(t.Context()); err != nil {
		t.Fatal(err)
	}
	u := l.Usage()
	if u.Sent != 2 || u.Reported != 61 || u.Ratio() != 0.61 {
		t.Errorf("usage = %+v, ratio %v; want Sent 2, Reported 61, ratio 0.61", u, u.Ratio())
	}
	c.add(6 * time.Second) // the server's window has reset
	if u := l.Usage(); u.Reported != -1 || u.Ratio() != 0.02 {
		t.Errorf("after reset: %+v, ratio %v", u, u.Ratio())
	}
	if r := (Usage{Budget: 10, Sent: 30}).Ratio(); r != 1 {
		t.Errorf("over-budget ratio = %v, want 1", r)
	}
	if r := (Usage{}).Ratio(); r != 0 {
		t.Errorf("zero budget ratio = %v", r)
	}
}
