package sync

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tajo/terraform-provider-tajo/agent/backoff"
	"github.com/tajo/terraform-provider-tajo/agent/brevo"
	"github.com/tajo/terraform-provider-tajo/agent/config"
	"github.com/tajo/terraform-provider-tajo/agent/store"
)

// Drain writes pending records until none is left: it writes what is
// ready, makes sure Brevo applied the imports it started (writing the
// records of a failed import again), and waits for the writes scheduled
// for a retry, so that a pass reports success — and records last_sync —
// only once Brevo holds what it planned. The wait is bounded: a record is
// tried MaxAttempts times, then recorded as failed and no longer pending;
// imports that fail MaxAttempts times in a row fail the pass.
func (e *Engine) Drain(ctx context.Context) error {
	for {
		n, err := e.writeRound(ctx)
		if err != nil {
			return err
		}
		if err := e.importsFailing(); err != nil {
			return err
		}
		if n > 0 {
			continue
		}
		requeued, err := e.verifyImports(ctx)
		if err != nil {
			return err
		}
		if err := e.importsFailing(); err != nil {
			return err
		}
		if requeued > 0 {
			continue
		}
		waiting, err := e.st.CountPending(ctx, e.id, "")
		if err != nil || waiting == 0 {
			return err
		}
		// What is left waits for its retry (RetryBase, doubling) or for
		// Brevo to finish an import.
		if err := backoff.Sleep(ctx, min(e.opts.RetryBase, time.Second)); err != nil {
			return err
		}
	}
}

// writeRound writes one batch of contacts, or, when no contact is ready,
// one batch of companies (company links name contacts, which must exist).
func (e *Engine) writeRound(ctx context.Context) (int, error) {
	// One round at a time: rounds read the outbox, write Brevo and record
	// the outcome; two at once would write the same records twice.
	e.writeMu.Lock()
	defer e.writeMu.Unlock()
	if err := e.mayWrite(ctx); err != nil {
		return 0, err
	}
	if e.recheck.Swap(false) {
		// Writes of an earlier round whose outcome was unknown.
		if err := e.recoverInFlight(ctx); err != nil {
			e.recheck.Store(true)
			return 0, err
		}
	}
	if err := e.prepare(ctx); err != nil {
		return 0, err
	}
	n, err := e.writeContacts(ctx)
	if n > 0 && err == nil {
		if err := e.verifyOlderImports(ctx); err != nil && ctx.Err() == nil {
			e.log.Warn("verify brevo imports", "error", err)
		}
	}
	if n > 0 || err != nil {
		return n, err
	}
	// Events name contacts by ext_id: after the contacts are written.
	if n, err = e.writeEvents(ctx); n > 0 || err != nil {
		return n, err
	}
	return e.writeCompanies(ctx)
}

// prepare checks, once per engine, that the managed lists exist and that
// the attributes the mappings write exist in Brevo with the right type,
// creating missing ones before the first write.
func (e *Engine) prepare(ctx context.Context) error {
	e.mu.Lock()
	ready := e.attrsReady
	e.mu.Unlock()
	if ready {
		return nil
	}
	for _, id := range e.lists.Managed() {
		if _, _, err := e.bc.Lists.Get(ctx, id); err != nil {
			if errors.Is(err, brevo.ErrNotFound) {
				return fmt.Errorf("brevo list %d does not exist: create it in Brevo (Contacts → Lists) or change the list_id of tajo_list_assignment %s/%d", id, e.id, id)
			}
			return fmt.Errorf("check brevo list %d: %w", id, err)
		}
	}
	existing, _, err := e.bc.Attributes.List(ctx)
	if err != nil {
		return fmt.Errorf("list brevo contact attributes: %w", err)
	}
	have := map[string]string{}
	for _, a := range existing {
		have[a.Name] = string(a.Type)
	}
	for _, t := range e.mapper.Targets() {
		want := config.BrevoType(t.Type)
		if got, ok := have[t.Name]; ok {
			if got != "" && got != want && !(want == "text" && got == "category") {
				e.log.Warn("brevo attribute has another type; values of the wrong type are dropped by Brevo",
					"attribute", t.Name, "brevo_type", got, "mapping_type", want)
			}
			continue
		}
		err := createAttribute(ctx, func() error {
			_, err := e.bc.Attributes.Create(ctx, brevo.CategoryNormal, t.Name, &brevo.CreateAttribute{Type: brevo.AttributeType(want)})
			return err
		})
		if err != nil {
			return fmt.Errorf("create brevo attribute %s (%s): %w", t.Name, want, err)
		}
		e.log.Info("created brevo attribute", "attribute", t.Name, "type", want)
	}
	e.mu.Lock()
	e.attrsReady = true
	e.mu.Unlock()
	return nil
}

