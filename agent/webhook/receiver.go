package webhook

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	gosync "sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/tajo/terraform-provider-tajo/agent/config"
	"github.com/tajo/terraform-provider-tajo/agent/store"
)

// DefaultMaxBody caps a delivery's body (Intercom's notifications are a
// few KB; a conversation with parts stays far below).
const DefaultMaxBody = 1 << 20

// Route is one receive path: a tajo_webhook_subscription with its secret
// resolved (kept in memory only, never logged).
type Route struct {
	ConnectorID string
	Source      string
	Path        string
	Secret      string
	// Topics are the real Intercom topics (aliases expanded) or the Brevo
	// event names the subscription acts on.
	Topics map[string]bool
	// LogWebhooks logs each delivery; with Debug, its body too.
	LogWebhooks, Debug bool
}

// Receiver is the webhook HTTP handler.
type Receiver struct {
	st      store.Store
	log     hclog.Logger
	maxBody int64
	now     func() time.Time
	// onAccept tells the connector's inbox workers there is work.
	onAccept func(connectorID string)

	mu     gosync.RWMutex
	routes map[string]Route

	seenMu   gosync.Mutex
	lastSeen map[string]time.Time

	statsMu gosync.Mutex
	stats   map[StatKey]int64
}

// StatKey labels receiver counts: connector, source and outcome
// ("accepted", "duplicate", "ping", "ignored", "unauthorized", "too_large",
// "bad_request", "unavailable").
type StatKey struct{ Connector, Source, Outcome string }

// NewReceiver returns a receiver that stores into st and calls onAccept
// (which may be nil) after each accepted delivery.
func NewReceiver(st store.Store, log hclog.Logger, onAccept func(connectorID string)) *Receiver {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	return &Receiver{st: st, log: log.Named("webhook"), maxBody: DefaultMaxBody, now: time.Now, onAccept: onAccept,
		routes: map[string]Route{}, lastSeen: map[string]time.Time{}, stats: map[StatKey]int64{}}
}

// SetMaxBody changes the body cap.
func (r *Receiver) SetMaxBody(n int64) { r.maxBody = n }

// SetRoutes replaces the routes (on every configuration reload). Two
// subscriptions with one path cannot both be served: the first (by
// connector id) wins and the others are reported.
func (r *Receiver) SetRoutes(routes []Route) error {
	sort.Slice(routes, func(i, j int) bool { return routes[i].ConnectorID < routes[j].ConnectorID })
	m := make(map[string]Route, len(routes))
	var errs []error
	for _, rt := range routes {
		if prev, ok := m[rt.Path]; ok {
			errs = append(errs, fmt.Errorf("webhook path %s is declared by connectors %s and %s; only %s receives it: give each subscription its own path",
				rt.Path, prev.ConnectorID, rt.ConnectorID, prev.ConnectorID))
			continue
		}
		m[rt.Path] = rt
	}
	r.mu.Lock()
	r.routes = m
	r.mu.Unlock()
	return errors.Join(errs...)
}

// Routes returns the served paths.
func (r *Receiver) Routes() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.routes))
	for p := range r.routes {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// Stats returns a copy of the receiver's counts.
func (r *Receiver) Stats() map[StatKey]int64 {
	r.statsMu.Lock()
	defer r.statsMu.Unlock()
	out := make(map[StatKey]int64, len(r.stats))
	for k, v := range r.stats {
		out[k] = v
	}
	return out
}

func (r *Receiver) count(rt Route, outcome string) {
	r.statsMu.Lock()
	r.stats[StatKey{rt.ConnectorID, rt.Source, outcome}]++
	r.statsMu.Unlock()
}

// ServeHTTP implements http.Handler.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.RLock()
	rt, ok := r.routes[req.URL.Path]
	r.mu.RUnlock()
	if !ok {
		http.NotFound(w, req)
		return
	}
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "webhooks are POSTed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, r.maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			r.reject(w, rt, "too_large", http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", r.maxBody))
			return
		}
		r.reject(w, rt, "bad_request", http.StatusBadRequest, "body could not be read")
		return
	}
	switch rt.Source {
	case config.SourceIntercom:
		r.intercom(w, req, rt, body)
	case config.SourceBrevo:
		r.brevo(w, req, rt, body)
	default:
		http.NotFound(w, req)
	}
}

func (r *Receiver) reject(w http.ResponseWriter, rt Route, outcome string, status int, msg string) {
	r.count(rt, outcome)
	if rt.LogWebhooks || outcome == "unauthorized" {
		r.log.Warn("webhook rejected", "connector", rt.ConnectorID, "path", rt.Path, "status", status, "reason", msg)
	}
	http.Error(w, msg, status)
}

