// Package brevo is a typed client for the parts of the Brevo API v3 the
// Intercom → Brevo sync uses: contacts (single, batch and import), lists and
// folders, contact attributes, companies, events, webhooks, processes and
// the account.
//
// The client follows go-github: one Client with a service per API area,
// every method takes a context first and returns (T, *Response, error),
// list endpoints come with iter.Seq2 iterators, and failures are one
// *APIError type matched with errors.Is against sentinels.
//
// Brevo budgets requests per endpoint class (../shared/notes/brevo-api.md):
// everything under /v3/contacts and POST /v3/events get 10 requests a second
// and 36,000 an hour on the General tier, every other endpoint (companies,
// processes, webhooks, account) only 100 an hour. The client paces each
// class with agent/ratelimit, corrects the pace from the
// x-sib-ratelimit-* headers, waits out 429s and retries only what is safe
// to repeat (see Client.do).
//
// The API key travels in the api-key header only; it never appears in a
// URL, an error or a log line, and text the server echoes back is scrubbed
// of it.
package brevo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/tajo/terraform-provider-tajo/agent/backoff"
)

// DefaultBaseURL is the production API.
const DefaultBaseURL = "https://api.brevo.com/v3"

// DefaultUserAgent is sent unless WithUserAgent says otherwise.
const DefaultUserAgent = "tajo-agent (+https://github.com/tajo/terraform-provider-tajo)"

// DefaultRetry is the retry policy unless WithRetry says otherwise.
var DefaultRetry = backoff.Policy{Attempts: 6, Base: 500 * time.Millisecond, Max: 30 * time.Second}

// DefaultMaxRateWait bounds how long one call waits for a rate-limit window
// named by a 429 before giving up with ErrRateLimited; the 100/hour class
// can name a reset most of an hour away, which a caller would rather learn
// about than sit through.
const DefaultMaxRateWait = 5 * time.Minute

// maxResponseBytes caps what is read of one response body (a page of 1,000
// contacts with many attributes is a few MB).
const maxResponseBytes = 64 << 20

// Client talks to one Brevo account.
type Client struct {
	baseURL    *url.URL
	apiKey     string
	httpClient *http.Client
	logger     hclog.Logger
	retry      backoff.Policy
	userAgent  string
	limits     Limits
	observer   func(RequestInfo)
	maxWait    time.Duration
	now        func() time.Time

	importMaxBytes int
	eventBatchSize int
	batchSize      int

	classes map[Class]*classLimiter

	// Contacts: create, upsert, get, update, delete, batch update, list and import.
	Contacts *ContactsService
	// Lists: lists, folders and list membership.
	Lists *ListsService
	// Attributes: contact attributes.
	Attributes *AttributesService
	// Companies: companies, their links and their import.
	Companies *CompaniesService
	// Events: custom events, single and batched.
	Events *EventsService
	// Webhooks: webhook registrations.
	Webhooks *WebhooksService
	// Processes: background processes (imports, exports).
	Processes *ProcessesService
	// Account: the account the key belongs to.
	Account *AccountService
}

type service struct{ client *Client }

// Option configures a Client.
type Option func(*Client) error

// WithBaseURL points the client at another server, e.g. the sandbox
// ("http://localhost:8080/brevo/v3"). The URL must not carry credentials.
func WithBaseURL(raw string) Option {
	return func(c *Client) error {
		u, err := url.Parse(strings.TrimRight(raw, "/"))
		if err != nil {
			return fmt.Errorf("base URL: %w", err)
		}
		if u.Scheme != "http" && u.Scheme != "https" {
			return fmt.Errorf("base URL %q: scheme must be http or https", u.Redacted())
		}
		if u.User != nil {
			return errors.New("base URL must not contain credentials; the API key is passed to NewClient")
		}
		if u.RawQuery != "" || u.Fragment != "" {
			return fmt.Errorf("base URL %q must not have a query or fragment", u.Redacted())
		}
		c.baseURL = u
		return nil
	}
}

// WithHTTPClient replaces the HTTP client (timeouts, proxies, test
// transports). The default has a 2 minute timeout, enough for an 8 MB
// import body on a slow link.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) error {
		if hc == nil {
			return errors.New("nil HTTP client")
		}
		c.httpClient = hc
		return nil
	}
}

// WithLogger sets the logger; the client logs under the name "brevo".
func WithLogger(l hclog.Logger) Option {
	return func(c *Client) error {
		if l != nil {
			c.logger = l.Named("brevo")
		}
		return nil
	}
}

