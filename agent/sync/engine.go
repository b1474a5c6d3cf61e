// Package sync is the agent's engine: it turns the applied declarations of
// a connector into a correct, resumable sync of Intercom into Brevo.
//
// The engine has two halves joined by a durable outbox in the store. The
// planner reads Intercom (full passes over every record, incremental passes
// over what changed), maps each record to its desired Brevo state and, in
// one transaction per Intercom page, enqueues what differs from what was
// last written together with its checkpoint — so a killed agent resumes
// where it stopped and loses nothing. The writer drains the outbox into
// Brevo in as few calls as the APIs allow (imports for volume, single
// upserts for a handful, list changes in chunks of 150) and records what it
// wrote, so an unchanged record costs no Brevo call.
package sync

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strconv"
	"strings"
	gosync "sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/tajo/terraform-provider-tajo/agent/brevo"
	"github.com/tajo/terraform-provider-tajo/agent/config"
	"github.com/tajo/terraform-provider-tajo/agent/intercom"
	"github.com/tajo/terraform-provider-tajo/agent/mapping"
	"github.com/tajo/terraform-provider-tajo/agent/store"
)

// Options tune an Engine; the zero value is production behaviour.
type Options struct {
	Logger hclog.Logger
	// Resolver reads secret references (zero value: environment and files).
	Resolver config.Resolver
	// HTTPClient is used by both API clients (default: 60 s timeout).
	HTTPClient *http.Client
	// IntercomOptions and BrevoOptions are appended to the clients' options
	// (tests and benchmarks adjust budgets or retries with them).
	IntercomOptions []intercom.Option
	BrevoOptions    []brevo.Option
	// ImportThreshold is the number of ready contact writes from which the
	// writer imports instead of upserting one by one (default 50).
	ImportThreshold int
	// ImportBatch is the most contact writes one writer round takes
	// (default 5,000: a round holds its records decoded, about 3 KB each;
	// the client splits imports below 8 MB).
	ImportBatch int
	// MaxAttempts before a record is recorded as failed (default 5).
	MaxAttempts int
	// RetryBase is the first retry delay of a failed record (default 30 s).
	RetryBase time.Duration
	// NotifyURL, when the agent is reachable, is given to Brevo imports.
	NotifyURL string
	// PublicURL is the agent's public base URL; Brevo webhook
	// subscriptions are registered at PublicURL + path.
	PublicURL string
	// Agent names this agent instance in the status and the lease.
	Agent string
	// LeaseTTL is how long the connector's lease lasts unrenewed: how
	// long a standby agent waits before taking over from one that died
	// (default 15 s).
	LeaseTTL time.Duration
	// InboxRetention is how long finished webhook deliveries are kept
	// (to recognise redeliveries, and for tajo-agent inbox list) before
	// the supervisor deletes them; 0 keeps them. Dead letters are kept
	// until retried.
	InboxRetention time.Duration
	// Now replaces time.Now (tests).
	Now func() time.Time
}

func (o *Options) defaults() {
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 60 * time.Second}
	}
	if o.ImportThreshold <= 0 {
		o.ImportThreshold = 50
	}
	if o.ImportBatch <= 0 {
		o.ImportBatch = 5000
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 5
	}
	if o.RetryBase <= 0 {
		o.RetryBase = 30 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = DefaultLeaseTTL
	}
}

