// Package ratelimit keeps an API client inside a request budget it does not
// control. A Limiter paces requests of one endpoint class with a token
// bucket (golang.org/x/time/rate) sized from the documented budget, and then
// defers to what the server says: the remaining count and reset time of the
// current window (X-RateLimit-* on Intercom, x-sib-ratelimit-* on Brevo),
// and a block after a 429. The aim is to use the whole budget and never be
// refused.
package ratelimit

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/tajo/terraform-provider-tajo/agent/backoff"
)

// Limiter paces one endpoint class.
type Limiter struct {
	name   string
	now    func() time.Time
	bucket *rate.Limiter

	mu        sync.Mutex
	budget    int
	window    time.Duration
	burst     int
	remaining int       // server's remaining count in the current window, when known
	resetAt   time.Time // end of the window the remaining count belongs to
	blocked   time.Time // no request before this (after a 429)

	requests atomic.Int64
	waited   atomic.Int64 // nanoseconds spent waiting
}

// Option configures a Limiter.
type Option func(*Limiter)

// WithBurst lets up to b requests go at once; the sustained rate is reduced
// so that burst plus rate never exceed the budget within one window.
func WithBurst(b int) Option { return func(l *Limiter) { l.burst = max(1, b) } }

// WithClock replaces time.Now (tests).
func WithClock(now func() time.Time) Option { return func(l *Limiter) { l.now = now } }

// New returns a limiter for budget requests per window.
func New(name string, budget int, window time.Duration, opts ...Option) *Limiter {
	l := &Limiter{name: name, now: time.Now, burst: 1, remaining: -1}
	for _, o := range opts {
		o(l)
	}
	l.bucket = rate.NewLimiter(0, l.burst)
	l.setBudget(budget, window)
	return l
}

func (l *Limiter) setBudget(budget int, window time.Duration) {
	l.budget, l.window = max(1, budget), window
	if l.burst > l.budget {
		l.burst = l.budget
	}
	// Over any half-open window: burst-1 + rate·window ≤ budget. A 1 % margin
	// absorbs the jitter between leaving Wait and reaching the server.
	sustained := 0.99 * float64(l.budget-l.burst+1) / window.Seconds()
	l.bucket.SetLimitAt(l.now(), rate.Limit(sustained))
	l.bucket.SetBurstAt(l.now(), l.burst)
}

// SetBudget changes the budget, e.g. when the server reports another limit.
func (l *Limiter) SetBudget(budget int, window time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.setBudget(budget, window)
}

// Budget returns the budget per window.
func (l *Limiter) Budget() (int, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.budget, l.window
}

// Name of the endpoint class.
func (l *Limiter) Name() string { return l.name }

// Wait blocks until a request may be sent.
func (l *Limiter) Wait(ctx context.Context) error {
	start := l.now()
	defer func() { l.waited.Add(int64(l.now().Sub(start))) }()
	for {
		l.mu.Lock()
		now := l.now()
		var until time.Time
		switch {
		case now.Before(l.blocked):
			until = l.blocked
		case l.remaining == 0 && now.Before(l.resetAt):
			until = l.resetAt
		}
		if until.IsZero() {
			if l.remaining > 0 {
				l.remaining-- // this request will spend one
			}
			l.mu.Unlock()
			break
		}
		l.mu.Unlock()
		if err := backoff.Sleep(ctx, until.Sub(now)); err != nil {
			return err
		}
	}
	if err := l.bucket.Wait(ctx); err != nil {
		return err
	}
	l.requests.Add(1)
	return nil
}

// State is what a response says about the window.
type State struct {
	Limit     int
	Remaining int
	Reset     time.Time
}

// Observe folds the server's view of the window into the limiter. Responses
// can arrive out of order; within one window the lowest remaining count wins.
func (l *Limiter) Observe(s State) {
	if s.Reset.IsZero() || s.Remaining < 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if s.Limit > 0 && s.Limit != l.budget {
		l.setBudget(s.Limit, l.window)
	}
	switch {
	case s.Reset.After(l.resetAt):
		l.resetAt, l.remaining = s.Reset, s.Remaining
	case s.Reset.Equal(l.resetAt) && s.Remaining < l.remaining:
		l.remaining = s.Remaining
	}
}

// Block stops all requests until t (after a 429 with Retry-After or a reset
// time).
func (l *Limiter) Block(t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t.After(l.blocked) {
		l.blocked = t
	}
}

// Requests counts requests let through.
func (l *Limiter) Requests() int64 { return l.requests.Load() }

// Waited is the total time callers spent waiting in Wait.
func (l *Limiter) Waited() time.Duration { return time.Duration(l.waited.Load()) }

// Group is the set of limiters one request passes, e.g. the app-wide budget
// and the search budget.
type Group []*Limiter

// Wait waits on every limiter in order.
func (g Group) Wait(ctx context.Context) error {
	for _, l := range g {
		if err := l.Wait(ctx); err != nil {
			return err
		}
	}
	return nil
}

// RetryAfter parses a Retry-After header (seconds or an HTTP date).
func RetryAfter(h http.Header, now time.Time) (time.Time, bool) {
	v := h.Get("Retry-After")
	if v == "" {
		return time.Time{}, false
	}
	if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
		return now.Add(time.Duration(secs) * time.Second), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return t, true
	}
	return time.Time{}, false
}
