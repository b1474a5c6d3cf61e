package webhook

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tajo/terraform-provider-tajo/agent/sandbox/fakeintercom"
	"github.com/tajo/terraform-provider-tajo/agent/store"
	_ "github.com/tajo/terraform-provider-tajo/agent/store/sqlite"
)

const secret = "client-secret-for-tests"

func newReceiver(t *testing.T) (*Receiver, store.Store, *int) {
	t.Helper()
	st, err := store.Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "tajo.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	woken := 0
	r := NewReceiver(st, nil, func(string) { woken++ })
	err = r.SetRoutes([]Route{
		{ConnectorID: "intercom", Source: "intercom", Path: "/webhooks/intercom", Secret: secret,
			Topics: map[string]bool{"contact.user.updated": true, "contact.deleted": true}},
		{ConnectorID: "intercom", Source: "brevo", Path: "/webhooks/brevo", Secret: "brevo-token", Topics: map[string]bool{"unsubscribed": true}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return r, st, &woken
}

func notification(id, topic, item string) []byte {
	return []byte(`{"type":"notification_event","id":"` + id + `","app_id":"app","topic":"` + topic +
		`","created_at":1700000000,"delivery_attempts":1,"first_sent_at":1700000000,"data":{"type":"notification_event_data","item":` + item + `}}`)
}

func post(r http.Handler, path string, body []byte, header map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	for k, v := range header {
		req.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	r.ServeHTTP(w, req)
	return w
}

func stored(t *testing.T, st store.Store) int {
	t.Helper()
	ds, err := st.ListDeliveries(t.Context(), "intercom", store.InboxFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return len(ds)
}

func TestIntercomSignatures(t *testing.T) {
	t.Parallel()
	body := notification("notif_1", "contact.user.updated", `{"type":"contact","id":"c1","updated_at":1700000000}`)
	good := fakeintercom.Sign(secret, body)
	tests := []struct {
		name      string
		body      []byte
		signature string
		want      int
	}{
		{"missing", body, "", http.StatusUnauthorized},
		{"wrong secret", body, fakeintercom.Sign("not-the-secret", body), http.StatusUnauthorized},
		{"truncated", body, good[:len(good)-2], http.StatusUnauthorized},
		{"not hex", body, "sha1=" + strings.Repeat("z", 40), http.StatusUnauthorized},
		{"sha256 prefix", body, strings.Replace(good, "sha1=", "sha256=", 1), http.StatusUnauthorized},
		{"body changed after signing", append(bytes.Clone(body[:len(body)-1]), []byte(` }`)...), good, http.StatusUnauthorized},
		{"re-serialised body", []byte(strings.ReplaceAll(string(body), `,"`, `, "`)), good, http.StatusUnauthorized},
		{"valid", body, good, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, st, _ := newReceiver(t)
			w := post(r, "/webhooks/intercom", tt.body, map[string]string{"X-Hub-Signature": tt.signature})
			if w.Code != tt.want {
				t.Fatalf("status %d (%s), want %d", w.Code, w.Body, tt.want)
			}
			want := 0
			if tt.want == http.StatusOK {
				want = 1
			}
			if n := stored(t, st); n != want {
				t.Errorf("%d deliveries stored, want %d", n, want)
			}
		})
	}
}

func TestIntercomEnvelopeAndLimits(t *testing.T) {
	t.Parallel()
	r, st, woken := newReceiver(t)
	r.SetMaxBody(2048)
	send := func(body []byte) *httptest.ResponseRecorder {
		return post(r, "/webhooks/intercom", body, map[string]string{"X-Hub-Signature": fakeintercom.Sign(secret, body)})
	}
	big := notification("notif_big", "contact.user.updated", `{"type":"contact","id":"c1","pad":"`+strings.Repeat("x", 4096)+`"}`)
	if w := send(big); w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized: %d", w.Code)
	}
	for name, body := range map[string][]byte{
		"not json":       []byte("<html>"),
		"wrong type":     []byte(`{"type":"event","id":"x","topic":"contact.user.updated","data":{"item":{}}}`),
		"no id":          []byte(`{"type":"notification_event","topic":"contact.user.updated","data":{"item":{}}}`),
		"no item":        []byte(`{"type":"notification_event","id":"n","topic":"contact.user.updated","data":{}}`),
		"truncated json": notification("n", "contact.user.updated", `{"id":"c1"}`)[:40],
	} {
		if w := send(body); w.Code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", name, w.Code)
		}
	}
	if w := send(notification("notif_ping", "ping", `{"type":"ping"}`)); w.Code != http.StatusOK {
		t.Errorf("ping: %d", w.Code)
	}
	if w := send(notification("notif_x", "conversation.admin.closed", `{"type":"conversation","id":"1"}`)); w.Code != http.StatusOK {
		t.Errorf("unsubscribed topic: %d", w.Code)
	}
	if n := stored(t, st); n != 0 {
		t.Fatalf("%d deliveries stored from rejected, ping and unsubscribed ones", n)
	}
	// Accepted once; Intercom's retry of the same notification is a
	// duplicate, answered 200 and not stored again.
	body := notification("notif_7", "contact.user.updated", `{"type":"contact","id":"c7"}`)
	for range 3 {
		if w := send(body); w.Code != http.StatusOK {
			t.Fatalf("delivery: %d", w.Code)
		}
	}
	ds, _ := st.ListDeliveries(t.Context(), "intercom", store.InboxFilter{})
	if len(ds) != 1 || ds[0].Key != "contact:c7" || ds[0].Topic != "contact.user.updated" || !bytes.Equal(ds[0].Body, body) {
		t.Fatalf("inbox = %+v", ds)
	}
	if *woken != 1 {
		t.Errorf("workers woken %d times, want 1", *woken)
	}
	if b, err := st.GetCheckpoint(t.Context(), "intercom", DeliveryCheckpoint("/webhooks/intercom")); err != nil || len(b) == 0 {
		t.Errorf("last delivery time not recorded: %v", err)
	}
	stats := r.Stats()
	if stats[StatKey{"intercom", "intercom", "accepted"}] != 1 || stats[StatKey{"intercom", "intercom", "duplicate"}] != 2 ||
		stats[StatKey{"intercom", "intercom", "too_large"}] != 1 || stats[StatKey{"intercom", "intercom", "bad_request"}] != 5 {
		t.Errorf("stats = %v", stats)
	}
	if w := httptest.NewRecorder(); true {
		r.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/webhooks/intercom", nil))
		if w.Code != http.StatusMethodNotAllowed {
			t.Errorf("GET: %d", w.Code)
		}
	}
	if w := post(r, "/nope", body, nil); w.Code != http.StatusNotFound {
		t.Errorf("unknown path: %d", w.Code)
	}
}

func TestBrevo(t *testing.T) {
	t.Parallel()
	r, st, _ := newReceiver(t)
	one := []byte(`{"event":"unsubscribe","email":"Ann@Example.com","id":1,"ts_event":1700000000}`)
	for name, auth := range map[string]string{"missing": "", "wrong": "Bearer nope", "basic": "Basic YnJldm8tdG9rZW4="} {
		if w := post(r, "/webhooks/brevo", one, map[string]string{"Authorization": auth}); w.Code != http.StatusUnauthorized {
			t.Errorf("%s token: %d", name, w.Code)
		}
	}
	auth := map[string]string{"Authorization": "Bearer brevo-token"}
	if w := post(r, "/webhooks/brevo", one, auth); w.Code != http.StatusOK {
		t.Fatalf("delivery: %d %s", w.Code, w.Body)
	}
	if w := post(r, "/webhooks/brevo", one, auth); w.Code != http.StatusOK {
		t.Fatalf("repeat: %d", w.Code)
	}
	batch := []byte(`[{"event":"unsubscribe","email":"b@example.com"},{"event":"opened","email":"c@example.com"}]`)
	if w := post(r, "/webhooks/brevo", batch, auth); w.Code != http.StatusOK {
		t.Fatalf("batch: %d", w.Code)
	}
	if w := post(r, "/webhooks/brevo", []byte(`{"email":"x@y.z"}`), auth); w.Code != http.StatusBadRequest {
		t.Errorf("event without name: %d", w.Code)
	}
	ds, _ := st.ListDeliveries(t.Context(), "intercom", store.InboxFilter{})
	if len(ds) != 2 {
		t.Fatalf("stored %d deliveries, want 2 (a repeat deduplicated, 'opened' not subscribed)", len(ds))
	}
	if ds[1].Key != "email:ann@example.com" || ds[1].Topic != "unsubscribed" || ds[1].Source != "brevo" {
		t.Errorf("delivery = %+v", ds[1])
	}
}

func TestDuplicatePathsAreReported(t *testing.T) {
	t.Parallel()
	r, _, _ := newReceiver(t)
	err := r.SetRoutes([]Route{
		{ConnectorID: "b", Source: "intercom", Path: "/hooks"},
		{ConnectorID: "a", Source: "intercom", Path: "/hooks"},
	})
	if err == nil || !strings.Contains(err.Error(), "declared by connectors a and b") {
		t.Fatalf("SetRoutes: %v", err)
	}
	if got := r.Routes(); len(got) != 1 {
		t.Errorf("routes = %v", got)
	}
}

func TestVerifyIntercomMatchesTheBrief(t *testing.T) {
	t.Parallel()
	// X-Hub-Signature: sha1=<hex HMAC-SHA1(client_secret, raw request body)>
	body := []byte(`{"hello":"world"}`)
	if err := VerifyIntercom("s3cr3t", body, "sha1=0f2c8a2b6c0d5d88b3bdc4c0eb4fe1a9abf1e0ef"); err == nil {
		t.Fatal("a made-up signature verified")
	}
	if err := VerifyIntercom("s3cr3t", body, fakeintercom.Sign("s3cr3t", body)); err != nil {
		t.Fatal(err)
	}
}
