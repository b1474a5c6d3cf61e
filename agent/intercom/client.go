// Package intercom is a typed client for the Intercom REST API, version
// 2.11 (https://developers.intercom.com/docs/references/2.11/rest-api/api.intercom.io),
// as far as the Intercom → Brevo sync needs it: contacts, companies,
// conversations, tags, data attributes, data events, the current admin and
// the OAuth code exchange.
//
// The client keeps inside Intercom's request budgets instead of bumping
// into them: every request waits on token buckets (agent/ratelimit) sized
// from the plan and corrected from the X-RateLimit-* headers of every
// response; a 429 blocks the bucket until the server's reset time. Calls
// that are safe to repeat are retried after 5xx answers, timeouts and
// dropped connections with jittered exponential backoff (agent/backoff).
//
// Lists come three ways: one page (List), every page with its cursor
// (Pages — the sync engine checkpoints the cursor after each page and
// resumes from it), and every item (All), the last two as iter.Seq2.
//
// The access token travels only in the Authorization header. It never
// appears in a URL, an error or a log line; text the server sends back is
// scrubbed of it too.
package intercom

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/go-hclog"

	"github.com/tajo/terraform-provider-tajo/agent/backoff"
	"github.com/tajo/terraform-provider-tajo/agent/ratelimit"
)

// Defaults.
const (
	// DefaultVersion is the Intercom-Version every request sends.
	DefaultVersion = "2.11"
	// DefaultBaseURL is the US region.
	DefaultBaseURL = "https://api.intercom.io"
	// DefaultBudget is the brief's starter plan: 20 requests per 10 s.
	DefaultBudget = 20
	// MaxPerPage is the largest page Intercom serves on cursor lists and
	// searches.
	MaxPerPage = 150
	// DefaultUserAgent identifies the agent to Intercom.
	DefaultUserAgent = "tajo-agent (+https://github.com/tajo/terraform-provider-tajo)"

	// BudgetWindow is the window of Intercom's app budget: limits are
	// "evenly distributed into 10-second windows".
	BudgetWindow = 10 * time.Second
)

// Regions maps a region name to its API host.
var Regions = map[string]string{
	"us": "https://api.intercom.io",
	"eu": "https://api.eu.intercom.io",
	"au": "https://api.au.intercom.io",
}

// Request classes, the budgets a request passes (RequestInfo.Class).
const (
	// ClassApp requests spend the app budget only.
	ClassApp = "app"
	// ClassSearch requests (POST …/search) spend the search budget and the
	// app budget.
	ClassSearch = "search"
	// ClassScroll requests open a new company scroll: they spend the
	// scroll budget and the app budget.
	ClassScroll = "scroll"
)

// RequestInfo describes one HTTP attempt, for metrics (WithObserver).
type RequestInfo struct {
	// Class is ClassApp, ClassSearch or ClassScroll.
	Class string
	// Method and Path; Path is a template like "/contacts/{id}".
	Method, Path string
	// Status is the HTTP status, 0 when no response arrived.
	Status int
	// Attempt counts from 1 for each call.
	Attempt int
	// Duration of the attempt (not of the rate-limit wait before it).
	Duration time.Duration
	// RateLimitRemaining is X-RateLimit-Remaining, -1 when absent.
	RateLimitRemaining int
	// Err is the transport error of an attempt without a response.
	Err error
}

// Limiters are the budgets of one Intercom app. Clients of the same app
// should share them (WithLimiters), since Intercom counts per app.
type Limiters struct {
	// App is the app budget per 10 s; every request passes it.
	App *ratelimit.Limiter
	// Search paces POST /contacts/search and /conversations/search.
	Search *ratelimit.Limiter
	// ScrollOpen paces opening a company scroll.
	ScrollOpen *ratelimit.Limiter
}

