package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/tajo/terraform-provider-tajo/agent/config"
	"github.com/tajo/terraform-provider-tajo/agent/intercom"
	"github.com/tajo/terraform-provider-tajo/agent/mapping"
	"github.com/tajo/terraform-provider-tajo/agent/store"
)

// Resources a pass can be limited to.
const (
	ResourceContacts      = "contacts"
	ResourceCompanies     = "companies"
	ResourceConversations = "conversations"
	ResourceEvents        = "events"
)

// Resources are the names PassOptions.Resources accepts.
var Resources = []string{ResourceContacts, ResourceCompanies, ResourceConversations, ResourceEvents}

// PassOptions select what a planner pass does.
type PassOptions struct {
	// Full reads every record; otherwise only what changed since the last
	// pass (a connector's first pass is always full).
	Full bool
	// Resources limits the pass (default: what the connector syncs).
	Resources []string
	// Since limits a full pass to records updated since then; such a pass
	// cannot notice deletions.
	Since time.Time
}

// Checkpoint names.
const (
	cpFull        = "full"
	cpIncremental = "incremental"
)

// fullCheckpoint tracks a full pass so a killed agent resumes it.
type fullCheckpoint struct {
	Gen           int64 `json:"gen"`
	Started       int64 `json:"started"`
	Since         int64 `json:"since,omitempty"`
	CompaniesDone bool  `json:"companies_done,omitempty"`
	// ConversationsDone: every conversation was read this pass.
	ConversationsDone bool   `json:"conversations_done,omitempty"`
	Cursor            string `json:"cursor,omitempty"`
	ContactsDone      bool   `json:"contacts_done,omitempty"`
	Done              bool   `json:"done,omitempty"`
}

// incrementalCheckpoint is the updated_at up to which contacts were
// planned, and when companies were last read (Unix seconds).
type incrementalCheckpoint struct {
	Since         int64 `json:"since"`
	CompaniesRead int64 `json:"companies_read,omitempty"`
}

// companyRefresh is how often incremental passes re-read every company:
// Intercom 2.11 cannot search companies by updated_at, so a re-read (a
// company scroll, one new scroll per minute per app) is the only way to see
// company changes without webhooks (company.updated delivers them at
// once in realtime and hybrid modes).
const companyRefresh = 15 * time.Minute

func (e *Engine) loadCheckpoint(ctx context.Context, name string, v any) (bool, error) {
	b, err := e.st.GetCheckpoint(ctx, e.id, name)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("checkpoint %s of %s is not valid (delete it with tajo-agent reset): %w", name, e.id, err)
	}
	return true, nil
}

func (e *Engine) wants(o PassOptions, resource string) bool {
	if len(o.Resources) > 0 && !slices.Contains(o.Resources, resource) {
		return false
	}
	switch resource {
	case ResourceContacts:
		return e.bundle.Connector.Sync.Contacts
	case ResourceCompanies:
		return e.bundle.Connector.Sync.Companies || e.needsCompanyData()
	case ResourceConversations:
		return e.bundle.Connector.Sync.Conversations
	case ResourceEvents:
		// Data events are read per contact: only when asked for by name
		// (a backfill) in a full pass; incremental passes read those of
		// the contacts that changed.
		return e.bundle.Connector.Sync.Events && slices.Contains(o.Resources, ResourceEvents)
	}
	return false
}

// needsCompanyData: contact mappings or list rules read company fields.
func (e *Engine) needsCompanyData() bool {
	for _, m := range e.bundle.EffectiveMappings() {
		if len(m.Source) > len("company.") && m.Source[:len("company.")] == "company." {
			return true
		}
	}
	for _, l := range e.bundle.Lists {
		if r, err := config.ParseRule(l.Rule); err == nil && r.Kind == "company_plan" {
			return true
		}
	}
	return false
}

// NeedsFull reports whether the next pass must be full: no full pass has
// completed, or one was interrupted.
func (e *Engine) NeedsFull(ctx context.Context) (bool, error) {
	var cp fullCheckpoint
	ok, err := e.loadCheckpoint(ctx, cpFull, &cp)
	if err != nil {
		return false, err
	}
	return !ok || !cp.Done, nil
}

