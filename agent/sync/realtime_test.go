package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tajo/terraform-provider-tajo/agent/config"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox/dataset"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox/fakebrevo"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox/fakeintercom"
	"github.com/tajo/terraform-provider-tajo/agent/store"
	"github.com/tajo/terraform-provider-tajo/agent/webhook"
)

// live is an env with a running agent: supervisor, receiver served on a
// loopback listener.
type live struct {
	*env
	sup    *Supervisor
	recv   *webhook.Receiver
	hooks  string // base URL of the receiver
	cancel context.CancelFunc
	done   chan struct{}
}

const hookPath = "/webhooks/intercom"

func startLive(t *testing.T, e *env, mode string, extra ...config.WebhookSubscription) *live {
	t.Helper()
	e.secret["INTERCOM_CLIENT_SECRET"] = e.sb.Intercom.ClientSecret()
	e.secret["BREVO_WEBHOOK_TOKEN"] = "brevo-token-for-tests"
	e.bundle.Connector.Mode = mode
	e.bundle.Connector.LogWebhooks = true
	e.bundle.Webhooks = append([]config.WebhookSubscription{{ConnectorID: "intercom", Source: "intercom", Path: hookPath,
		Secret: "env:INTERCOM_CLIENT_SECRET", Topics: []string{"contact.created", "contact.updated", "contact.deleted", "contact.merged",
			"contact.tag.created", "contact.tag.deleted", "user.unsubscribed", "user.email.updated", "company.updated",
			"conversation.created", "conversation.closed", "conversation.snoozed", "conversation.rating.added"}}}, extra...)
	return launch(t, e, nil)
}

// launch saves e's bundle in its store and runs a supervisor on it, with
// the engine options mod adjusts (nil: none) and a receiver served on a
// loopback listener; it returns after the first sync.
func launch(t *testing.T, e *env, mod func(*Options)) *live {
	t.Helper()
	for _, o := range append([]store.Object{e.bundle.Connector}, objects(e.bundle)...) {
		if _, err := store.Save(t.Context(), e.st, o, store.AnyVersion); err != nil {
			t.Fatal(err)
		}
	}
	opts := e.options()
	if mod != nil {
		mod(&opts)
	}
	recv := webhook.NewReceiver(e.st, opts.Logger, nil)
	srv := httptest.NewServer(recv)
	t.Cleanup(srv.Close)
	opts.PublicURL = srv.URL
	sup := NewSupervisor(e.st, opts)
	sup.Poll = 100 * time.Millisecond
	sup.SetReceiver(recv)
	*recv = *webhook.NewReceiver(e.st, opts.Logger, sup.WakeInbox)
	ctx, cancel := context.WithCancel(context.Background())
	l := &live{env: e, sup: sup, recv: recv, hooks: srv.URL, cancel: cancel, done: make(chan struct{})}
	go func() { defer close(l.done); sup.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-l.done })
	l.waitFor("the first sync", 2*time.Minute, func() bool {
		st, err := e.st.GetStatus(context.Background(), "intercom")
		return err == nil && !st.LastSync.IsZero()
	})
	return l
}

func objects(b config.Bundle) []store.Object {
	var out []store.Object
	for _, m := range b.Mappings {
		out = append(out, m)
	}
	for _, l := range b.Lists {
		out = append(out, l)
	}
	for _, w := range b.Webhooks {
		out = append(out, w)
	}
	return out
}

func (l *live) waitFor(what string, limit time.Duration, ok func() bool) time.Duration {
	l.t.Helper()
	start := time.Now()
	for time.Since(start) < limit {
		if ok() {
			return time.Since(start)
		}
		time.Sleep(10 * time.Millisecond)
	}
	l.t.Fatalf("timed out after %s waiting for %s", limit, what)
	return 0
}

