// Package backoff is the retry policy of the agent's API clients, as data:
// how many attempts, how long to wait between them, and a context-aware
// wait.
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Policy describes jittered exponential backoff.
type Policy struct {
	// Attempts is the total number of tries, the first included.
	Attempts int
	// Base is the delay before the second attempt (before jitter).
	Base time.Duration
	// Max caps a single delay.
	Max time.Duration
}

// Default suits HTTP APIs: 6 tries over roughly a minute.
var Default = Policy{Attempts: 6, Base: 500 * time.Millisecond, Max: 30 * time.Second}

// Delay returns the wait before attempt n+1 after n failed attempts (n ≥ 1):
// Base·2^(n-1) capped at Max, with "equal jitter" (half fixed, half random)
// so that many clients retrying together spread out.
func (p Policy) Delay(n int) time.Duration {
	if n < 1 {
		n = 1
	}
	d := p.Base
	for i := 1; i < n && d < p.Max; i++ {
		d *= 2
	}
	if p.Max > 0 && d > p.Max {
		d = p.Max
	}
	if d <= 0 {
		return 0
	}
	half := d / 2
	return half + rand.N(half+1)
}

// Retry reports whether another attempt is allowed after n attempts.
func (p Policy) Retry(n int) bool { return n < p.Attempts }

// Sleep waits for d or until ctx is done, whichever comes first.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Until waits until t or until ctx is done.
func Until(ctx context.Context, t time.Time) error {
	return Sleep(ctx, time.Until(t))
}