// WithRetry sets the retry policy (attempts include the first try).
func WithRetry(p backoff.Policy) Option {
	return func(c *Client) error {
		if p.Attempts < 1 {
			return errors.New("retry policy needs at least one attempt")
		}
		c.retry = p
		return nil
	}
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option {
	return func(c *Client) error {
		if strings.ContainsAny(ua, "\r\n") {
			return errors.New("user agent must be a single line")
		}
		c.userAgent = ua
		return nil
	}
}

// WithLimits replaces the per-class request budgets, e.g.
// WithLimits(TierLimits(TierAdvanced)) or Unlimited() for tests.
func WithLimits(l Limits) Option {
	return func(c *Client) error {
		if err := l.validate(); err != nil {
			return err
		}
		c.limits = l
		return nil
	}
}

// WithObserver registers a function called after every attempt of every
// request (the agent's metrics). It must be fast and safe for concurrent
// use.
func WithObserver(f func(RequestInfo)) Option {
	return func(c *Client) error {
		c.observer = f
		return nil
	}
}

// WithMaxRateWait bounds the wait for a rate-limit window announced by a
// 429; a longer wait returns ErrRateLimited at once (with RetryAfter set).
func WithMaxRateWait(d time.Duration) Option {
	return func(c *Client) error {
		c.maxWait = d
		return nil
	}
}

// WithImportMaxBytes sets the largest contact-import request body the
// import chunker builds. Brevo refuses bodies over 10 MB and recommends
// staying around 8 MB because the body grows while it is parsed; the
// default is DefaultImportMaxBytes.
func WithImportMaxBytes(n int) Option {
	return func(c *Client) error {
		if n < 1024 || n > MaxImportBytes {
			return fmt.Errorf("import body budget %d out of range [1024, %d]", n, MaxImportBytes)
		}
		c.importMaxBytes = n
		return nil
	}
}

// WithEventBatchSize sets how many events go into one POST /events/batch.
// Brevo does not document a maximum; see DefaultEventBatchSize.
func WithEventBatchSize(n int) Option {
	return func(c *Client) error {
		if n < 1 {
			return errors.New("event batch size must be positive")
		}
		c.eventBatchSize = n
		return nil
	}
}

// WithContactBatchSize sets how many contacts go into one POST
// /contacts/batch; see DefaultContactBatchSize.
func WithContactBatchSize(n int) Option {
	return func(c *Client) error {
		if n < 1 {
			return errors.New("contact batch size must be positive")
		}
		c.batchSize = n
		return nil
	}
}

// NewClient returns a client authenticating with apiKey.
func NewClient(apiKey string, opts ...Option) (*Client, error) {
	if apiKey == "" {
		return nil, errors.New("brevo: API key is required")
	}
	if strings.ContainsFunc(apiKey, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		// A key with a newline would let a header be injected; one with a
		// space was pasted wrongly. Do not echo the key back.
		return nil, errors.New("brevo: API key contains whitespace or control characters")
	}
	base, _ := url.Parse(DefaultBaseURL)
	c := &Client{
		baseURL:        base,
		apiKey:         apiKey,
		httpClient:     &http.Client{Timeout: 2 * time.Minute},
		logger:         hclog.NewNullLogger(),
		retry:          DefaultRetry,
		userAgent:      DefaultUserAgent,
		limits:         TierLimits(TierGeneral),
		maxWait:        DefaultMaxRateWait,
		now:            time.Now,
		importMaxBytes: DefaultImportMaxBytes,
		eventBatchSize: DefaultEventBatchSize,
		batchSize:      DefaultContactBatchSize,
	}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, fmt.Errorf("brevo: %w", err)
		}
	}
	c.classes = c.limits.limiters(c.now)
	c.Contacts = &ContactsService{client: c}
	c.Lists = &ListsService{client: c}
	c.Attributes = &AttributesService{client: c}
	c.Companies = &CompaniesService{client: c}
	c.Events = &EventsService{client: c}
	c.Webhooks = &WebhooksService{client: c}
	c.Processes = &ProcessesService{client: c}
	c.Account = &AccountService{client: c}
	return c, nil
}

// BaseURL returns the API base URL the client talks to.
func (c *Client) BaseURL() string { return c.baseURL.String() }

// Limits returns the request budgets the client paces itself by.
// EventBatchSize is how many events one POST /events/batch carries.
func (c *Client) EventBatchSize() int { return c.eventBatchSize }

func (c *Client) Limits() Limits { return c.limits }

// Response is an API response; the body has already been read and closed.
type Response struct {
	*http.Response
	// Rate is the window state from the x-sib-ratelimit-* headers; nil when
	// the response had none.
	Rate *Rate
	// Attempts is how many tries the call took (1 without retries).
	Attempts int
}