// createAttribute runs create, the creation of a Brevo attribute, until
// it succeeds or fails for a known reason. Creating an attribute is
// idempotent for the engine — a duplicate counts as created (by another
// agent, or by an earlier attempt whose answer was lost) — so a creation
// whose outcome is unknown (a 5xx, a timeout, a dropped connection) is
// sent again, within backoff.Default's attempts, instead of failing the
// pass.
func createAttribute(ctx context.Context, create func() error) error {
	for n := 1; ; n++ {
		err := create()
		if errors.Is(err, brevo.ErrDuplicate) {
			return nil
		}
		if !errors.Is(err, brevo.ErrOutcomeUnknown) || !backoff.Default.Retry(n) {
			return err
		}
		if err := backoff.Sleep(ctx, backoff.Default.Delay(n)); err != nil {
			return err
		}
	}
}

// contactItem is one pending contact write with what is known of it.
type contactItem struct {
	p      store.Pending
	st     contactState
	link   store.Link
	linked bool
	add    []int64
	remove []int64
}

// outcome collects the results of a round, applied in one transaction.
type outcome struct {
	batch    store.Batch
	written  int64
	failed   int64
	retried  int64
	newest   int64           // newest Intercom updated_at written
	unknown  map[string]bool // writes of unknown outcome (kind|id): they stay journaled
	requeued map[string]bool // companies to rewrite
	released []string        // SMS numbers written contacts let go
}

// keep leaves a journaled write of unknown outcome in flight.
func (o *outcome) keep(p store.Pending) {
	if o.unknown == nil {
		o.unknown = map[string]bool{}
	}
	o.unknown[p.Kind+"|"+p.IntercomID] = true
}

func (o *outcome) done(p store.Pending) {
	o.batch.Done = append(o.batch.Done, p)
	o.batch.Clear = append(o.batch.Clear, store.Key{Kind: p.Kind, IntercomID: p.IntercomID})
}

// fail schedules a retry with backoff, or records a failure after the
// last attempt (the record stops blocking the others).
func (e *Engine) fail(o *outcome, p store.Pending, err error) {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return // shutting down: not an attempt; the record stays pending as is
	}
	attempts := p.Attempts + 1
	reason := err.Error()
	if attempts >= e.opts.MaxAttempts {
		o.batch.Done = append(o.batch.Done, p)
		o.batch.Fail = append(o.batch.Fail, store.Failure{Kind: p.Kind, IntercomID: p.IntercomID, Reason: reason, Attempts: attempts, At: e.opts.Now()})
		o.failed++
		e.log.Error("record failed", "kind", p.Kind, "id", p.IntercomID, "attempts", attempts, "error", reason)
		return
	}
	delay := e.opts.RetryBase << (attempts - 1)
	o.batch.Retry = append(o.batch.Retry, store.Retry{Kind: p.Kind, IntercomID: p.IntercomID, Version: p.Version,
		NotBefore: e.opts.Now().Add(delay), Error: reason})
	o.retried++
	e.log.Warn("record will be retried", "kind", p.Kind, "id", p.IntercomID, "attempt", attempts, "in", delay, "error", reason)
}

// bulkMin is how many ready contacts the writer waits for while a planner
// pass runs (or ImportBatch when smaller), so that imports carry
// thousands of contacts; bulkWait bounds that wait.
const (
	bulkMin  = 5000
	bulkWait = 15 * time.Second
)