// deliver sends an Intercom notification about id to the agent.
func (l *live) deliver(topic, id string) fakeintercom.Notification {
	l.t.Helper()
	n, err := l.sb.Intercom.Notify(topic, id)
	if err != nil {
		l.t.Fatal(err)
	}
	l.send(n)
	return n
}

func (l *live) send(n fakeintercom.Notification) {
	l.t.Helper()
	status, err := l.sb.Intercom.Deliver(context.Background(), l.hooks+hookPath, n)
	if err != nil || status != http.StatusOK {
		l.t.Fatalf("deliver %s: %d, %v", n.Topic, status, err)
	}
}

func someUsers(e *env, n int) []string {
	var out []string
	for _, id := range e.sb.Intercom.ContactIDs() {
		if c, _ := e.sb.Intercom.Contact(id); c.Email != "" && c.Role == "user" {
			out = append(out, id)
			if len(out) == n {
				break
			}
		}
	}
	return out
}

// TestRealtimeLatency: in realtime mode a contact updated in Intercom
// reaches Brevo within 2 s of the webhook.
func TestRealtimeLatency(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 300)
	l := startLive(t, e, config.ModeRealtime)
	var lat []time.Duration
	for i, id := range someUsers(e, 20) {
		value := fmt.Sprintf("realtime-%d", i)
		if err := e.sb.Intercom.UpdateContact(id, func(c *dataset.Contact) { c.CustomAttributes["plan_tier"] = value }); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		l.deliver("contact.user.updated", id)
		l.waitFor("the update in Brevo", 2*time.Second, func() bool {
			bc, _ := e.sb.Brevo.ContactByExtID(id)
			return bc.Attributes["PLAN_TIER"] == value
		})
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	t.Logf("webhook → Brevo over %d deliveries: p50 %s, p95 %s, max %s", len(lat), lat[len(lat)/2], lat[len(lat)*95/100], lat[len(lat)-1])
	e.exact()
}

// TestDuplicateAndOutOfOrderDeliveries: a late, older version and repeated
// deliveries of one contact end in its newest state.
func TestDuplicateAndOutOfOrderDeliveries(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 200)
	l := startLive(t, e, config.ModeRealtime)
	id := someUsers(e, 1)[0]
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(e.sb.Intercom.UpdateContact(id, func(c *dataset.Contact) { c.CustomAttributes["plan_tier"] = "v1" }))
	v1, _ := e.sb.Intercom.Notify("contact.user.updated", id)
	e.sb.Intercom.SetClock(func() time.Time { return time.Now().Add(time.Minute) })
	must(e.sb.Intercom.UpdateContact(id, func(c *dataset.Contact) { c.CustomAttributes["plan_tier"] = "v2" }))
	v2, _ := e.sb.Intercom.Notify("contact.user.updated", id)
	// Newest first, then the older one, then Intercom's retries of both.
	for _, n := range []fakeintercom.Notification{v2, v1, v2, v1} {
		l.send(n)
	}
	l.waitFor("the deliveries to be processed", 5*time.Second, func() bool {
		ds, _ := e.st.ListDeliveries(context.Background(), "intercom", store.InboxFilter{})
		for _, d := range ds {
			if d.State != store.DeliveryDone {
				return false
			}
		}
		return len(ds) == 2
	})
	bc, _ := e.sb.Brevo.ContactByExtID(id)
	if bc.Attributes["PLAN_TIER"] != "v2" {
		t.Fatalf("PLAN_TIER = %v after out-of-order deliveries, want v2", bc.Attributes["PLAN_TIER"])
	}
	e.exact()
}