// NewLimiters builds the budgets: appPer10s requests per 10 s for the app,
// searchPerSecond searches per second, and one new company scroll per
// minute.
//
// The brief's scroll limit ("1 request / min") is read as "at most one NEW
// scroll opened per minute": a scroll is walked page after page by its
// scroll_param, and pacing those pages at one a minute would make a scroll
// of 10,000 companies take hours while the scroll itself expires after a
// minute unused. Pages of an open scroll therefore spend the app budget
// only; opening one spends this budget too.
//
// The search and scroll budgets have no response headers to correct them,
// so they keep a 10 % margin: a paced request delayed in transit must not
// land in the same server window as the next one.
func NewLimiters(appPer10s, searchPerSecond int) *Limiters {
	return &Limiters{
		App:        ratelimit.New(ClassApp, max(1, appPer10s), BudgetWindow),
		Search:     ratelimit.New(ClassSearch, max(1, searchPerSecond), 1100*time.Millisecond),
		ScrollOpen: ratelimit.New(ClassScroll, 1, 66*time.Second),
	}
}

// Client talks to one Intercom workspace. It is safe for concurrent use.
type Client struct {
	base      *url.URL
	token     string
	version   string
	userAgent string
	hc        *http.Client
	log       hclog.Logger
	retry     backoff.Policy
	observer  func(RequestInfo)
	limits    *Limiters
	now       func() time.Time
	// scrollWait bounds how long ScrollAll waits for another open scroll
	// to expire (WithScrollWait).
	scrollWait time.Duration

	// scrollMu keeps this client to one company scroll at a time, the
	// limit Intercom enforces per app.
	scrollMu sync.Mutex

	// Services by API area.
	Contacts       *ContactsService
	Companies      *CompaniesService
	Conversations  *ConversationsService
	Tags           *TagsService
	DataAttributes *DataAttributesService
	Events         *EventsService
	Admins         *AdminsService
}

type service struct{ c *Client }

type settings struct {
	baseURL    string
	version    string
	userAgent  string
	hc         *http.Client
	log        hclog.Logger
	budget     int
	searchRate int
	retry      backoff.Policy
	observer   func(RequestInfo)
	limits     *Limiters
	scrollOpen time.Duration
	scrollWait time.Duration
}

// Option configures a Client.
type Option func(*settings) error

// WithBaseURL points the client at another server (a regional host, a
// proxy, the sandbox). A path prefix is kept: "http://host/intercom".
func WithBaseURL(u string) Option {
	return func(s *settings) error {
		s.baseURL = u
		return nil
	}
}

// WithRegion selects the regional host: "us", "eu" or "au".
func WithRegion(region string) Option {
	return func(s *settings) error {
		u, ok := Regions[strings.ToLower(region)]
		if !ok {
			return fmt.Errorf("intercom: unknown region %q (want us, eu or au)", region)
		}
		s.baseURL = u
		return nil
	}
}

// WithVersion sets the Intercom-Version header (default "2.11"). The
// client's types follow 2.11; another version is for tests.
func WithVersion(v string) Option {
	return func(s *settings) error {
		if v == "" {
			return errors.New("intercom: empty API version")
		}
		s.version = v
		return nil
	}
}

// WithHTTPClient replaces the HTTP client (its Timeout bounds each
// attempt). The default has a 60-second timeout.
func WithHTTPClient(hc *http.Client) Option {
	return func(s *settings) error {
		if hc == nil {
			return errors.New("intercom: nil HTTP client")
		}
		s.hc = hc
		return nil
	}
}

// WithLogger sets the logger (default: discard). Requests log at debug,
// retries at warn; neither carries the token, a URL or a body.
func WithLogger(l hclog.Logger) Option {
	return func(s *settings) error {
		if l != nil {
			s.log = l
		}
		return nil
	}
}

