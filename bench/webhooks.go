package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tajo/terraform-provider-tajo/agent/config"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox/dataset"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox/fakeintercom"
	"github.com/tajo/terraform-provider-tajo/agent/store"
	"github.com/tajo/terraform-provider-tajo/agent/store/postgres/pgtest"
	agentsync "github.com/tajo/terraform-provider-tajo/agent/sync"
)

const (
	webhookSenders  = 16 // concurrent deliveries (Intercom sends in parallel)
	latencyInterval = 150 * time.Millisecond
)

// scenarioWebhooks is scenario 5 on one store backend: how many signed
// deliveries per second `tajo-agent run` durably accepts, how long each
// waits for its 200, and how long a change takes from webhook to Brevo in
// realtime mode.
func (r *runner) scenarioWebhooks(ctx context.Context, backend string) Scenario {
	s := Scenario{Name: "webhooks-" + backend, Title: "webhook receiver on " + backend + ", realtime mode",
		Params: map[string]any{"backend": backend, "contacts": r.sz.webhookContacts, "senders": webhookSenders,
			"max_deliveries": r.sz.webhookDeliveries, "max_duration_s": r.sz.webhookDuration.Seconds(),
			"agent": "tajo-agent run (separate process)", "client": "Go, loopback, keep-alive, X-Hub-Signature as fakeintercom.Sign"}}
	sb := sandbox.New(sandbox.Options{Contacts: r.sz.webhookContacts, Seed: 5})
	srv, err := serveSandbox(sb)
	if err != nil {
		s.Error = err.Error()
		return s
	}
	defer srv.close()

	var storeURL string
	switch backend {
	case "sqlite":
		storeURL = "sqlite://" + filepath.Join(r.tmp, "webhooks", "tajo.db")
		s.Params["durability"] = "SQLite WAL, synchronous=NORMAL (the store's settings)"
	case "postgres":
		pg, err := pgtest.StartDurable(ctx)
		if errors.Is(err, pgtest.ErrNoPostgres) && r.pgOptional {
			s.note("skipped: %v", err)
			return s
		}
		if err != nil {
			s.Error = err.Error()
			return s
		}
		defer pg.Stop()
		if storeURL, err = pg.CreateDatabase(ctx, "tajo"); err != nil {
			s.Error = err.Error()
			return s
		}
		s.Params["durability"] = "PostgreSQL defaults: fsync=on, synchronous_commit=on"
	}
	s.note("%s", companyNote)
	ep := srv.endpoints()
	if err := applyConfig(ctx, storeURL, ep, connectorOptions{mode: config.ModeRealtime, webhooks: true}); err != nil {
		s.Error = err.Error()
		return s
	}
	st, err := store.Open(ctx, storeURL)
	if err != nil {
		s.Error = err.Error()
		return s
	}
	defer st.Close()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		s.Error = err.Error()
		return s
	}
	addr := ln.Addr().String()
	ln.Close()
	agent, err := startProc(ctx, foreground, r.bin.Agent, ep.env(storeURL), "run", "--listen", addr, "--log-level", agentLogLevel)
	if err != nil {
		s.Error = err.Error()
		return s
	}
	defer agent.stop(60 * time.Second)
	r.logf("webhooks/%s: waiting for the agent's first full sync…", backend)
	var lastSync time.Time
	if err := waitFor(ctx, 3*time.Minute, agent, func() bool {
		st, err := st.GetStatus(ctx, "intercom")
		lastSync = st.LastSync
		return err == nil && !st.LastSync.IsZero() && st.State == agentsync.StateIdle
	}); err != nil {
		s.Error = "first sync: " + err.Error()
		return s
	}
	url := "http://" + addr + webhookPath
	secret := ep.ClientSecret

	var users []string
	for _, id := range sb.Intercom.ContactIDs() {
		if c, ok := sb.Intercom.Contact(id); ok && c.Email != "" && c.Role == dataset.RoleUser {
			users = append(users, id)
		}
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: webhookSenders, MaxConnsPerHost: webhookSenders}}

	// Webhook → Brevo, on the agent at rest: change a contact in
	// Intercom, deliver the notification, and watch the simulated Brevo
	// until it shows.
	r.logf("webhooks/%s: webhook → Brevo latency, %d changes…", backend, r.sz.latencyDeliveries)
	sb.Intercom.Harness().ResetStats()
	lat, missed := r.webhookToBrevo(ctx, sb, client, url, secret, users)
	s.check("webhook → Brevo p95", pct(lat, 95), "ms", "<=", 2000,
		fmt.Sprintf("%d changes, one every %s; p50 %.0f ms, max %.0f ms; %d not seen within 10 s", r.sz.latencyDeliveries, latencyInterval, pct(lat, 50), pct(lat, 100), missed))
	// A sync pass meanwhile holds realtime writes back for a bulk batch.
	s.info("Intercom requests during the changes", float64(sb.Intercom.Harness().Stats().Requests), "", routes(sb.Intercom.Harness().Stats().ByRoute))
	if now, err := st.GetStatus(ctx, "intercom"); err == nil && !now.LastSync.Equal(lastSync) {
		s.note("a sync pass ran during the webhook → Brevo changes (last sync %s, then %s)", lastSync.Format(time.RFC3339), now.LastSync.Format(time.RFC3339))
	}

	// Deliveries of unchanged contacts (rendered now, after the changes
	// above, so none is stale): the agent accepts each — the measured
	// path — then processes it without a Brevo write.
	bodies := make([][]byte, r.sz.webhookDeliveries)
	notificationIDs := make([]string, len(bodies))
	for i := range bodies {
		n, err := sb.Intercom.Notify("contact.user.updated", users[i%len(users)])
		if err != nil {
			s.Error = err.Error()
			return s
		}
		notificationIDs[i] = n.ID
		if bodies[i], err = json.Marshal(n); err != nil {
			s.Error = err.Error()
			return s
		}
	}
	s.Params["body_bytes"] = len(bodies[0])

	r.logf("webhooks/%s: %d deliveries from %d senders…", backend, len(bodies), webhookSenders)
	sb.Intercom.Harness().ResetStats()
	sb.Brevo.Harness().ResetStats()
	load := sendLoad(ctx, client, url, secret, bodies, webhookSenders, r.sz.webhookDuration)
	rate := float64(load.accepted) / load.elapsed.Seconds()
	s.check("deliveries/s durably accepted", rate, "/s", ">=", 3000,
		fmt.Sprintf("%d accepted (200) of %d sent in %.1f s; %d other answers, %d transport errors", load.accepted, load.sent, load.elapsed.Seconds(), load.other, load.errors))
	s.info("p50 time to 200", pct(load.latencies, 50), "ms", "")
	s.check("p99 time to 200", pct(load.latencies, 99), "ms", "<=", 25, fmt.Sprintf("%d concurrent senders; the agent processes the inbox meanwhile", webhookSenders))
	ds, err := st.ListDeliveries(ctx, "intercom", store.InboxFilter{Limit: len(bodies) + 1000})
	if err != nil {
		s.Error = err.Error()
		return s
	}
	stored := map[string]bool{}
	for _, d := range ds {
		stored[d.ID] = true
	}
	found := 0
	for _, i := range load.ok {
		if stored[notificationIDs[i]] {
			found++
		}
	}
	s.check("accepted deliveries found in the inbox", float64(found)/float64(max(1, load.accepted)), "×", "==", 1,
		fmt.Sprintf("%d of %d answered 200 read back from the store by notification id", found, load.accepted))

	// How fast the agent works the backlog off (bounded wait).
	_ = waitFor(ctx, r.sz.drainWait, agent, func() bool {
		depth, _, _, err := st.InboxStats(ctx, "intercom")
		return err == nil && depth == 0
	})
	depth, _, _, err := st.InboxStats(ctx, "intercom")
	if err != nil {
		s.Error = err.Error()
		return s
	}
	total := time.Since(load.end.Add(-load.elapsed))
	processed := int64(load.accepted) - depth
	s.info("inbox processing rate", float64(processed)/total.Seconds(), "/s",
		fmt.Sprintf("%d of %d deliveries processed %.1f s after the load began (%d left after waiting %s); unchanged contacts",
			processed, load.accepted, total.Seconds(), depth, r.sz.drainWait))
	is, bs := sb.Intercom.Harness().Stats(), sb.Brevo.Harness().Stats()
	s.info("Intercom requests while processing", float64(is.Requests), "", routes(is.ByRoute)+"; the Premium budget is 100 per 10 s")
	s.check("Brevo writes while processing", float64(writeRequests(bs.ByRoute)), "", "==", 0, "the notified contacts are unchanged")
	_ = agent.stop(60 * time.Second)
	s.info("agent peak RSS", agent.peakMiB(), "MiB", "")
	return s
}

