package sync

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/tajo/terraform-provider-tajo/agent/brevo"
	"github.com/tajo/terraform-provider-tajo/agent/store"
)

// Brevo's companies endpoints share the 100 requests/hour budget, so
// companies are written through CSV imports (one request for thousands of
// rows) and a new company's Brevo id is looked up only when it must be
// updated (by its intercom_id attribute), never in a loop.

// companyColumns are the columns of a companies import, in order.
var companyColumns = []string{
	brevo.ColumnCompanyID, "name", companyAttrIntercomID, companyAttrPlan, "domain", "industry", "number_of_employees",
	brevo.ColumnAssociatedContact,
}

// prepareCompanies creates the company attributes the agent writes
// (intercom_id, plan) when Brevo lacks them, once per engine.
func (e *Engine) prepareCompanies(ctx context.Context) error {
	e.mu.Lock()
	ready := e.companyAttrsReady
	e.mu.Unlock()
	if ready {
		return nil
	}
	attrs, _, err := e.bc.Companies.Attributes(ctx)
	if err != nil {
		return fmt.Errorf("list brevo company attributes: %w", err)
	}
	have := map[string]bool{}
	for _, a := range attrs {
		have[a.InternalName] = true
	}
	for _, name := range []string{companyAttrIntercomID, companyAttrPlan} {
		if have[name] {
			continue
		}
		if err := createAttribute(ctx, func() error {
			_, _, err := e.bc.Companies.CreateAttribute(ctx, name, "text")
			return err
		}); err != nil {
			return fmt.Errorf("create brevo company attribute %s: %w", name, err)
		}
		e.log.Info("created brevo company attribute", "attribute", name)
	}
	e.mu.Lock()
	e.companyAttrsReady = true
	e.mu.Unlock()
	return nil
}

type companyItem struct {
	p      store.Pending
	st     companyState
	link   store.Link
	linked bool
	data   companyLinkData
	// members are the emails to associate; departed were associated
	// before and are not members any more.
	members, departed []string
}

func (e *Engine) writeCompanies(ctx context.Context) (int, error) {
	ready, err := e.st.ReadyPending(ctx, e.id, store.KindCompany, e.opts.Now(), 1000)
	if err != nil || len(ready) == 0 {
		return 0, err
	}
	if err := e.prepareCompanies(ctx); err != nil {
		return 0, err
	}
	// Links name contacts by email: Brevo must have applied the contact
	// imports that created them.
	if _, err := e.verifyImportsLocked(ctx, 0); err != nil {
		return 0, err
	}
	ids := make([]string, len(ready))
	for i, p := range ready {
		ids[i] = p.IntercomID
	}
	links, err := e.st.GetLinks(ctx, e.id, store.KindCompany, ids)
	if err != nil {
		return 0, err
	}
	o := &outcome{}
	known, err := e.knownCompanies(ctx, ready, links)
	if err != nil {
		return 0, err
	}
	var items []*companyItem
	for _, p := range ready {
		st, err := decodePayload[companyState](p)
		if err != nil {
			e.fail(o, store.Pending{Kind: p.Kind, IntercomID: p.IntercomID, Version: p.Version, Attempts: e.opts.MaxAttempts}, err)
			continue
		}
		it := &companyItem{p: p, st: st}
		it.link, it.linked = links[p.IntercomID]
		it.data = decodeData[companyLinkData](it.link.Data)
		if st.Delete {
			e.deleteCompany(ctx, it, o)
			continue
		}
		if it.linked && it.link.BrevoID == "" {
			if retry := e.discoverCompany(ctx, it, o, known); retry {
				continue
			}
		}
		items = append(items, it)
	}
	if err := e.companyMembers(ctx, items); err != nil {
		return 0, err
	}
	// Companies the import creates are journaled: an agent taking over
	// after a crash looks them up instead of creating them twice.
	var created []store.Pending
	for _, it := range items {
		if it.link.BrevoID == "" {
			created = append(created, it.p)
		}
	}
	marks, err := e.journal(ctx, nil, [][]store.Pending{created})
	if err != nil {
		return 0, err
	}
	e.importCompanies(ctx, items, o, created, marks[0])
	e.settle(ctx, o, created)
	if err := e.apply(context.WithoutCancel(ctx), o.batch); err != nil {
		return 0, err
	}
	if len(o.unknown) > 0 {
		e.recheck.Store(true)
	}
	e.count(func(s *Stats) {
		s.record(ResourceCompanies, OutcomeWritten, o.written)
		s.record(ResourceCompanies, OutcomeFailed, o.failed)
	})
	return len(ready), nil
}

