// Package metrics exposes the agent's state to Prometheus. A Collector
// reads everything at scrape time — the running engines' counters and
// rate limiters, and a few bounded store queries — so the sync engine
// carries no metric hooks and an idle agent costs nothing between scrapes.
//
// Counters survive configuration reloads: when the supervisor replaces a
// connector's engine, the collector folds the old engine's final counts
// into a per-connector base, so every *_total series only grows for the
// life of the process (Prometheus handles the reset of a restart).
package metrics

import (
	"context"
	"errors"
	"net/http"
	"slices"
	gosync "sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tajo/terraform-provider-tajo/agent/brevo"
	"github.com/tajo/terraform-provider-tajo/agent/ratelimit"
	"github.com/tajo/terraform-provider-tajo/agent/store"
	"github.com/tajo/terraform-provider-tajo/agent/sync"
)

var _ prometheus.Collector = (*Collector)(nil)

// Engines is where the collector finds the running engines, by connector
// id; *sync.Supervisor implements it.
type Engines interface {
	Engines() map[string]*sync.Engine
}

// Inbox is an optional interface of stores that keep the durable webhook
// inbox. Without it the inbox gauges report 0.
type Inbox interface {
	// InboxStats returns the events of a connector waiting to be processed,
	// the receive time of the oldest (zero when none waits), and the
	// dead-lettered events.
	InboxStats(ctx context.Context, connectorID string) (depth int64, oldest time.Time, dead int64, err error)
}

// Leases is an optional interface of stores that elect one agent per
// connector. Without it tajo_lease_holder is absent.
type Leases interface {
	// LeaseHolder names the agent holding the connector's lease; ok is
	// false when nobody holds it.
	LeaseHolder(ctx context.Context, connectorID string) (agent string, ok bool, err error)
}

// Options tune a Collector; the zero value is production behaviour.
type Options struct {
	// Version is reported by tajo_build_info.
	Version string
	// StoreTimeout bounds all store queries of one scrape together
	// (default 2 s); a query that fails or times out sets tajo_store_up to
	// 0 and leaves its gauges out, it never fails the scrape.
	StoreTimeout time.Duration
	// Logger receives store errors at debug level (they are visible as
	// tajo_store_up 0).
	Logger hclog.Logger
	// Now replaces time.Now (tests).
	Now func() time.Time
}

// Record outcomes always reported, so that rate() and alerts on e.g.
// failed records have a series before the first failure.
var outcomes = []string{sync.OutcomeRead, sync.OutcomeWritten, sync.OutcomeUnchanged, sync.OutcomeSkipped, sync.OutcomeFailed}

// APIs, as the request counters label them.
const (
	apiIntercom = "intercom"
	apiBrevo    = "brevo"
)