// TestBrevoUnsubscribeReachesIntercomWithoutEcho: a Brevo unsubscribe sets
// unsubscribed_from_emails in Intercom once; Intercom's own notification of
// that change causes no further write in either direction.
func TestBrevoUnsubscribeReachesIntercomWithoutEcho(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 200)
	e.bundle.Connector.Direction = config.DirectionBidirectional
	l := startLive(t, e, config.ModeHybrid, config.WebhookSubscription{ConnectorID: "intercom", Source: "brevo", Path: "/webhooks/brevo",
		Secret: "env:BREVO_WEBHOOK_TOKEN", Topics: []string{"unsubscribed"}})
	hooks := e.sb.Brevo.Webhooks()
	if len(hooks) != 1 || hooks[0].URL != l.hooks+"/webhooks/brevo" {
		t.Fatalf("brevo webhooks = %+v; want one at the agent's public URL", hooks)
	}
	var id string
	for _, u := range someUsers(e, 50) {
		if c, _ := e.sb.Intercom.Contact(u); !c.UnsubscribedFromEmails {
			id = u
			break
		}
	}
	c, _ := e.sb.Intercom.Contact(id)
	if _, err := e.sb.Brevo.Unsubscribe(context.Background(), c.Email, nil); err != nil {
		t.Fatal(err)
	}
	l.waitFor("the unsubscribe in Intercom", 5*time.Second, func() bool {
		c, _ := e.sb.Intercom.Contact(id)
		return c.UnsubscribedFromEmails
	})
	puts := func() int { return e.sb.Intercom.Harness().Stats().ByRoute["PUT /contacts/{id}"] }
	l.waitFor("UNSUBSCRIBED in Brevo", 5*time.Second, func() bool {
		bc, _ := e.sb.Brevo.ContactByExtID(id)
		return bc.Attributes["UNSUBSCRIBED"] == true && bc.EmailBlacklisted
	})
	before, brevoBefore := puts(), len(e.sb.Brevo.Writes())
	// Intercom reports the change the agent made; Brevo repeats its event.
	l.deliver("contact.unsubscribed", id)
	if _, err := e.sb.Brevo.Unsubscribe(context.Background(), c.Email, nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	if puts() != before || before != 1 {
		t.Errorf("Intercom updated %d times in all (%d after the echo window), want exactly 1", puts(), puts()-before)
	}
	if w := e.sb.Brevo.Writes()[brevoBefore:]; len(w) != 0 {
		t.Errorf("the echo wrote to Brevo again: %+v", w)
	}
	// Removing the subscription removes the Brevo webhook.
	if err := e.st.DeleteDocument(context.Background(), config.KindWebhook, "intercom/webhooks/brevo", store.AnyVersion); err != nil {
		t.Fatal(err)
	}
	l.waitFor("the Brevo webhook to be removed", 10*time.Second, func() bool { return len(e.sb.Brevo.Webhooks()) == 0 })
}

// TestHybridRepairsDroppedDelivery: a change whose webhook never arrives is
// written by the next catch-up pass.
func TestHybridRepairsDroppedDelivery(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 200)
	l := startLive(t, e, config.ModeHybrid)
	id := someUsers(e, 1)[0]
	if err := e.sb.Intercom.UpdateContact(id, func(c *dataset.Contact) { c.CustomAttributes["plan_tier"] = "dropped" }); err != nil {
		t.Fatal(err)
	}
	// No delivery. The catch-up pass (every batch_interval; triggered here)
	// finds it.
	if err := l.sup.Trigger("intercom", PassOptions{}); err != nil {
		t.Fatal(err)
	}
	l.waitFor("the catch-up pass to repair it", 30*time.Second, func() bool {
		bc, _ := e.sb.Brevo.ContactByExtID(id)
		return bc.Attributes["PLAN_TIER"] == "dropped"
	})
}