func (e *Engine) deleteCompany(ctx context.Context, it *companyItem, o *outcome) {
	if it.link.BrevoID != "" {
		if _, err := e.bc.Companies.Delete(ctx, it.link.BrevoID); err != nil && !errors.Is(err, brevo.ErrNotFound) {
			e.fail(o, it.p, fmt.Errorf("delete brevo company: %w", err))
			return
		}
	}
	o.done(it.p)
	o.batch.Unlink = append(o.batch.Unlink, store.Key{Kind: store.KindCompany, IntercomID: it.p.IntercomID})
}

// discoverCompany finds the Brevo id of a company an earlier import
// created. It reports retry when the import is still running (the company
// is written later, not created twice).
func (e *Engine) discoverCompany(ctx context.Context, it *companyItem, o *outcome, known map[string][]string) (retry bool) {
	var found []string
	if known != nil {
		found = known[it.p.IntercomID]
	} else {
		cs, _, err := e.bc.Companies.FindByAttribute(ctx, companyAttrIntercomID, it.p.IntercomID)
		if err != nil {
			e.fail(o, it.p, fmt.Errorf("look up brevo company by intercom_id: %w", err))
			return true
		}
		for _, c := range cs {
			found = append(found, c.ID)
		}
	}
	if len(found) > 0 {
		if len(found) > 1 {
			e.log.Warn("several brevo companies carry one intercom_id; updating the first", "intercom_id", it.p.IntercomID, "count", len(found))
		}
		it.link.BrevoID = found[0]
		return false
	}
	if it.data.Sent != 0 {
		// The import that may have created it got no answer: Brevo may
		// still apply it. Created again only once that is unlikely (as
		// for contacts, see importDeadline), else it would exist twice.
		if until := time.UnixMilli(it.data.Sent).Add(e.unsentWait); e.opts.Now().Before(until) {
			o.batch.Retry = append(o.batch.Retry, store.Retry{Kind: it.p.Kind, IntercomID: it.p.IntercomID, Version: it.p.Version,
				NotBefore: until, Error: "brevo may still apply an import of the company whose answer was lost"})
			return true
		}
	}
	if it.data.Process != 0 {
		p, _, err := e.bc.Processes.Get(ctx, it.data.Process)
		if err != nil {
			e.fail(o, it.p, fmt.Errorf("check brevo import %d: %w", it.data.Process, err))
			return true
		}
		if !p.Status.Done() {
			o.batch.Retry = append(o.batch.Retry, store.Retry{Kind: it.p.Kind, IntercomID: it.p.IntercomID, Version: it.p.Version,
				NotBefore: e.opts.Now().Add(time.Minute), Error: "brevo is still importing the company"})
			return true
		}
	}
	return false // the import did not create it: create it again
}

// knownCompanies lists the Brevo companies by intercom_id when the round
// has more companies to find again than listing them all costs requests
// (GET /companies is in Brevo's 100 requests/hour budget): nil when each
// is better looked up on its own.
func (e *Engine) knownCompanies(ctx context.Context, ready []store.Pending, links map[string]store.Link) (map[string][]string, error) {
	need := 0
	for _, p := range ready {
		if l, ok := links[p.IntercomID]; ok && l.BrevoID == "" {
			need++
		}
	}
	total, err := e.st.CountLinks(ctx, e.id, store.KindCompany)
	if err != nil {
		return nil, err
	}
	pages := int(total)/brevo.MaxCompaniesPage + 1
	if need <= pages {
		return nil, nil
	}
	known := map[string][]string{}
	for c, err := range e.bc.Companies.All(ctx, &brevo.ListCompaniesOptions{Sort: brevo.SortAsc}) {
		if err != nil {
			return nil, fmt.Errorf("list brevo companies to find %d created by imports: %w", need, err)
		}
		if id, ok := c.Attributes[companyAttrIntercomID].(string); ok && id != "" {
			known[id] = append(known[id], c.ID)
		}
	}
	e.log.Debug("brevo companies listed to find those imports created", "companies", len(known), "wanted", need)
	return known, nil
}

