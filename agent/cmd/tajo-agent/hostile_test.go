package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/tajo/terraform-provider-tajo/agent/config"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox/fakeintercom"
	"github.com/tajo/terraform-provider-tajo/agent/store"
	"github.com/tajo/terraform-provider-tajo/agent/webhook"
)

// hostile is the agent's webhook receiver behind the HTTP server
// `tajo-agent run` uses (newHTTPServer), on a loopback listener.
type hostile struct {
	url    string
	st     store.Store
	recv   *webhook.Receiver
	secret string
	token  string
}

const (
	hostileIntercom = "/webhooks/intercom"
	hostileBrevo    = "/webhooks/brevo"
)

func newHostile(t *testing.T) *hostile {
	t.Helper()
	st, err := store.Open(t.Context(), "sqlite://"+filepath.Join(t.TempDir(), "tajo.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h := &hostile{st: st, secret: "hostile-client-secret", token: "hostile-brevo-token"}
	h.recv = webhook.NewReceiver(st, nil, nil)
	if err := h.recv.SetRoutes([]webhook.Route{
		{ConnectorID: "intercom", Source: config.SourceIntercom, Path: hostileIntercom, Secret: h.secret,
			Topics: map[string]bool{"contact.user.updated": true, "contact.lead.updated": true}},
		{ConnectorID: "intercom", Source: config.SourceBrevo, Path: hostileBrevo, Secret: h.token, Topics: map[string]bool{"unsubscribed": true}},
	}); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := newHTTPServer(h.recv)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	h.url = "http://" + ln.Addr().String()
	return h
}

// post sends a body with headers and returns the status.
func (h *hostile) post(t *testing.T, path string, body []byte, header map[string]string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.url+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func (h *hostile) signed(body []byte) map[string]string {
	return map[string]string{"X-Hub-Signature": fakeintercom.Sign(h.secret, body)}
}

// stored lists what the inbox holds.
func (h *hostile) stored(t *testing.T) []store.Delivery {
	t.Helper()
	ds, err := h.st.ListDeliveries(t.Context(), "intercom", store.InboxFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func notification(id, topic string, item any) []byte {
	b, _ := json.Marshal(map[string]any{"type": "notification_event", "id": id, "app_id": "app", "topic": topic,
		"created_at": 1700000000, "delivery_attempts": 1, "first_sent_at": 1700000000, "data": map[string]any{"type": "notification_event_data", "item": item}})
	return b
}

var hostileContact = map[string]any{"type": "contact", "id": "6578a7c2aa", "role": "user", "email": "ana@example.com", "updated_at": 1700000000}

// TestHostileWebhookRequests: forged, replayed, oversized, malformed and
// unsubscribed deliveries against the receiver behind run's HTTP server.
// Only authentic, well-formed deliveries of subscribed topics reach the
// inbox, each once; everything else is answered without being stored.
func TestHostileWebhookRequests(t *testing.T) {
	t.Parallel()
	h := newHostile(t)
	good := notification("notif_good", "contact.user.updated", hostileContact)
	big := notification("notif_big", "contact.user.updated", map[string]any{"type": "contact", "id": "x", "name": strings.Repeat("A", webhook.DefaultMaxBody)})
	cases := []struct {
		name   string
		path   string
		body   []byte
		header map[string]string
		want   int
	}{
		{"no signature", hostileIntercom, good, nil, http.StatusUnauthorized},
		{"signed with another secret", hostileIntercom, good, map[string]string{"X-Hub-Signature": fakeintercom.Sign("guess", good)}, http.StatusUnauthorized},
		{"signature of another body", hostileIntercom, good, h.signed(notification("notif_other", "contact.user.updated", hostileContact)), http.StatusUnauthorized},
		{"signature not hex", hostileIntercom, good, map[string]string{"X-Hub-Signature": "sha1=" + strings.Repeat("z", 40)}, http.StatusUnauthorized},
		{"sha256 signature", hostileIntercom, good, map[string]string{"X-Hub-Signature": "sha256=" + strings.Repeat("0", 64)}, http.StatusUnauthorized},
		{"body larger than 1 MiB", hostileIntercom, big, h.signed(big), http.StatusRequestEntityTooLarge},
		{"not JSON", hostileIntercom, []byte("<xml/>"), h.signed([]byte("<xml/>")), http.StatusBadRequest},
		{"id of the wrong type", hostileIntercom, []byte(`{"type":"notification_event","id":42,"topic":"contact.user.updated","data":{"item":{}}}`),
			h.signed([]byte(`{"type":"notification_event","id":42,"topic":"contact.user.updated","data":{"item":{}}}`)), http.StatusBadRequest},
		{"data of the wrong type", hostileIntercom, []byte(`{"type":"notification_event","id":"n1","topic":"contact.user.updated","data":"x"}`),
			h.signed([]byte(`{"type":"notification_event","id":"n1","topic":"contact.user.updated","data":"x"}`)), http.StatusBadRequest},
		{"no item", hostileIntercom, notification("notif_empty", "contact.user.updated", nil), h.signed(notification("notif_empty", "contact.user.updated", nil)), http.StatusBadRequest},
		{"unknown topic", hostileIntercom, notification("notif_topic", "admin.logged_in", hostileContact),
			h.signed(notification("notif_topic", "admin.logged_in", hostileContact)), http.StatusOK},
		{"unsubscribed topic", hostileIntercom, notification("notif_unsub", "contact.deleted", hostileContact),
			h.signed(notification("notif_unsub", "contact.deleted", hostileContact)), http.StatusOK},
		{"brevo without token", hostileBrevo, []byte(`{"event":"unsubscribe","email":"a@example.com"}`), nil, http.StatusUnauthorized},
		{"brevo with a wrong token", hostileBrevo, []byte(`{"event":"unsubscribe","email":"a@example.com"}`), map[string]string{"Authorization": "Bearer guess"}, http.StatusUnauthorized},
		{"brevo with the token as basic auth", hostileBrevo, []byte(`{"event":"unsubscribe","email":"a@example.com"}`),
			map[string]string{"Authorization": "Basic " + h.token}, http.StatusUnauthorized},
		{"brevo event not subscribed", hostileBrevo, []byte(`{"event":"spam","email":"a@example.com"}`), map[string]string{"Authorization": "Bearer " + h.token}, http.StatusOK},
		{"brevo not JSON", hostileBrevo, []byte(`event=unsubscribe`), map[string]string{"Authorization": "Bearer " + h.token}, http.StatusBadRequest},
		{"unknown path", "/webhooks/zendesk", good, h.signed(good), http.StatusNotFound},
		{"reserved path is not a receiver", "/metrics", good, h.signed(good), http.StatusNotFound},
	}
	for _, tc := range cases {
		if got := h.post(t, tc.path, tc.body, tc.header); got != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, got, tc.want)
		}
	}
	if ds := h.stored(t); len(ds) != 0 {
		t.Fatalf("rejected or ignored deliveries were stored: %d, first %s %s", len(ds), ds[0].ID, ds[0].Topic)
	}
	// A replayed delivery is acknowledged and stored once.
	for range 3 {
		if got := h.post(t, hostileIntercom, good, h.signed(good)); got != http.StatusOK {
			t.Fatalf("authentic delivery: %d", got)
		}
	}
	if ds := h.stored(t); len(ds) != 1 || ds[0].ID != "notif_good" {
		t.Fatalf("inbox after a delivery replayed 3 times: %+v", ds)
	}
	// GET is not a delivery.
	resp, err := http.Get(h.url + hostileIntercom)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", resp.StatusCode)
	}
	// A chunked body without Content-Length is capped as well.
	pr, pw := io.Pipe()
	go func() {
		chunk := bytes.Repeat([]byte("x"), 64<<10)
		for range 20 {
			if _, err := pw.Write(chunk); err != nil {
				return
			}
		}
		pw.Close()
	}()
	req, _ := http.NewRequest(http.MethodPost, h.url+hostileIntercom, pr)
	req.Header.Set("X-Hub-Signature", "sha1="+strings.Repeat("0", 40))
	resp, err = http.DefaultClient.Do(req)
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("chunked 1.25 MiB body: %d", resp.StatusCode)
		}
	}
	// Headers beyond 64 KiB are refused before the handler.
	req, _ = http.NewRequest(http.MethodPost, h.url+hostileIntercom, bytes.NewReader(good))
	req.Header.Set("X-Padding", strings.Repeat("p", 100<<10))
	resp, err = http.DefaultClient.Do(req)
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("100 KiB of headers: %d", resp.StatusCode)
		}
	}
	stats := h.recv.Stats()
	t.Logf("receiver outcomes: %v", stats)
	if stats[webhook.StatKey{Connector: "intercom", Source: "intercom", Outcome: "duplicate"}] != 2 {
		t.Errorf("duplicates not counted: %v", stats)
	}
}

