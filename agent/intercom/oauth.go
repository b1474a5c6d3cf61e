package intercom

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// AuthorizeURL is where a public app sends a workspace admin to grant it
// access (https://developers.intercom.com/docs/build-an-integration/learn-more/authentication/setting-up-oauth).
// Intercom redirects back with code and state; redirectURI may be empty
// (the app's configured one is used) and must be HTTPS otherwise.
func AuthorizeURL(clientID, state, redirectURI string) string {
	q := url.Values{"client_id": {clientID}}
	if state != "" {
		q.Set("state", state)
	}
	if redirectURI != "" {
		q.Set("redirect_uri", redirectURI)
	}
	return "https://app.intercom.com/oauth?" + q.Encode()
}

// OAuthCredentials identify a public app.
type OAuthCredentials struct {
	ClientID     string
	ClientSecret string
}

// OAuthToken is the result of a code exchange: a long-lived access token
// (Intercom issues no refresh token).
type OAuthToken struct {
	AccessToken string
	TokenType   string
}

// String keeps the token out of logs and %v.
func (t *OAuthToken) String() string { return "intercom oauth token (redacted)" }

// GoString keeps the token out of %#v.
func (t *OAuthToken) GoString() string { return t.String() }

// ExchangeCode trades an authorization code for an access token (POST
// /auth/eagle/token with client_id, client_secret and code, form-encoded).
// The code is single-use and expires after about 5 minutes, so the call
// is never repeated after an error (only after a 429). Options select the
// host (WithRegion, WithBaseURL), HTTP client and logger; the client
// secret and the code never appear in errors or logs.
func ExchangeCode(ctx context.Context, creds OAuthCredentials, code string, opts ...Option) (*OAuthToken, *Response, error) {
	if creds.ClientID == "" || creds.ClientSecret == "" || code == "" {
		return nil, nil, errors.New("intercom: oauth: client_id, client_secret and code are required")
	}
	s, err := newSettings(opts)
	if err != nil {
		return nil, nil, err
	}
	// The secret stands in for the token so that redaction covers it.
	c, err := s.client(creds.ClientSecret)
	if err != nil {
		return nil, nil, err
	}
	var out struct {
		// Intercom's documentation and client libraries disagree on the
		// field name; accept both.
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
	}
	form := url.Values{"client_id": {creds.ClientID}, "client_secret": {creds.ClientSecret}, "code": {code}}
	resp, err := c.do(ctx, call{method: http.MethodPost, path: "/auth/eagle/token", tmpl: "/auth/eagle/token", form: form,
		noAuth: true, secrets: []string{code}}, &out)
	if err != nil {
		return nil, resp, err
	}
	tok := out.AccessToken
	if tok == "" {
		tok = out.Token
	}
	if tok == "" {
		return nil, resp, fmt.Errorf("intercom: POST /auth/eagle/token: the response carries no token")
	}
	return &OAuthToken{AccessToken: tok, TokenType: out.TokenType}, resp, nil
}
