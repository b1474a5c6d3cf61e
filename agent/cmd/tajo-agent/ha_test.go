package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tajo/terraform-provider-tajo/agent/config"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox/dataset"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox/expect"
	"github.com/tajo/terraform-provider-tajo/agent/store"
	"github.com/tajo/terraform-provider-tajo/agent/store/postgres/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// haLeaseTTL is the lease TTL of the agents of the HA tests.
const haLeaseTTL = 5 * time.Second

// haHookPath is where the HA tests' agents receive Intercom webhooks.
const haHookPath = "/webhooks/intercom"

// proc is a `tajo-agent run` process with its JSON log.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	mu   sync.Mutex
	log  bytes.Buffer
	addr string // where it listens
}

func (p *proc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.Write(b)
}

// lines returns the log lines decoded.
func (p *proc) lines() []map[string]any {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(p.log.Bytes()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

func (p *proc) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// ha is a sandbox, a PostgreSQL store and the agents running on them.
type ha struct {
	*e2e
	st  store.Store
	env []string
}

func newHA(t *testing.T, contacts int, mode string) *ha {
	t.Helper()
	if testing.Short() {
		t.Skip("runs several agent processes on PostgreSQL")
	}
	x := newE2E(t, contacts)
	x.store = pgtest.NewURL(t)
	x.secrets["INTERCOM_CLIENT_SECRET"] = x.sb.Intercom.ClientSecret()
	st, err := store.Open(t.Context(), x.store)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c := config.NewConnector("intercom")
	c.Intercom.AccessToken, c.Brevo.APIKey = "env:INTERCOM_ACCESS_TOKEN", "env:BREVO_API_KEY"
	c.Intercom.BaseURL, c.Brevo.BaseURL, c.Intercom.Plan = x.ep.IntercomURL, x.ep.BrevoURL, config.PlanPremium
	c.Sync = config.Sync{Contacts: true, Companies: true, Tags: true, Conversations: true, Events: true}
	c.Mode, c.LogWebhooks = mode, true
	objs := []store.Object{c,
		config.FieldMapping{ConnectorID: "intercom", Source: "custom_attributes.plan_tier", Target: "PLAN_TIER", Type: "text"},
		config.FieldMapping{ConnectorID: "intercom", Source: "custom_attributes.feature_usage", Target: "FEATURE_USAGE", Type: "number"},
		config.ListAssignment{ConnectorID: "intercom", ListID: 35, Rule: "all_users"},
		config.ListAssignment{ConnectorID: "intercom", ListID: 36, Rule: "active_conversations"},
		config.ListAssignment{ConnectorID: "intercom", ListID: 37, Rule: "leads"},
		config.WebhookSubscription{ConnectorID: "intercom", Source: "intercom", Path: haHookPath, Secret: "env:INTERCOM_CLIENT_SECRET",
			Topics: []string{"contact.updated", "conversation.closed"}},
	}
	for _, o := range objs {
		if _, err := store.Save(t.Context(), st, o, store.MustNotExist); err != nil {
			t.Fatal(err)
		}
	}
	env := append(os.Environ(), "TAJO_STORE="+x.store)
	for k, v := range x.secrets {
		env = append(env, k+"="+v)
	}
	return &ha{e2e: x, st: st, env: env}
}

var haSetup = expect.Setup{Custom: true, Companies: true, Conversations: true,
	Lists: map[string]int64{"all_users": 35, "active_conversations": 36, "leads": 37}}

// start runs `tajo-agent run` as agent name, serving webhooks on a free
// loopback port.
func (h *ha) start(name string) *proc {
	h.t.Helper()
	bin := buildAgent(h.t)
	p := &proc{name: name, done: make(chan struct{})}
	p.cmd = exec.Command(bin, "run", "--agent-id", name, "--lease-ttl", haLeaseTTL.String(), "--listen", "127.0.0.1:0",
		"--log-format", "json", "--log-level", "info")
	p.cmd.Env = h.env
	p.cmd.Stdout, p.cmd.Stderr = p, p
	if err := p.cmd.Start(); err != nil {
		h.t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	h.t.Cleanup(func() {
		if h.t.Failed() && os.Getenv("TAJO_HA_DUMP") != "" {
			_ = p.cmd.Process.Signal(syscall.SIGQUIT) // goroutine dump into the log
			time.Sleep(time.Second)
		}
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
			p.kill()
		}
		if h.t.Failed() {
			h.t.Logf("log of %s:\n%s", name, tail(p, 60))
			if d := os.Getenv("TAJO_HA_DUMP"); d != "" {
				_ = os.WriteFile(filepath.Join(d, name+".log"), p.log.Bytes(), 0o644)
			}
		}
	})
	h.waitFor(name+" listens", 30*time.Second, func() bool {
		for _, l := range p.lines() {
			if l["@message"] == "listening" {
				p.addr, _ = l["address"].(string)
				return true
			}
		}
		return false
	})
	return p
}

func tail(p *proc, n int) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	lines := strings.Split(p.log.String(), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

func (h *ha) waitFor(what string, limit time.Duration, ok func() bool) time.Duration {
	h.t.Helper()
	start := time.Now()
	for !ok() {
		if time.Since(start) > limit {
			h.t.Fatalf("timed out after %s waiting for %s", limit, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

// holder returns the agent name holding the lease, "" when none does.
func (h *ha) holder() string {
	name, ok, err := h.st.LeaseHolder(context.Background(), "intercom")
	if err != nil || !ok {
		return ""
	}
	name, _, _ = strings.Cut(name, "/")
	return name
}

func (h *ha) lastSync() time.Time {
	st, err := h.st.GetStatus(context.Background(), "intercom")
	if err != nil {
		return time.Time{}
	}
	return st.LastSync
}

func (h *ha) exact() expect.Report {
	h.t.Helper()
	r := expect.Compare(h.sb, haSetup)
	if err := r.Err(); err != nil {
		h.t.Fatal(err)
	}
	return r
}

// writtenOnce fails unless every Brevo contact's data was written once
// (since the last Reset) and returns how many contacts were written.
func (h *ha) writtenOnce() int {
	h.t.Helper()
	twice := 0
	w := h.sb.Brevo.ContactWrites()
	for id, n := range w {
		if n != 1 {
			if twice++; twice <= 5 {
				h.t.Errorf("brevo contact %d written %d times", id, n)
			}
		}
	}
	if twice > 0 {
		h.t.Fatalf("%d of %d contacts written more than once", twice, len(w))
	}
	return len(w)
}

// TestFailoverDuringFullSync: two agents on one PostgreSQL store; the
// leader is killed with SIGKILL during the first full sync. The other
// takes over within the lease TTL and finishes: the Brevo state is exact
// and no contact was written twice. Then the new leader is killed right
// after Brevo received the first events of an incremental pass; the
// restarted first agent takes over, and no event is sent twice.
func TestFailoverDuringFullSync(t *testing.T) {
	h := newHA(t, 3000, config.ModeHybrid)
	agents := map[string]*proc{"agent-a": h.start("agent-a"), "agent-b": h.start("agent-b")}
	h.waitFor("a leader", 30*time.Second, func() bool { return h.holder() != "" })
	leader := h.holder()
	other := "agent-a"
	if leader == other {
		other = "agent-b"
	}
	h.waitFor("the full sync to be under way", 2*time.Minute, func() bool { return h.sb.Brevo.ContactCount() >= 300 })
	if !h.lastSync().IsZero() {
		t.Fatal("the full sync ended before the kill")
	}
	agents[leader].kill()
	killed := time.Now()
	inBrevo := h.sb.Brevo.ContactCount()
	takeover := h.waitFor(other+" to take over", 2*haLeaseTTL, func() bool { return h.holder() == other })
	t.Logf("%s killed with %d contacts in Brevo; %s took over %s later (lease TTL %s)", leader, inBrevo, other,
		takeover.Round(time.Millisecond), haLeaseTTL)
	if takeover > haLeaseTTL+time.Second {
		t.Errorf("takeover took %s, more than the lease TTL %s", takeover, haLeaseTTL)
	}
	code, out := h.agent(t.Context(), "status", "--json", "intercom")
	var status struct{ Leader string }
	if err := json.Unmarshal([]byte(out), &status); code != 0 || err != nil || !strings.HasPrefix(status.Leader, other+"/") {
		t.Errorf("tajo-agent status: exit %d, leader %q, want %s: %v\n%s", code, status.Leader, other, err, out)
	}
	h.waitFor("the full sync to finish", 90*time.Second, func() bool { return !h.lastSync().IsZero() })
	finished := time.Since(killed)
	r := h.exact()
	n := h.writtenOnce()
	t.Logf("full sync finished %s after the kill: %d contacts exact, %d companies, each contact written once (%d)",
		finished.Round(time.Millisecond), r.Contacts, r.Companies, n)
	for _, l := range agents[other].lines() {
		if l["@message"] == "resolving writes a previous agent had in flight" {
			t.Logf("%s resolved %v writes the killed agent had in flight", other, l["records"])
		}
	}

	// Events: conversations close; the leader is killed once Brevo has
	// the first of their events.
	agents[leader] = h.start(leader) // back, as a standby
	h.sb.Brevo.Reset()
	ic := h.sb.Intercom
	closed, err := ic.CloseOpenConversations(60)
	if err != nil {
		t.Fatal(err)
	}
	// A configuration change (the log level) restarts the connector's engines:
	// the leader runs an incremental pass at once.
	c, _, err := store.Load[config.Connector](t.Context(), h.st, config.KindConnector, "intercom")
	if err != nil {
		t.Fatal(err)
	}
	c.LogLevel = "warn"
	if _, err := store.Save(t.Context(), h.st, c, store.AnyVersion); err != nil {
		t.Fatal(err)
	}
	h.waitFor("the first events in Brevo", 2*time.Minute, func() bool { return len(h.sb.Brevo.Events()) > 0 })
	agents[other].kill()
	h.waitFor(leader+" to take over again", 2*haLeaseTTL, func() bool { return h.holder() == leader })
	var sent, unknown int64
	h.waitFor("the events to be settled", 2*time.Minute, func() bool {
		pending, _ := h.st.CountEvents(t.Context(), "intercom", store.EventPending)
		sending, _ := h.st.CountEvents(t.Context(), "intercom", store.EventSending)
		sent, _ = h.st.CountEvents(t.Context(), "intercom", store.EventSent)
		unknown, _ = h.st.CountEvents(t.Context(), "intercom", store.EventUnknown)
		return pending == 0 && sending == 0 && sent+unknown >= int64(closed)
	})
	if d := h.sb.Brevo.DuplicateEvents(); len(d) != 0 {
		t.Fatalf("events sent twice: %v", d)
	}
	got := int64(len(h.sb.Brevo.Events()))
	if got < sent || got > sent+unknown {
		t.Fatalf("brevo has %d events; the store says %d sent and %d of unknown outcome", got, sent, unknown)
	}
	h.waitFor("the pass to settle", 2*time.Minute, func() bool { return expect.Compare(h.sb, haSetup).Err() == nil })
	h.writtenOnce()
	t.Logf("%d conversations closed; %s killed after Brevo had the first events: %d events in Brevo, none twice (%d recorded sent, %d of unknown outcome, never resent)",
		closed, other, got, sent, unknown)
}

// measureReload changes the configuration as `terraform apply` does and
// reports how soon each agent restarted the connector with it (PostgreSQL
// notifies the agents; they also poll the revision every second).
func (h *ha) measureReload(agents []*proc) {
	h.t.Helper()
	c, _, err := store.Load[config.Connector](h.t.Context(), h.st, config.KindConnector, "intercom")
	if err != nil {
		h.t.Fatal(err)
	}
	c.BatchInterval = "2h"
	saved := time.Now()
	if _, err := store.Save(h.t.Context(), h.st, c, store.AnyVersion); err != nil {
		h.t.Fatal(err)
	}
	var lat []string
	for _, p := range agents {
		var at time.Time
		h.waitFor(p.name+" to reload", 10*time.Second, func() bool {
			for _, l := range p.lines() {
				ts, _ := time.Parse(time.RFC3339Nano, fmt.Sprint(l["@timestamp"]))
				if l["@message"] == "starting connector" && ts.After(saved) {
					at = ts
					return true
				}
			}
			return false
		})
		lat = append(lat, fmt.Sprintf("%s %s", p.name, at.Sub(saved).Round(100*time.Microsecond)))
	}
	h.t.Logf("configuration saved → connector restarted with it: %s", strings.Join(lat, ", "))
}

// TestWebhooksSpreadOverThreeAgents: Intercom deliveries sent to three
// agents on one store — each notification to one agent and its
// redelivery to another — are each processed exactly once, and each
// contact change is written to Brevo once.
func TestWebhooksSpreadOverThreeAgents(t *testing.T) {
	h := newHA(t, 600, config.ModeRealtime)
	names := []string{"agent-a", "agent-b", "agent-c"}
	var agents []*proc
	for _, n := range names {
		agents = append(agents, h.start(n))
	}
	h.waitFor("the first sync", 3*time.Minute, func() bool { return !h.lastSync().IsZero() })
	h.exact()
	h.measureReload(agents)
	h.sb.Brevo.Reset()
	ic := h.sb.Intercom
	var users []string
	for _, id := range ic.ContactIDs() {
		if c, _ := ic.Contact(id); c.Email != "" && c.Role == "user" {
			users = append(users, id)
		}
		if len(users) == 90 {
			break
		}
	}
	sentTo := map[string]int{}
	ids := map[string]bool{}
	for i, id := range users {
		if err := ic.UpdateContact(id, func(c *dataset.Contact) { c.CustomAttributes["plan_tier"] = fmt.Sprintf("spread-%d", i) }); err != nil {
			t.Fatal(err)
		}
		n, err := ic.Notify("contact.user.updated", id)
		if err != nil {
			t.Fatal(err)
		}
		ids[n.ID] = true
		for _, k := range []int{i % 3, (i + 1) % 3} { // a delivery and its redelivery
			status, err := ic.Deliver(t.Context(), "http://"+agents[k].addr+haHookPath, n)
			if err != nil || status != http.StatusOK {
				t.Fatalf("deliver to %s: %d %v", names[k], status, err)
			}
			sentTo[names[k]]++
		}
	}
	h.waitFor("every delivery processed and written", 2*time.Minute, func() bool {
		done, _ := h.st.ListDeliveries(t.Context(), "intercom", store.InboxFilter{State: store.DeliveryDone, Limit: 1000})
		return len(done) >= len(users) && expect.Compare(h.sb, haSetup).Err() == nil
	})
	h.exact()
	processed := map[string][]string{}
	by := map[string]int{}
	for i, p := range agents {
		for _, l := range p.lines() {
			if l["@message"] == "webhook delivery" && l["outcome"] == "processed" {
				id, _ := l["delivery"].(string)
				processed[id] = append(processed[id], names[i])
				by[names[i]]++
			}
		}
	}
	for id := range ids {
		if len(processed[id]) != 1 {
			t.Errorf("delivery %s processed %d times (%v)", id, len(processed[id]), processed[id])
		}
	}
	if len(processed) != len(ids) {
		t.Errorf("%d deliveries processed, %d sent", len(processed), len(ids))
	}
	n := h.writtenOnce()
	if n != len(users) {
		t.Errorf("%d contacts written, %d changed", n, len(users))
	}
	keys := slices.Sorted(maps.Keys(by))
	var spread []string
	for _, k := range keys {
		spread = append(spread, fmt.Sprintf("%s %d", k, by[k]))
	}
	t.Logf("%d notifications, %d deliveries (each also redelivered to another agent: %v); each processed once (%s); %d contacts written once each",
		len(ids), 2*len(ids), sentTo, strings.Join(spread, ", "), n)
}