// TestSlowLoris: clients that send their headers or their body a byte at
// a time are cut off within run's timeouts (headers 5 s, whole request
// 10 s), and while 50 of them hold connections open, authentic
// deliveries are answered at once.
func TestSlowLoris(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the server's timeouts")
	}
	t.Parallel()
	h := newHostile(t)
	addr := strings.TrimPrefix(h.url, "http://")
	srv := newHTTPServer(nil)
	type cut struct {
		kind string
		took time.Duration
		err  error
	}
	cuts := make(chan cut, 64)
	// trickle writes prefix at once, then one byte of rest every 200 ms
	// until the server closes the connection.
	trickle := func(kind, prefix, rest string) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			cuts <- cut{kind, 0, err}
			return
		}
		defer conn.Close()
		start := time.Now()
		closed := make(chan struct{})
		go func() {
			defer close(closed)
			br := bufio.NewReader(conn)
			_, _ = io.Copy(io.Discard, br) // until the server closes
		}()
		if _, err := io.WriteString(conn, prefix); err != nil {
			cuts <- cut{kind, time.Since(start), nil}
			return
		}
		for i := 0; ; i++ {
			select {
			case <-closed:
				cuts <- cut{kind, time.Since(start), nil}
				return
			case <-time.After(200 * time.Millisecond):
			}
			if _, err := conn.Write([]byte{rest[i%len(rest)]}); err != nil {
				<-closed
				cuts <- cut{kind, time.Since(start), nil}
				return
			}
			if time.Since(start) > 30*time.Second {
				cuts <- cut{kind, time.Since(start), errors.New("never cut off")}
				return
			}
		}
	}
	body := notification("notif_loris", "contact.user.updated", hostileContact)
	headers := "POST " + hostileIntercom + " HTTP/1.1\r\nHost: " + addr + "\r\nContent-Type: application/json\r\n"
	var wg gosync.WaitGroup
	for i := range 50 {
		if i%2 == 0 {
			wg.Go(func() {
				trickle("headers", "POST "+hostileIntercom+" HTTP/1.1\r\n", "X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n")
			})
		} else {
			wg.Go(func() {
				trickle("body", headers+fmt.Sprintf("Content-Length: %d\r\nX-Hub-Signature: %s\r\n\r\n", len(body), h.signed(body)["X-Hub-Signature"]), string(body))
			})
		}
	}
	// Meanwhile authentic deliveries are answered without delay.
	time.Sleep(300 * time.Millisecond)
	var slowest time.Duration
	for i := range 20 {
		b := notification(fmt.Sprintf("notif_ok_%d", i), "contact.user.updated", hostileContact)
		start := time.Now()
		if got := h.post(t, hostileIntercom, b, h.signed(b)); got != http.StatusOK {
			t.Errorf("delivery %d during the slow-loris: %d", i, got)
		}
		slowest = max(slowest, time.Since(start))
	}
	if slowest > time.Second {
		t.Errorf("a delivery took %s while slow clients held connections", slowest)
	}
	wg.Wait()
	close(cuts)
	limits := map[string]time.Duration{"headers": srv.ReadHeaderTimeout, "body": srv.ReadTimeout}
	longest := map[string]time.Duration{}
	for c := range cuts {
		if c.err != nil {
			t.Errorf("%s slow-loris: %v", c.kind, c.err)
			continue
		}
		longest[c.kind] = max(longest[c.kind], c.took)
		if c.took > limits[c.kind]+1500*time.Millisecond {
			t.Errorf("%s slow-loris cut off after %s; the timeout is %s", c.kind, c.took, limits[c.kind])
		}
	}
	if ds := h.stored(t); len(ds) != 20 {
		t.Errorf("inbox holds %d deliveries, want the 20 authentic ones (a trickled body must not be stored)", len(ds))
	}
	t.Logf("slow headers cut after %s (ReadHeaderTimeout %s), slow bodies after %s (ReadTimeout %s); 20 deliveries meanwhile, slowest %s",
		longest["headers"].Round(time.Millisecond), srv.ReadHeaderTimeout, longest["body"].Round(time.Millisecond), srv.ReadTimeout, slowest.Round(time.Millisecond))
}

