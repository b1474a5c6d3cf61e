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
	// ownFirst is when the answer to the first request of the server's
	// current window arrived, while every request that window counted is
	// ours (see Observe); zero otherwise. ownNext is the remaining count
	// the next answer reports if it stays so.
	ownFirst time.Time
	ownNext  int

	recent slidingCount // requests let through, by slot of the window

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
			if !l.ownFirst.IsZero() {
				// The window began before its first request arrived, so
				// it is over one window after that request's answer:
				// often well before the reset reported, which servers
				// round up to whole seconds (up to twice a 1 s window).
				if end := l.ownFirst.Add(l.window + l.window/50); end.Before(until) {
					until = end
				}
				if !now.Before(until) {
					l.remaining, l.ownFirst, until = -1, time.Time{}, time.Time{}
				}
			}
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
	l.mu.Lock()
	l.recent.add(l.now(), l.window)
	l.mu.Unlock()
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
	// Follow whether the window's whole count is ours: its first request
	// left budget-1, and each answer since reports one less, within one
	// window of the first. Anything else (another client of the same
	// budget, answers out of order, a budget the server counts
	// differently) gives up the estimate until the next window.
	now := l.now()
	switch {
	case s.Remaining == l.budget-1:
		l.ownFirst, l.ownNext = now, s.Remaining-1
	case !l.ownFirst.IsZero() && s.Remaining == l.ownNext && now.Before(l.ownFirst.Add(l.window)):
		l.ownNext--
	default:
		l.ownFirst = time.Time{}
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

// Usage is how much of a limiter's budget the current window has used.
type Usage struct {
	// Budget is the budget per Window.
	Budget int
	Window time.Duration
	// Sent estimates the requests this limiter let through in the trailing
	// Window (a sliding count in slots of Window/20: within 5 % of one
	// window's traffic).
	Sent int
	// Reported is the budget minus the remaining count of the current
	// window as the server last reported it (less the requests sent since),
	// or -1 when the server reported none or its window has reset. It is
	// higher than Sent when something else spends the same budget, e.g.
	// another client of the same app or key.
	Reported int
}

// Ratio is the used share of the budget: the larger of Sent and Reported
// over Budget, capped at 1 (the budget cannot be more than spent).
func (u Usage) Ratio() float64 {
	if u.Budget <= 0 {
		return 0
	}
	return min(1, float64(max(u.Sent, u.Reported, 0))/float64(u.Budget))
}

// Usage returns the use of the budget in the current window.
func (l *Limiter) Usage() Usage {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	u := Usage{Budget: l.budget, Window: l.window, Sent: l.recent.sum(now, l.window), Reported: -1}
	if l.remaining >= 0 && now.Before(l.resetAt) {
		u.Reported = max(0, l.budget-l.remaining)
	}
	return u
}

// Requests counts requests let through.
func (l *Limiter) Requests() int64 { return l.requests.Load() }

// Waited is the total time callers spent waiting in Wait.
func (l *Limiter) Waited() time.Duration { return time.Duration(l.waited.Load()) }

// slots is the resolution of the sliding count: one window is counted in
// this many slots.
const slots = 20

// slidingCount counts events over a trailing window without remembering
// each one: events are counted per slot of window/slots, and the oldest,
// partly expired slot is weighted by the part still inside the window.
type slidingCount struct {
	counts [slots + 1]int64
	index  [slots + 1]int64 // slot number each count belongs to
}

func slotOf(t time.Time, window time.Duration) int64 {
	return t.UnixNano() / max(1, int64(window/slots))
}

func (c *slidingCount) add(now time.Time, window time.Duration) {
	n := slotOf(now, window)
	i := n % (slots + 1)
	if c.index[i] != n {
		c.index[i], c.counts[i] = n, 0
	}
	c.counts[i]++
}

func (c *slidingCount) sum(now time.Time, window time.Duration) int {
	width := max(1, int64(window/slots))
	cur := now.UnixNano() / width
	elapsed := float64(now.UnixNano()%width) / float64(width) // of the current slot
	total := 0.0
	for i := range c.counts {
		switch age := cur - c.index[i]; {
		case age < 0 || age > slots || c.counts[i] == 0:
		case age == slots: // partly outside the window
			total += float64(c.counts[i]) * (1 - elapsed)
		default:
			total += float64(c.counts[i])
		}
	}
	return int(total + 0.5)
}

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
