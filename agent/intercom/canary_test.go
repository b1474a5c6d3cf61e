package intercom

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestTokenNeverLeaks drives a client whose token is a canary against
// servers that fail in every way — some echoing the Authorization header
// back in their answers — and checks that no error, log line, URL or
// formatted client ever shows the token.
func TestTokenNeverLeaks(t *testing.T) {
	t.Parallel()
	var b [12]byte
	rand.Read(b[:])
	token := "canary-token-" + hex.EncodeToString(b[:])
	echo := func(r *http.Request) string { return strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ") }
	var urlsMu sync.Mutex
	var urls []string
	answers := map[string]func(w http.ResponseWriter, r *http.Request){
		"401 echo": func(w http.ResponseWriter, r *http.Request) {
			reply(401, errBody("unauthorized", "Access Token Invalid: "+echo(r)))(w, r)
		},
		"404 echo in field": func(w http.ResponseWriter, r *http.Request) {
			reply(404, `{"type":"error.list","errors":[{"code":"not_found","message":"x","field":"`+echo(r)+`"}]}`)(w, r)
		},
		"500 html echo": func(w http.ResponseWriter, r *http.Request) {
			reply(500, "<html>upstream said "+echo(r)+"</html>", "Content-Type", "text/html")(w, r)
		},
		"502 url-escaped echo": func(w http.ResponseWriter, r *http.Request) {
			reply(502, "token="+strings.ReplaceAll(echo(r), "-", "%2D"))(w, r)
		},
		"429 echo": func(w http.ResponseWriter, r *http.Request) {
			reply(429, errBody("rate_limit_exceeded", echo(r)))(w, r)
		},
		"malformed JSON echo": func(w http.ResponseWriter, r *http.Request) {
			reply(200, `{"type":"contact","id":"`+echo(r))(w, r)
		},
		"drop": drop,
		"slow": func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-time.After(2 * time.Second):
			case <-r.Context().Done():
			}
		},
		"redirect elsewhere": func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://127.0.0.1:1/steal", http.StatusFound)
		},
	}
	logs := &logBuffer{}
	var errs []string
	for name, a := range answers {
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			urlsMu.Lock()
			urls = append(urls, r.URL.String())
			urlsMu.Unlock()
			a(w, r)
		}))
		c, err := NewClient(token, WithBaseURL(ts.URL), WithRetry(fastRetry), WithLogger(traceLogger(logs)),
			WithHTTPClient(&http.Client{Timeout: 100 * time.Millisecond}), WithBudget(1000), WithSearchRate(1000))
		if err != nil {
			t.Fatal(err)
		}
		calls := []func() error{
			func() error { _, _, err := c.Contacts.Get(t.Context(), "c1"); return err },
			func() error {
				_, _, err := c.Contacts.Search(t.Context(), &SearchRequest{Query: Filter("email", OpEquals, "a@b.c")})
				return err
			},
			func() error {
				_, err := c.Events.Submit(t.Context(), &EventSubmission{EventName: "e", CreatedAt: 1, Email: "a@b.c"})
				return err
			},
			func() error {
				for _, err := range c.Contacts.All(t.Context(), ListOptions{}) {
					return err
				}
				return nil
			},
		}
		for _, call := range calls {
			if err := call(); err != nil {
				errs = append(errs, name+": "+err.Error()+fmt.Sprintf(" %+v", err))
			} else if name != "redirect elsewhere" && name != "malformed JSON echo" {
				t.Errorf("%s: no error", name)
			}
		}
		for _, s := range []string{fmt.Sprintf("%v %+v %#v %s", c, c, c, c)} {
			if strings.Contains(s, token) {
				t.Errorf("formatting the client shows the token: %s", s)
			}
		}
		ts.Close()
	}
	// A server that is gone.
	ts := httptest.NewServer(http.NotFoundHandler())
	ts.Close()
	c, _ := NewClient(token, WithBaseURL(ts.URL), WithRetry(fastRetry), WithLogger(traceLogger(logs)))
	if _, _, err := c.Admins.Me(t.Context()); err != nil {
		errs = append(errs, "refused: "+err.Error())
	}

	if len(errs) < len(answers) {
		t.Fatalf("only %d errors", len(errs))
	}
	for _, e := range errs {
		if strings.Contains(e, token) || strings.Contains(e, strings.ReplaceAll(token, "-", "%2D")) {
			t.Errorf("error leaks the token: %s", e)
		}
	}
	out := logs.String()
	if out == "" {
		t.Fatal("no log output captured")
	}
	if strings.Contains(out, token) {
		t.Errorf("log output leaks the token:\n%s", out)
	}
	for _, u := range urls {
		if strings.Contains(u, token) {
			t.Errorf("URL carries the token: %s", u)
		}
	}
	t.Logf("%d errors and %d bytes of logs checked", len(errs), len(out))
}

// TestOAuthSecretsNeverLeak does the same for the client secret and the
// authorization code of the OAuth exchange.
func TestOAuthSecretsNeverLeak(t *testing.T) {
	t.Parallel()
	secret, code := "canary-secret-5f3a9e", "canary-code-77d1c2"
	logs := &logBuffer{}
	for _, status := range []int{400, 401, 500} {
		_, base := serve(t, func(w http.ResponseWriter, r *http.Request) {
			r.ParseForm()
			reply(status, errBody("invalid", "bad "+r.PostForm.Get("client_secret")+" "+r.PostForm.Get("code")))(w, r)
		})
		_, _, err := ExchangeCode(t.Context(), OAuthCredentials{ClientID: "id", ClientSecret: secret}, code,
			WithBaseURL(base), WithRetry(fastRetry), WithLogger(traceLogger(logs)))
		if err == nil {
			t.Fatal("no error")
		}
		if s := err.Error(); strings.Contains(s, secret) || strings.Contains(s, code) {
			t.Errorf("error leaks a secret: %s", s)
		}
	}
	if out := logs.String(); strings.Contains(out, secret) || strings.Contains(out, code) {
		t.Errorf("logs leak a secret:\n%s", out)
	}
}