// selfSigned writes a certificate for 127.0.0.1 and its key, and returns
// their paths and a pool that trusts it.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "tajo-agent test"},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestRunTLS: `tajo-agent run --listen --tls-cert --tls-key` serves the
// webhook receiver over HTTPS only (TLS 1.2 or newer), while
// --admin-listen stays plain on its private address; wrong TLS flags
// fail at start with a message.
func TestRunTLS(t *testing.T) {
	t.Parallel()
	x := newE2E(t, 20)
	x.applyQuickstartLike(t)
	x.save(t, config.WebhookSubscription{ConnectorID: "intercom", Source: config.SourceIntercom, Path: hostileIntercom,
		Secret: "env:INTERCOM_CLIENT_SECRET", Topics: []string{"contact.updated"}})
	certFile, keyFile, pool := selfSigned(t)
	run := func(ctx context.Context, args ...string) (int, *lockedWriter) {
		out := &lockedWriter{w: &bytes.Buffer{}}
		env := &env{stdout: out, stderr: out, getenv: func(string) string { return "" },
			lookupEnv: func(k string) (string, bool) { v, ok := x.secrets[k]; return v, ok }}
		return runEnv(ctx, env, append([]string{"run", "--store", x.store}, args...)), out
	}
	for _, bad := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--listen", "127.0.0.1:0", "--tls-cert", certFile}, exitUsage, "--tls-cert and --tls-key together"},
		{[]string{"--tls-cert", certFile, "--tls-key", keyFile}, exitUsage, "with --listen"},
		{[]string{"--listen", "127.0.0.1:0", "--tls-cert", certFile, "--tls-key", certFile}, exitError, "--tls-key"},
		{[]string{"--listen", "127.0.0.1:0", "--tls-cert", "/nonexistent/tls.crt", "--tls-key", keyFile}, exitError, "no such file"},
	} {
		code, out := run(t.Context(), bad.args...)
		if code != bad.code || !strings.Contains(out.String(), bad.want) {
			t.Errorf("run %v: exit %d, want %d with %q:\n%s", bad.args, code, bad.code, bad.want, out.String())
		}
		if b, _ := os.ReadFile(keyFile); strings.Contains(out.String(), string(b[40:80])) {
			t.Errorf("run %v printed the private key", bad.args)
		}
	}

	addr, admin := freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var out *lockedWriter
	started := make(chan struct{})
	go func() {
		var code int
		outw := &lockedWriter{w: &bytes.Buffer{}}
		out = outw
		close(started)
		env := &env{stdout: outw, stderr: outw, getenv: func(string) string { return "" },
			lookupEnv: func(k string) (string, bool) { v, ok := x.secrets[k]; return v, ok }}
		code = runEnv(ctx, env, []string{"run", "--store", x.store, "--listen", addr, "--admin-listen", admin,
			"--tls-cert", certFile, "--tls-key", keyFile, "--log-level", "warn"})
		done <- code
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != exitOK {
			t.Errorf("run exited %d:\n%s", code, out.String())
		}
	})
	<-started
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	waitReady(t, admin, out)
	body := notification("notif_tls", "contact.user.updated", hostileContact)
	var status int
	crashWaitUntil(10*time.Second, func() bool { // the route appears with the configuration
		req, _ := http.NewRequest(http.MethodPost, "https://"+addr+hostileIntercom, bytes.NewReader(body))
		req.Header.Set("X-Hub-Signature", fakeintercom.Sign(x.secrets["INTERCOM_CLIENT_SECRET"], body))
		resp, err := client.Do(req)
		if err != nil {
			t.Logf("HTTPS delivery: %v", err)
			return false
		}
		resp.Body.Close()
		status = resp.StatusCode
		return status == http.StatusOK
	})
	if status != http.StatusOK {
		t.Fatalf("signed delivery over HTTPS: %d", status)
	}
	// Plain HTTP on the TLS listener is not served.
	resp, err := http.Post("http://"+addr+hostileIntercom, "application/json", bytes.NewReader(body))
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("plain HTTP accepted on the TLS listener")
		}
	}
	// Old protocol versions are refused.
	old := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MaxVersion: tls.VersionTLS11}}}
	if resp, err := old.Get("https://" + addr + "/healthz"); err == nil {
		resp.Body.Close()
		t.Error("a TLS 1.1 client was served")
	}
	// Health and metrics are on the private admin listener only.
	if resp, err := client.Get("https://" + addr + "/metrics"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("/metrics is served on the public TLS listener although --admin-listen is given")
		}
	}
}