func (e *Engine) writeContacts(ctx context.Context) (int, error) {
	ready, err := e.st.ReadyPending(ctx, e.id, store.KindContact, e.opts.Now(), e.opts.ImportBatch)
	if err != nil || len(ready) == 0 {
		return 0, err
	}
	ids := make([]string, len(ready))
	for i, p := range ready {
		ids[i] = p.IntercomID
	}
	links, err := e.st.GetLinks(ctx, e.id, store.KindContact, ids)
	if err != nil {
		return 0, err
	}
	o := &outcome{requeued: map[string]bool{}}
	var deletes, changes, writes, listOnly []*contactItem
	for _, p := range ready {
		st, err := decodePayload[contactState](p)
		if err != nil {
			e.fail(o, store.Pending{Kind: p.Kind, IntercomID: p.IntercomID, Version: p.Version, Attempts: e.opts.MaxAttempts}, err)
			continue
		}
		it := &contactItem{p: p, st: st}
		it.link, it.linked = links[p.IntercomID]
		it.add, it.remove = diffLists(it.link.Lists, st.Lists)
		switch {
		case st.Delete:
			deletes = append(deletes, it)
		case it.linked && it.link.Email != "" && st.Email != "" && !strings.EqualFold(it.link.Email, st.Email):
			changes = append(changes, it)
		case !it.linked || it.link.Hash != st.Hash:
			writes = append(writes, it)
		default:
			listOnly = append(listOnly, it)
		}
	}
	if err := e.claimSMS(ctx, slices.Concat(changes, writes, listOnly), deletes); err != nil {
		return 0, err
	}
	var single []*contactItem
	var groups [][]*contactItem
	if len(writes) >= e.opts.ImportThreshold {
		single, groups = importGroups(writes)
	} else {
		single = writes
	}
	gp := make([][]store.Pending, len(groups))
	for i, g := range groups {
		gp[i] = pendingOf(g)
	}
	journal, err := e.journal(ctx, pendingOf(slices.Concat(changes, single)), gp)
	if err != nil {
		return 0, err
	}
	lists := newListOps()
	e.writeDeletes(ctx, deletes, lists, o)
	for _, it := range changes {
		e.writeEmailChange(ctx, it, o)
	}
	for _, it := range single {
		e.upsertContact(ctx, it, lists, o)
	}
	for i, g := range groups {
		e.importContacts(ctx, g, journal[i], lists, o)
	}
	for _, it := range listOnly {
		lists.queue(it)
	}
	e.applyListOps(ctx, lists, o)
	if err := e.requeueCompanies(ctx, o); err != nil {
		return 0, err
	}
	e.settle(ctx, o, pendingOf(slices.Concat(changes, writes)))
	releaseSMS(o)
	// What Brevo accepted is recorded even when ctx ended meanwhile.
	if err := e.apply(context.WithoutCancel(ctx), o.batch); err != nil {
		return 0, err
	}
	if len(o.unknown) > 0 {
		e.recheck.Store(true)
	}
	e.count(func(s *Stats) {
		s.record(ResourceContacts, OutcomeWritten, o.written)
		s.record(ResourceContacts, OutcomeFailed, o.failed)
		s.NewestUpdated = max(s.NewestUpdated, o.newest)
	})
	e.log.Debug("contacts written", "ready", len(ready), "written", o.written, "retried", o.retried, "failed", o.failed)
	return len(ready), nil
}

// written records a successful contact write.
func (e *Engine) written(o *outcome, it *contactItem) {
	o.done(it.p)
	o.written++
	o.newest = max(o.newest, it.st.UpdatedAt)
	l := store.Link{
		Kind: store.KindContact, IntercomID: it.p.IntercomID, BrevoID: it.link.BrevoID,
		Email: it.st.Email, Hash: it.st.Hash, Lists: it.st.Lists, SourceUpdatedAt: it.st.UpdatedAt,
		Data: encode(it.st), Seen: max(it.st.Gen, it.link.Seen),
	}
	o.batch.Links = append(o.batch.Links, l)
	recordSMS(o, it, false)
	if e.bundle.Connector.Sync.Companies {
		old := decodeData[contactData](it.link.Data).Companies
		if !it.linked || !sameStrings(old, it.st.Companies) || it.link.Email != it.st.Email {
			for _, c := range append(slices.Clone(old), it.st.Companies...) {
				o.requeued[c] = true
			}
		}
	}
}

func (e *Engine) writeDeletes(ctx context.Context, items []*contactItem, lists *listOps, o *outcome) {
	for _, it := range items {
		if !it.linked {
			o.done(it.p) // never written: nothing to undo
			continue
		}
		if e.bundle.Connector.DeleteRemovedContacts || it.st.Merged {
			_, err := e.bc.Contacts.Delete(ctx, brevo.ByExtID(it.p.IntercomID))
			if err != nil && !errors.Is(err, brevo.ErrNotFound) {
				e.fail(o, it.p, fmt.Errorf("delete brevo contact: %w", err))
				continue
			}
			e.unlinked(o, it)
			continue
		}
		it.add, it.remove = nil, it.link.Lists
		lists.queue(it)
	}
}