// Engine syncs one connector.
type Engine struct {
	id     string
	bundle config.Bundle
	st     store.Store
	ic     *intercom.Client
	bc     *brevo.Client
	log    hclog.Logger
	opts   Options

	mapper *mapping.Mapper
	lists  *Lists

	// planning is set while a planner pass runs: the writer then waits for
	// enough work to import in bulk.
	planning atomic.Bool
	// lease is the connector's lease while this engine holds it; guarded
	// is set once the engine runs under leases: Brevo writes then need one.
	lease   atomic.Pointer[store.Lease]
	leaseMu gosync.Mutex // one renewal at a time
	guarded atomic.Bool
	// recheck asks the writer to resolve journaled writes whose outcome
	// was unknown (a timeout) before writing more.
	recheck atomic.Bool
	// importWait bounds how long an imported contact is looked for
	// before its import is taken as not applied (tests shorten it).
	importWait time.Duration
	// unsentWait bounds how long a takeover looks for the rows of an
	// import whose process was not recorded (most likely never sent).
	unsentWait time.Duration
	wake       chan struct{}
	inboxWake  chan struct{}

	writeMu            gosync.Mutex // one write round at a time
	mu                 gosync.Mutex
	attrsReady         bool          // Brevo contact attributes checked
	companyAttrsReady  bool          // Brevo company attributes checked
	lastContactProcess int64         // newest contact import, awaited before company links
	imports            []importBatch // contact imports not yet verified
	failedImports      int           // verified imports Brevo failed in a row
	stats              Stats
	progress           *store.Progress
	lastErr            string
	connected          bool
	checked            bool  // Check has run
	checkErr           error // what the last Check returned
	lastSync           time.Time
	tags               map[string]string // tag names by id, for webhook deliveries
	tagsAt             time.Time
}

// Stats count what the engine did since it started, for status, logs and
// metrics. Totals sum the per-resource counts in Records.
type Stats struct {
	Read, Enqueued, Unchanged, Skipped, Written, Failed int64
	// Records counts by resource ("contacts", "companies") and outcome
	// ("read", "unchanged", "skipped", "written", "failed").
	Records map[RecordKey]int64
	// IntercomRequests and BrevoRequests count HTTP requests; Requests
	// breaks them down by API, endpoint class and status.
	IntercomRequests, BrevoRequests int64
	Requests                        map[RequestKey]int64
	// Imports and ImportedContacts tally bulk contact writes.
	Imports, ImportedContacts  int64
	PhoneWarnings, FieldErrors int64
	// SMSConflicts counts contacts written without SMS because another
	// Brevo contact holds the number.
	SMSConflicts int64
	// LastSuccess is the end of the last successful pass; NewestUpdated
	// the newest Intercom updated_at written (Unix seconds), for lag.
	LastSuccess   time.Time
	NewestUpdated int64
	// Deliveries are webhook deliveries processed; DeadLetters those
	// given up; IntercomUpdates the writes to Intercom (Brevo unsubscribes).
	Deliveries, DeadLetters, IntercomUpdates int64
}

// RecordKey labels record counts.
type RecordKey struct{ Resource, Outcome string }

// RequestKey labels request counts: API ("intercom", "brevo"), endpoint
// class, and status ("200", "429", "error" for transport failures).
type RequestKey struct{ API, Class, Status string }

// Record outcomes.
const (
	OutcomeRead      = "read"
	OutcomeUnchanged = "unchanged"
	OutcomeSkipped   = "skipped"
	OutcomeWritten   = "written"
	OutcomeFailed    = "failed"
)

func (s *Stats) record(resource, outcome string, n int64) {
	if n == 0 {
		return
	}
	if s.Records == nil {
		s.Records = map[RecordKey]int64{}
	}
	s.Records[RecordKey{resource, outcome}] += n
	switch outcome {
	case OutcomeRead:
		s.Read += n
	case OutcomeUnchanged:
		s.Unchanged += n
	case OutcomeSkipped:
		s.Skipped += n
	case OutcomeWritten:
		s.Written += n
	case OutcomeFailed:
		s.Failed += n
	}
}

func (s *Stats) request(api, class string, status int, failed bool) {
	if s.Requests == nil {
		s.Requests = map[RequestKey]int64{}
	}
	st := strconv.Itoa(status)
	if failed && status == 0 {
		st = "error"
	}
	s.Requests[RequestKey{api, class, st}]++
	if api == "intercom" {
		s.IntercomRequests++
	} else {
		s.BrevoRequests++
	}
}

