package sync

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	gosync "sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/tajo/terraform-provider-tajo/agent/config"
	"github.com/tajo/terraform-provider-tajo/agent/intercom"
	"github.com/tajo/terraform-provider-tajo/agent/mapping"
	"github.com/tajo/terraform-provider-tajo/agent/store"
	"github.com/tajo/terraform-provider-tajo/agent/webhook"
)

// Supervisor runs an Engine for every enabled connector in the store and
// follows configuration changes: when the store's revision moves (terraform
// apply), changed connectors are restarted with their new configuration,
// new ones started and removed or disabled ones stopped — without
// restarting the agent.
type Supervisor struct {
	st   store.Store
	opts Options
	log  hclog.Logger
	// Poll is how often the revision is read (default 1 s); a store that
	// pushes changes (PostgreSQL) is also listened to.
	Poll time.Duration

	mu      gosync.Mutex
	running map[string]*runningEngine
	// limiters outlive engine restarts: Intercom counts per app, and a
	// restarted engine must know the budget (and the last scroll) its
	// predecessor spent.
	limiters map[string]sharedLimiters
	// failed are connectors that could not start, with the reason.
	failed map[string]string
	// receiver serves the webhook routes of the running connectors.
	receiver *webhook.Receiver
	rev      int64
	reloads  int
}

type sharedLimiters struct {
	budget int
	l      *intercom.Limiters
}

type runningEngine struct {
	e       *Engine
	digest  string
	cancel  context.CancelFunc
	done    chan struct{}
	trigger chan PassOptions
}

// NewSupervisor returns a supervisor over st.
func NewSupervisor(st store.Store, opts Options) *Supervisor {
	opts.defaults()
	return &Supervisor{st: st, opts: opts, log: opts.Logger, Poll: time.Second, running: map[string]*runningEngine{},
		limiters: map[string]sharedLimiters{}, failed: map[string]string{}}
}

// Run runs until ctx ends, then stops every engine (each finishes its
// current batch).
func (s *Supervisor) Run(ctx context.Context) error {
	defer s.stopAll()
	var pushed <-chan int64
	if w, ok := s.st.(store.Watcher); ok {
		if ch, err := w.WatchRevisions(ctx); err == nil {
			pushed = ch
		} else {
			s.log.Warn("store change notifications unavailable; polling", "error", err)
		}
	}
	if err := s.reload(ctx); err != nil {
		s.log.Error("load configuration", "error", err)
	}
	tick := time.NewTicker(s.Poll)
	defer tick.Stop()
	s.pruneInbox(ctx)
	prune := time.NewTicker(pruneEvery)
	defer prune.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-prune.C:
			s.pruneInbox(ctx)
			continue
		case <-tick.C:
		case <-pushed:
		}
		rev, err := s.st.Revision(ctx)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn("read store revision", "error", err)
			}
			continue
		}
		s.mu.Lock()
		changed := rev != s.rev
		s.mu.Unlock()
		if changed {
			if err := s.reload(ctx); err != nil {
				s.log.Error("reload configuration", "error", err)
			}
		}
	}
}

// pruneEvery is how often finished webhook deliveries past the retention
// are deleted.
const pruneEvery = time.Hour

// pruneInbox deletes the finished deliveries of every connector accepted
// more than InboxRetention ago (every agent of a store may: the deletion
// is idempotent).
func (s *Supervisor) pruneInbox(ctx context.Context) {
	if s.opts.InboxRetention <= 0 {
		return
	}
	before := s.opts.Now().Add(-s.opts.InboxRetention)
	n, err := s.st.Prune(ctx, before)
	switch {
	case err != nil && ctx.Err() == nil:
		s.log.Warn("prune the webhook inbox", "error", err)
	case n > 0:
		s.log.Info("pruned finished webhook deliveries", "deliveries", n, "accepted_before", before.UTC().Format(time.RFC3339))
	}
}

// Reloads counts configuration reloads (tests).
func (s *Supervisor) Reloads() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reloads
}

// Engine returns the running engine of a connector.
func (s *Supervisor) Engine(id string) *Engine {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.running[id]; ok {
		return r.e
	}
	return nil
}

// SetReceiver makes the supervisor keep the receiver's routes in line with
// the configuration (call before Run).
func (s *Supervisor) SetReceiver(r *webhook.Receiver) { s.receiver = r }

// WakeInbox tells a connector's inbox workers a delivery was accepted.
func (s *Supervisor) WakeInbox(connectorID string) {
	s.mu.Lock()
	r, ok := s.running[connectorID]
	s.mu.Unlock()
	if ok {
		r.e.WakeInbox()
	}
}

// routes resolves the webhook subscriptions of enabled connectors.
func (s *Supervisor) routes(bundles []config.Bundle) ([]webhook.Route, error) {
	var out []webhook.Route
	var errs []error
	for _, b := range bundles {
		if !b.Connector.Enabled {
			continue
		}
		for _, w := range b.Webhooks {
			secret, err := s.opts.Resolver.Resolve(w.Secret)
			if err != nil {
				errs = append(errs, fmt.Errorf("connector %s: webhook %s: secret: %w", b.Connector.ID(), w.Path, err))
				continue
			}
			topics := map[string]bool{}
			for _, t := range config.ExpandTopics(w.Source, w.Topics) {
				topics[t] = true
			}
			out = append(out, webhook.Route{ConnectorID: b.Connector.ID(), Source: w.Source, Path: w.Path, Secret: secret,
				Topics: topics, LogWebhooks: b.Connector.LogWebhooks, Debug: b.Connector.Debug})
		}
	}
	return out, errors.Join(errs...)
}