var (
	descRecords = prometheus.NewDesc("tajo_records_total",
		"Records processed by outcome: read from Intercom, written to Brevo, unchanged since the last write (no Brevo call), skipped by policy (e.g. leads without email), failed after all attempts, requeued (written again because Brevo reported their import failed).",
		[]string{"connector", "resource", "outcome"}, nil)
	descRequests = prometheus.NewDesc("tajo_api_requests_total",
		"HTTP requests (every attempt, retries included) by API, endpoint class and status; status \"error\" is a request that got no response.",
		[]string{"connector", "api", "class", "status"}, nil)
	descRateLimited = prometheus.NewDesc("tajo_api_rate_limited_total",
		"Requests refused with 429 Too Many Requests.",
		[]string{"connector", "api"}, nil)
	descBudget = prometheus.NewDesc("tajo_rate_budget_used_ratio",
		"Used share (0–1) of the request budget of an API endpoint class over its window: the larger of the requests sent in the trailing window and the use the server last reported, over the budget; the most used window when a class has several.",
		[]string{"connector", "api", "class"}, nil)
	descInboxDepth = prometheus.NewDesc("tajo_inbox_depth",
		"Webhook events received and waiting to be processed.",
		[]string{"connector"}, nil)
	descInboxAge = prometheus.NewDesc("tajo_inbox_oldest_age_seconds",
		"Age of the oldest webhook event waiting to be processed (0 when none waits).",
		[]string{"connector"}, nil)
	descDeadLetters = prometheus.NewDesc("tajo_dead_letters",
		"Webhook events given up after the maximum attempts.",
		[]string{"connector"}, nil)
	descLag = prometheus.NewDesc("tajo_sync_lag_seconds",
		"Now minus the newest Intercom updated_at this agent has written to Brevo; absent before the first write.",
		[]string{"connector"}, nil)
	descLastSuccess = prometheus.NewDesc("tajo_last_success_timestamp_seconds",
		"Unix time of the end of the last successful sync pass; absent before the first one.",
		[]string{"connector"}, nil)
	descLeader = prometheus.NewDesc("tajo_leader",
		"1 while this agent holds the connector's lease (runs its passes and Brevo writes), 0 while it stands by; summed over the replicas it is 1.",
		[]string{"connector"}, nil)
	descLease = prometheus.NewDesc("tajo_lease_holder",
		"1 for the agent that holds the connector's lease.",
		[]string{"connector", "agent"}, nil)
	descPending = prometheus.NewDesc("tajo_pending_writes",
		"Writes waiting in the outbox to be sent to Brevo.",
		[]string{"connector"}, nil)
	descEvents = prometheus.NewDesc("tajo_brevo_events",
		"Brevo events in the agent's outbox by state: pending, sending, sent, failed, and unknown (the request's answer was lost; not repeated, so it may or may not be in Brevo).",
		[]string{"connector", "state"}, nil)
	descFailed = prometheus.NewDesc("tajo_failed_records",
		"Records recorded as failed in the store (see tajo-agent status).",
		[]string{"connector"}, nil)
	descStoreUp = prometheus.NewDesc("tajo_store_up",
		"1 when every store query of this scrape succeeded in time, else 0.",
		nil, nil)
	descBuildInfo = prometheus.NewDesc("tajo_build_info",
		"Always 1; the version label is the agent's version.",
		[]string{"version"}, nil)
)

// Collector is a prometheus.Collector over the running engines and the
// store. It is safe for concurrent scrapes.
type Collector struct {
	st      store.Store
	engines Engines
	opts    Options

	mu   gosync.Mutex
	conn map[string]*connState
}

// connState remembers what previous engines of a connector counted.
type connState struct {
	engine *sync.Engine // the engine seen last
	base   sync.Stats   // the final counts of the engines before it
}

// NewCollector returns a collector over st and the engines.
func NewCollector(st store.Store, engines Engines, opts Options) *Collector {
	if opts.StoreTimeout <= 0 {
		opts.StoreTimeout = 2 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = hclog.NewNullLogger()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Version == "" {
		opts.Version = "dev"
	}
	return &Collector{st: st, engines: engines, opts: opts, conn: map[string]*connState{}}
}

// NewRegistry returns a registry with the collector and the Go runtime and
// process collectors.
func NewRegistry(c *Collector) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(c, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// Handler serves a registry in the Prometheus exposition formats. At most
// two scrapes run at once (a third gets 503), and a scrape is cut after
// 10 s.
func Handler(reg *prometheus.Registry, log hclog.Logger) http.Handler {
	opts := promhttp.HandlerOpts{
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: 2,
		Timeout:             10 * time.Second,
	}
	if log != nil {
		opts.ErrorLog = log.StandardLogger(&hclog.StandardLoggerOptions{ForceLevel: hclog.Warn})
	}
	return promhttp.HandlerFor(reg, opts)
}

// Describe sends every metric's description.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		descRecords, descRequests, descRateLimited, descBudget, descInboxDepth, descInboxAge, descDeadLetters,
		descLag, descLastSuccess, descLease, descLeader, descPending, descEvents, descFailed, descStoreUp, descBuildInfo,
	} {
		ch <- d
	}
}