func (s Stats) clone() Stats {
	c := s
	c.Records = maps.Clone(s.Records)
	c.Requests = maps.Clone(s.Requests)
	return c
}

// New builds the engine of one connector: it validates the bundle, resolves
// the secrets and creates the API clients. Errors name the connector and
// the secret reference, never a secret.
func New(b config.Bundle, st store.Store, opts Options) (*Engine, error) {
	opts.defaults()
	id := b.Connector.ID()
	if err := b.Validate(); err != nil {
		return nil, fmt.Errorf("connector %s: %w", id, err)
	}
	token, err := opts.Resolver.Resolve(b.Connector.Intercom.AccessToken)
	if err != nil {
		return nil, fmt.Errorf("connector %s: intercom.access_token: %w", id, err)
	}
	key, err := opts.Resolver.Resolve(b.Connector.Brevo.APIKey)
	if err != nil {
		return nil, fmt.Errorf("connector %s: brevo.api_key: %w", id, err)
	}
	log := opts.Logger.Named(id)
	if lvl := b.Connector.LogLevel; lvl != "" {
		if lvl == "verbose" {
			lvl = "trace"
		}
		if b.Connector.Debug && hclog.LevelFromString(lvl) > hclog.Debug {
			lvl = "debug"
		}
		log.SetLevel(hclog.LevelFromString(lvl))
	}
	e := &Engine{id: id, bundle: b, st: st, log: log, opts: opts, wake: make(chan struct{}, 1), inboxWake: make(chan struct{}, 1),
		importWait: importWait, unsentWait: unsentImportWait}
	icOpts := append([]intercom.Option{
		intercom.WithBaseURL(b.Connector.IntercomBaseURL()),
		intercom.WithVersion(b.Connector.APIVersion()),
		intercom.WithBudget(b.Connector.IntercomBudget()),
		intercom.WithHTTPClient(opts.HTTPClient),
		intercom.WithLogger(log.Named("intercom")),
		intercom.WithObserver(func(ri intercom.RequestInfo) {
			e.count(func(s *Stats) { s.request("intercom", ri.Class, ri.Status, ri.Err != nil) })
		}),
	}, opts.IntercomOptions...)
	if e.ic, err = intercom.NewClient(token, icOpts...); err != nil {
		return nil, fmt.Errorf("connector %s: intercom client: %w", id, err)
	}
	bcOpts := append([]brevo.Option{
		brevo.WithBaseURL(b.Connector.BrevoBaseURL()),
		brevo.WithHTTPClient(opts.HTTPClient),
		brevo.WithLogger(log.Named("brevo")),
		brevo.WithObserver(func(ri brevo.RequestInfo) {
			e.count(func(s *Stats) { s.request("brevo", string(ri.Class), ri.Status, ri.Err != nil) })
		}),
	}, opts.BrevoOptions...)
	if e.bc, err = brevo.NewClient(key, bcOpts...); err != nil {
		return nil, fmt.Errorf("connector %s: brevo client: %w", id, err)
	}
	e.mapper = mapping.New(b.EffectiveMappings())
	e.lists = NewLists(b.Lists)
	return e, nil
}

// ID is the connector's id.
func (e *Engine) ID() string { return e.id }

// Bundle is the configuration the engine runs.
func (e *Engine) Bundle() config.Bundle { return e.bundle }

// Stats returns a copy of the counters.
func (e *Engine) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stats.clone()
}

func (e *Engine) count(f func(*Stats)) {
	e.mu.Lock()
	f(&e.stats)
	e.mu.Unlock()
}