// TestMergeDeleteAndTags: a lead merged into a user leaves its lists; a
// deleted contact leaves them too; tag changes move list membership.
func TestMergeDeleteAndTags(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 300)
	l := startLive(t, e, config.ModeRealtime)
	var lead, user, other string
	for _, id := range e.sb.Intercom.ContactIDs() {
		c, _ := e.sb.Intercom.Contact(id)
		switch {
		case c.Email != "" && c.Role == "lead" && lead == "":
			lead = id
		case c.Email != "" && c.Role == "user" && user == "":
			user = id
		case c.Email != "" && c.Role == "user" && other == "":
			other = id
		}
	}
	leadBrevo, _ := e.sb.Brevo.ContactByExtID(lead)
	if !slices.Contains(leadBrevo.ListIDs, 37) {
		t.Fatalf("lead not in list 37 before the merge: %v", leadBrevo.ListIDs)
	}
	if err := e.sb.Intercom.MergeContacts(lead, user); err != nil {
		t.Fatal(err)
	}
	n, _ := e.sb.Intercom.Notify("contact.merged", user)
	if m, ok := n.Data.Item.(interface{ MarshalJSON() ([]byte, error) }); ok {
		_ = m
	}
	// The merged payload names the contact merged away.
	raw, _ := json.Marshal(n.Data.Item)
	var item map[string]any
	_ = json.Unmarshal(raw, &item)
	item["merged_from"] = map[string]any{"type": "contact", "id": lead}
	n.Data.Item = item
	l.send(n)
	l.waitFor("the merged lead to leave list 37", 5*time.Second, func() bool {
		members, _ := e.sb.Brevo.ListMembers(37)
		return !slices.Contains(members, leadBrevo.ID)
	})
	// Deleted contact: only identifiers in the payload.
	gone, _ := e.sb.Brevo.ContactByExtID(other)
	if err := e.sb.Intercom.DeleteContact(other); err != nil {
		t.Fatal(err)
	}
	l.deliver("contact.deleted", other)
	l.waitFor("the deleted contact to leave list 35", 5*time.Second, func() bool {
		members, _ := e.sb.Brevo.ListMembers(35)
		return !slices.Contains(members, gone.ID)
	})
	// Tagged vip → list 38.
	if err := e.sb.Intercom.TagContact(user, "vip"); err != nil {
		t.Fatal(err)
	}
	ub, _ := e.sb.Brevo.ContactByExtID(user)
	l.deliver("contact.user.tag.created", user)
	l.waitFor("the tagged user in list 38", 5*time.Second, func() bool {
		members, _ := e.sb.Brevo.ListMembers(38)
		return slices.Contains(members, ub.ID)
	})
	e.exact()
}

// TestDeadLetterAndRetry: a delivery no retry can fix is dead-lettered
// with its reason; requeued, it is processed again.
func TestDeadLetterAndRetry(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 50)
	l := startLive(t, e, config.ModeRealtime)
	n, _ := e.sb.Intercom.Notify("contact.user.updated", someUsers(e, 1)[0])
	n.Data.Item = map[string]any{"type": "contact", "id": 42} // an id of the wrong type
	l.send(n)
	var dead []store.Delivery
	l.waitFor("the dead letter", 5*time.Second, func() bool {
		dead, _ = e.st.ListDeliveries(context.Background(), "intercom", store.InboxFilter{State: store.DeliveryDead})
		return len(dead) == 1
	})
	if !strings.Contains(dead[0].LastError, "not a contact") {
		t.Errorf("reason = %q", dead[0].LastError)
	}
	if n, err := e.st.Requeue(context.Background(), "intercom", nil); err != nil || n != 1 {
		t.Fatalf("requeue: %d, %v", n, err)
	}
	l.sup.WakeInbox("intercom")
	l.waitFor("the retried delivery to be dead again", 5*time.Second, func() bool {
		d, _ := e.st.ListDeliveries(context.Background(), "intercom", store.InboxFilter{State: store.DeliveryDead})
		return len(d) == 1 && d[0].Attempts == 1
	})
}

var _ = sort.Strings
var _ = fakebrevo.WriteContact