// Collect reads the engines and the store.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	now := c.opts.Now()
	ch <- prometheus.MustNewConstMetric(descBuildInfo, prometheus.GaugeValue, 1, c.opts.Version)

	engines := c.engines.Engines()
	ids := make([]string, 0, len(engines))
	for id := range engines {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	totals := c.totals(engines)

	ctx, cancel := context.WithTimeout(context.Background(), c.opts.StoreTimeout)
	defer cancel()
	q := &querier{ctx: ctx, log: c.opts.Logger}
	q.run("revision", "", func(ctx context.Context) error { _, err := c.st.Revision(ctx); return err })

	for _, id := range ids {
		e, s := engines[id], totals[id]
		collectRecords(ch, id, e, s)
		collectRequests(ch, id, s)
		collectBudgets(ch, id, e)
		if s.NewestUpdated > 0 {
			lag := max(0, now.Sub(time.Unix(s.NewestUpdated, 0)).Seconds())
			ch <- prometheus.MustNewConstMetric(descLag, prometheus.GaugeValue, lag, id)
		}
		leader := 0.0
		if e.Leader() {
			leader = 1
		}
		ch <- prometheus.MustNewConstMetric(descLeader, prometheus.GaugeValue, leader, id)
		c.collectStore(ch, q, id, s.LastSuccess, now)
	}
	up := 1.0
	if q.failed {
		up = 0
	}
	ch <- prometheus.MustNewConstMetric(descStoreUp, prometheus.GaugeValue, up)
}

// totals returns the counts of each running connector since the process
// started: the live engine's plus those of the engines it replaced.
func (c *Collector) totals(engines map[string]*sync.Engine) map[string]sync.Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, cs := range c.conn {
		if e, ok := engines[id]; cs.engine != nil && (!ok || e != cs.engine) {
			// Replaced or stopped: its counts are final.
			cs.base = addStats(cs.base, cs.engine.Stats())
			cs.engine = nil
		}
	}
	out := make(map[string]sync.Stats, len(engines))
	for id, e := range engines {
		cs, ok := c.conn[id]
		if !ok {
			cs = &connState{}
			c.conn[id] = cs
		}
		cs.engine = e
		out[id] = addStats(cs.base, e.Stats())
	}
	return out
}

// addStats sums the counters the collector reports; times take the newer.
func addStats(a, b sync.Stats) sync.Stats {
	out := sync.Stats{
		Records:       make(map[sync.RecordKey]int64, len(a.Records)+len(b.Records)),
		Requests:      make(map[sync.RequestKey]int64, len(a.Requests)+len(b.Requests)),
		NewestUpdated: max(a.NewestUpdated, b.NewestUpdated),
		LastSuccess:   a.LastSuccess,
	}
	if b.LastSuccess.After(out.LastSuccess) {
		out.LastSuccess = b.LastSuccess
	}
	for _, m := range []map[sync.RecordKey]int64{a.Records, b.Records} {
		for k, v := range m {
			out.Records[k] += v
		}
	}
	for _, m := range []map[sync.RequestKey]int64{a.Requests, b.Requests} {
		for k, v := range m {
			out.Requests[k] += v
		}
	}
	return out
}

func collectRecords(ch chan<- prometheus.Metric, id string, e *sync.Engine, s sync.Stats) {
	sy := e.Bundle().Connector.Sync
	resources := map[string]bool{sync.ResourceContacts: sy.Contacts, sync.ResourceCompanies: sy.Companies}
	for k := range s.Records {
		resources[k.Resource] = true
	}
	for r, on := range resources {
		if !on {
			continue
		}
		for _, o := range outcomes {
			ch <- prometheus.MustNewConstMetric(descRecords, prometheus.CounterValue, float64(s.Records[sync.RecordKey{Resource: r, Outcome: o}]), id, r, o)
		}
	}
	// Outcomes a newer engine may add.
	for k, v := range s.Records {
		if !slices.Contains(outcomes, k.Outcome) {
			ch <- prometheus.MustNewConstMetric(descRecords, prometheus.CounterValue, float64(v), id, k.Resource, k.Outcome)
		}
	}
}

func collectRequests(ch chan<- prometheus.Metric, id string, s sync.Stats) {
	limited := map[string]int64{apiIntercom: 0, apiBrevo: 0}
	for k, v := range s.Requests {
		ch <- prometheus.MustNewConstMetric(descRequests, prometheus.CounterValue, float64(v), id, k.API, k.Class, k.Status)
		if k.Status == "429" {
			limited[k.API] += v
		}
	}
	for api, v := range limited {
		ch <- prometheus.MustNewConstMetric(descRateLimited, prometheus.CounterValue, float64(v), id, api)
	}
}

