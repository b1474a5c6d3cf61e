package intercom

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Sentinel errors, matched with errors.Is against an *APIError (or an
// error wrapping one).
var (
	// ErrUnauthorized: HTTP 401 or a token_* error code; the access token
	// is invalid, expired or revoked.
	ErrUnauthorized = errors.New("intercom: unauthorized")
	// ErrForbidden: HTTP 403 other than a plan restriction (e.g. a missing
	// OAuth scope).
	ErrForbidden = errors.New("intercom: forbidden")
	// ErrPlanRestricted: HTTP 403 api_plan_restricted; the workspace's
	// plan does not include this API.
	ErrPlanRestricted = errors.New("intercom: api not included in the workspace plan")
	// ErrNotFound: HTTP 404 (also a contact merged away).
	ErrNotFound = errors.New("intercom: not found")
	// ErrConflict: HTTP 409, e.g. several contacts match an email.
	ErrConflict = errors.New("intercom: conflict")
	// ErrInvalid: HTTP 400 or 422, a request Intercom refused as invalid.
	ErrInvalid = errors.New("intercom: invalid request")
	// ErrRateLimited: HTTP 429; returned once the client's retries are
	// exhausted.
	ErrRateLimited = errors.New("intercom: rate limited")
	// ErrServer: HTTP 5xx.
	ErrServer = errors.New("intercom: server error")
	// ErrScrollExists: another company scroll is open for the app
	// (error code scroll_exists).
	ErrScrollExists = errors.New("intercom: a company scroll is already open")
	// ErrScrollRestart: the documented HTTP 500 "Please restart the scroll
	// operation"; a scroll cannot resume after it.
	ErrScrollRestart = errors.New("intercom: the company scroll must be restarted")
	// ErrInvalidQuery: a search query the client refuses to send (nesting,
	// group size, operators Intercom rejects on dates).
	ErrInvalidQuery = errors.New("intercom: invalid search query")
)

// ErrorItem is one entry of Intercom's error list.
type ErrorItem struct {
	Code    string `json:"code"`
	Message string `json:"message,omitempty"`
	Field   string `json:"field,omitempty"`
}

// APIError is a response Intercom answered with an error status. Its
// Error() names the operation by its path template, never by a URL (ids,
// emails and tokens stay out of messages and logs).
type APIError struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// Type is the envelope type, "error.list".
	Type string
	// RequestID is Intercom's request id (body or X-Request-Id header),
	// what Intercom support asks for.
	RequestID string
	// Errors are the error items of the envelope.
	Errors []ErrorItem
	// Method and Path (a template such as "/contacts/{id}") name the call.
	Method, Path string
	// RetryAfter is how long the server asked to wait (429), when known.
	RetryAfter time.Duration
	// Body is the start of a body that was not an error envelope.
	Body string
}

// Code returns the first error code, or "".
func (e *APIError) Code() string {
	if len(e.Errors) == 0 {
		return ""
	}
	return e.Errors[0].Code
}

// Error renders status, codes, messages and the request id.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "intercom: %s %s: %d", e.Method, e.Path, e.StatusCode)
	if t := http.StatusText(e.StatusCode); t != "" {
		b.WriteString(" " + strings.ToLower(t))
	}
	for i, it := range e.Errors {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(it.Code)
		if it.Message != "" {
			b.WriteString(" " + it.Message)
		}
		if it.Field != "" {
			b.WriteString(" (field " + it.Field + ")")
		}
	}
	if len(e.Errors) == 0 && e.Body != "" {
		b.WriteString(": " + e.Body)
	}
	if e.RequestID != "" {
		b.WriteString(" [request id " + e.RequestID + "]")
	}
	return b.String()
}

func (e *APIError) hasCode(codes ...string) bool {
	for _, it := range e.Errors {
		for _, c := range codes {
			if it.Code == c {
				return true
			}
		}
	}
	return false
}

// Is matches the sentinel errors.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized ||
			e.hasCode("unauthorized", "token_revoked", "token_blocked", "token_not_found", "token_unauthorized",
				"token_expired", "token_suspended", "missing_authorization")
	case ErrPlanRestricted:
		return e.hasCode("api_plan_restricted")
	case ErrForbidden:
		return e.StatusCode == http.StatusForbidden && !e.hasCode("api_plan_restricted")
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrConflict:
		return e.StatusCode == http.StatusConflict
	case ErrInvalid:
		return e.StatusCode == http.StatusBadRequest || e.StatusCode == http.StatusUnprocessableEntity
	case ErrRateLimited:
		return e.StatusCode == http.StatusTooManyRequests || e.hasCode("rate_limit_exceeded", "too_many_requests")
	case ErrServer:
		return e.StatusCode >= 500
	case ErrScrollExists:
		return e.hasCode("scroll_exists")
	case ErrScrollRestart:
		if e.StatusCode < 500 {
			return false
		}
		for _, it := range e.Errors {
			if strings.Contains(strings.ToLower(it.Message), "restart the scroll") {
				return true
			}
		}
		return strings.Contains(strings.ToLower(e.Body), "restart the scroll")
	}
	return false
}

// transportError is a request that got no HTTP response (connection
// refused or dropped, timeout). It names the call by template; the URL of
// the underlying *url.Error is dropped because it carries ids and emails.
type transportError struct {
	method, path string
	err          error
	redact       func(string) string
}

func (e *transportError) Error() string {
	return e.redact(fmt.Sprintf("intercom: %s %s: %v", e.method, e.path, e.err))
}

func (e *transportError) Unwrap() error { return e.err }

// decodeError is a 2xx response whose body was not the expected JSON.
type decodeError struct {
	method, path string
	err          error
	redact       func(string) string
}

func (e *decodeError) Error() string {
	return e.redact(fmt.Sprintf("intercom: %s %s: decode response: %v", e.method, e.path, e.err))
}

func (e *decodeError) Unwrap() error { return e.err }
