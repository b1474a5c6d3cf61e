package sync

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tajo/terraform-provider-tajo/agent/backoff"
	"github.com/tajo/terraform-provider-tajo/agent/brevo"
	"github.com/tajo/terraform-provider-tajo/agent/config"
	"github.com/tajo/terraform-provider-tajo/agent/store"
)

// DefaultLeaseTTL is how long a connector's lease lasts without renewal:
// the time another agent waits before taking over from one that died.
const DefaultLeaseTTL = 15 * time.Second

// leaseMargin is kept between the lease's expiry and the last Brevo write
// an agent starts under it (clock drift, a slow request).
func leaseMargin(ttl time.Duration) time.Duration { return ttl / 5 }

// ErrNotLeader: another agent runs the connector.
var ErrNotLeader = errors.New("another agent holds the connector's lease")

// apply writes a batch; while this engine holds the connector's lease the
// batch is fenced by it, so an agent that lost the lease (paused, cut off)
// cannot record anything after its successor took over. A batch fenced off
// because the lease lapsed unrenewed (a slow store) is applied once more
// if the lease could be renewed or taken again with nobody in between.
func (e *Engine) apply(ctx context.Context, b store.Batch) error {
	for retried := false; ; retried = true {
		l := e.lease.Load()
		if l != nil {
			b.Fence = &store.Fence{Holder: l.Holder, Token: l.Token}
		}
		err := e.st.Apply(ctx, e.id, b)
		if err == nil || l == nil || retried || !errors.Is(err, store.ErrFenced) {
			return err
		}
		if held, rerr := e.refreshLease(ctx); !held || rerr != nil {
			return err
		}
	}
}

// refreshLease renews the lease. When it lapsed unrenewed it is taken
// again, and kept if no other agent held it meanwhile (its token then grew
// by exactly one): nothing was written by anyone else. held is false when
// the lease is lost; err is a store failure (the lease may still hold).
func (e *Engine) refreshLease(ctx context.Context) (held bool, err error) {
	e.leaseMu.Lock()
	defer e.leaseMu.Unlock()
	l := e.lease.Load()
	if l == nil {
		return false, nil
	}
	nl, err := e.st.RenewLease(ctx, *l, e.opts.LeaseTTL, e.opts.Now())
	if err == nil {
		e.lease.Store(&nl)
		return true, nil
	}
	if !errors.Is(err, store.ErrFenced) {
		return true, err
	}
	al, ok, err := e.acquire(ctx)
	if err != nil {
		return true, err
	}
	if ok && al.Token == l.Token+1 {
		e.log.Warn("the lease lapsed before it was renewed (a slow store?); taken again, nobody else held it", "token", al.Token)
		e.lease.Store(&al)
		e.recheck.Store(true) // writes recorded under the old token may have failed
		return true, nil
	}
	e.lease.Store(nil)
	return false, nil
}

// leading reports whether the engine may still start a Brevo write: it
// holds the lease with a safety margin left.
func (e *Engine) leading() bool {
	l := e.lease.Load()
	return l != nil && e.opts.Now().Add(leaseMargin(e.opts.LeaseTTL)).Before(l.ExpiresAt)
}

// processNonce tells apart agents given the same name (--agent-id): a
// lease is held by one process, never by two of the same name.
var processNonce = func() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}()

// holder names this agent in the lease: its name and the process nonce.
// Engines of one process share it, so a reloaded engine may renew the
// lease its predecessor held.
func (e *Engine) holder() string {
	name := e.opts.Agent
	if name == "" {
		name = "agent"
	}
	return name + "/" + processNonce
}

// Leader reports whether this engine holds the connector's lease.
func (e *Engine) Leader() bool { return e.lease.Load() != nil }

// mayWrite refuses Brevo writes once the engine runs under leases without
// holding one (lost, or too close to its expiry to renew in time).
func (e *Engine) mayWrite(ctx context.Context) error {
	if !e.guarded.Load() || e.leading() {
		return nil
	}
	if held, err := e.refreshLease(ctx); held && err == nil && e.leading() {
		return nil
	}
	return ErrNotLeader
}

// acquire takes the connector's lease; ok is false while another agent
// holds it.
func (e *Engine) acquire(ctx context.Context) (store.Lease, bool, error) {
	return e.st.AcquireLease(ctx, e.id, e.holder(), e.opts.LeaseTTL, e.opts.Now())
}