// WithBudget sets the app budget in requests per 10 seconds (default 20,
// the starter plan; pro 50, premium 100). Responses' X-RateLimit-Limit
// overrides it once seen.
func WithBudget(requestsPer10s int) Option {
	return func(s *settings) error {
		if requestsPer10s < 1 {
			return fmt.Errorf("intercom: budget must be positive, got %d", requestsPer10s)
		}
		s.budget = requestsPer10s
		return nil
	}
}

// WithSearchRate sets the search budget in requests per second (default 1).
func WithSearchRate(perSecond int) Option {
	return func(s *settings) error {
		if perSecond < 1 {
			return fmt.Errorf("intercom: search rate must be positive, got %d", perSecond)
		}
		s.searchRate = perSecond
		return nil
	}
}

// WithScrollOpenInterval sets the minimum time between opening two company
// scrolls (default about a minute; see NewLimiters). Tests shorten it.
func WithScrollOpenInterval(d time.Duration) Option {
	return func(s *settings) error {
		if d <= 0 {
			return fmt.Errorf("intercom: scroll interval must be positive, got %v", d)
		}
		s.scrollOpen = d
		return nil
	}
}

// DefaultScrollWait is how long ScrollAll waits, at most, for another
// company scroll to end: Intercom closes an abandoned scroll a minute
// after its last use; twice that leaves room for pacing and clock skew.
const DefaultScrollWait = 2 * time.Minute

// WithScrollWait sets how long ScrollAll waits, at most, for another
// open company scroll to expire (default DefaultScrollWait).
func WithScrollWait(d time.Duration) Option {
	return func(s *settings) error {
		if d <= 0 {
			return fmt.Errorf("intercom: scroll wait must be positive, got %v", d)
		}
		s.scrollWait = d
		return nil
	}
}

// WithLimiters shares budgets with other clients of the same app; it
// overrides WithBudget, WithSearchRate and WithScrollOpenInterval.
func WithLimiters(l *Limiters) Option {
	return func(s *settings) error {
		if l == nil || l.App == nil || l.Search == nil || l.ScrollOpen == nil {
			return errors.New("intercom: limiters must all be set")
		}
		s.limits = l
		return nil
	}
}

// WithRetry sets the retry policy for errors (default backoff.Default).
// Attempts bounds tries after 5xx and transport errors; 429 answers are
// retried up to max(10, 2·Attempts) times, since the server did not
// process them.
func WithRetry(p backoff.Policy) Option {
	return func(s *settings) error {
		if p.Attempts < 1 {
			return fmt.Errorf("intercom: retry attempts must be at least 1, got %d", p.Attempts)
		}
		s.retry = p
		return nil
	}
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option {
	return func(s *settings) error {
		s.userAgent = ua
		return nil
	}
}

// WithObserver calls fn after every HTTP attempt (metrics). fn must be
// quick and safe for concurrent use.
func WithObserver(fn func(RequestInfo)) Option {
	return func(s *settings) error {
		s.observer = fn
		return nil
	}
}

func newSettings(opts []Option) (*settings, error) {
	s := &settings{
		baseURL:    DefaultBaseURL,
		version:    DefaultVersion,
		userAgent:  DefaultUserAgent,
		log:        hclog.NewNullLogger(),
		budget:     DefaultBudget,
		searchRate: 1,
		retry:      backoff.Default,
		scrollWait: DefaultScrollWait,
	}
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, err
		}
	}
	if s.hc == nil {
		s.hc = &http.Client{Timeout: 60 * time.Second}
	}
	return s, nil
}