// unlinked forgets a contact removed from Brevo (or from its lists).
func (e *Engine) unlinked(o *outcome, it *contactItem) {
	o.done(it.p)
	o.written++
	o.batch.Unlink = append(o.batch.Unlink, store.Key{Kind: store.KindContact, IntercomID: it.p.IntercomID})
	recordSMS(o, it, true)
	if o.batch.Members == nil {
		o.batch.Members = map[string][]string{}
	}
	o.batch.Members[it.p.IntercomID] = nil
	for _, c := range decodeData[contactData](it.link.Data).Companies {
		o.requeued[c] = true
	}
}

// writeEmailChange updates the Brevo contact found by ext_id, so an email
// change in Intercom changes the address of the same Brevo contact instead
// of creating a second one.
func (e *Engine) writeEmailChange(ctx context.Context, it *contactItem, o *outcome) {
	attrs := map[string]any{brevo.AttributeEmail: it.st.Email}
	for k, v := range it.st.Attributes {
		attrs[k] = v
	}
	u := &brevo.UpdateContact{Attributes: attrs, ListIDs: it.add, UnlinkListIDs: it.remove}
	if it.st.Blacklist {
		u.EmailBlacklisted = ptr(true)
	}
	_, err := e.bc.Contacts.Update(ctx, brevo.ByExtID(it.p.IntercomID), u)
	if smsTaken(err) && u.Attributes[config.TargetSMS] != nil {
		u.Attributes = withoutSMS(u.Attributes)
		it.st.Attributes = withoutSMS(it.st.Attributes)
		e.count(func(s *Stats) { s.SMSConflicts++ })
		_, err = e.bc.Contacts.Update(ctx, brevo.ByExtID(it.p.IntercomID), u)
	}
	if errors.Is(err, brevo.ErrNotFound) {
		// Not in Brevo under this ext_id (created before ext_ids were set):
		// write it as new.
		e.upsertContact(ctx, it, nil, o)
		return
	}
	if err != nil {
		e.fail(o, it.p, fmt.Errorf("update brevo contact (email change): %w", err))
		return
	}
	e.written(o, it)
}

func ptr[T any](v T) *T { return &v }

// smsTaken reports a refusal because another contact holds the SMS.
func smsTaken(err error) bool {
	var ae *brevo.APIError
	if !errors.As(err, &ae) || !errors.Is(err, brevo.ErrDuplicate) {
		return false
	}
	for _, id := range ae.DuplicateIdentifiers() {
		if strings.EqualFold(id, "SMS") {
			return true
		}
	}
	return false
}

func withoutSMS(attrs map[string]any) map[string]any {
	out := make(map[string]any, len(attrs))
	for k, v := range attrs {
		if k != config.TargetSMS {
			out[k] = v
		}
	}
	return out
}

// upsertContact writes one contact (POST /contacts with updateEnabled),
// adding its new lists in the same call.
func (e *Engine) upsertContact(ctx context.Context, it *contactItem, lists *listOps, o *outcome) {
	c := &brevo.CreateContact{Email: it.st.Email, ExtID: it.st.ExtID, Attributes: it.st.Attributes, ListIDs: it.add}
	if it.st.Blacklist {
		c.EmailBlacklisted = ptr(true)
	}
	res, _, err := e.bc.Contacts.Upsert(ctx, c)
	if smsTaken(err) && c.Attributes[config.TargetSMS] != nil {
		// Another Brevo contact has this number (Brevo identifiers are
		// unique): the contact is written without it, not failed.
		c.Attributes = withoutSMS(c.Attributes)
		it.st.Attributes = c.Attributes
		e.count(func(s *Stats) { s.SMSConflicts++ })
		e.log.Warn("SMS already belongs to another Brevo contact; written without it", "contact", it.p.IntercomID)
		res, _, err = e.bc.Contacts.Upsert(ctx, c)
	}
	if err != nil {
		e.fail(o, it.p, fmt.Errorf("upsert brevo contact: %w", err))
		return
	}
	if res != nil && res.ID > 0 {
		it.link.BrevoID = strconv.FormatInt(res.ID, 10)
	}
	if len(it.remove) > 0 && lists != nil {
		// Removals go through the list endpoints; the write completes
		// with them.
		it.add = nil
		lists.queue(it)
		return
	}
	e.written(o, it)
}

