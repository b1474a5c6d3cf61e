package brevo

import (
	"strings"
	"testing"
)

// Server text can echo what it was sent; errors end up in logs and the
// status, so emails and the key are scrubbed from them.
func TestErrorsCarryNoEmailOrKey(t *testing.T) {
	t.Parallel()
	_, srv := serve(t, status(400, `{"code":"invalid_parameter","message":"Invalid email address jane.doe@example.com (key `+testKey+`)"}`))
	c := newTestClient(t, srv)
	_, _, err := c.Account.Get(t.Context())
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	if strings.Contains(msg, "jane.doe") || strings.Contains(msg, testKey) || !strings.Contains(msg, "Invalid email address [email] (key [redacted])") {
		t.Errorf("error = %q", msg)
	}
}