// Plan runs one planner pass: it reads Intercom and enqueues what must
// change in Brevo. The writer (Drain, or the running agent) writes it.
func (e *Engine) Plan(ctx context.Context, o PassOptions) error {
	e.planning.Store(true)
	defer func() {
		e.planning.Store(false)
		e.notify()
	}()
	full, err := e.NeedsFull(ctx)
	if err != nil {
		return err
	}
	if o.Full || full {
		return e.planFull(ctx, o)
	}
	return e.planIncremental(ctx, o)
}

func (e *Engine) planFull(ctx context.Context, o PassOptions) error {
	var cp fullCheckpoint
	ok, err := e.loadCheckpoint(ctx, cpFull, &cp)
	if err != nil {
		return err
	}
	since := o.Since.Unix()
	if o.Since.IsZero() {
		since = 0
	}
	if !ok || cp.Done || cp.Since != since {
		cp = fullCheckpoint{Gen: cp.Gen + 1, Started: e.opts.Now().Unix(), Since: since}
		if err := e.saveCheckpoint(ctx, cpFull, cp); err != nil {
			return err
		}
	} else {
		e.log.Info("resuming full pass", "gen", cp.Gen, "companies_done", cp.CompaniesDone, "contacts_done", cp.ContactsDone)
	}
	if err := e.markEventsBaseline(ctx, cp.Started); err != nil {
		return err
	}
	e.log.Info("full pass", "gen", cp.Gen, "since", o.Since)
	tags, err := e.tagNames(ctx)
	if err != nil {
		return err
	}
	// Contacts read company.* from the company cache. The first full pass
	// fills it first (one scroll instead of a request per company); later
	// ones plan contacts from the cache at once and re-read companies
	// after, re-planning the contacts of companies that changed — so a
	// configuration change reaches contacts without waiting for Intercom's
	// one new company scroll per minute.
	cached, err := e.st.CountLinks(ctx, e.id, kindCompanyData)
	if err != nil {
		return err
	}
	companies := func() error {
		if !e.wants(o, ResourceCompanies) || cp.CompaniesDone {
			return nil
		}
		e.setProgress("companies", 0, 0)
		if err := e.planCompanies(ctx, cp.Gen, cached == 0); err != nil {
			return err
		}
		cp.CompaniesDone = true
		return e.saveCheckpoint(ctx, cpFull, cp)
	}
	if cached == 0 {
		if err := companies(); err != nil {
			return err
		}
	}
	// Conversations before contacts: contacts are planned with their
	// aggregates (and the first read sets the events baseline).
	if e.wants(o, ResourceConversations) && !cp.ConversationsDone {
		if err := e.planConversationsFull(ctx, cp.Gen); err != nil {
			return err
		}
		cp.ConversationsDone = true
		if err := e.saveCheckpoint(ctx, cpFull, cp); err != nil {
			return err
		}
	}
	if e.wants(o, ResourceContacts) && !cp.ContactsDone {
		if err := e.planContactsFull(ctx, &cp, tags, o.Since); err != nil {
			return err
		}
	}
	if err := companies(); err != nil {
		return err
	}
	if e.wants(o, ResourceEvents) {
		if err := e.backfillEvents(ctx); err != nil {
			return err
		}
	}
	if cp.Since == 0 {
		var kinds []string
		if e.wants(o, ResourceContacts) {
			kinds = append(kinds, store.KindContact)
		}
		if e.wants(o, ResourceCompanies) {
			kinds = append(kinds, kindCompanyData)
		}
		if err := e.planDeletions(ctx, cp.Gen, kinds); err != nil {
			return err
		}
	}
	cp.Done = true
	batch := store.Batch{Checkpoints: map[string][]byte{cpFull: encode(cp)}}
	// Changes made while the full pass ran are caught by the next
	// incremental pass: it starts where the full pass started.
	var inc incrementalCheckpoint
	if ok, err := e.loadCheckpoint(ctx, cpIncremental, &inc); err != nil {
		return err
	} else if !ok || inc.Since < cp.Started {
		read := inc.CompaniesRead
		if e.wants(o, ResourceCompanies) {
			read = cp.Started
		}
		batch.Checkpoints[cpIncremental] = encode(incrementalCheckpoint{Since: cp.Started, CompaniesRead: read})
	}
	e.setProgress("", 0, 0)
	return e.apply(ctx, batch)
}