// companyMembers resolves the emails of each company's contacts.
func (e *Engine) companyMembers(ctx context.Context, items []*companyItem) error {
	for _, it := range items {
		contacts, err := e.st.MembersOf(ctx, e.id, it.p.IntercomID)
		if err != nil {
			return err
		}
		links, err := e.st.GetLinks(ctx, e.id, store.KindContact, contacts)
		if err != nil {
			return err
		}
		for _, l := range links {
			if l.Email != "" && l.Hash != "" {
				it.members = append(it.members, strings.ToLower(l.Email))
			}
		}
		sort.Strings(it.members)
		if it.link.BrevoID != "" {
			for _, m := range it.data.Members {
				if !slices.Contains(it.members, m) {
					it.departed = append(it.departed, m)
				}
			}
		}
	}
	return nil
}

// importCompanies writes companies with one import that creates new ones,
// updates known ones and links their members, and one that unlinks
// departed members.
func (e *Engine) importCompanies(ctx context.Context, items []*companyItem, o *outcome, created []store.Pending, mark store.InFlight) {
	if len(items) == 0 {
		return
	}
	rows := make([][]string, 0, len(items))
	var unlink [][]string
	for _, it := range items {
		a := it.st.Attributes
		rows = append(rows, []string{it.link.BrevoID, it.st.Name, a[companyAttrIntercomID], a[companyAttrPlan], a["domain"], a["industry"],
			a["number_of_employees"], strings.Join(it.members, ";")})
		if len(it.departed) > 0 {
			unlink = append(unlink, []string{it.link.BrevoID, it.st.Name, "", "", "", "", "", strings.Join(it.departed, ";")})
		}
	}
	pid, err := e.companyImport(ctx, rows, brevo.CompanyImportMapping{LinkEntities: true, UpdateExistingRecords: true})
	if pid != 0 && len(created) > 0 {
		e.journalProcess(ctx, created, mark, pid)
	}
	var unlinkPID int64
	if err == nil && len(unlink) > 0 {
		unlinkPID, err = e.companyImport(ctx, unlink, brevo.CompanyImportMapping{UnlinkEntities: true, UpdateExistingRecords: true})
	}
	if pid != 0 {
		ids := make([]string, len(items))
		for i, it := range items {
			ids[i] = it.p.IntercomID
		}
		e.mu.Lock()
		e.imports = append(e.imports, importBatch{kind: store.KindCompany, process: pid, ids: ids})
		if unlinkPID != 0 {
			e.imports = append(e.imports, importBatch{kind: store.KindCompany, process: unlinkPID, ids: ids})
		}
		e.mu.Unlock()
	}
	for _, it := range items {
		if err != nil && errors.Is(err, brevo.ErrOutcomeUnknown) && it.link.BrevoID == "" {
			o.keep(it.p) // journaled: looked up before it is created again
			continue
		}
		if err != nil {
			e.fail(o, it.p, fmt.Errorf("import brevo companies: %w", err))
			continue
		}
		data := companyLinkData{Members: it.members}
		if it.link.BrevoID == "" {
			data.Process = pid
		}
		o.done(it.p)
		o.written++
		o.batch.Links = append(o.batch.Links, store.Link{Kind: store.KindCompany, IntercomID: it.p.IntercomID, BrevoID: it.link.BrevoID,
			Hash: it.st.Hash, Data: encode(data)})
	}
}

func (e *Engine) companyImport(ctx context.Context, rows [][]string, m brevo.CompanyImportMapping) (int64, error) {
	csv, err := brevo.CompaniesCSV(companyColumns, rows)
	if err != nil {
		return 0, err
	}
	pid, _, err := e.bc.Companies.Import(ctx, &brevo.CompanyImport{CSV: csv, Mapping: m})
	return pid, err
}