// importGroups splits the contacts to write in bulk into imports: one per
// set of lists to add (Brevo applies an import's listIds to all of its
// rows) and blacklist flag, rows in Intercom id order. Contacts that join
// no list cannot be imported (Brevo needs a list per import) and are
// upserted one by one (single).
func importGroups(items []*contactItem) (single []*contactItem, groups [][]*contactItem) {
	byKey := map[string][]*contactItem{}
	var keys []string
	for _, it := range items {
		if len(importLists(it)) == 0 {
			single = append(single, it)
			continue
		}
		k := fmt.Sprint(importLists(it), it.st.Blacklist)
		if _, ok := byKey[k]; !ok {
			keys = append(keys, k)
		}
		byKey[k] = append(byKey[k], it)
	}
	sort.Strings(keys)
	for _, k := range keys {
		g := byKey[k]
		slices.SortFunc(g, func(a, b *contactItem) int { return strings.Compare(a.p.IntercomID, b.p.IntercomID) })
		groups = append(groups, g)
	}
	return single, groups
}

// importLists are the listIds of the import that carries a contact: the
// lists it joins, or, for a contact that joins none, one managed list it
// is in and stays in (adding a member again changes nothing), so that
// attribute updates of contacts already in Brevo travel in bulk too
// instead of one call each. A contact in no managed list has none.
func importLists(it *contactItem) []int64 {
	if len(it.add) > 0 {
		return it.add
	}
	if !it.linked {
		return nil
	}
	for _, l := range it.link.Lists { // sorted
		if slices.Contains(it.st.Lists, l) {
			return []int64{l}
		}
	}
	return nil
}

// journal records the contact data writes of a round as in flight before
// they are sent, so that an agent taking over after a crash asks Brevo
// whether they happened instead of writing them twice. It returns the
// journal batch name of each import group. It also checks, fenced, that
// this agent still holds the connector's lease.
func (e *Engine) journal(ctx context.Context, single []store.Pending, groups [][]store.Pending) ([]store.InFlight, error) {
	now := e.opts.Now()
	round := strconv.FormatInt(now.UnixNano(), 36)
	var b store.Batch
	add := func(ps []store.Pending, batch string) {
		for _, p := range ps {
			b.InFlight = append(b.InFlight, store.InFlight{Kind: p.Kind, IntercomID: p.IntercomID, Version: p.Version, Batch: batch, At: now})
		}
	}
	add(single, round+"/one")
	marks := make([]store.InFlight, len(groups))
	for i, g := range groups {
		marks[i] = store.InFlight{Batch: round + importBatchMark + strconv.Itoa(i), At: now}
		add(g, marks[i].Batch)
	}
	if len(b.InFlight) == 0 {
		return marks, nil
	}
	if err := e.apply(ctx, b); err != nil {
		return nil, fmt.Errorf("journal writes: %w", err)
	}
	return marks, nil
}

// journalProcess records the Brevo import that carries journaled rows.
func (e *Engine) journalProcess(ctx context.Context, rows []store.Pending, mark store.InFlight, process int64) {
	var b store.Batch
	for _, p := range rows {
		b.InFlight = append(b.InFlight, store.InFlight{Kind: p.Kind, IntercomID: p.IntercomID, Version: p.Version,
			Batch: mark.Batch, At: mark.At, Process: process})
	}
	if err := e.apply(context.WithoutCancel(ctx), b); err != nil {
		e.log.Warn("journal brevo import process", "process", process, "error", err)
	}
}

// settle clears the journal of the rows a round neither recorded nor
// scheduled again (they were not sent). Rows left when ctx ended stay
// journaled: whether their write went out is for the next holder to find.
func (e *Engine) settle(ctx context.Context, o *outcome, sent []store.Pending) {
	if ctx.Err() != nil {
		return
	}
	closed := maps.Clone(o.unknown)
	if closed == nil {
		closed = map[string]bool{}
	}
	for _, p := range o.batch.Done {
		closed[p.Kind+"|"+p.IntercomID] = true
	}
	for _, r := range o.batch.Retry {
		closed[r.Kind+"|"+r.IntercomID] = true
	}
	for _, p := range sent {
		if !closed[p.Kind+"|"+p.IntercomID] {
			o.batch.InFlight = append(o.batch.InFlight, store.InFlight{Kind: p.Kind, IntercomID: p.IntercomID, Version: p.Version})
		}
	}
}