// Failed returns the connectors that could not start, with the reason.
func (s *Supervisor) Failed() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.failed)
}

// Engines returns the running engines, by connector id.
func (s *Supervisor) Engines() map[string]*Engine {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]*Engine, len(s.running))
	for id, r := range s.running {
		out[id] = r.e
	}
	return out
}

// Trigger asks a connector for a pass now.
func (s *Supervisor) Trigger(id string, o PassOptions) error {
	s.mu.Lock()
	r, ok := s.running[id]
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("connector %s is not running", id)
	}
	select {
	case r.trigger <- o:
		return nil
	default:
		return fmt.Errorf("connector %s has a pass pending already", id)
	}
}

func bundleDigest(b config.Bundle) string {
	return mapping.Hash(b.Connector, b.Mappings, b.Lists, b.Webhooks)
}

func (s *Supervisor) reload(ctx context.Context) error {
	bundles, rev, loadErr := store.LoadBundles(ctx, s.st)
	if loadErr != nil && bundles == nil {
		return loadErr
	}
	s.mu.Lock()
	s.rev = rev
	s.reloads++
	s.mu.Unlock()
	want := map[string]config.Bundle{}
	for _, b := range bundles {
		want[b.Connector.ID()] = b
	}
	// Stop what is gone, disabled or changed.
	s.mu.Lock()
	var stops []*runningEngine
	for id, r := range s.running {
		b, ok := want[id]
		if !ok || !b.Connector.Enabled || bundleDigest(b) != r.digest {
			stops = append(stops, r)
			delete(s.running, id)
		}
	}
	s.mu.Unlock()
	for _, r := range stops {
		s.log.Info("stopping connector", "connector", r.e.ID())
		r.cancel()
		<-r.done
		if _, still := want[r.e.ID()]; !still {
			// The connector is gone: remove the Brevo webhooks registered
			// for it while its credentials are still at hand.
			if err := r.e.RemoveBrevoWebhooks(ctx); err != nil {
				s.log.Warn("remove brevo webhooks of a deleted connector", "connector", r.e.ID(), "error", err)
			}
		}
	}
	s.mu.Lock()
	for id := range s.failed {
		if b, ok := want[id]; !ok || !b.Connector.Enabled {
			delete(s.failed, id)
		}
	}
	s.mu.Unlock()
	var errs []error
	if loadErr != nil {
		errs = append(errs, loadErr)
	}
	if s.receiver != nil {
		routes, err := s.routes(bundles)
		if err != nil {
			errs = append(errs, err)
		}
		if err := s.receiver.SetRoutes(routes); err != nil {
			errs = append(errs, err)
		}
	}
	for id, b := range want {
		if !b.Connector.Enabled {
			_ = s.st.PutStatus(ctx, store.Status{ConnectorID: id, State: StateDisabled, Agent: s.opts.Agent})
			continue
		}
		s.mu.Lock()
		_, ok := s.running[id]
		s.mu.Unlock()
		if ok {
			continue
		}
		opts := s.opts
		opts.IntercomOptions = append(slices.Clone(opts.IntercomOptions), intercom.WithLimiters(s.limitersOf(b)))
		e, err := New(b, s.st, opts)
		s.mu.Lock()
		if err != nil {
			s.failed[id] = err.Error()
		} else {
			delete(s.failed, id)
		}
		s.mu.Unlock()
		if err != nil {
			errs = append(errs, err)
			_ = s.st.PutStatus(ctx, store.Status{ConnectorID: id, State: StateError, LastError: err.Error(), Agent: s.opts.Agent})
			continue
		}
		rctx, cancel := context.WithCancel(ctx)
		r := &runningEngine{e: e, digest: bundleDigest(b), cancel: cancel, done: make(chan struct{}), trigger: make(chan PassOptions, 1)}
		s.mu.Lock()
		s.running[id] = r
		s.mu.Unlock()
		s.log.Info("starting connector", "connector", id, "mode", b.Connector.Mode)
		go func() {
			defer close(r.done)
			if err := e.Run(rctx, r.trigger); err != nil {
				s.log.Error("connector stopped", "connector", id, "error", err)
			}
		}()
	}
	return errors.Join(errs...)
}

// limitersOf returns the connector's Intercom limiters, new when its
// budget changed.
func (s *Supervisor) limitersOf(b config.Bundle) *intercom.Limiters {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, budget := b.Connector.ID(), b.Connector.IntercomBudget()
	if sl, ok := s.limiters[id]; ok && sl.budget == budget {
		return sl.l
	}
	l := intercom.NewLimiters(budget, 1)
	s.limiters[id] = sharedLimiters{budget: budget, l: l}
	return l
}

func (s *Supervisor) stopAll() {
	s.mu.Lock()
	rs := make([]*runningEngine, 0, len(s.running))
	for id, r := range s.running {
		rs = append(rs, r)
		delete(s.running, id)
	}
	s.mu.Unlock()
	for _, r := range rs {
		r.cancel()
	}
	for _, r := range rs {
		<-r.done
	}
}