type loadResult struct {
	sent, accepted, other, errors int
	ok                            []int     // indices of the bodies answered 200
	latencies                     []float64 // ms
	elapsed                       time.Duration
	end                           time.Time
}

// sendLoad posts bodies from senders goroutines until all are sent or d
// has passed.
func sendLoad(ctx context.Context, client *http.Client, url, secret string, bodies [][]byte, senders int, d time.Duration) loadResult {
	var next atomic.Int64
	var mu sync.Mutex
	res := loadResult{latencies: make([]float64, 0, len(bodies))}
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for range senders {
		wg.Go(func() {
			var lat []float64
			var okIdx []int
			var sent, ok, other, errs int
			for ctx.Err() == nil && time.Now().Before(deadline) {
				i := int(next.Add(1)) - 1
				if i >= len(bodies) {
					break
				}
				body := bodies[i]
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("User-Agent", "intercom-parrot-service-client/1.0")
				req.Header.Set("X-Hub-Signature", fakeintercom.Sign(secret, body))
				t := time.Now()
				resp, err := client.Do(req)
				sent++
				if err != nil {
					errs++
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					ok++
					okIdx = append(okIdx, i)
					lat = append(lat, float64(time.Since(t).Microseconds())/1000)
				} else {
					other++
				}
			}
			mu.Lock()
			res.sent += sent
			res.accepted += ok
			res.other += other
			res.errors += errs
			res.latencies = append(res.latencies, lat...)
			res.ok = append(res.ok, okIdx...)
			mu.Unlock()
		})
	}
	wg.Wait()
	res.end = time.Now()
	res.elapsed = res.end.Sub(start)
	return res
}

