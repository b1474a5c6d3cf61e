package brevo

import (
	"bytes"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// fuzzKey is the API key of the error-body fuzz client.
const fuzzKey = "xkeysib-CANARY-0a1b2c3d4e5f"

// FuzzErrorBody: any error answer — Brevo's error model, a proxy's HTML
// page, plain text, truncated JSON — with the API key echoed anywhere in
// it, becomes an *APIError whose text names the call and the status, is
// valid UTF-8, and carries no part of the key longer than 7 characters.
func FuzzErrorBody(f *testing.F) {
	f.Add(400, []byte(`{"code":"duplicate_parameter","message":"Contact already exist","metadata":{"duplicate_identifiers":["email","SMS"]}}`), 0, "application/json")
	f.Add(401, []byte(`{"code":"unauthorized","message":"Key not found"}`), 40, "application/json")
	f.Add(502, []byte(`<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1><hr>nginx</body></html>`), 60, "text/html")
	f.Add(503, []byte("upstream connect error or disconnect/reset before headers. reset reason: overflow"), 10, "text/plain")
	f.Add(500, []byte(`{"code":"internal_error","mess`), 3, "")
	f.Add(429, []byte(strings.Repeat("é", 195)), 390, "text/plain")
	f.Add(425, []byte(`{"code":null,"message":null,"metadata":{"x":[{"y":"z"}]}}`), 0, "application/json")
	f.Fuzz(func(t *testing.T, status int, body []byte, at int, contentType string) {
		if status < 400 || status > 599 {
			status = 400 + (status%200+200)%200
		}
		if at < 0 {
			at = -at
		}
		at %= len(body) + 1
		orig := body
		body = append(append(append([]byte(nil), body[:at]...), fuzzKey...), body[at:]...)
		c, err := NewClient(fuzzKey)
		if err != nil {
			t.Fatal(err)
		}
		resp := &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {contentType}}}
		e := c.newAPIError(&request{method: http.MethodPost, tmpl: "/contacts"}, resp, body)
		msg := e.Error()
		// (A part of the key the fuzzed body holds by itself is no leak.)
		for n := len(fuzzKey); n >= 8; n-- {
			for i := 0; i+n <= len(fuzzKey); i++ {
				if part := fuzzKey[i : i+n]; strings.Contains(msg, part) && !bytes.Contains(orig, []byte(part)) {
					t.Fatalf("error text carries %q of the API key: %s", part, msg)
				}
			}
		}
		if !strings.Contains(msg, "POST /contacts: "+strconv.Itoa(status)) {
			t.Fatalf("error text does not name the call: %s", msg)
		}
		if utf8.ValidString(string(body)) && !utf8.ValidString(msg) {
			t.Fatalf("error text is not valid UTF-8: %q", msg)
		}
		if errors.Is(e, ErrUnauthorized) != (status == http.StatusUnauthorized) {
			t.Fatal("ErrUnauthorized does not follow the status")
		}
	})
}