func (s *settings) client(token string) (*Client, error) {
	base, err := url.Parse(s.baseURL)
	if err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" {
		return nil, fmt.Errorf("intercom: base URL must be an absolute http(s) URL")
	}
	if base.User != nil || base.RawQuery != "" || base.Fragment != "" {
		return nil, fmt.Errorf("intercom: base URL must not carry credentials, a query or a fragment")
	}
	base.Path = strings.TrimRight(base.Path, "/")
	base.RawPath = ""
	limits := s.limits
	if limits == nil {
		limits = NewLimiters(s.budget, s.searchRate)
		if s.scrollOpen > 0 {
			limits.ScrollOpen = ratelimit.New(ClassScroll, 1, s.scrollOpen)
		}
	}
	c := &Client{
		base:      base,
		token:     token,
		version:   s.version,
		userAgent: s.userAgent,
		hc:        s.hc,
		log:       s.log.Named("intercom"),
		retry:     s.retry,
		observer:  s.observer,
		limits:    limits,
		now:       time.Now,

		scrollWait: s.scrollWait,
	}
	c.Contacts = (*ContactsService)(&service{c})
	c.Companies = (*CompaniesService)(&service{c})
	c.Conversations = (*ConversationsService)(&service{c})
	c.Tags = (*TagsService)(&service{c})
	c.DataAttributes = (*DataAttributesService)(&service{c})
	c.Events = (*EventsService)(&service{c})
	c.Admins = (*AdminsService)(&service{c})
	return c, nil
}

// NewClient returns a client authenticating with an access token (a
// private app's, or one from the OAuth exchange).
func NewClient(token string, opts ...Option) (*Client, error) {
	if strings.TrimSpace(token) == "" {
		return nil, errors.New("intercom: empty access token")
	}
	if strings.ContainsAny(token, " \t\r\n") {
		return nil, errors.New("intercom: access token contains whitespace")
	}
	s, err := newSettings(opts)
	if err != nil {
		return nil, err
	}
	return s.client(token)
}

// String describes the client without its token.
func (c *Client) String() string { return "intercom.Client(" + c.base.String() + ")" }

// GoString keeps the token out of %#v.
func (c *Client) GoString() string { return c.String() }

// Limiters returns the client's budgets (for metrics or sharing).
func (c *Client) Limiters() *Limiters { return c.limits }

// BaseURL returns the API base URL.
func (c *Client) BaseURL() string { return c.base.String() }

// Response is an HTTP response with what the client parsed from it.
type Response struct {
	*http.Response
	// Rate is the server's view of the app budget (Remaining -1 when the
	// headers were absent).
	Rate ratelimit.State
	// RequestID is X-Request-Id (or the error body's request_id).
	RequestID string
	// Attempts is how many HTTP attempts the call took.
	Attempts int
	// NextCursor is the starting_after of the next page of a cursor list
	// or search; "" on the last page.
	NextCursor string
	// Page and TotalPages of a page-numbered list.
	Page, TotalPages int
}

// call describes one API operation.
type call struct {
	method string
	// path is the escaped path below the base; tmpl names it in logs,
	// errors and metrics ("/contacts/{id}").
	path, tmpl string
	query      url.Values
	body       any
	form       url.Values
	class      string
	// idempotent calls are repeated after 5xx, timeouts and dropped
	// connections; others only after 429 (which the server did not
	// process).
	idempotent bool
	// noAuth: no Authorization header (the OAuth exchange).
	noAuth bool
	// absURL replaces base+path (pagination links); it must be on the
	// base's host.
	absURL string
	// secrets are scrubbed from server text besides the token.
	secrets []string
}

func (c *Client) limitersFor(class string) ratelimit.Group {
	switch class {
	case ClassSearch:
		return ratelimit.Group{c.limits.Search, c.limits.App}
	case ClassScroll:
		return ratelimit.Group{c.limits.ScrollOpen, c.limits.App}
	}
	return ratelimit.Group{c.limits.App}
}

