package brevo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tajo/terraform-provider-tajo/agent/ratelimit"
)

// Class is an endpoint class: the set of endpoints that share one request
// budget.
type Class string

// Endpoint classes (developers.brevo.com/docs/api-limits).
const (
	// ClassContacts is every endpoint under /v3/contacts, including
	// imports, lists, folders and attributes.
	ClassContacts Class = "contacts"
	// ClassEvents is POST /v3/events and, by assumption (UNVERIFIED: the
	// limits table does not list it), POST /v3/events/batch.
	ClassEvents Class = "events"
	// ClassOther is every endpoint not listed in the limits table:
	// companies, processes, webhooks, account.
	ClassOther Class = "other"
)

// Classes lists the endpoint classes.
var Classes = []Class{ClassContacts, ClassEvents, ClassOther}

// ClassOf returns the class of a path relative to the base URL
// ("/contacts/import" → ClassContacts).
func ClassOf(path string) Class { return classOf(path) }

func classOf(path string) Class {
	switch {
	case path == "/contacts" || strings.HasPrefix(path, "/contacts/"):
		return ClassContacts
	case path == "/events" || strings.HasPrefix(path, "/events/"):
		return ClassEvents
	default:
		return ClassOther
	}
}

// Budget is the request budget of one endpoint class. Zero fields mean no
// limit of that kind.
type Budget struct {
	// PerSecond is the requests-per-second ceiling.
	PerSecond int
	// PerHour is the requests-per-hour ceiling.
	PerHour int
	// Burst is how many requests may go at once against the hourly budget
	// (the sustained rate is lowered to make room); 0 means 1.
	Burst int
}

// Limits are the budgets of the three endpoint classes.
type Limits struct {
	Contacts Budget
	Events   Budget
	Other    Budget
}

// Tier is a Brevo rate-limit tier.
type Tier string

// Tiers (developers.brevo.com/docs/api-limits).
const (
	// TierGeneral applies to all plans.
	TierGeneral Tier = "general"
	// TierAdvanced applies to Professional and Enterprise plans.
	TierAdvanced Tier = "advanced"
	// TierExtended applies to Enterprise plans.
	TierExtended Tier = "extended"
)

// DefaultOtherBurst lets this many company, webhook or process calls go at
// once instead of one every 36 s (the 100/hour budget's pace); the
// sustained rate is lowered to 75/hour to make room, so no hour sees more
// than 100. 25 covers a first full sync's company calls up to about 1,500
// companies (GET /companies lists 100 per page to learn the ids of the
// companies an import created) without waiting: with 10, a 20,000-contact
// workspace with 1,000 companies spent 5 of its 6 minutes paced on them.
const DefaultOtherBurst = 25

// TierLimits returns the documented budgets of a tier. General: contacts
// and events 10/s and 36,000/h, others 100/h. Advanced: 20/s, 72,000/h,
// others 200/h. Extended: contacts 60/s (third-party summary, UNVERIFIED);
// its hourly and "other" figures are not published, so Advanced's are used.
// Events on Advanced/Extended are assumed to follow contacts (UNVERIFIED).
func TierLimits(t Tier) Limits {
	switch t {
	case TierAdvanced:
		return Limits{
			Contacts: Budget{PerSecond: 20, PerHour: 72000},
			Events:   Budget{PerSecond: 20, PerHour: 72000},
			Other:    Budget{PerHour: 200, Burst: DefaultOtherBurst},
		}
	case TierExtended:
		return Limits{
			Contacts: Budget{PerSecond: 60, PerHour: 216000},
			Events:   Budget{PerSecond: 20, PerHour: 72000},
			Other:    Budget{PerHour: 200, Burst: DefaultOtherBurst},
		}
	default:
		return Limits{
			Contacts: Budget{PerSecond: 10, PerHour: 36000},
			Events:   Budget{PerSecond: 10, PerHour: 36000},
			Other:    Budget{PerHour: 100, Burst: DefaultOtherBurst},
		}
	}
}

// ParseTier parses "general", "advanced" or "extended".
func ParseTier(s string) (Tier, error) {
	switch t := Tier(strings.ToLower(s)); t {
	case TierGeneral, TierAdvanced, TierExtended:
		return t, nil
	}
	return "", fmt.Errorf("unknown Brevo rate-limit tier %q (want general, advanced or extended)", s)
}

// Unlimited returns budgets that do not pace at all (tests, or a server
// that enforces nothing). 429s are still waited out.
func Unlimited() Limits { return Limits{} }

// Of returns the budget of a class.
func (l Limits) Of(c Class) Budget {
	switch c {
	case ClassContacts:
		return l.Contacts
	case ClassEvents:
		return l.Events
	default:
		return l.Other
	}
}

func (l Limits) validate() error {
	for _, c := range Classes {
		b := l.Of(c)
		if b.PerSecond < 0 || b.PerHour < 0 || b.Burst < 0 {
			return fmt.Errorf("%s budget: negative value", c)
		}
		if b.PerHour > 0 && b.Burst > b.PerHour {
			return fmt.Errorf("%s budget: burst %d exceeds the hourly budget %d", c, b.Burst, b.PerHour)
		}
	}
	return nil
}