func (e *Engine) saveCheckpoint(ctx context.Context, name string, v any) error {
	return e.apply(ctx, store.Batch{Checkpoints: map[string][]byte{name: encode(v)}})
}

// tagNames maps tag ids to names (contacts embed tag references only).
func (e *Engine) tagNames(ctx context.Context) (map[string]string, error) {
	if !e.bundle.Connector.Sync.Tags && !e.usesTags() {
		return nil, nil
	}
	tags, _, err := e.ic.Tags.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("list Intercom tags: %w", err)
	}
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[string(t.ID)] = t.Name
	}
	return m, nil
}

// expand follows the tag and company lists Intercom cut short in a
// contact (more than 10 items: one request each), only those the
// connector reads: tags for tag: list rules and the tags source, companies
// for company links and company.* data. A list not read stays as it came.
func (e *Engine) expand(ctx context.Context, c *intercom.Contact, tags, companies bool) error {
	x := *c // shares the lists: Expand completes them in place
	if !tags || x.Tags == nil || !x.Tags.HasMore {
		x.Tags = nil
	}
	if !companies || x.Companies == nil || !x.Companies.HasMore {
		x.Companies = nil
	}
	if x.Tags == nil && x.Companies == nil {
		return nil
	}
	if err := e.ic.Contacts.Expand(ctx, &x); err != nil {
		return fmt.Errorf("expand Intercom contact %s: %w", c.ID, err)
	}
	return nil
}

func (e *Engine) usesTags() bool {
	for _, m := range e.bundle.EffectiveMappings() {
		if m.Source == "tags" {
			return true
		}
	}
	for _, l := range e.bundle.Lists {
		if r, err := config.ParseRule(l.Rule); err == nil && r.Kind == "tag" {
			return true
		}
	}
	return false
}