// redact scrubs the token and call secrets from text that came from the
// server or the transport, and the email addresses a server message may
// echo: errors are logged and kept in the status, which carry no personal
// data.
func (c *Client) redact(s string, extra ...string) string {
	for _, sec := range append([]string{c.token}, extra...) {
		if len(sec) < 4 {
			continue
		}
		s = strings.ReplaceAll(s, sec, "[redacted]")
		if esc := url.QueryEscape(sec); esc != sec {
			s = strings.ReplaceAll(s, esc, "[redacted]")
		}
		// Other percent-encodings of the secret: decode, then scrub.
		if u, err := url.PathUnescape(s); err == nil && u != s && strings.Contains(u, sec) {
			s = strings.ReplaceAll(u, sec, "[redacted]")
		}
	}
	return emailRE.ReplaceAllString(s, "[email]")
}

// emailRE matches email addresses.
var emailRE = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+`)

func (c *Client) url(cl *call) (string, error) {
	if cl.absURL != "" {
		u, err := url.Parse(cl.absURL)
		if err != nil || u.Scheme != c.base.Scheme || u.Host != c.base.Host {
			// Never send the token to a host the caller did not choose.
			return "", fmt.Errorf("intercom: %s %s: refusing a pagination link to another host", cl.method, cl.tmpl)
		}
		return u.String(), nil
	}
	u := c.base.String() + cl.path
	if len(cl.query) > 0 {
		u += "?" + cl.query.Encode()
	}
	return u, nil
}

// maxBody bounds what the client reads from a response.
const maxBody = 64 << 20

// do runs a call with rate limiting and retries and decodes a 2xx body
// into out (when out is not nil).
func (c *Client) do(ctx context.Context, cl call, out any) (*Response, error) {
	if cl.class == "" {
		cl.class = ClassApp
	}
	target, err := c.url(&cl)
	if err != nil {
		return nil, err
	}
	var payload []byte
	contentType := ""
	switch {
	case cl.body != nil:
		if payload, err = marshal(cl.body); err != nil {
			return nil, fmt.Errorf("intercom: %s %s: encode request: %w", cl.method, cl.tmpl, err)
		}
		contentType = "application/json"
	case cl.form != nil:
		payload = []byte(cl.form.Encode())
		contentType = "application/x-www-form-urlencoded"
	}
	limiters := c.limitersFor(cl.class)
	maxThrottled := max(10, 2*c.retry.Attempts)
	var failures, throttled int
	for attempt := 1; ; attempt++ {
		if err := limiters.Wait(ctx); err != nil {
			return nil, fmt.Errorf("intercom: %s %s: wait for rate limit: %w", cl.method, cl.tmpl, err)
		}
		req, err := http.NewRequestWithContext(ctx, cl.method, target, nil)
		if err != nil {
			return nil, fmt.Errorf("intercom: %s %s: %w", cl.method, cl.tmpl, err)
		}
		if payload != nil {
			req.Body = io.NopCloser(bytes.NewReader(payload))
			req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(payload)), nil }
			req.ContentLength = int64(len(payload))
			req.Header.Set("Content-Type", contentType)
		}
		if !cl.noAuth {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		req.Header.Set("Intercom-Version", c.version)
		req.Header.Set("Accept", "application/json")
		if c.userAgent != "" {
			req.Header.Set("User-Agent", c.userAgent)
		}

		start := c.now()
		hr, err := c.hc.Do(req)
		var body []byte
		if err == nil {
			body, err = io.ReadAll(io.LimitReader(hr.Body, maxBody))
			hr.Body.Close()
		}
		took := c.now().Sub(start)
		info := RequestInfo{Class: cl.class, Method: cl.method, Path: cl.tmpl, Attempt: attempt, Duration: took, RateLimitRemaining: -1}
		var resp *Response
		if hr != nil {
			resp = c.newResponse(hr, attempt)
			info.Status = hr.StatusCode
			info.RateLimitRemaining = resp.Rate.Remaining
			c.limits.App.Observe(resp.Rate)
		}
		if err != nil {
			info.Err = err
		}
		c.notify(info)

		if err != nil {
			// No (complete) response: the request may or may not have
			// been processed.
			if ctx.Err() != nil {
				return resp, &transportError{cl.method, cl.tmpl, ctx.Err(), func(s string) string { return c.redact(s, cl.secrets...) }}
			}
			terr := &transportError{cl.method, cl.tmpl, unwrapURL(err), func(s string) string { return c.redact(s, cl.secrets...) }}
			failures++
			if !cl.idempotent || failures >= c.retry.Attempts {
				return resp, terr
			}
			d := c.retry.Delay(failures)
			c.log.Warn("retrying request", "class", cl.class, "method", cl.method, "path", cl.tmpl, "attempt", attempt, "reason", terr.Error(), "delay", d)
			if err := backoff.Sleep(ctx, d); err != nil {
				return resp, terr
			}
			continue
		}

		c.log.Debug("request", "class", cl.class, "method", cl.method, "path", cl.tmpl, "status", hr.StatusCode,
			"attempt", attempt, "duration", took, "remaining", resp.Rate.Remaining)

		if hr.StatusCode >= 200 && hr.StatusCode < 300 {
			if out != nil && len(bytes.TrimSpace(body)) > 0 {
				if err := json.Unmarshal(body, out); err != nil {
					return resp, &decodeError{cl.method, cl.tmpl, err, func(s string) string { return c.redact(s, cl.secrets...) }}
				}
			}
			return resp, nil
		}

		apiErr := c.apiError(&cl, hr, resp, body)
		switch {
		case hr.StatusCode == http.StatusTooManyRequests:
			throttled++
			until, known := c.resetTime(hr)
			if known {
				apiErr.RetryAfter = max(until.Sub(c.now()), 0)
			}
			if throttled >= maxThrottled {
				return resp, apiErr
			}
			c.block(cl.class, resp, until, known, throttled)
			c.log.Warn("rate limited, waiting", "class", cl.class, "method", cl.method, "path", cl.tmpl, "attempt", attempt,
				"retry_after", apiErr.RetryAfter)
			continue
		case hr.StatusCode >= 500 && cl.idempotent:
			failures++
			if failures >= c.retry.Attempts || apiErr.Is(ErrScrollRestart) {
				return resp, apiErr
			}
			d := c.retry.Delay(failures)
			if t, ok := ratelimit.RetryAfter(hr.Header, c.now()); ok {
				d = max(d, t.Sub(c.now()))
			}
			c.log.Warn("retrying request", "class", cl.class, "method", cl.method, "path", cl.tmpl, "attempt", attempt,
				"status", hr.StatusCode, "delay", d)
			if err := backoff.Sleep(ctx, d); err != nil {
				return resp, apiErr
			}
			continue
		}
		return resp, apiErr
	}
}

// resetTime reads when a 429 ends: Retry-After, else X-RateLimit-Reset.
func (c *Client) resetTime(hr *http.Response) (time.Time, bool) {
	now := c.now()
	if t, ok := ratelimit.RetryAfter(hr.Header, now); ok {
		return t, true
	}
	if v := hr.Header.Get("X-RateLimit-Reset"); v != "" {
		if secs, err := strconv.ParseInt(v, 10, 64); err == nil && secs > 0 {
			return time.Unix(secs, 0), true
		}
	}
	return time.Time{}, false
}

// block holds back the budget a 429 came from: the app budget (which
// stops every request) when the rate headers say the app window is spent
// or the request is an app request, else the class budget (search, scroll)
// that refused it. It blocks until the server's reset time plus a random
// part of one base delay, so that the clients of one app do not all return
// at the same instant; a repeated 429 adds jittered exponential backoff,
// and without any reset time it is that backoff alone.
func (c *Client) block(class string, resp *Response, until time.Time, known bool, n int) {
	switch {
	case !known:
		until = c.now().Add(c.retry.Delay(n))
	case n > 1:
		// Refused again after waiting for the reset: the server's clock
		// or budget disagrees with ours; back off exponentially on top.
		until = until.Add(c.retry.Delay(n - 1))
	default:
		if base := min(c.retry.Base, time.Second); base > 0 {
			until = until.Add(rand.N(base))
		}
	}
	l := c.limits.App
	if class != ClassApp && resp.Rate.Remaining != 0 {
		l = c.limitersFor(class)[0]
	}
	l.Block(until)
}

func (c *Client) notify(info RequestInfo) {
	if c.observer != nil {
		c.observer(info)
	}
}

func (c *Client) newResponse(hr *http.Response, attempt int) *Response {
	r := &Response{Response: hr, Attempts: attempt, RequestID: c.redact(hr.Header.Get("X-Request-Id")), Rate: ratelimit.State{Remaining: -1}}
	h := hr.Header
	if v := h.Get("X-RateLimit-Remaining"); v != "" {
		if n, err := strconv.Atoi(v); err == nil {
			r.Rate.Remaining = n
		}
	}
	if v := h.Get("X-RateLimit-Limit"); v != "" {
		if n, err := strconv.Atoi(v); err == nil {
			r.Rate.Limit = n
		}
	}
	if v := h.Get("X-RateLimit-Reset"); v != "" {
		if secs, err := strconv.ParseInt(v, 10, 64); err == nil && secs > 0 {
			r.Rate.Reset = time.Unix(secs, 0)
		}
	}
	return r
}

type errorEnvelope struct {
	Type      string      `json:"type"`
	RequestID *string     `json:"request_id"`
	Errors    []ErrorItem `json:"errors"`
	// Some endpoints (and proxies) answer {"error": "...", "message": ...}.
	Error   string `json:"error"`
	Message string `json:"message"`
}

func (c *Client) apiError(cl *call, hr *http.Response, resp *Response, body []byte) *APIError {
	scrub := func(s string) string { return c.redact(s, cl.secrets...) }
	// The request id is server text too (a header or the body): scrubbed
	// like the messages, since Error() shows it.
	e := &APIError{StatusCode: hr.StatusCode, Method: cl.method, Path: cl.tmpl, RequestID: scrub(resp.RequestID)}
	var env errorEnvelope
	if err := json.Unmarshal(body, &env); err == nil && (len(env.Errors) > 0 || env.Type != "" || env.Error != "") {
		e.Type = env.Type
		if env.RequestID != nil && *env.RequestID != "" {
			e.RequestID = scrub(*env.RequestID)
			resp.RequestID = e.RequestID
		}
		for _, it := range env.Errors {
			e.Errors = append(e.Errors, ErrorItem{Code: scrub(it.Code), Message: scrub(it.Message), Field: scrub(it.Field)})
		}
		if len(e.Errors) == 0 && env.Error != "" {
			e.Errors = append(e.Errors, ErrorItem{Code: scrub(env.Error), Message: scrub(env.Message)})
		}
		return e
	}
	// Scrub before cutting: a cut through the token would leave a part
	// of it that the scrubber no longer recognises.
	snippet := scrub(strings.TrimSpace(string(body)))
	if len(snippet) > 200 {
		cut := 200
		for cut > 0 && !utf8.RuneStart(snippet[cut]) {
			cut-- // not inside a character
		}
		snippet = snippet[:cut] + "…"
	}
	e.Body = snippet
	return e
}

// unwrapURL drops *url.Error's URL (ids, emails) but keeps its cause and
// whether it was a timeout.
func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		var ne net.Error
		if errors.As(ue.Err, &ne) && ne.Timeout() {
			return fmt.Errorf("timeout: %w", ue.Err)
		}
		return ue.Err
	}
	return err
}

// pathID escapes an id for a path segment.
func pathID(id string) string { return url.PathEscape(id) }

// checkID refuses empty ids, which would address another endpoint.
func checkID(kind, id string) error {
	if strings.TrimSpace(id) == "" {
		return fmt.Errorf("intercom: empty %s id", kind)
	}
	return nil
}
