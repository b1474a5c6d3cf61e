package sync

import (
	"context"
	"errors"
	"fmt"
	gosync "sync"
	"time"

	"github.com/tajo/terraform-provider-tajo/agent/backoff"
	"github.com/tajo/terraform-provider-tajo/agent/config"
	"github.com/tajo/terraform-provider-tajo/agent/mapping"
	"github.com/tajo/terraform-provider-tajo/agent/store"
)

// Connector states in the status.
const (
	StateIdle     = "idle"
	StateSyncing  = "syncing"
	StateError    = "error"
	StateDisabled = "disabled"
)

// cpConfig remembers the digest of the configuration the last full pass
// ran with: mapping, list or lead-policy changes need a full pass to take
// effect on every contact.
const cpConfig = "config"

// configDigest covers what changes the desired state of every contact.
func configDigest(b config.Bundle) string {
	c := b.Connector
	return mapping.Hash(b.EffectiveMappings(), b.Lists, c.Sync, c.LeadPolicy, c.Since)
}

// Sync runs one complete pass — plan, write, verify — and records it in
// the status: what `tajo-agent sync --once` does. It holds the connector's
// lease meanwhile, and refuses to run while another agent holds it.
func (e *Engine) Sync(ctx context.Context, o PassOptions) error {
	l, ok, err := e.acquire(ctx)
	if err == nil && !ok {
		// The holder may have died (a killed pass): its lease then runs
		// out within the TTL. A running agent renews it meanwhile.
		e.log.Info("waiting for the connector's lease", "holder", l.Holder, "until", l.ExpiresAt.UTC().Format(time.RFC3339))
		wait := min(l.ExpiresAt.Sub(e.opts.Now()), e.opts.LeaseTTL) + 50*time.Millisecond
		if err := backoff.Sleep(ctx, wait); err != nil {
			return err
		}
		l, ok, err = e.acquire(ctx)
	}
	if err != nil {
		return fmt.Errorf("take the lease of connector %s: %w", e.id, err)
	}
	if !ok {
		return fmt.Errorf("%w: %s runs connector %s (its lease lasts until %s unless renewed): a pass runs there; stop that agent to run one here",
			ErrNotLeader, l.Holder, e.id, l.ExpiresAt.UTC().Format(time.RFC3339))
	}
	return e.lead(ctx, l, func(ctx context.Context) error {
		e.restore(ctx)
		if err := e.takeOver(ctx); err != nil {
			return fmt.Errorf("resolve the writes a previous agent left in flight: %w", err)
		}
		if err := e.checkConfig(ctx, &o); err != nil {
			return err
		}
		_ = e.WriteStatus(ctx, StateSyncing)
		err := e.pass(ctx, o, e.Drain)
		e.finish(ctx, err)
		return err
	})
}

// pass plans with a writer running beside the planner (so Brevo writes
// overlap Intercom reads), then calls drain for what is left.
func (e *Engine) pass(ctx context.Context, o PassOptions, drain func(context.Context) error) error {
	start := e.opts.Now()
	before := e.Stats()
	stop := make(chan struct{})
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		e.runWriter(ctx, stop)
	}()
	planErr := e.Plan(ctx, o)
	close(stop)
	<-writerDone
	if planErr != nil {
		return planErr
	}
	if err := drain(ctx); err != nil {
		return err
	}
	after := e.Stats()
	e.log.Info("sync pass",
		"read", after.Read-before.Read, "enqueued", after.Enqueued-before.Enqueued, "unchanged", after.Unchanged-before.Unchanged,
		"skipped", after.Skipped-before.Skipped, "written", after.Written-before.Written, "failed", after.Failed-before.Failed,
		"intercom_requests", after.IntercomRequests-before.IntercomRequests, "brevo_requests", after.BrevoRequests-before.BrevoRequests,
		"sms_conflicts", after.SMSConflicts-before.SMSConflicts, "duration", e.opts.Now().Sub(start).Round(time.Millisecond))
	return nil
}