// webhookToBrevo measures, for a series of contact changes, the time from
// posting the notification to the change being visible in Brevo.
func (r *runner) webhookToBrevo(ctx context.Context, sb *sandbox.Sandbox, client *http.Client, url, secret string, users []string) ([]float64, int) {
	var mu sync.Mutex
	var lat []float64
	missed := 0
	var wg sync.WaitGroup
	tick := time.NewTicker(latencyInterval)
	defer tick.Stop()
	for k := range r.sz.latencyDeliveries {
		if ctx.Err() != nil {
			break
		}
		id := users[(k*7+1)%len(users)]
		value := "rt-" + strconv.Itoa(k)
		if err := sb.Intercom.UpdateContact(id, func(c *dataset.Contact) { c.CustomAttributes["plan_tier"] = value }); err != nil {
			missed++
			continue
		}
		n, err := sb.Intercom.Notify("contact.user.updated", id)
		if err != nil {
			missed++
			continue
		}
		body, _ := json.Marshal(n)
		start := time.Now()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Hub-Signature", fakeintercom.Sign(secret, body))
		resp, err := client.Do(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			if resp != nil {
				resp.Body.Close()
			}
			missed++
			continue
		}
		resp.Body.Close()
		wg.Go(func() {
			deadline := start.Add(10 * time.Second)
			for time.Now().Before(deadline) && ctx.Err() == nil {
				if c, ok := sb.Brevo.ContactByExtID(id); ok && c.Attributes["PLAN_TIER"] == value {
					mu.Lock()
					lat = append(lat, float64(time.Since(start).Microseconds())/1000)
					mu.Unlock()
					return
				}
				time.Sleep(5 * time.Millisecond)
			}
			mu.Lock()
			missed++
			mu.Unlock()
		})
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
	}
	wg.Wait()
	// A change never seen counts as the slowest possible.
	for range missed {
		lat = append(lat, math.Inf(1))
	}
	return lat, missed
}

// pct returns the p-th percentile (nearest rank) of xs.
func pct(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// waitFor polls cond until it holds, the process exits or timeout passes.
func waitFor(ctx context.Context, timeout time.Duration, p *proc, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-p.done:
			return fmt.Errorf("agent exited: %v\n%s", p.err, tail(p.out.String(), 2000))
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s\n%s", timeout, tail(p.out.String(), 2000))
		}
	}
}