// notify wakes the writer.
func (e *Engine) notify() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Check verifies both connections (GET /me on Intercom, GET /account on
// Brevo) and records the result as the connector's connected state.
func (e *Engine) Check(ctx context.Context) error {
	_, _, ierr := e.ic.Admins.Me(ctx)
	_, _, berr := e.bc.Account.Get(ctx)
	err := errors.Join(wrapSide("intercom", ierr), wrapSide("brevo", berr))
	e.mu.Lock()
	e.connected = err == nil
	e.checked, e.checkErr = true, err
	if err != nil {
		e.lastErr = err.Error()
	}
	e.mu.Unlock()
	return err
}

// Connection reports the last connection check (Check): checked is false
// until one has run; err is what it returned, nil when both APIs accepted
// the credentials (match it with errors.Is, e.g. intercom.ErrUnauthorized).
func (e *Engine) Connection() (checked bool, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.checked, e.checkErr
}

func wrapSide(side string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", side, err)
}

// Intercom and Brevo expose the clients (the CLI's connection test uses them).
func (e *Engine) Intercom() *intercom.Client { return e.ic }

// Brevo is the Brevo client.
func (e *Engine) Brevo() *brevo.Client { return e.bc }

// setError records the last error of a pass.
func (e *Engine) setError(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err == nil {
		e.lastErr = ""
		return
	}
	e.lastErr = err.Error()
}

// WriteStatus publishes the connector's status to the store, where the
// provider's data source and `tajo-agent status` read it.
func (e *Engine) WriteStatus(ctx context.Context, state string) error {
	contacts, err := e.st.CountLinks(ctx, e.id, store.KindContact)
	if err != nil {
		return err
	}
	companies, err := e.st.CountLinks(ctx, e.id, store.KindCompany)
	if err != nil {
		return err
	}
	fails, err := e.st.ListFailures(ctx, e.id, 10)
	if err != nil {
		return err
	}
	conversations, err := e.st.CountConversations(ctx, e.id)
	if err != nil {
		return err
	}
	events, err := e.st.CountEvents(ctx, e.id, store.EventSent)
	if err != nil {
		return err
	}
	e.mu.Lock()
	st := store.Status{
		ConnectorID: e.id, Connected: e.connected, State: state, LastSync: e.lastSync,
		ContactsSynced: contacts, CompaniesSynced: companies, ConversationsSynced: conversations, EventsSynced: events, LastError: e.lastErr,
		Progress: e.progress, Agent: e.opts.Agent, UpdatedAt: e.opts.Now().UTC(),
	}
	e.mu.Unlock()
	for _, f := range fails {
		st.Errors = append(st.Errors, fmt.Sprintf("%s %s: %s (after %d attempts)", f.Kind, f.IntercomID, f.Reason, f.Attempts))
	}
	return e.st.PutStatus(ctx, st)
}

// setProgress reports the phase of a running pass (phase "" clears it).
func (e *Engine) setProgress(phase string, done, total int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if phase == "" {
		e.progress = nil
		return
	}
	e.progress = &store.Progress{Phase: phase, Done: done, Total: total, StartedAt: e.opts.Now().UTC()}
}

// setProgressRate reports progress with a rate and, when the total is
// known, an estimated end.
func (e *Engine) setProgressRate(phase string, done, total int64, start time.Time) {
	now := e.opts.Now()
	p := &store.Progress{Phase: phase, Done: done, Total: total, StartedAt: start.UTC()}
	if el := now.Sub(start).Seconds(); el > 0 {
		p.PerSecond = float64(done) / el
		if total > done && p.PerSecond > 0 {
			p.ETA = now.Add(time.Duration(float64(total-done) / p.PerSecond * float64(time.Second))).UTC()
		}
	}
	e.mu.Lock()
	e.progress = p
	e.mu.Unlock()
}

// Progress returns the progress of the running pass, nil when none runs.
func (e *Engine) Progress() *store.Progress {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.progress == nil {
		return nil
	}
	p := *e.progress
	return &p
}

// idsOf renders at most five items for a log line.
func idsOf[T any](xs []T, id func(T) string) string {
	parts := make([]string, 0, min(len(xs), 5))
	for i, x := range xs {
		if i == 5 {
			parts = append(parts, fmt.Sprintf("… %d more", len(xs)-5))
			break
		}
		parts = append(parts, id(x))
	}
	return strings.Join(parts, ", ")
}