// planCompanies scrolls every Intercom company into the company cache and,
// when companies are synced, enqueues those whose Brevo state changed. A
// scroll cannot resume, so an interrupted one starts over; unchanged
// companies cost nothing but the read. Unless first (the cache was empty),
// the contacts of changed companies are re-planned.
func (e *Engine) planCompanies(ctx context.Context, gen int64, first bool) error {
	var page []*intercom.Company
	var done int64
	flush := func() error {
		if len(page) == 0 {
			return nil
		}
		changed, err := e.planCompanyPage(ctx, page, gen)
		if err != nil {
			return err
		}
		done += int64(len(page))
		e.setProgress("companies", done, 0)
		if !first && len(changed) > 0 && e.contactsReadCompanies() {
			if err := e.replanMembers(ctx, changed); err != nil {
				return err
			}
		}
		page = page[:0]
		return nil
	}
	for co, err := range e.ic.Companies.ScrollAll(ctx) {
		if err != nil {
			return fmt.Errorf("scroll Intercom companies: %w", err)
		}
		page = append(page, co)
		if len(page) == 200 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// contactsReadCompanies: a company change changes its contacts' mapped
// attributes or lists.
func (e *Engine) contactsReadCompanies() bool { return e.needsCompanyData() }

// seenGen is the full pass generation that records read outside a full
// pass (a webhook, an incremental pass) count as seen by: the pass that
// runs, or ran last — they exist in Intercom. Otherwise a record written
// or re-cached this way while a full pass runs (a lead that got its email
// after the pass read its page, a queued write marked by the pass that a
// webhook replaced, a company updated after the pass read it) ends up
// unmarked, and the end of the pass takes it for deleted (planDeletions).
func (e *Engine) seenGen(ctx context.Context) (int64, error) {
	var cp fullCheckpoint
	_, err := e.loadCheckpoint(ctx, cpFull, &cp)
	return cp.Gen, err
}

// planCompanyPage caches a page of companies and enqueues their Brevo
// writes; it returns the ids whose facts changed.
func (e *Engine) planCompanyPage(ctx context.Context, cos []*intercom.Company, gen int64) ([]string, error) {
	if gen == 0 && len(cos) > 0 {
		var err error
		if gen, err = e.seenGen(ctx); err != nil {
			return nil, err
		}
	}
	ids := make([]string, len(cos))
	for i, c := range cos {
		ids[i] = c.ID
	}
	cached, err := e.st.GetLinks(ctx, e.id, kindCompanyData, ids)
	if err != nil {
		return nil, err
	}
	written, err := e.st.GetLinks(ctx, e.id, store.KindCompany, ids)
	if err != nil {
		return nil, err
	}
	pending, err := e.st.GetPending(ctx, e.id, store.KindCompany, ids)
	if err != nil {
		return nil, err
	}
	var b store.Batch
	var changed []string
	for _, c := range cos {
		f := factsOf(c)
		data := encode(f)
		digest := mapping.Hash(f)
		if old, ok := cached[c.ID]; !ok || old.Hash != digest {
			changed = append(changed, c.ID)
			b.Links = append(b.Links, store.Link{Kind: kindCompanyData, IntercomID: c.ID, Hash: digest, Data: data, SourceUpdatedAt: int64(c.UpdatedAt), Seen: gen})
		} else if gen > 0 {
			if b.Seen == nil {
				b.Seen = &store.Seen{Kind: kindCompanyData, Gen: gen}
			}
			b.Seen.IDs = append(b.Seen.IDs, c.ID)
		}
		if !e.bundle.Connector.Sync.Companies {
			continue
		}
		s := companyStateOf(f)
		_, queued := pending[c.ID]
		if w, ok := written[c.ID]; ok && w.Hash == s.Hash && !queued {
			e.count(func(s *Stats) { s.record(ResourceCompanies, OutcomeUnchanged, 1) })
			continue
		}
		b.Enqueue = append(b.Enqueue, store.Pending{Kind: store.KindCompany, IntercomID: c.ID, Payload: encode(s)})
	}
	e.count(func(s *Stats) {
		s.record(ResourceCompanies, OutcomeRead, int64(len(cos)))
		s.Enqueued += int64(len(b.Enqueue))
	})
	if err := e.apply(ctx, b); err != nil {
		return nil, err
	}
	if len(b.Enqueue) > 0 {
		e.notify()
	}
	return changed, nil
}

// replanMembers re-plans the contacts of companies whose facts changed:
// their company.* attributes or company_plan lists may differ now.
func (e *Engine) replanMembers(ctx context.Context, companies []string) error {
	tags, err := e.tagNames(ctx)
	if err != nil {
		return err
	}
	for _, id := range companies {
		var page []*intercom.Contact
		for c, err := range e.ic.Companies.AllContacts(ctx, id) {
			if err != nil {
				if errors.Is(err, intercom.ErrNotFound) {
					break
				}
				return fmt.Errorf("contacts of Intercom company %s: %w", id, err)
			}
			page = append(page, c)
			if len(page) == 150 {
				if err := e.planContacts(ctx, page, tags, 0, nil); err != nil {
					return err
				}
				page = nil
			}
		}
		if err := e.planContacts(ctx, page, tags, 0, nil); err != nil {
			return err
		}
	}
	return nil
}

// planContactsFull lists every contact (150 per page), checkpointing the
// cursor with each page's writes.
func (e *Engine) planContactsFull(ctx context.Context, cp *fullCheckpoint, tags map[string]string, since time.Time) error {
	var pages func(yield func(*intercom.Page[*intercom.Contact], error) bool)
	if since.IsZero() {
		pages = e.ic.Contacts.Pages(ctx, intercom.ListOptions{StartingAfter: cp.Cursor})
	} else {
		req := intercom.SearchRequest{
			Query:         intercom.UpdatedSince(since),
			Sort:          &intercom.Sort{Field: "updated_at", Order: intercom.SortAscending},
			StartingAfter: cp.Cursor,
		}
		pages = e.ic.Contacts.SearchPages(ctx, req)
	}
	var done int64
	start := e.opts.Now()
	for page, err := range pages {
		if err != nil {
			return fmt.Errorf("list Intercom contacts: %w", err)
		}
		next := *cp
		next.Cursor = page.Next
		if page.Next == "" {
			next.ContactsDone = true
		}
		items := page.Items
		if !since.IsZero() {
			items = slices.DeleteFunc(items, func(c *intercom.Contact) bool { return c.UpdatedAt.Time().Before(since) })
		}
		if err := e.planContacts(ctx, items, tags, cp.Gen, map[string][]byte{cpFull: encode(next)}); err != nil {
			return err
		}
		*cp = next
		done += int64(len(page.Items))
		e.setProgressRate("contacts", done, int64(page.TotalCount), start)
	}
	if !cp.ContactsDone {
		cp.ContactsDone = true
		return e.saveCheckpoint(ctx, cpFull, *cp)
	}
	return nil
}

// planIncremental searches contacts updated since the checkpoint (with
// the overlap the 2.11 day-granular search needs) and re-reads companies.
func (e *Engine) planIncremental(ctx context.Context, o PassOptions) error {
	var inc incrementalCheckpoint
	if _, err := e.loadCheckpoint(ctx, cpIncremental, &inc); err != nil {
		return err
	}
	tags, err := e.tagNames(ctx)
	if err != nil {
		return err
	}
	if e.wants(o, ResourceCompanies) && e.opts.Now().Unix()-inc.CompaniesRead >= int64(companyRefresh/time.Second) {
		if err := e.planCompanies(ctx, 0, false); err != nil {
			return err
		}
		inc.CompaniesRead = e.opts.Now().Unix()
		if err := e.saveCheckpoint(ctx, cpIncremental, inc); err != nil {
			return err
		}
	}
	if e.wants(o, ResourceConversations) {
		if err := e.planConversationsIncremental(ctx); err != nil {
			return err
		}
	}
	if !e.wants(o, ResourceContacts) {
		return nil
	}
	eventsSince, err := e.eventsBaseline(ctx)
	if err != nil {
		return err
	}
	if eventsSince == 0 && e.bundle.Connector.Sync.Events {
		// No full pass set it (a store from before baselines): from what
		// this connector has synced up to.
		if err := e.markEventsBaseline(ctx, inc.Since); err != nil {
			return err
		}
		eventsSince = inc.Since
	}
	since := time.Unix(inc.Since, 0)
	req := intercom.SearchRequest{
		Query: intercom.UpdatedSince(since),
		Sort:  &intercom.Sort{Field: "updated_at", Order: intercom.SortAscending},
	}
	newest := inc.Since
	for page, err := range e.ic.Contacts.SearchPages(ctx, req) {
		if err != nil {
			return fmt.Errorf("search Intercom contacts updated since %s: %w", since.UTC().Format(time.RFC3339), err)
		}
		for _, c := range page.Items {
			newest = max(newest, int64(c.UpdatedAt))
		}
		cp := map[string][]byte{cpIncremental: encode(incrementalCheckpoint{Since: newest, CompaniesRead: inc.CompaniesRead})}
		if err := e.planContacts(ctx, page.Items, tags, 0, cp); err != nil {
			return err
		}
		if e.bundle.Connector.Sync.Events {
			// A contact that changed may have new data events (the 90
			// days Intercom lists; already sent ones are recognised).
			var changed []string
			for _, c := range page.Items {
				if int64(c.UpdatedAt) > inc.Since {
					changed = append(changed, c.ID)
				}
			}
			if err := e.planDataEvents(ctx, changed, eventsSince); err != nil {
				return err
			}
		}
	}
	return nil
}

// planContacts maps a page of contacts and, in one transaction with the
// given checkpoints, enqueues those whose Brevo state differs from what was
// written (or from what is already queued). gen > 0 marks them seen by a
// full pass.
func (e *Engine) planContacts(ctx context.Context, cs []*intercom.Contact, tags map[string]string, gen int64, checkpoints map[string][]byte) error {
	if len(cs) == 0 && checkpoints == nil {
		return nil
	}
	if gen == 0 && len(cs) > 0 {
		var err error
		if gen, err = e.seenGen(ctx); err != nil {
			return err
		}
	}
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	links, err := e.st.GetLinks(ctx, e.id, store.KindContact, ids)
	if err != nil {
		return err
	}
	pending, err := e.st.GetPending(ctx, e.id, store.KindContact, ids)
	if err != nil {
		return err
	}
	facts, err := e.companyFacts(ctx, cs)
	if err != nil {
		return err
	}
	var convs map[string][]store.Conversation
	if e.bundle.Connector.Sync.Conversations {
		if convs, err = e.st.ConversationsOf(ctx, e.id, ids); err != nil {
			return err
		}
	}
	b := store.Batch{Checkpoints: checkpoints, Members: map[string][]string{}}
	if gen > 0 {
		b.Seen = &store.Seen{Kind: store.KindContact, IDs: ids, Gen: gen}
	}
	readTags, readCompanies := e.usesTags(), e.bundle.Connector.Sync.Companies || e.needsCompanyData()
	for _, c := range cs {
		if err := e.expand(ctx, c, readTags, readCompanies); err != nil {
			return err
		}
		var agg *aggregates
		if convs != nil {
			agg = aggregate(convs[c.ID])
		}
		st, ok := e.desired(c, facts, agg, tags, gen)
		link, linked := links[c.ID]
		if !ok {
			e.count(func(s *Stats) { s.record(ResourceContacts, OutcomeSkipped, 1) })
			if linked {
				// Synced before (it had an email); the lead policy drops it now.
				st = contactState{ExtID: c.ID, Delete: true}
			} else {
				continue
			}
		}
		companies := st.Companies
		if linked && !st.Delete {
			old := decodeData[contactData](link.Data)
			if !sameStrings(old.Companies, companies) {
				b.Members[c.ID] = companies
			}
		} else if !linked {
			b.Members[c.ID] = companies
		}
		p, queued := pending[c.ID]
		if linked && !queued && !st.Delete && link.Hash == st.Hash && slices.Equal(link.Lists, st.Lists) &&
			sameStrings(decodeData[contactData](link.Data).Companies, companies) {
			e.count(func(s *Stats) { s.record(ResourceContacts, OutcomeUnchanged, 1) })
			continue
		}
		if queued && string(p.Payload) == string(encode(st)) {
			continue // already queued as is
		}
		b.Enqueue = append(b.Enqueue, store.Pending{Kind: store.KindContact, IntercomID: c.ID, Payload: encode(st)})
	}
	if len(b.Members) == 0 {
		b.Members = nil
	}
	e.count(func(s *Stats) {
		s.record(ResourceContacts, OutcomeRead, int64(len(cs)))
		s.Enqueued += int64(len(b.Enqueue))
	})
	if err := e.apply(ctx, b); err != nil {
		return err
	}
	if len(b.Enqueue) > 0 {
		e.notify()
	}
	return nil
}

// desired maps a contact to its Brevo state; ok is false when the lead
// policy leaves it out.
func (e *Engine) desired(c *intercom.Contact, facts map[string]*companyFacts, agg *aggregates, tags map[string]string, gen int64) (contactState, bool) {
	if c.Email == "" && e.bundle.Connector.LeadPolicy != config.LeadPolicyExtID {
		return contactState{}, false
	}
	companies := companyIDs(c)
	rec := &contactRecord{c: c, agg: agg, tags: tagNames(c, tags)}
	if len(companies) > 0 {
		rec.company = facts[companies[0]]
	}
	res := e.mapper.Map(rec)
	if n := len(res.Warnings); n > 0 {
		e.count(func(s *Stats) { s.PhoneWarnings += int64(n) })
		e.log.Debug("field skipped", "contact", c.ID, "issues", idsOf(res.Warnings, mapping.FieldIssue.String))
	}
	if n := len(res.Errors); n > 0 {
		e.count(func(s *Stats) { s.FieldErrors += int64(n) })
		e.log.Warn("fields not written", "contact", c.ID, "issues", idsOf(res.Errors, mapping.FieldIssue.String))
	}
	email := res.Email
	if email == "" {
		email = c.Email
	}
	f := Facts{Role: c.Role, Tags: rec.tags}
	if rec.company != nil {
		f.CompanyPlan = rec.company.Plan
	}
	if agg != nil {
		f.ActiveConversation, f.ConversationTags = agg.open > 0, agg.tags
	}
	st := contactState{
		ExtID:      c.ID,
		Email:      email,
		Attributes: res.Attributes,
		Blacklist:  c.UnsubscribedFromEmails,
		Lists:      e.lists.For(f),
		UpdatedAt:  int64(c.UpdatedAt),
		Gen:        gen,
		Facts:      &f,
	}
	if e.bundle.Connector.Sync.Companies {
		st.Companies = companies
	}
	if len(st.Attributes) == 0 {
		st.Attributes = nil
	}
	st.seal()
	return st, true
}

// companyFacts returns the cached facts of the contacts' primary
// companies, fetching (and caching) companies the cache does not have.
func (e *Engine) companyFacts(ctx context.Context, cs []*intercom.Contact) (map[string]*companyFacts, error) {
	if !e.needsCompanyData() {
		return nil, nil
	}
	var ids []string
	for _, c := range cs {
		if co := companyIDs(c); len(co) > 0 && !slices.Contains(ids, co[0]) {
			ids = append(ids, co[0])
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	cached, err := e.st.GetLinks(ctx, e.id, kindCompanyData, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*companyFacts, len(ids))
	var missing []*intercom.Company
	for _, id := range ids {
		if l, ok := cached[id]; ok {
			f := decodeData[companyFacts](l.Data)
			out[id] = &f
			continue
		}
		co, _, err := e.ic.Companies.Get(ctx, id)
		if errors.Is(err, intercom.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("get Intercom company %s: %w", id, err)
		}
		f := factsOf(co)
		out[id] = &f
		missing = append(missing, co)
	}
	if len(missing) > 0 {
		if _, err := e.planCompanyPage(ctx, missing, 0); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// backfillEvents reads the data events of every synced contact (the last
// 90 days Intercom keeps): one request per contact, run on demand with
// `tajo-agent sync --once --full --resources events`.
func (e *Engine) backfillEvents(ctx context.Context) error {
	for after := ""; ; {
		page, err := e.st.ScanLinks(ctx, e.id, store.ScanOptions{Kind: store.KindContact, After: after, Limit: 500})
		if err != nil {
			return err
		}
		if len(page) == 0 {
			return nil
		}
		ids := make([]string, len(page))
		for i, l := range page {
			ids[i] = l.IntercomID
		}
		if err := e.planDataEvents(ctx, ids, 0); err != nil {
			return err
		}
		after = page[len(page)-1].IntercomID
	}
}

// planDeletions enqueues the removal of records a complete full pass did
// not see: deleted, archived or merged away in Intercom.
func (e *Engine) planDeletions(ctx context.Context, gen int64, kinds []string) error {
	for _, kind := range kinds {
		for after := ""; ; {
			page, err := e.st.ScanLinks(ctx, e.id, store.ScanOptions{Kind: kind, After: after, Limit: 500, SeenBefore: gen})
			if err != nil {
				return err
			}
			if len(page) == 0 {
				break
			}
			var b store.Batch
			for _, l := range page {
				if kind == store.KindContact {
					b.Enqueue = append(b.Enqueue, store.Pending{Kind: store.KindContact, IntercomID: l.IntercomID,
						Payload: encode(contactState{ExtID: l.IntercomID, Delete: true})})
					continue
				}
				b.Unlink = append(b.Unlink, store.Key{Kind: kindCompanyData, IntercomID: l.IntercomID})
				if e.bundle.Connector.Sync.Companies {
					b.Enqueue = append(b.Enqueue, store.Pending{Kind: store.KindCompany, IntercomID: l.IntercomID,
						Payload: encode(companyState{IntercomID: l.IntercomID, Delete: true})})
				}
			}
			if err := e.apply(ctx, b); err != nil {
				return err
			}
			e.log.Info("records gone from Intercom", "kind", kind, "count", len(page))
			after = page[len(page)-1].IntercomID
			e.notify()
		}
	}
	return nil
}