func (r *Receiver) intercom(w http.ResponseWriter, req *http.Request, rt Route, body []byte) {
	if err := VerifyIntercom(rt.Secret, body, req.Header.Get("X-Hub-Signature")); err != nil {
		r.reject(w, rt, "unauthorized", http.StatusUnauthorized, err.Error())
		return
	}
	n, err := ParseNotification(body)
	if err != nil {
		r.reject(w, rt, "bad_request", http.StatusBadRequest, err.Error())
		return
	}
	if n.Topic == "ping" {
		r.seen(req.Context(), rt)
		r.count(rt, "ping")
		r.logDelivery(rt, n.Topic, n.ID, "", "ping", body)
		w.WriteHeader(http.StatusOK)
		return
	}
	if !rt.Topics[n.Topic] {
		// Intercom sends what the app subscribes to in the Developer Hub;
		// a topic this subscription does not list is acknowledged and
		// dropped (an error answer would make Intercom retry, then drop
		// all deliveries for 15 minutes).
		r.seen(req.Context(), rt)
		r.count(rt, "ignored")
		r.logDelivery(rt, n.Topic, n.ID, "", "ignored: topic not subscribed", body)
		w.WriteHeader(http.StatusOK)
		return
	}
	d := store.Delivery{ConnectorID: rt.ConnectorID, Source: config.SourceIntercom, ID: n.ID, Topic: n.Topic, Path: rt.Path,
		Key: OrderKey(n.Topic, n.Data.Item), Body: body, ReceivedAt: r.now()}
	r.store(w, req, rt, d)
}

func (r *Receiver) brevo(w http.ResponseWriter, req *http.Request, rt Route, body []byte) {
	if err := VerifyBearer(rt.Secret, req.Header.Get("Authorization")); err != nil {
		r.reject(w, rt, "unauthorized", http.StatusUnauthorized, err.Error())
		return
	}
	events, err := ParseBrevo(body)
	if err != nil {
		r.reject(w, rt, "bad_request", http.StatusBadRequest, err.Error())
		return
	}
	id := digest(body)
	for i, e := range events {
		topic := BrevoEventTopics[e.Event]
		if topic == "" || !rt.Topics[topic] {
			r.count(rt, "ignored")
			r.logDelivery(rt, e.Event, id, "", "ignored: event not subscribed", e.Raw)
			continue
		}
		d := store.Delivery{ConnectorID: rt.ConnectorID, Source: config.SourceBrevo, ID: id + "-" + strconv.Itoa(i), Topic: topic,
			Path: rt.Path, Key: "email:" + strings.ToLower(e.Email), Body: e.Raw, ReceivedAt: r.now()}
		if !r.accept(w, req, rt, d) {
			return
		}
	}
	r.seen(req.Context(), rt)
	w.WriteHeader(http.StatusOK)
}

// store accepts one Intercom delivery and answers.
func (r *Receiver) store(w http.ResponseWriter, req *http.Request, rt Route, d store.Delivery) {
	if r.accept(w, req, rt, d) {
		r.seen(req.Context(), rt)
		w.WriteHeader(http.StatusOK)
	}
}

// accept writes a delivery to the inbox; on failure it answers 503 (the
// sender retries) and reports false.
func (r *Receiver) accept(w http.ResponseWriter, req *http.Request, rt Route, d store.Delivery) bool {
	dup, err := r.st.Accept(req.Context(), d)
	if err != nil {
		r.count(rt, "unavailable")
		r.log.Error("webhook delivery not stored; the sender will retry", "connector", rt.ConnectorID, "delivery", d.ID, "error", err)
		http.Error(w, "delivery not stored, retry later", http.StatusServiceUnavailable)
		return false
	}
	outcome := "accepted"
	if dup {
		outcome = "duplicate"
	}
	r.count(rt, outcome)
	r.logDelivery(rt, d.Topic, d.ID, d.Key, outcome, d.Body)
	if !dup && r.onAccept != nil {
		r.onAccept(rt.ConnectorID)
	}
	return true
}

// logDelivery logs a delivery when the connector asks for it (log_webhooks):
// topic, delivery id, record and outcome; the body only with debug too.
func (r *Receiver) logDelivery(rt Route, topic, id, key, outcome string, body []byte) {
	if !rt.LogWebhooks {
		return
	}
	r.log.Info("webhook", "connector", rt.ConnectorID, "topic", topic, "delivery", id, "record", key, "outcome", outcome)
	if rt.Debug {
		r.log.Debug("webhook body", "connector", rt.ConnectorID, "delivery", id, "body", string(body))
	}
}

// seenEvery bounds how often the time of the last delivery is written.
const seenEvery = 30 * time.Second

// seen records that a path received something (tajo-agent test reports it
// as "webhooks registered").
func (r *Receiver) seen(ctx context.Context, rt Route) {
	now := r.now()
	r.seenMu.Lock()
	last := r.lastSeen[rt.Path]
	if now.Sub(last) < seenEvery {
		r.seenMu.Unlock()
		return
	}
	r.lastSeen[rt.Path] = now
	r.seenMu.Unlock()
	if err := r.st.PutCheckpoint(ctx, rt.ConnectorID, DeliveryCheckpoint(rt.Path), []byte(strconv.FormatInt(now.Unix(), 10))); err != nil {
		r.log.Warn("record webhook delivery time", "connector", rt.ConnectorID, "path", rt.Path, "error", err)
	}
}

// DeliveryCheckpoint names the checkpoint holding the Unix time of the last
// delivery (or ping) received on a path.
func DeliveryCheckpoint(path string) string { return "webhook:" + path }
