package brevo

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"strings"
	"time"
	"unicode"
)

// Sentinels matched by errors.Is against an *APIError.
var (
	// ErrUnauthorized: 401, the API key is missing, wrong or revoked.
	ErrUnauthorized = errors.New("brevo: unauthorized")
	// ErrNotFound: 404 or code document_not_found.
	ErrNotFound = errors.New("brevo: not found")
	// ErrRateLimited: 429, still refused after the retries (or the window
	// to wait for was longer than WithMaxRateWait).
	ErrRateLimited = errors.New("brevo: rate limited")
	// ErrTooEarly: 425, the contact is still being processed; still refused
	// after the retries.
	ErrTooEarly = errors.New("brevo: too early")
	// ErrDuplicate: code duplicate_parameter, e.g. the email or ext_id
	// already belongs to another contact (see APIError.DuplicateIdentifiers).
	ErrDuplicate = errors.New("brevo: duplicate")
	// ErrOutcomeUnknown wraps a failure of a request that is not safe to
	// repeat (an event, an import, a creation) after it may have reached
	// the server: a timeout, a dropped connection or a 5xx. The client did
	// not retry it; whether Brevo applied it is unknown.
	ErrOutcomeUnknown = errors.New("brevo: outcome unknown, the request may have been applied")
	// ErrInvalid wraps arguments the client refuses before sending.
	ErrInvalid = errors.New("brevo: invalid argument")
)

// Error codes Brevo documents (errorModel, contactErrorModel); Code is an
// open string because newer API versions send free text too.
const (
	CodeInvalidParameter   = "invalid_parameter"
	CodeMissingParameter   = "missing_parameter"
	CodeOutOfRange         = "out_of_range"
	CodeDocumentNotFound   = "document_not_found"
	CodeDuplicateParameter = "duplicate_parameter"
	CodeDuplicateRequest   = "duplicate_request"
	CodeMethodNotAllowed   = "method_not_allowed"
	CodeUnauthorized       = "unauthorized"
	CodePermissionDenied   = "permission_denied"
	CodeAccountInProcess   = "account_in_process"
	CodeNotEnoughCredits   = "not_enough_credits"
)

// APIError is a non-2xx response.
type APIError struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// Code is the API's error code ("duplicate_parameter"), empty when the
	// body was not Brevo's error model.
	Code string
	// Message is the API's message, or a description of the body when it
	// was not JSON.
	Message string
	// Metadata is contactErrorModel.metadata, e.g.
	// {"duplicate_identifiers": ["email"]}.
	Metadata map[string]any
	// Method and Path name the call; Path is templated
	// ("/contacts/{identifier}") and never carries identifiers.
	Method string
	Path   string
	// RetryAfter is how long the server asked to wait (429 only).
	RetryAfter time.Duration
}

// Error implements error.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "brevo: %s %s: %d", e.Method, e.Path, e.StatusCode)
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if ids := e.DuplicateIdentifiers(); len(ids) > 0 {
		fmt.Fprintf(&b, " (duplicate identifiers: %s)", strings.Join(ids, ", "))
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter.Round(time.Second))
	}
	return b.String()
}

// Is matches the sentinels.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound || e.Code == CodeDocumentNotFound
	case ErrRateLimited:
		return e.StatusCode == http.StatusTooManyRequests
	case ErrTooEarly:
		return e.StatusCode == http.StatusTooEarly
	case ErrDuplicate:
		return e.Code == CodeDuplicateParameter
	}
	return false
}

// DuplicateIdentifiers returns metadata.duplicate_identifiers ("email",
// "ext_id", "SMS", …) of a duplicate_parameter error.
func (e *APIError) DuplicateIdentifiers() []string {
	raw, ok := e.Metadata["duplicate_identifiers"].([]any)
	if !ok {
		return nil
	}
	var out []string
	for _, v := range raw {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// errorBody is errorModel / contactErrorModel.
type errorBody struct {
	Code     *string        `json:"code"`
	Message  *string        `json:"message"`
	Metadata map[string]any `json:"metadata"`
}

// newAPIError builds the error of a non-2xx response. Bodies that are not
// Brevo's error model (a proxy's HTML page, an empty body, truncated JSON)
// still give a readable error naming the status and what came back.
func (c *Client) newAPIError(r *request, resp *http.Response, body []byte) *APIError {
	e := &APIError{StatusCode: resp.StatusCode, Method: r.method, Path: r.tmpl}
	var eb errorBody
	if err := json.Unmarshal(body, &eb); err == nil && (eb.Code != nil || eb.Message != nil) {
		if eb.Code != nil {
			e.Code = c.redact(*eb.Code)
		}
		if eb.Message != nil {
			e.Message = c.redact(*eb.Message)
		}
		e.Metadata = c.redactAny(eb.Metadata).(map[string]any)
		return e
	}
	e.Message = describeBody(resp, c.redact(string(body)))
	return e
}

// describeBody summarises a body that is not Brevo's error model.
func describeBody(resp *http.Response, body string) string {
	status := http.StatusText(resp.StatusCode)
	if status == "" {
		status = "unexpected status"
	}
	text := strings.TrimSpace(body)
	if text == "" {
		return status + " (empty body)"
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt == "" {
		mt = "unknown content type"
	}
	if mt == "text/html" || strings.HasPrefix(text, "<") {
		text = stripTags(text)
	}
	return fmt.Sprintf("%s (non-JSON %s body: %q)", status, mt, excerpt(text, 200))
}

// stripTags keeps the text of an HTML error page.
func stripTags(s string) string {
	var b strings.Builder
	in := false
	for _, r := range s {
		switch {
		case r == '<':
			in = true
			b.WriteByte(' ')
		case r == '>':
			in = false
		case !in:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// excerpt collapses whitespace and cuts s to at most n runes.
func excerpt(s string, n int) string {
	s = strings.Join(strings.FieldsFunc(s, unicode.IsSpace), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// redactAny scrubs the key from every string in a decoded JSON value.
func (c *Client) redactAny(v any) any {
	switch t := v.(type) {
	case string:
		return c.redact(t)
	case []any:
		for i := range t {
			t[i] = c.redactAny(t[i])
		}
		return t
	case map[string]any:
		if t == nil {
			return map[string]any(nil)
		}
		for k, x := range t {
			t[k] = c.redactAny(x)
		}
		return t
	}
	return v
}

// invalid reports a refused argument.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// notSent reports whether a transport error happened before any byte of
// the request could have reached the server (the dial failed), so that
// even a request unsafe to repeat can be retried.
func notSent(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "dial"
}