// lead runs fn while holding lease l: the lease is renewed every third of
// its TTL, and fn's context is cancelled as soon as it is lost. The lease
// is released afterwards, so a successor takes over at once.
func (e *Engine) lead(ctx context.Context, l store.Lease, fn func(context.Context) error) error {
	e.guarded.Store(true)
	e.lease.Store(&l)
	lctx, cancel := context.WithCancelCause(ctx)
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		e.keepLease(lctx, cancel)
	}()
	err := fn(lctx)
	cancel(nil)
	<-renewed
	cur := e.lease.Swap(nil)
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer rcancel()
	if cur != nil {
		if rerr := e.st.ReleaseLease(rctx, *cur); rerr != nil {
			e.log.Warn("release lease", "error", rerr)
		}
	}
	if cause := context.Cause(lctx); errors.Is(cause, store.ErrFenced) && ctx.Err() == nil {
		return fmt.Errorf("%w: %w", ErrNotLeader, cause)
	}
	return err
}

// keepLease renews the lease until ctx ends; losing it cancels ctx.
func (e *Engine) keepLease(ctx context.Context, cancel context.CancelCauseFunc) {
	every := e.opts.LeaseTTL / 3
	failures := 0
	for {
		wait := every
		if failures > 0 {
			wait = min(every, 500*time.Millisecond) // the lease is running out
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		held, err := e.refreshLease(ctx)
		switch {
		case !held:
			e.log.Warn("lease lost to another agent; stopping this connector's passes and writes")
			cancel(store.ErrFenced)
			return
		case err == nil:
			failures = 0
		default:
			// The store is unreachable: keep trying until the lease runs
			// out, then stop acting (the next holder will be fenced in).
			failures++
			e.log.Warn("renew lease", "error", err, "attempt", failures)
			if !e.leading() {
				e.lease.Store(nil)
				cancel(fmt.Errorf("%w: could not renew it: %v", store.ErrFenced, err))
				return
			}
		}
	}
}

// waitForLease blocks until this engine holds the lease or ctx ends,
// reporting the holder while it waits.
func (e *Engine) waitForLease(ctx context.Context) (store.Lease, error) {
	logged := ""
	for attempt := 1; ; attempt++ {
		l, ok, err := e.acquire(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			e.log.Warn("acquire lease", "error", err)
		case ok:
			if logged != "" {
				e.log.Info("took over the connector's lease", "from", logged, "token", l.Token)
			}
			return l, nil
		case l.Holder != logged:
			logged = l.Holder
			e.log.Info("another agent runs this connector; standing by (webhook deliveries are still processed here)",
				"holder", l.Holder, "until", l.ExpiresAt.UTC().Format(time.RFC3339))
		}
		// Poll every fifth of the TTL, and right after the holder's lease
		// runs out: a crashed holder is replaced within the TTL.
		wait := e.opts.LeaseTTL / 5
		if err == nil {
			if until := l.ExpiresAt.Sub(e.opts.Now()) + 20*time.Millisecond; until > 0 && until < wait {
				wait = until
			}
		} else {
			wait = backoff.Policy{Base: time.Second, Max: e.opts.LeaseTTL}.Delay(attempt)
		}
		if err := backoff.Sleep(ctx, wait); err != nil {
			return store.Lease{}, err
		}
	}
}

// takeOver settles what a previous holder left unfinished: events it was
// sending are recorded as unknown (never sent twice), and pending writes it
// had in flight are resolved by asking Brevo whether they happened.
func (e *Engine) takeOver(ctx context.Context) error {
	// No writer round meanwhile: one would write companies before the
	// contacts they link are resolved (recorded), with members missing,
	// and mark them written.
	e.writeMu.Lock()
	defer e.writeMu.Unlock()
	if err := e.apply(ctx, store.Batch{EventUpdates: []store.EventUpdate{{From: store.EventSending, State: store.EventUnknown,
		Error: "the agent stopped while sending"}}}); err != nil {
		return err
	}
	return e.recoverInFlight(ctx)
}

// recoverInFlight resolves contact writes journaled as in flight by an
// agent that stopped (crash, lost lease) before recording their outcome,
// by asking Brevo whether they happened: what did is recorded as written
// (and not sent again), what did not is released to be written. Only
// contact data writes are journaled; list changes and deletions repeat
// harmlessly and are simply redone.
func (e *Engine) recoverInFlight(ctx context.Context) error {
	rows, err := e.st.InFlightPending(ctx, e.id)
	if err != nil || len(rows) == 0 {
		return err
	}
	e.log.Info("resolving writes a previous agent had in flight", "records", len(rows))
	ids := make([]string, 0, len(rows))
	groups := map[string][]store.PendingInFlight{}
	var names []string
	for _, r := range rows {
		ids = append(ids, r.IntercomID)
		k := r.Kind + "|" + r.InFlight.Batch
		if _, ok := groups[k]; !ok {
			names = append(names, k)
		}
		groups[k] = append(groups[k], r)
	}
	links, err := e.st.GetLinks(ctx, e.id, store.KindContact, ids)
	if err != nil {
		return err
	}
	companies, err := e.st.GetLinks(ctx, e.id, store.KindCompany, ids)
	if err != nil {
		return err
	}
	o := &outcome{requeued: map[string]bool{}}
	b := &o.batch
	// Imports whose process was not recorded were most likely never sent:
	// they are looked for until one deadline, shared by all of them.
	unsent := e.opts.Now().Add(e.unsentWait)
	for _, k := range names {
		rs := groups[k]
		slices.SortFunc(rs, func(a, b store.PendingInFlight) int { return strings.Compare(a.IntercomID, b.IntercomID) })
		if rs[0].Kind == store.KindCompany {
			e.recoverCompanies(b, rs, companies)
			continue
		}
		if rs[0].Kind != store.KindContact {
			e.release(b, rs)
			continue
		}
		if !isImportBatch(rs[0].InFlight.Batch) {
			for _, r := range rs {
				c, err := e.probe(ctx, r, time.Time{})
				if err != nil {
					return err
				}
				if c == nil {
					e.release(b, []store.PendingInFlight{r})
					continue
				}
				l, ok := links[r.IntercomID]
				e.recoverWritten(o, r, l, ok, c)
			}
			continue
		}
		n, err := e.importedPrefix(ctx, rs, e.importDeadline(rs, unsent))
		if err != nil {
			return err
		}
		for _, r := range rs[:n] {
			l, ok := links[r.IntercomID]
			e.recoverWritten(o, r, l, ok, nil)
		}
		e.release(b, rs[n:])
		e.log.Info("import of a previous agent checked", "batch", rs[0].InFlight.Batch, "process", rs[0].InFlight.Process,
			"rows", len(rs), "applied", n)
	}
	if err := e.requeueCompanies(ctx, o); err != nil {
		return err
	}
	return e.apply(ctx, *b)
}

// recoverCompanies handles companies an import of a previous agent was
// creating: they are linked without a Brevo id, so that the writer looks
// them up by intercom_id (and asks for the import's process) before it
// creates them again.
func (e *Engine) recoverCompanies(b *store.Batch, rs []store.PendingInFlight, links map[string]store.Link) {
	for _, r := range rs {
		if l, ok := links[r.IntercomID]; !ok || l.BrevoID == "" {
			d := companyLinkData{Process: r.InFlight.Process}
			if d.Process == 0 {
				d.Sent = r.InFlight.At.UnixMilli()
			}
			b.Links = append(b.Links, store.Link{Kind: store.KindCompany, IntercomID: r.IntercomID, Data: encode(d)})
		}
	}
	e.release(b, rs)
}

// importBatchMark names the journal batches of imports: Brevo applies an
// import's rows together, in the order sent (by Intercom id).
const importBatchMark = "/import"

func isImportBatch(batch string) bool { return strings.Contains(batch, importBatchMark) }

// importDeadline returns until when the rows of a journaled import may
// still appear in Brevo: an import Brevo accepted (its process recorded)
// is applied sooner or later, so it is looked for as long as the writer
// looks for its own imports; one whose process was not recorded was most
// likely never sent, and shares the shorter deadline of those. Contacts
// are probed (10 requests/s) rather than processes polled (100/hour).
func (e *Engine) importDeadline(rs []store.PendingInFlight, unsent time.Time) time.Time {
	for _, r := range rs {
		if r.InFlight.Process > 0 {
			return e.opts.Now().Add(e.importWait)
		}
	}
	return unsent
}

// importedPrefix returns how many rows of a journaled import (in the order
// sent) Brevo applied. The client may have split it into requests and
// stopped between two, so the applied rows are a prefix: the last and the
// first row tell the common cases, a binary search the rest.
func (e *Engine) importedPrefix(ctx context.Context, rs []store.PendingInFlight, deadline time.Time) (int, error) {
	written := func(i int) (bool, error) {
		c, err := e.probe(ctx, rs[i], deadline)
		return c != nil, err
	}
	if ok, err := written(len(rs) - 1); err != nil || ok {
		return len(rs), err
	}
	if ok, err := written(0); err != nil || !ok {
		return 0, err
	}
	lo, hi := 0, len(rs)-1 // rs[lo] applied, rs[hi] not
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		ok, err := written(mid)
		if err != nil {
			return 0, err
		}
		if ok {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi, nil
}

// release returns in-flight rows to the queue.
func (e *Engine) release(b *store.Batch, rs []store.PendingInFlight) {
	for _, r := range rs {
		b.InFlight = append(b.InFlight, store.InFlight{Kind: r.Kind, IntercomID: r.IntercomID, Version: r.Version})
	}
}

// probe reads the Brevo contact of an in-flight write and returns it when
// the write reached it, nil when not. Reached means modified since the
// write started (a second of clock slack) with the text attributes
// written. Until deadline (an import Brevo may not have applied yet) a
// contact not reached is looked for again.
func (e *Engine) probe(ctx context.Context, r store.PendingInFlight, deadline time.Time) (*brevo.Contact, error) {
	st, err := decodePayload[contactState](r.Pending)
	if err != nil || st.Delete {
		return nil, nil
	}
	ext := st.ExtID
	if ext == "" {
		ext = r.IntercomID
	}
	for attempt := 1; ; attempt++ {
		c, _, err := e.bc.Contacts.Get(ctx, brevo.ByExtID(ext))
		switch {
		case err == nil && !c.ModifiedAt.Before(r.InFlight.At.Add(-time.Second)) && e.carries(c, st):
			return c, nil
		case err != nil && !errors.Is(err, brevo.ErrNotFound):
			return nil, fmt.Errorf("check brevo contact %s written by a previous agent: %w", r.IntercomID, err)
		}
		if !e.opts.Now().Before(deadline) {
			return nil, nil
		}
		if err := backoff.Sleep(ctx, min(250*time.Millisecond<<min(attempt-1, 6), 10*time.Second, deadline.Sub(e.opts.Now()))); err != nil {
			return nil, err
		}
	}
}

// carries reports whether Brevo contact c holds the email and the text
// attributes of st (dates and numbers come back reformatted and are not
// compared).
func (e *Engine) carries(c *brevo.Contact, st contactState) bool {
	if c.Email != "" && st.Email != "" && !strings.EqualFold(c.Email, st.Email) {
		return false
	}
	for _, t := range e.mapper.Targets() {
		if config.BrevoType(t.Type) != "text" {
			continue
		}
		want, ok := st.Attributes[t.Name].(string)
		if !ok {
			continue
		}
		if got, ok := c.Attributes[t.Name].(string); ok && got != want {
			return false
		}
	}
	return true
}

// recoverWritten records an in-flight contact write that reached Brevo.
// c, when probed, is the Brevo contact: its managed lists are taken as
// they are. Without it (the rows of an applied import) the lists are the
// old ones plus those the import added. When they differ from the plan,
// the row stays queued: its list changes are still to do.
func (e *Engine) recoverWritten(o *outcome, r store.PendingInFlight, old store.Link, linked bool, c *brevo.Contact) {
	st, err := decodePayload[contactState](r.Pending)
	if err != nil {
		e.release(&o.batch, []store.PendingInFlight{r})
		return
	}
	it := &contactItem{p: r.Pending, st: st, link: old, linked: linked}
	if c != nil && c.ID != 0 {
		it.link.BrevoID = strconv.FormatInt(c.ID, 10)
	}
	var lists []int64
	if c != nil {
		managed := e.lists.Managed()
		for _, l := range c.ListIDs {
			if slices.Contains(managed, l) {
				lists = append(lists, l)
			}
		}
	} else {
		lists = append(slices.Clone(old.Lists), st.Lists...)
	}
	slices.Sort(lists)
	lists = slices.Compact(lists)
	if slices.Equal(lists, st.Lists) {
		e.written(o, it)
		return
	}
	// Written but for its lists: the link records the data (so it is not
	// written again) and keeps the old facts, from which the list write
	// to come sees which companies to update.
	o.batch.Links = append(o.batch.Links, store.Link{Kind: store.KindContact, IntercomID: r.IntercomID, BrevoID: it.link.BrevoID,
		Email: st.Email, Hash: st.Hash, Lists: lists, SourceUpdatedAt: st.UpdatedAt, Data: old.Data, Seen: max(st.Gen, old.Seen)})
	e.release(&o.batch, []store.PendingInFlight{r})
}