// RequestInfo describes one attempt of one request, for metrics.
type RequestInfo struct {
	// Class is the endpoint class whose budget the request spends.
	Class Class
	// Method is the HTTP method.
	Method string
	// Path is the templated path relative to the base URL, e.g.
	// "/contacts/{identifier}"; it never carries identifiers.
	Path string
	// Status is the HTTP status, 0 when no response arrived.
	Status int
	// Attempt counts from 1.
	Attempt int
	// Duration is the time on the wire (rate-limit waits excluded).
	Duration time.Duration
	// Wait is the time spent waiting for the rate limiter before sending.
	Wait time.Duration
	// Err is the transport error when no response arrived.
	Err error
}

// request is one logical API call; do sends it, with retries.
type request struct {
	method string
	// tmpl is the templated path ("/contacts/{identifier}"); it names the
	// call in logs, errors and metrics and selects the endpoint class.
	tmpl string
	// path is the escaped path relative to the base URL.
	path  string
	query url.Values
	// body is JSON-encoded unless raw is set.
	body        any
	raw         []byte
	contentType string
	// safe: the request may be repeated after an ambiguous failure (5xx,
	// timeout, dropped connection) without changing the outcome.
	safe bool
	// out receives the decoded 2xx body when non-nil.
	out any
}

func (c *Client) newRequest(method, tmpl, path string) *request {
	return &request{method: method, tmpl: tmpl, path: path}
}

// do sends r, retrying per the retry policy, and decodes a 2xx body into
// r.out.
func (c *Client) do(ctx context.Context, r *request) (*Response, error) {
	class := classOf(r.tmpl)
	lim := c.classes[class]
	payload := r.raw
	contentType := r.contentType
	if payload == nil && r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return nil, fmt.Errorf("brevo: %s %s: encode request: %w", r.method, r.tmpl, err)
		}
		payload = b
		contentType = "application/json"
	}
	unescaped, err := url.PathUnescape(r.path)
	if err != nil {
		return nil, fmt.Errorf("brevo: %s %s: %w", r.method, r.tmpl, err)
	}
	u := *c.baseURL
	u.Path = c.baseURL.Path + unescaped
	u.RawPath = c.baseURL.EscapedPath() + r.path
	if len(r.query) > 0 {
		u.RawQuery = r.query.Encode()
	}
	target := u.String()
	log := c.logger.With("method", r.method, "path", r.tmpl)

	for attempt := 1; ; attempt++ {
		var waited time.Duration
		if lim != nil {
			start := c.now()
			if err := lim.wait(ctx); err != nil {
				return nil, c.ctxErr(r, err)
			}
			waited = c.now().Sub(start)
		}
		req, err := http.NewRequestWithContext(ctx, r.method, target, nil)
		if err != nil {
			return nil, fmt.Errorf("brevo: %s %s: %w", r.method, r.tmpl, err)
		}
		if payload != nil {
			req.Body = io.NopCloser(bytes.NewReader(payload))
			req.ContentLength = int64(len(payload))
			req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(payload)), nil }
			req.Header.Set("Content-Type", contentType)
		}
		req.Header.Set("api-key", c.apiKey)
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", c.userAgent)

		start := c.now()
		resp, err := c.httpClient.Do(req)
		var body []byte
		if err == nil {
			body, err = io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
			resp.Body.Close()
			resp.Body = http.NoBody
		}
		elapsed := c.now().Sub(start)
		info := RequestInfo{Class: class, Method: r.method, Path: r.tmpl, Attempt: attempt, Duration: elapsed, Wait: waited}

		if err != nil {
			if ctx.Err() != nil {
				info.Err = ctx.Err()
				c.observe(info)
				if !r.safe && !notSent(err) {
					// Cancelled with the request on its way: it may have
					// been applied (an import, events).
					return nil, fmt.Errorf("%w: %w", ErrOutcomeUnknown, c.ctxErr(r, ctx.Err()))
				}
				return nil, c.ctxErr(r, ctx.Err())
			}
			err = c.transportErr(r, err)
			info.Err = err
			if resp != nil {
				info.Status = resp.StatusCode
			}
			c.observe(info)
			sent := !notSent(err)
			if sent && !r.safe {
				// The request may have been applied; repeating it could
				// apply it twice (an event recorded twice, an import run
				// twice). Leave the decision to the caller.
				log.Warn("request failed, not retried: it may have been applied", "attempt", attempt, "error", err.Error())
				return nil, fmt.Errorf("%w: %w", ErrOutcomeUnknown, err)
			}
			if !c.retry.Retry(attempt) {
				return nil, err
			}
			d := c.retry.Delay(attempt)
			log.Warn("request failed, retrying", "attempt", attempt, "delay", d, "error", err.Error())
			if err := backoff.Sleep(ctx, d); err != nil {
				return nil, c.ctxErr(r, err)
			}
			continue
		}

		info.Status = resp.StatusCode
		c.observe(info)
		// The response keeps its request for callers (URL, method); not the
		// key.
		if resp.Request != nil {
			shown := resp.Request.Clone(resp.Request.Context())
			shown.Header.Del("api-key")
			shown.Body, shown.GetBody = nil, nil
			resp.Request = shown
		}
		rate := parseRate(resp.Header, c.now())
		if lim != nil && rate != nil {
			lim.observe(rate)
		}
		out := &Response{Response: resp, Rate: rate, Attempts: attempt}
		log.Debug("response", "status", resp.StatusCode, "attempt", attempt, "duration", elapsed)

		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			if r.out != nil && len(bytes.TrimSpace(body)) > 0 {
				if err := json.Unmarshal(body, r.out); err != nil {
					return out, fmt.Errorf("brevo: %s %s: decode %d response: %w", r.method, r.tmpl, resp.StatusCode, err)
				}
			}
			return out, nil
		}

		apiErr := c.newAPIError(r, resp, body)
		var delay time.Duration
		switch {
		case resp.StatusCode == http.StatusTooManyRequests:
			// Refused before it was processed: safe to repeat for every
			// request. Wait for the window the server names (Retry-After,
			// else the reset header), at least the backoff delay, so that
			// a storm of 429s without headers still backs off.
			until, known := retryAt(resp.Header, rate, c.now())
			d := c.retry.Delay(attempt)
			if known {
				apiErr.RetryAfter = max(until.Sub(c.now()), 0)
				if apiErr.RetryAfter > c.maxWait {
					log.Warn("rate limited beyond the longest wait", "retry_after", apiErr.RetryAfter)
					if lim != nil {
						lim.block(until)
					}
					return out, apiErr
				}
				d = max(apiErr.RetryAfter+jitter(c.retry.Base), d)
			}
			if lim != nil {
				lim.block(c.now().Add(d))
			}
			delay = 0 // the limiter holds every caller of the class back
			if !c.retry.Retry(attempt) {
				return out, apiErr
			}
			log.Warn("rate limited, waiting", "attempt", attempt, "wait", d)
			if lim == nil {
				delay = d
			}
		case resp.StatusCode == http.StatusTooEarly:
			// 425: the contact is still being processed (e.g. a creation in
			// flight). The request was not applied, so repeating it is safe.
			if !c.retry.Retry(attempt) {
				return out, apiErr
			}
			delay = c.retry.Delay(attempt)
			log.Warn("too early, retrying", "attempt", attempt, "delay", delay)
		case resp.StatusCode >= 500:
			if !r.safe {
				log.Warn("server error, not retried: the request may have been applied", "status", resp.StatusCode)
				return out, fmt.Errorf("%w: %w", ErrOutcomeUnknown, apiErr)
			}
			if !c.retry.Retry(attempt) {
				return out, apiErr
			}
			delay = c.retry.Delay(attempt)
			log.Warn("server error, retrying", "attempt", attempt, "status", resp.StatusCode, "delay", delay)
		default:
			return out, apiErr
		}
		if err := backoff.Sleep(ctx, delay); err != nil {
			return out, c.ctxErr(r, err)
		}
	}
}