// collectBudgets reports the used share of every budget the clients pace
// themselves by: Intercom's app, search and scroll budgets, and Brevo's
// per-class budgets, where a class with a per-second and a per-hour budget
// reports the more used of the two (the one that throttles first).
func collectBudgets(ch chan<- prometheus.Metric, id string, e *sync.Engine) {
	if ls := e.Intercom().Limiters(); ls != nil {
		for _, l := range []*ratelimit.Limiter{ls.App, ls.Search, ls.ScrollOpen} {
			if l != nil {
				ch <- prometheus.MustNewConstMetric(descBudget, prometheus.GaugeValue, l.Usage().Ratio(), id, apiIntercom, l.Name())
			}
		}
	}
	byClass := map[brevo.Class]float64{}
	for _, u := range e.Brevo().RateUse() {
		byClass[u.Class] = max(byClass[u.Class], u.Ratio())
	}
	for cl, r := range byClass {
		ch <- prometheus.MustNewConstMetric(descBudget, prometheus.GaugeValue, r, id, apiBrevo, string(cl))
	}
}

// collectStore reports the store's gauges of one connector. lastSuccess is
// the engines'; the connector's status in the store wins when newer (a
// pass of another process, e.g. tajo-agent sync --once).
func (c *Collector) collectStore(ch chan<- prometheus.Metric, q *querier, id string, lastSuccess time.Time, now time.Time) {
	var pending, failed int64
	if q.run("count pending writes", id, func(ctx context.Context) (err error) {
		pending, err = c.st.CountPending(ctx, id, "")
		return err
	}) {
		ch <- prometheus.MustNewConstMetric(descPending, prometheus.GaugeValue, float64(pending), id)
	}
	if q.run("count failures", id, func(ctx context.Context) (err error) {
		failed, err = c.st.CountFailures(ctx, id)
		return err
	}) {
		ch <- prometheus.MustNewConstMetric(descFailed, prometheus.GaugeValue, float64(failed), id)
	}
	for _, state := range []string{store.EventPending, store.EventSending, store.EventSent, store.EventFailed, store.EventUnknown} {
		var n int64
		if q.run("count events", id, func(ctx context.Context) (err error) {
			n, err = c.st.CountEvents(ctx, id, state)
			return err
		}) {
			ch <- prometheus.MustNewConstMetric(descEvents, prometheus.GaugeValue, float64(n), id, state)
		}
	}
	var status store.Status
	q.run("read status", id, func(ctx context.Context) (err error) {
		status, err = c.st.GetStatus(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			err = nil // no pass has ended yet
		}
		return err
	})
	if status.LastSync.After(lastSuccess) {
		lastSuccess = status.LastSync
	}
	if !lastSuccess.IsZero() {
		ch <- prometheus.MustNewConstMetric(descLastSuccess, prometheus.GaugeValue, float64(lastSuccess.UnixNano())/1e9, id)
	}

	var depth, dead int64
	var oldest time.Time
	inboxOK := true
	if in, ok := c.st.(Inbox); ok {
		inboxOK = q.run("read inbox", id, func(ctx context.Context) (err error) {
			depth, oldest, dead, err = in.InboxStats(ctx, id)
			return err
		})
	}
	if inboxOK {
		age := 0.0
		if !oldest.IsZero() {
			age = max(0, now.Sub(oldest).Seconds())
		}
		ch <- prometheus.MustNewConstMetric(descInboxDepth, prometheus.GaugeValue, float64(depth), id)
		ch <- prometheus.MustNewConstMetric(descInboxAge, prometheus.GaugeValue, age, id)
		ch <- prometheus.MustNewConstMetric(descDeadLetters, prometheus.GaugeValue, float64(dead), id)
	}

	if ls, ok := c.st.(Leases); ok {
		var agent string
		var held bool
		if q.run("read lease", id, func(ctx context.Context) (err error) {
			agent, held, err = ls.LeaseHolder(ctx, id)
			return err
		}) && held {
			ch <- prometheus.MustNewConstMetric(descLease, prometheus.GaugeValue, 1, id, agent)
		}
	}
}

// querier runs the store queries of one scrape under one deadline and
// remembers whether any failed.
type querier struct {
	ctx    context.Context
	log    hclog.Logger
	failed bool
}

// run reports whether f succeeded.
func (q *querier) run(what, connector string, f func(context.Context) error) bool {
	err := q.ctx.Err()
	if err == nil {
		err = f(q.ctx)
	}
	if err != nil {
		q.failed = true
		q.log.Debug("metrics: store query failed", "query", what, "connector", connector, "error", err)
		return false
	}
	return true
}