func (e *Engine) finish(ctx context.Context, err error) {
	if err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled) {
		// Stopped (SIGTERM or reload): every page is checkpointed, the next
		// pass resumes; not an error.
		e.log.Info("sync pass interrupted; it resumes where it stopped")
		err = nil
		e.mu.Lock()
		lastErr := e.lastErr
		e.mu.Unlock()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		state := StateIdle
		if lastErr != "" {
			state = StateError
		}
		_ = e.WriteStatus(sctx, state)
		return
	}
	if err == nil {
		e.mu.Lock()
		e.lastSync = e.opts.Now().UTC()
		e.stats.LastSuccess = e.lastSync
		e.mu.Unlock()
	}
	e.setError(err)
	state := StateIdle
	if err != nil {
		state = StateError
		e.log.Error("sync pass failed", "error", err)
	}
	// The status is written even when ctx ended (SIGTERM): it is small.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if werr := e.WriteStatus(sctx, state); werr != nil {
		e.log.Warn("write status", "error", werr)
	}
}

// restore takes over what the previous agent reported (last sync), so a
// restarted engine does not erase it from the status.
func (e *Engine) restore(ctx context.Context) {
	st, err := e.st.GetStatus(ctx, e.id)
	if err != nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.lastSync.IsZero() {
		e.lastSync = st.LastSync
		e.stats.LastSuccess = st.LastSync
	}
}

// checkConfig turns a pass into a full one when the configuration changed
// since the last full pass.
func (e *Engine) checkConfig(ctx context.Context, o *PassOptions) error {
	b, err := e.st.GetCheckpoint(ctx, e.id, cpConfig)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	digest := configDigest(e.bundle)
	if string(b) == digest {
		return nil
	}
	if err == nil {
		e.log.Info("configuration changed since the last full pass; running a full pass")
	}
	o.Full = true
	return e.apply(ctx, store.Batch{Checkpoints: map[string][]byte{cpConfig: []byte(digest)}})
}

// Run syncs until ctx ends. Webhook deliveries are processed at once on
// every agent; the passes and the Brevo writer run on the one agent that
// holds the connector's lease (see lead): the others stand by and take
// over when it is released (SIGTERM) or runs out (crash).
func (e *Engine) Run(ctx context.Context, trigger <-chan PassOptions) error {
	stop := make(chan struct{})
	var workers gosync.WaitGroup
	workers.Go(func() { e.runInbox(ctx, stop) })
	defer func() {
		close(stop)
		workers.Wait()
	}()
	e.restore(ctx)
	for {
		l, err := e.waitForLease(ctx)
		if err != nil {
			return nil // ctx ended
		}
		err = e.lead(ctx, l, func(ctx context.Context) error { return e.runLeader(ctx, trigger) })
		if ctx.Err() != nil {
			return nil
		}
		e.setError(err)
		e.log.Warn("no longer running this connector; standing by", "error", err)
	}
}