func pendingOf(items []*contactItem) []store.Pending {
	out := make([]store.Pending, len(items))
	for i, it := range items {
		out[i] = it.p
	}
	return out
}

// importContacts sends one import group. Once Brevo accepted it, its
// process is journaled: a successor then asks Brevo about the process.
func (e *Engine) importContacts(ctx context.Context, g []*contactItem, mark store.InFlight, lists *listOps, o *outcome) {
	if err := e.mayWrite(ctx); err != nil {
		return // the rows stay journaled; the next holder resolves them
	}
	rows := make([]brevo.ImportContact, len(g))
	for i, it := range g {
		rows[i] = brevo.ImportContact{Email: it.st.Email, ExtID: it.st.ExtID, Attributes: it.st.Attributes}
	}
	req := &brevo.ImportRequest{
		Contacts: rows, ListIDs: importLists(g[0]), EmailBlacklist: g[0].st.Blacklist,
		UpdateExistingContacts: ptr(true), NotifyURL: e.opts.NotifyURL, DisableNotification: true,
	}
	res, _, err := e.bc.Contacts.Import(ctx, req)
	accepted := 0
	if res != nil {
		accepted = res.Submitted
		e.trackImports(res.ProcessIDs, g[:accepted])
		e.count(func(s *Stats) { s.Imports += int64(len(res.ProcessIDs)); s.ImportedContacts += int64(accepted) })
	}
	if accepted > 0 {
		e.journalProcess(ctx, pendingOf(g[:accepted]), mark, res.ProcessIDs[len(res.ProcessIDs)-1])
	}
	for i, it := range g {
		if i < accepted {
			if len(it.remove) > 0 {
				it.add = nil
				lists.queue(it)
			} else {
				e.written(o, it)
			}
			continue
		}
		if errors.Is(err, brevo.ErrOutcomeUnknown) {
			// Brevo may or may not have the rows: they stay journaled and
			// are checked before they are written again.
			o.keep(it.p)
			continue
		}
		e.fail(o, it.p, fmt.Errorf("import brevo contacts: %w", err))
	}
}

// listOps collects list membership changes of a round by list, to send in
// chunks of 150 ext ids.
type listOps struct {
	add, remove map[int64][]*contactItem
	items       []*contactItem
}

func newListOps() *listOps {
	return &listOps{add: map[int64][]*contactItem{}, remove: map[int64][]*contactItem{}}
}

func (l *listOps) queue(it *contactItem) {
	if len(it.add) == 0 && len(it.remove) == 0 {
		l.items = append(l.items, it)
		return
	}
	for _, id := range it.add {
		l.add[id] = append(l.add[id], it)
	}
	for _, id := range it.remove {
		l.remove[id] = append(l.remove[id], it)
	}
	l.items = append(l.items, it)
}