// TestCheckWebhooksTruthful: `tajo-agent test` reports "webhooks
// registered" only when it is so: the Brevo subscription exists in Brevo,
// and the Intercom one has delivered something (a ping at least).
func TestCheckWebhooksTruthful(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 30)
	e.bundle.Connector.Direction = config.DirectionBidirectional
	brevoSub := config.WebhookSubscription{ConnectorID: "intercom", Source: "brevo", Path: "/webhooks/brevo",
		Secret: "env:BREVO_WEBHOOK_TOKEN", Topics: []string{"unsubscribed"}}
	check := func(stage string, want ...error) {
		t.Helper()
		eng := e.engine()
		err := CheckWebhooks(t.Context(), eng, e.st)
		for _, w := range want {
			if !errors.Is(err, w) {
				t.Errorf("%s: %v; want %v", stage, err, w)
			}
		}
		if len(want) == 0 && err != nil {
			t.Errorf("%s: %v; want no error", stage, err)
		}
	}
	e.bundle.Webhooks = []config.WebhookSubscription{{ConnectorID: "intercom", Source: "intercom", Path: hookPath,
		Secret: "env:INTERCOM_CLIENT_SECRET", Topics: []string{"contact.user.updated"}}, brevoSub}
	e.secret["INTERCOM_CLIENT_SECRET"] = e.sb.Intercom.ClientSecret()
	e.secret["BREVO_WEBHOOK_TOKEN"] = "brevo-token-for-tests"
	check("before the agent ran", ErrWebhookNotReceived, ErrWebhookNotRegistered)

	e.bundle.Webhooks = nil // startLive declares the Intercom subscription
	l := startLive(t, e, config.ModeHybrid, brevoSub)
	check("agent running, nothing delivered", ErrWebhookNotReceived)
	if errors.Is(CheckWebhooks(t.Context(), e.engine(), e.st), ErrWebhookNotRegistered) {
		t.Error("the Brevo webhook the agent registered is reported missing")
	}
	l.deliver("ping", "")
	check("after a ping")

	eng := e.engine()
	for _, h := range e.sb.Brevo.Webhooks() {
		if _, err := eng.bc.Webhooks.Delete(t.Context(), h.ID); err != nil {
			t.Fatal(err)
		}
	}
	check("after the Brevo webhook was deleted in Brevo", ErrWebhookNotRegistered)
}

// TestRealtimeDataEvent: an event.created delivery becomes one Brevo event
// at once; its redelivery changes nothing.
func TestRealtimeDataEvent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 60)
	e.bundle.Connector.Sync.Events = true
	const eventsPath = "/webhooks/intercom-events"
	l := startLive(t, e, config.ModeRealtime, config.WebhookSubscription{ConnectorID: "intercom", Source: "intercom", Path: eventsPath,
		Secret: "env:INTERCOM_CLIENT_SECRET", Topics: []string{"event.created"}})
	id := someUsers(e, 1)[0]
	if err := e.sb.Intercom.AddEvent(id, dataset.Event{Name: "exported_report", CreatedAt: e.sb.Intercom.Now().Unix(),
		Metadata: map[string]string{"format": "csv"}}); err != nil {
		t.Fatal(err)
	}
	n, err := e.sb.Intercom.Notify("event.created", id)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for range 2 { // a delivery and Intercom's retry of it
		if status, err := e.sb.Intercom.Deliver(t.Context(), l.hooks+eventsPath, n); err != nil || status != http.StatusOK {
			t.Fatalf("deliver: %d %v", status, err)
		}
	}
	l.waitFor("the event in Brevo", 30*time.Second, func() bool { return len(e.sb.Brevo.Events()) > 0 })
	took := time.Since(start)
	time.Sleep(300 * time.Millisecond)
	evs := e.sb.Brevo.Events()
	if len(evs) != 1 || evs[0].Name != "exported_report" || evs[0].Identifiers["ext_id"] != id || evs[0].EventProperties["format"] != "csv" {
		t.Fatalf("brevo events: %+v", evs)
	}
	t.Logf("event.created → Brevo event in %s; the redelivery added nothing", took.Round(time.Millisecond))
}