// runLeader is what the lease holder does: settle what a previous holder
// left, register Brevo webhooks, check the connections, then a full pass
// when needed and, in batch and hybrid mode, an incremental pass every
// batch_interval; passes requested on trigger run at once. The writer
// drains the outbox continuously (also what webhooks enqueue). On
// cancellation the writer finishes its current batch; every planner page
// is committed with its checkpoint.
func (e *Engine) runLeader(ctx context.Context, trigger <-chan PassOptions) error {
	stop := make(chan struct{})
	writer := make(chan struct{})
	go func() {
		defer close(writer)
		e.runWriter(ctx, stop)
	}()
	defer func() {
		close(stop)
		<-writer
	}()
	if err := e.takeOver(ctx); err != nil && ctx.Err() == nil {
		// Retried by the writer before it writes (recheck).
		e.recheck.Store(true)
		e.log.Error("resolve the writes a previous agent left in flight", "error", err)
	}
	if err := e.ReconcileBrevoWebhooks(ctx); err != nil {
		e.log.Error("register brevo webhooks", "error", err)
	}
	if err := e.Check(ctx); err != nil {
		e.log.Error("connection check failed", "error", err)
	}
	statusTick := time.NewTicker(5 * time.Second)
	defer statusTick.Stop()
	attempt := 0
	next := PassOptions{}
	var timer <-chan time.Time
	runNow := true
	for {
		if runNow {
			runNow = false
			err := e.runPass(ctx, next)
			next = PassOptions{}
			if ctx.Err() != nil {
				return nil
			}
			delay := e.bundle.Connector.Interval()
			if err != nil {
				attempt++
				delay = min(backoff.Policy{Base: 30 * time.Second, Max: 30 * time.Minute}.Delay(attempt), delay)
			} else {
				attempt = 0
			}
			full, _ := e.NeedsFull(ctx)
			switch {
			case e.bundle.Connector.Mode == config.ModeRealtime && !full && err == nil:
				timer = nil // webhooks drive the sync
			default:
				timer = time.After(delay)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case o := <-trigger:
			next, runNow = o, true
		case <-timer:
			runNow = true
		case <-statusTick.C:
			_ = e.WriteStatus(ctx, e.stateNow())
		}
	}
}

func (e *Engine) stateNow() string {
	if e.planning.Load() || e.Progress() != nil {
		return StateSyncing
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.lastErr != "" {
		return StateError
	}
	return StateIdle
}

func (e *Engine) runPass(ctx context.Context, o PassOptions) error {
	if err := e.checkConfig(ctx, &o); err != nil {
		e.finish(ctx, err)
		return err
	}
	_ = e.WriteStatus(ctx, StateSyncing)
	// The pass ends when what it planned is written (the background writer
	// and this drain take turns), so last_sync means "in Brevo".
	err := e.pass(ctx, o, e.Drain)
	e.finish(ctx, err)
	return err
}

// runWriter drains the outbox whenever work arrives, until stop is closed.
// A round in flight when stop closes completes (bounded by shutdownGrace)
// so that what Brevo accepted is recorded.
func (e *Engine) runWriter(ctx context.Context, stop <-chan struct{}) {
	const shutdownGrace = 30 * time.Second
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	failures := 0
	var holding time.Time // since when writes are held back for a bulk batch
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		case <-e.wake:
		case <-tick.C:
		}
		for {
			select {
			case <-stop:
				return
			default:
			}
			// While a planner runs, wait for a batch worth an import, but
			// not for long: the planner may be waiting on a rate limit.
			if e.planning.Load() {
				n, err := e.st.CountPending(ctx, e.id, store.KindContact)
				if err == nil && n > 0 && n < int64(min(bulkMin, e.opts.ImportBatch)) {
					if holding.IsZero() {
						holding = e.opts.Now()
					}
					if e.opts.Now().Sub(holding) < bulkWait {
						break
					}
				}
			}
			holding = time.Time{}
			rctx, cancel := graceful(ctx, shutdownGrace)
			n, err := e.writeRound(rctx)
			cancel()
			if err != nil {
				failures++
				e.setError(err)
				e.log.Error("write to brevo", "error", err)
				_ = backoff.Sleep(ctx, backoff.Default.Delay(failures))
				break
			}
			failures = 0
			if n == 0 {
				if !e.planning.Load() {
					rctx, cancel := graceful(ctx, shutdownGrace)
					if _, err := e.verifyImports(rctx); err != nil && ctx.Err() == nil {
						e.log.Warn("verify brevo imports", "error", err)
					}
					cancel()
				}
				break
			}
		}
	}
}

// graceful derives a context that outlives ctx's cancellation by grace,
// so work in flight is not cut in the middle of a Brevo call.
func graceful(ctx context.Context, grace time.Duration) (context.Context, context.CancelFunc) {
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() {
		if errors.Is(context.Cause(ctx), store.ErrFenced) {
			cancel() // the lease is lost: another agent writes now
			return
		}
		t := time.AfterFunc(grace, cancel)
		context.AfterFunc(rctx, func() { t.Stop() })
	})
	return rctx, func() { stop(); cancel() }
}