func (c *Client) observe(info RequestInfo) {
	if c.observer != nil {
		c.observer(info)
	}
}

func (c *Client) ctxErr(r *request, err error) error {
	return fmt.Errorf("brevo: %s %s: %w", r.method, r.tmpl, err)
}

// transportErr drops the *url.Error wrapper, whose text repeats the full
// URL (query strings carry emails), and scrubs the key from what is left.
func (c *Client) transportErr(r *request, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return &transportError{op: r.method + " " + r.tmpl, err: err, redact: c.redact}
}

// transportError is a failure without an HTTP response.
type transportError struct {
	op     string
	err    error
	redact func(string) string
}

// Error implements error.
func (e *transportError) Error() string { return "brevo: " + e.op + ": " + e.redact(e.err.Error()) }

// Unwrap returns the cause (a *net.OpError, context.DeadlineExceeded, …).
func (e *transportError) Unwrap() error { return e.err }

// redact removes the API key from text that came from elsewhere (a server
// echoing the request headers, a proxy's error page), and email addresses
// a server message may echo: errors are logged and kept in the status,
// which carry no personal data.
func (c *Client) redact(s string) string {
	if c.apiKey != "" && strings.Contains(s, c.apiKey) {
		s = strings.ReplaceAll(s, c.apiKey, "[redacted]")
	}
	return emailRE.ReplaceAllString(s, "[email]")
}

// emailRE matches email addresses.
var emailRE = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+`)

// segment escapes one path segment ("/" included, so that an identifier
// cannot address another resource).
func segment(s string) string { return url.PathEscape(s) }
