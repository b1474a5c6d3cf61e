package intercom

import (
	"errors"
	"strings"
	"testing"
)

// Server text can echo what it was sent; errors end up in logs and the
// status, so emails and the token are scrubbed from them.
func TestErrorsCarryNoEmailOrToken(t *testing.T) {
	t.Parallel()
	_, base := serve(t,
		reply(400, `{"type":"error.list","errors":[{"code":"parameter_invalid","message":"Email jane.doe+vip@example.co.uk is invalid"}]}`),
		reply(502, `<html>upstream for ada@example.com failed</html>`))
	c := newTestClient(t, base, WithRetry(fastRetry))
	_, _, err := c.Admins.Me(t.Context())
	var ae *APIError
	if !errors.As(err, &ae) || strings.Contains(err.Error(), "@") || !strings.Contains(err.Error(), "Email [email] is invalid") {
		t.Errorf("error = %v", err)
	}
	_, _, err = c.Admins.Me(t.Context())
	if err == nil || strings.Contains(err.Error(), "ada@") || !strings.Contains(err.Error(), "[email]") {
		t.Errorf("error = %v", err)
	}
}