// applyListOps sends the membership changes. Brevo reports ids it did not
// change as failures ("already in list and/or doesn't exist"): for an add
// or a removal that is the state wanted, so only a failed call fails its
// contacts.
func (e *Engine) applyListOps(ctx context.Context, l *listOps, o *outcome) {
	failed := map[string]error{}
	run := func(ops map[int64][]*contactItem, remove bool) {
		ids := make([]int64, 0, len(ops))
		for id := range ops {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, list := range ids {
			ext := make([]string, len(ops[list]))
			for i, it := range ops[list] {
				ext[i] = it.p.IntercomID
			}
			var err error
			if remove {
				_, _, err = e.bc.Lists.RemoveExtIDs(ctx, list, ext)
			} else {
				_, _, err = e.bc.Lists.AddExtIDs(ctx, list, ext)
			}
			if err != nil {
				verb := "add to"
				if remove {
					verb = "remove from"
				}
				for _, it := range ops[list] {
					failed[it.p.IntercomID] = fmt.Errorf("%s brevo list %d: %w", verb, list, err)
				}
			}
		}
	}
	run(l.remove, true)
	run(l.add, false)
	for _, it := range l.items {
		if err, ok := failed[it.p.IntercomID]; ok {
			e.fail(o, it.p, err)
			continue
		}
		if it.st.Delete {
			e.unlinked(o, it)
			continue
		}
		e.written(o, it)
	}
}

// requeueCompanies enqueues a rewrite of companies whose members changed
// in this round.
func (e *Engine) requeueCompanies(ctx context.Context, o *outcome) error {
	if len(o.requeued) == 0 {
		return nil
	}
	ids := make([]string, 0, len(o.requeued))
	for id := range o.requeued {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	cached, err := e.st.GetLinks(ctx, e.id, kindCompanyData, ids)
	if err != nil {
		return err
	}
	for _, id := range ids {
		l, ok := cached[id]
		if !ok {
			continue // not (yet) known: its own planning will write it
		}
		s := companyStateOf(decodeData[companyFacts](l.Data))
		o.batch.Enqueue = append(o.batch.Enqueue, store.Pending{Kind: store.KindCompany, IntercomID: id, Payload: encode(s)})
	}
	return nil
}

// importBatch remembers which contacts an import carried, until Brevo has
// applied it.
type importBatch struct {
	kind    string
	process int64
	ids     []string
	tries   int // verifications that ended in an error
}

func (e *Engine) trackImports(processes []int64, items []*contactItem) {
	if len(processes) == 0 {
		return
	}
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.p.IntercomID
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	// The client splits an import into requests in order; the contacts of
	// all its processes are verified with the last one (processes of one
	// account are applied in order).
	for i, p := range processes {
		b := importBatch{kind: store.KindContact, process: p}
		if i == len(processes)-1 {
			b.ids = ids
		}
		e.imports = append(e.imports, b)
	}
	e.lastContactProcess = processes[len(processes)-1]
}

// verifyImports waits until Brevo has applied the contact imports of this
// engine. It looks up the last contact of each import by ext_id (the
// contacts budget, 10 requests/s) rather than polling the process (the
// 100 requests/hour budget), and asks for the process status only when
// the contact does not appear. The records of a failed import are
// enqueued again (requeue); it returns how many.
func (e *Engine) verifyImports(ctx context.Context) (int, error) {
	e.writeMu.Lock()
	defer e.writeMu.Unlock()
	return e.verifyImportsLocked(ctx, 0)
}

// verifyOlderImports verifies, during a pass, the imports older than the
// newest one once they carry more than ImportBatch contacts: the ids kept
// to write a failed import again then stay bounded by the batch size, not
// by the workspace. Brevo applies an account's imports in order, so the
// older ones are usually done by then.
// The caller holds writeMu.
func (e *Engine) verifyOlderImports(ctx context.Context) error {
	e.mu.Lock()
	tracked := 0
	for _, ib := range e.imports {
		tracked += len(ib.ids)
	}
	e.mu.Unlock()
	if tracked <= e.opts.ImportBatch {
		return nil
	}
	_, err := e.verifyImportsLocked(ctx, 1)
	return err
}

// importsFailing fails a pass once Brevo has failed MaxAttempts
// verified imports in a row (their records are written again each time).
func (e *Engine) importsFailing() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.failedImports >= e.opts.MaxAttempts {
		n := e.failedImports
		e.failedImports = 0
		return fmt.Errorf("brevo failed %d imports in a row; their records stay pending for the next pass", n)
	}
	return nil
}

// verifyImportsLocked verifies the imports tracked but the newest keep.
func (e *Engine) verifyImportsLocked(ctx context.Context, keep int) (requeued int, err error) {
	e.mu.Lock()
	cut := max(len(e.imports)-keep, 0)
	pending := e.imports[:cut]
	e.imports = slices.Clone(e.imports[cut:])
	e.mu.Unlock()
	var firstErr error
	var unverified []importBatch // tried again by a later verification
	for i, ib := range pending {
		err := e.awaitImport(ctx, ib)
		switch {
		case err == nil:
			e.mu.Lock()
			e.failedImports = 0
			e.mu.Unlock()
		case errors.Is(err, brevo.ErrProcessFailed):
			e.mu.Lock()
			e.failedImports++
			e.mu.Unlock()
			e.log.Error("brevo import failed; its records are written again", "kind", ib.kind, "process", ib.process, "records", len(ib.ids))
			n, err := e.requeue(ctx, ib.kind, ib.ids)
			if err != nil {
				e.mu.Lock()
				e.imports = slices.Concat(unverified, pending[i:], e.imports)
				e.mu.Unlock()
				return requeued, fmt.Errorf("write again the records of failed brevo import %d: %w", ib.process, err)
			}
			requeued += n
		case ctx.Err() != nil:
			e.mu.Lock()
			e.imports = slices.Concat(unverified, pending[i:], e.imports)
			e.mu.Unlock()
			return requeued, ctx.Err()
		default:
			// Tried again by a later verification, MaxAttempts times in
			// all; then its records count as written, as Brevo accepted
			// the import.
			if ib.tries++; ib.tries < e.opts.MaxAttempts {
				unverified = append(unverified, ib)
			} else {
				e.log.Error("brevo import not verified; its records count as written", "kind", ib.kind, "process", ib.process, "records", len(ib.ids), "error", err)
			}
			if firstErr == nil {
				firstErr = fmt.Errorf("wait for brevo import %d: %w", ib.process, err)
			}
		}
	}
	if len(unverified) > 0 {
		e.mu.Lock()
		e.imports = slices.Concat(unverified, e.imports)
		e.mu.Unlock()
	}
	e.mu.Lock()
	if len(e.imports) == 0 {
		e.lastContactProcess = 0
	}
	e.mu.Unlock()
	return requeued, firstErr
}

// importWait bounds how long verifyImports looks for an imported contact
// before it asks Brevo for the process status.
const importWait = 2 * time.Minute

// unsentImportWait: see Engine.unsentWait.
const unsentImportWait = 15 * time.Second

func (e *Engine) awaitImport(ctx context.Context, ib importBatch) error {
	if ib.kind == store.KindCompany {
		// One poll or two per pass: companies are imported once per round.
		_, _, err := e.bc.Processes.Wait(ctx, ib.process, &brevo.WaitOptions{Interval: time.Second, MaxInterval: time.Minute})
		return err
	}
	if len(ib.ids) > 0 {
		probe := ib.ids[len(ib.ids)-1]
		deadline := e.opts.Now().Add(e.importWait)
		for attempt := 1; ; attempt++ {
			_, _, err := e.bc.Contacts.Get(ctx, brevo.ByExtID(probe))
			if err == nil {
				return nil
			}
			if !errors.Is(err, brevo.ErrNotFound) {
				return err
			}
			if e.opts.Now().After(deadline) {
				break
			}
			if err := backoff.Sleep(ctx, min(250*time.Millisecond<<min(attempt-1, 6), 10*time.Second)); err != nil {
				return err
			}
		}
	}
	_, _, err := e.bc.Processes.Wait(ctx, ib.process, &brevo.WaitOptions{Interval: 10 * time.Second, MaxInterval: time.Minute})
	return err
}

// OutcomeRequeued counts records written again because Brevo reported
// the import that carried them as failed (none of its rows is applied).
const OutcomeRequeued = "requeued"

// requeue writes again the records of an import Brevo reports failed.
// Their digests are forgotten and, for contacts, their lists (the
// import's listIds were not applied either; joining a list again is
// harmless) and email (so that writing it again rewrites its companies,
// which leave out a contact without a digest). A contact is enqueued again with the state recorded as
// written, unless a newer version already waits; a company with the
// Intercom company last read. It returns how many records wait to be
// written again.
func (e *Engine) requeue(ctx context.Context, kind string, ids []string) (int, error) {
	links, err := e.st.GetLinks(ctx, e.id, kind, ids)
	if err != nil {
		return 0, err
	}
	waiting, err := e.st.GetPending(ctx, e.id, kind, ids)
	if err != nil {
		return 0, err
	}
	o := &outcome{requeued: map[string]bool{}}
	resource := ResourceCompanies
	for _, l := range links {
		l.Hash = ""
		if kind == store.KindContact {
			resource, l.Lists, l.Email = ResourceContacts, nil, ""
			_, newer := waiting[l.IntercomID]
			if st := decodeData[contactState](l.Data); !newer && st.ExtID != "" {
				o.batch.Enqueue = append(o.batch.Enqueue, store.Pending{Kind: kind, IntercomID: l.IntercomID, Payload: l.Data})
			}
		} else if _, newer := waiting[l.IntercomID]; !newer {
			o.requeued[l.IntercomID] = true
		}
		o.batch.Links = append(o.batch.Links, l)
	}
	if err := e.requeueCompanies(ctx, o); err != nil {
		return 0, err
	}
	if err := e.apply(ctx, o.batch); err != nil {
		return 0, err
	}
	e.count(func(s *Stats) { s.record(resource, OutcomeRequeued, int64(len(links))) })
	e.notify()
	return len(o.batch.Enqueue) + len(waiting), nil
}