func (l Limits) limiters(now func() time.Time) map[Class]*classLimiter {
	out := map[Class]*classLimiter{}
	for _, c := range Classes {
		b := l.Of(c)
		cl := &classLimiter{class: c}
		if b.PerSecond > 0 {
			cl.add(ratelimit.New(string(c)+"/s", b.PerSecond, time.Second, ratelimit.WithClock(now)), time.Second)
		}
		if b.PerHour > 0 {
			cl.add(ratelimit.New(string(c)+"/h", b.PerHour, time.Hour, ratelimit.WithClock(now), ratelimit.WithBurst(max(b.Burst, 1))), time.Hour)
		}
		if len(cl.lims) > 0 {
			out[c] = cl
		}
	}
	return out
}

// classLimiter paces one class: a per-second and/or a per-hour limiter,
// shortest window first.
type classLimiter struct {
	class   Class
	lims    ratelimit.Group
	windows []time.Duration
}

func (l *classLimiter) add(lim *ratelimit.Limiter, window time.Duration) {
	l.lims = append(l.lims, lim)
	l.windows = append(l.windows, window)
}

func (l *classLimiter) wait(ctx context.Context) error { return l.lims.Wait(ctx) }

func (l *classLimiter) block(t time.Time) {
	for _, lim := range l.lims {
		lim.Block(t)
	}
}

// brevoWindows are the windows Brevo budgets over; a reset header is
// attributed to the shortest one it fits in.
var brevoWindows = []time.Duration{time.Second, time.Hour}

// observe folds the x-sib-ratelimit-* state into the limiter of the window
// it describes. Brevo does not say which window the headers describe; a
// limit equal to one of our budgets settles it, otherwise the reset time
// does (≤ 1 s: the per-second window, else the hourly one). Only an exact
// budget match lets the reported limit through: a mis-attributed limit
// (the hourly 36,000 read as per-second) would be far worse than none.
func (l *classLimiter) observe(r *Rate) {
	for _, lim := range l.lims {
		if budget, _ := lim.Budget(); r.Limit > 0 && r.Limit == budget {
			lim.Observe(ratelimit.State{Limit: r.Limit, Remaining: r.Remaining, Reset: r.ResetAt})
			return
		}
	}
	window := brevoWindows[len(brevoWindows)-1]
	for _, w := range brevoWindows {
		if r.Reset <= w {
			window = w
			break
		}
	}
	for i, w := range l.windows {
		if w == window {
			l.lims[i].Observe(ratelimit.State{Remaining: r.Remaining, Reset: r.ResetAt})
			return
		}
	}
}

// Rate is the state of the rate-limit window a response reports.
type Rate struct {
	// Limit is x-sib-ratelimit-limit, 0 when absent.
	Limit int
	// Remaining is x-sib-ratelimit-remaining.
	Remaining int
	// Reset is x-sib-ratelimit-reset: the time until the window resets.
	Reset time.Duration
	// ResetAt is when the window resets, by the local clock.
	ResetAt time.Time
}

// Rate-limit headers (developers.brevo.com/docs/limit-headers).
const (
	HeaderRateLimit     = "x-sib-ratelimit-limit"
	HeaderRateRemaining = "x-sib-ratelimit-remaining"
	HeaderRateReset     = "x-sib-ratelimit-reset"
)

// parseRate reads the x-sib-ratelimit-* headers; nil unless remaining and
// reset are both present and numeric.
func parseRate(h http.Header, now time.Time) *Rate {
	rem, okRem := headerNumber(h, HeaderRateRemaining)
	reset, okReset := headerNumber(h, HeaderRateReset)
	if !okRem || !okReset || rem < 0 || reset < 0 {
		return nil
	}
	r := &Rate{Remaining: int(rem), Reset: time.Duration(reset * float64(time.Second))}
	if lim, ok := headerNumber(h, HeaderRateLimit); ok && lim > 0 {
		r.Limit = int(lim)
	}
	r.ResetAt = now.Add(r.Reset)
	return r
}

func headerNumber(h http.Header, name string) (float64, bool) {
	v := strings.TrimSpace(h.Get(name))
	if v == "" {
		return 0, false
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return 0, false
	}
	return f, true
}

// retryAt is when a 429'd request may be repeated: Retry-After when sent
// (third-party notes say Brevo does not send it; proxies may), else the
// reset of the reported window.
func retryAt(h http.Header, r *Rate, now time.Time) (time.Time, bool) {
	if t, ok := ratelimit.RetryAfter(h, now); ok {
		return t, true
	}
	if r != nil {
		return r.ResetAt, true
	}
	return time.Time{}, false
}

// jitter spreads clients that were refused together.
func jitter(base time.Duration) time.Duration {
	if base <= 0 {
		return 0
	}
	return rand.N(base/2 + 1)
}

// ClassUse is how much of one endpoint class's budget over one window
// (per second or per hour) is used.
type ClassUse struct {
	Class Class
	ratelimit.Usage
}

// RateUse reports the use of every paced class's budgets, one entry per
// window, shortest first, for metrics. Classes without a budget (Unlimited)
// are absent. It only reads the limiters.
func (c *Client) RateUse() []ClassUse {
	var out []ClassUse
	for _, cl := range Classes {
		l, ok := c.classes[cl]
		if !ok {
			continue
		}
		for _, lim := range l.lims {
			out = append(out, ClassUse{Class: cl, Usage: lim.Usage()})
		}
	}
	return out
}
