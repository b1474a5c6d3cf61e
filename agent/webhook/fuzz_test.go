package webhook

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"strings"
	"testing"
	"unicode/utf8"
)

// The fuzz targets of the receiver's parsing: the seed corpora in
// testdata/fuzz run with every go test; make fuzz explores further.

func sign(secret string, body []byte) string {
	m := hmac.New(sha1.New, []byte(secret))
	m.Write(body)
	return "sha1=" + hex.EncodeToString(m.Sum(nil))
}

// FuzzVerifyIntercom: a signature is accepted exactly when it is the
// HMAC-SHA1 of the body under the secret; any other header, including a
// valid signature of another body or under another secret, is refused.
func FuzzVerifyIntercom(f *testing.F) {
	f.Add("sandbox-client-secret", []byte(`{"type":"notification_event","id":"notif_1","topic":"ping","data":{"item":{}}}`), "")
	f.Add("s", []byte(""), "sha1=")
	f.Add("secret", []byte("x"), "sha1=zz")
	f.Add("secret", []byte("x"), "SHA1=0123456789abcdef0123456789abcdef01234567")
	f.Add("", []byte("{}"), "sha256=abc")
	f.Fuzz(func(t *testing.T, secret string, body []byte, header string) {
		good := sign(secret, body)
		if err := VerifyIntercom(secret, body, good); err != nil {
			t.Fatalf("the correct signature is refused: %v", err)
		}
		if strings.ToUpper(good) != strings.ToUpper(header) && VerifyIntercom(secret, body, header) == nil {
			t.Fatalf("header %q accepted for a body whose signature is %s", header, good)
		}
		// A signature over the body with one byte changed is refused.
		if len(body) > 0 {
			other := append([]byte(nil), body...)
			other[len(other)/2] ^= 0x01
			if VerifyIntercom(secret, body, sign(secret, other)) == nil {
				t.Fatal("a signature of another body was accepted")
			}
		}
		if VerifyIntercom(secret+"x", body, good) == nil {
			t.Fatal("a signature under another secret was accepted")
		}
	})
}

// FuzzVerifyBearer: only the exact token is accepted.
func FuzzVerifyBearer(f *testing.F) {
	f.Add("brevo-token", "Bearer brevo-token")
	f.Add("t", "Bearer ")
	f.Add("token", "bearer token")
	f.Add("", "Bearer x")
	f.Fuzz(func(t *testing.T, token, header string) {
		err := VerifyBearer(token, header)
		if err == nil && header != "Bearer "+token {
			t.Fatalf("header %q accepted for token %q", header, token)
		}
		if token != "" && VerifyBearer(token, "Bearer "+token) != nil {
			t.Fatal("the right token is refused")
		}
	})
}

// FuzzParseNotification: any body either parses into a complete envelope
// or is refused with an error; OrderKey never panics and always names a
// kind of record.
func FuzzParseNotification(f *testing.F) {
	f.Add([]byte(`{"type":"notification_event","id":"notif_1","topic":"contact.user.updated","data":{"item":{"type":"contact","id":"abc","updated_at":1700000000}}}`))
	f.Add([]byte(`{"type":"notification_event","id":"notif_2","topic":"ping","data":{}}`))
	f.Add([]byte(`{"type":"notification_event","id":"n","topic":"contact.user.tag.created","data":{"item":{"type":"contact_tag","contact":{"id":7}}}}`))
	f.Add([]byte(`{"type":"notification_event","id":"n","topic":"company.contact.attached","data":{"item":{"contact":{"id":"c"},"company":{"id":"x"}}}}`))
	f.Add([]byte(`{"type":"notification_event","id":"n","topic":"conversation.admin.closed","data":{"item":{"id":123456789012345678901234567890}}}`))
	f.Add([]byte(`{"type":"notification_event","id":"n","topic":"contact.merged","data":{"item":{"id":"u","merged_from":{"id":null}}}}`))
	f.Add([]byte(`{"type":"notification_event","id":1,"topic":"x"}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"type":"notification_event","id":"n","topic":"contact.deleted","data":{"item":null}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		n, err := ParseNotification(body)
		if err != nil {
			if n != nil {
				t.Fatal("an error with a notification")
			}
			if !utf8.ValidString(err.Error()) {
				t.Fatalf("error is not valid UTF-8: %q", err.Error())
			}
			return
		}
		if n.Type != "notification_event" || n.ID == "" || n.Topic == "" {
			t.Fatalf("incomplete envelope accepted: %+v", n)
		}
		if n.Topic != "ping" && (len(n.Data.Item) == 0 || string(n.Data.Item) == "null") {
			t.Fatalf("notification without item accepted: %+v", n)
		}
		key := OrderKey(n.Topic, n.Data.Item)
		kind, _, ok := strings.Cut(key, ":")
		if !ok || kind == "" {
			t.Fatalf("OrderKey(%q) = %q", n.Topic, key)
		}
	})
}

// FuzzParseBrevo: a Brevo delivery parses into named events or is
// refused.
func FuzzParseBrevo(f *testing.F) {
	f.Add([]byte(`{"event":"unsubscribe","email":"a@example.com","id":1}`))
	f.Add([]byte(`[{"event":"hard_bounce","email":"b@example.com"},{"event":"spam","email":"c@example.com"}]`))
	f.Add([]byte(`  [ ]`))
	f.Add([]byte(`{"event":""}`))
	f.Add([]byte(`{"event":"contact_updated","email":"a@example.com","emailBlacklisted":true,"id":"12"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		evs, err := ParseBrevo(body)
		if err != nil {
			if len(evs) != 0 {
				t.Fatal("an error with events")
			}
			return
		}
		if len(evs) == 0 {
			t.Fatal("no events and no error")
		}
		for _, e := range evs {
			if e.Event == "" || len(e.Raw) == 0 {
				t.Fatalf("incomplete event accepted: %+v", e)
			}
		}
		if d := digest(body); len(d) != 32 {
			t.Fatalf("digest %q", d)
		}
	})
}
