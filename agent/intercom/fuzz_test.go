package intercom

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
)

// Fuzz targets of the response decoding: contacts, companies and
// conversations as Intercom (or something pretending to be it) sends
// them, and error envelopes. The seed corpora in testdata/fuzz run with
// every go test; make fuzz explores further.

func seedObjects(f *testing.F) {
	f.Add([]byte(`{"type":"contact","id":"6578a7c2","role":"user","email":"ana@example.com","name":"Ana","created_at":1700000000,"updated_at":"1700000001","signed_up_at":1.7e9,"last_seen_at":null,"custom_attributes":{"plan_tier":"gold","n":3},"tags":{"type":"list","data":[{"type":"tag","id":7,"url":"/tags/7"}],"has_more":false,"total_count":1},"companies":{"data":[{"id":"c1"}],"has_more":true,"url":"/contacts/6578a7c2/companies"},"location":{"country":"Spain"}}`))
	f.Add([]byte(`{"type":"company","id":"c1","company_id":"ext","name":"Acme","plan":{"type":"plan","id":"9","name":"pro"},"size":"42","user_count":1e3,"custom_attributes":null,"tags":{"type":"tag.list","tags":[{"id":"1","name":"vip"}]}}`))
	f.Add([]byte(`{"type":"conversation","id":"123","state":"closed","created_at":1,"updated_at":2,"contacts":{"contacts":[{"type":"contact","id":"a"},{"id":42}]},"conversation_rating":{"rating":5,"remark":"ok","created_at":3},"statistics":{"last_close_at":4},"ai_agent_participated":true,"ai_agent":{"resolution_state":"assumed_resolution","rating":4},"tags":{"tags":[]},"conversation_parts":{"conversation_parts":[{"part_type":"close","body":null}],"total_count":1}}`))
	f.Add([]byte(`{"id":null,"updated_at":{"x":1},"tags":[]}`))
	f.Add([]byte(`{"updated_at":"soon"}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"custom_attributes":{"a":[1,2,{"b":null}]},"companies":{"data":null}}`))
}

// decodes checks that a JSON body decodes into v or fails cleanly, and
// that what decoded keeps the body as received.
func decodes[T any, P interface {
	*T
	Extra() map[string]json.RawMessage
}](t *testing.T, data []byte, raw func(P) json.RawMessage) P {
	var v T
	p := P(&v)
	if err := json.Unmarshal(data, p); err != nil {
		return nil
	}
	if r := raw(p); len(bytes.TrimSpace(data)) > 0 && !bytes.Equal(bytes.TrimSpace(data), bytes.TrimSpace(r)) && string(bytes.TrimSpace(data)) != "null" {
		t.Fatalf("Raw = %q, want the body as received %q", r, data)
	}
	_ = p.Extra()
	return p
}

// FuzzDecodeContact: any body decodes into a Contact or fails with an
// error (never a panic); timestamps are lenient; Raw is the body.
func FuzzDecodeContact(f *testing.F) {
	seedObjects(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		c := decodes(t, data, func(c *Contact) json.RawMessage { return c.Raw })
		if c == nil {
			return
		}
		_ = c.UpdatedAt.Time()
		if c.Tags != nil {
			for _, r := range c.Tags.Data {
				_ = r
			}
		}
	})
}

// FuzzDecodeCompany: as FuzzDecodeContact for companies.
func FuzzDecodeCompany(f *testing.F) {
	seedObjects(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		decodes(t, data, func(c *Company) json.RawMessage { return c.Raw })
	})
}

// FuzzDecodeConversation: as FuzzDecodeContact for conversations; the
// contact ids of a decoded conversation are never empty.
func FuzzDecodeConversation(f *testing.F) {
	seedObjects(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		c := decodes(t, data, func(c *Conversation) json.RawMessage { return c.Raw })
		if c == nil {
			return
		}
		for _, id := range c.ContactIDs() {
			if id == "" {
				t.Fatal("ContactIDs returned an empty id")
			}
		}
	})
}

// canaryToken is the access token of the error-envelope fuzz client: no
// error text may carry it, whatever the server sends back.
const canaryToken = "tok_CANARY_9f8e7d6c5b4a"

// FuzzErrorEnvelope: any error response (status ≥ 400, any body, the
// access token echoed anywhere in it) becomes an *APIError whose text
// names the status and carries neither the token nor an email address,
// and whose sentinels follow the status.
func FuzzErrorEnvelope(f *testing.F) {
	f.Add(401, []byte(`{"type":"error.list","request_id":"r1","errors":[{"code":"unauthorized","message":"Access Token Invalid"}]}`), 0)
	f.Add(429, []byte(`{"type":"error.list","request_id":null,"errors":[{"code":"rate_limit_exceeded","message":"Exceeded rate limit of 167 in 10_seconds"}]}`), 0)
	f.Add(500, []byte(`{"type":"error.list","errors":[{"code":"server_error","message":"Please restart the scroll operation."}]}`), 5)
	f.Add(502, []byte(`<html><body><h1>502 Bad Gateway</h1></body></html>`), 8)
	f.Add(404, []byte(`{"error":"not_found","message":"contact ana@example.com not found"}`), 0)
	f.Add(400, []byte(strings.Repeat("x", 195)), 190)
	f.Add(409, []byte(`{"errors":[{"code":"conflict","message":"Bearer %s","field":"email"}]}`), 1000)
	f.Fuzz(func(t *testing.T, status int, body []byte, at int) {
		if status < 400 || status > 599 {
			status = 400 + (status%200+200)%200
		}
		// Echo the token inside the body, as a misbehaving proxy might.
		if at < 0 {
			at = -at
		}
		at %= len(body) + 1
		orig := body
		body = append(append(append([]byte(nil), body[:at]...), canaryToken...), body[at:]...)
		c, err := NewClient(canaryToken, WithBaseURL("https://api.intercom.test"))
		if err != nil {
			t.Fatal(err)
		}
		hr := &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}}}
		e := c.apiError(&call{method: http.MethodGet, tmpl: "/contacts/{id}"}, hr, c.newResponse(hr, 1), body)
		msg := e.Error()
		// No part of the token longer than a few characters: a cut
		// through it (an excerpt) must not leave half of it either. (A
		// part the fuzzed body holds by itself is no leak.)
		for n := len(canaryToken); n >= 8; n-- {
			for i := 0; i+n <= len(canaryToken); i++ {
				if part := canaryToken[i : i+n]; strings.Contains(msg, part) && !bytes.Contains(orig, []byte(part)) {
					t.Fatalf("error text carries %q of the access token: %s", part, msg)
				}
			}
		}
		if !strings.Contains(msg, "/contacts/{id}") {
			t.Fatalf("error text does not name the call: %s", msg)
		}
		if status == http.StatusUnauthorized && !errors.Is(e, ErrUnauthorized) {
			t.Fatal("401 is not ErrUnauthorized")
		}
		if status == http.StatusTooManyRequests && !errors.Is(e, ErrRateLimited) {
			t.Fatal("429 is not ErrRateLimited")
		}
		if status >= 500 && !errors.Is(e, ErrServer) {
			t.Fatal("5xx is not ErrServer")
		}
		if errors.Is(e, ErrNotFound) != (status == http.StatusNotFound) {
			t.Fatal("ErrNotFound does not follow the status")
		}
	})
}
