package main

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tajo/terraform-provider-tajo/agent/sandbox"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox/dataset"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox/expect"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox/fakebrevo"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox/fakeintercom"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox/harness"
)

// Premium plan budget as the sandbox enforces it (fakeintercom defaults:
// 100 requests per 10 s per app, contact search 1/s, one new company
// scroll per minute).
const (
	premiumBudget  = 100
	budgetWindow   = 10 * time.Second
	contactPage    = 150 // GET /contacts per_page maximum
	companyScroll  = 50  // companies per scroll page (fakeintercom default; Intercom fixes it server-side)
	floorOverheads = 3   // GET /me, GET /tags, and the empty scroll page that ends the company scroll
)

// syncFixture is the sandbox and store that scenarios 1, 3 and 4 share: a
// full sync, then an unchanged re-sync, then 1 % churn, on one workspace.
type syncFixture struct {
	srv      *served
	storeURL string
	env      []string
}

type fullOptions struct {
	contacts, companies int
}

// scenarioFull is scenario 1: a full sync at the Premium budget.
func (r *runner) scenarioFull(ctx context.Context, o fullOptions) (*syncFixture, Scenario) {
	s := Scenario{Name: "full", Title: fmt.Sprintf("full sync of %d contacts / %d companies at the Premium budget", o.contacts, o.companies),
		Params: map[string]any{"contacts": o.contacts, "companies": o.companies, "intercom_app_budget_per_10s": premiumBudget,
			"intercom_search_per_s": 1, "intercom_scroll_opens_per_min": 1, "brevo_budgets": "general tier (contacts 10/s, other 100/h)",
			"store": "sqlite", "agent": "tajo-agent sync --once (separate process)", "companies_written": false}}
	s.note("%s", companyNote)
	sb := sandbox.New(sandbox.Options{Contacts: o.contacts, Seed: 1,
		Intercom: fakeintercom.Options{Dataset: dataset.Options{Companies: o.companies},
			AppBudget: premiumBudget, SearchPerSecond: 1, ScrollOpensPerMinute: 1}})
	sb.Intercom.Harness().KeepLog = true
	srv, err := serveSandbox(sb)
	if err != nil {
		s.Error = err.Error()
		return nil, s
	}
	fx := &syncFixture{srv: srv, storeURL: "sqlite://" + filepath.Join(r.tmp, "full", "tajo.db")}
	fx.env = srv.endpoints().env(fx.storeURL)
	if err := applyConfig(ctx, fx.storeURL, srv.endpoints(), connectorOptions{}); err != nil {
		s.Error = err.Error()
		return fx, s
	}
	counts := sb.Intercom.Counts()
	withEmail, manyTags, manyCompanies := 0, 0, 0
	for _, id := range sb.Intercom.ContactIDs() {
		c, ok := sb.Intercom.Contact(id)
		if !ok {
			continue
		}
		if c.Email != "" {
			withEmail++
		}
		// Intercom embeds 10 tags and 10 companies per contact, with
		// has_more beyond: completing the list costs a request.
		if len(c.Tags) > 10 {
			manyTags++
		}
		if len(c.Companies) > 10 {
			manyCompanies++
		}
	}
	s.Params["contacts_with_email"] = withEmail
	s.Params["contacts_with_more_than_10_tags"] = manyTags
	s.Params["contacts_with_more_than_10_companies"] = manyCompanies

	r.logf("full: syncing %d contacts, %d companies at %d requests/10 s…", counts.Contacts, counts.Companies, premiumBudget)
	floor := ceilDiv(counts.Contacts, contactPage) + ceilDiv(counts.Companies, companyScroll) + floorOverheads
	floorTime := float64(floor) * budgetWindow.Seconds() / premiumBudget
	// Eight times what the budget allows, at least two minutes: room to
	// measure a sync far off its target, and still bounded.
	timeout := max(2*time.Minute, time.Duration(8*floorTime)*time.Second)
	p, err := runAgent(ctx, foreground, timeout, r.bin.Agent, fx.env, "sync", "--once", "--log-level", agentLogLevel)
	if err != nil {
		s.Error = err.Error()
		is, bs := sb.Intercom.Harness().Stats(), sb.Brevo.Harness().Stats()
		s.note("Intercom requests so far: %s", routes(is.ByRoute))
		s.note("Brevo requests so far: %s", routes(bs.ByRoute))
		return fx, s
	}
	wall := p.wall.Seconds()
	is, bs := sb.Intercom.Harness().Stats(), sb.Brevo.Harness().Stats()
	log := sb.Intercom.Harness().Log()
	sb.Intercom.Harness().KeepLog = false

	// Intercom requests against the floor.
	s.info("Intercom requests", float64(is.Requests), "", routes(is.ByRoute))
	s.info("Intercom request floor", float64(floor), "", fmt.Sprintf("ceil(%d/150) contact pages + ceil(%d/50) scroll pages + %d", counts.Contacts, counts.Companies, floorOverheads))
	s.check("Intercom requests / floor", float64(is.Requests)/float64(floor), "×", "<=", 1.02, "")
	if n := is.ByRoute["GET /contacts/{id}/tags"] + is.ByRoute["GET /contacts/{id}/companies"]; n > 0 {
		s.info("per-contact list expansions", float64(n), "", fmt.Sprintf("%d contacts have more than 10 tags, %d more than 10 companies; no mapping or list rule of this connector reads tags", manyTags, manyCompanies))
	}
	literal := ceilDiv(counts.Contacts+counts.Companies, contactPage) + floorOverheads
	s.info("Intercom requests / ceil(records/150)+3", float64(is.Requests)/float64(literal), "×",
		fmt.Sprintf("literal floor %d; company scroll pages hold 50, not 150", literal))

	// Share of the app budget used while Intercom was being read.
	first, last, gap := span(log)
	phase := last.Sub(first)
	share := math.NaN()
	if phase > 0 {
		share = 100 * float64(len(log)) / (phase.Seconds() / budgetWindow.Seconds() * premiumBudget)
	}
	s.check("rate budget used", share, "%", ">=", 90,
		fmt.Sprintf("%d requests over %.1f s from first to last Intercom request; longest pause %.1f s", len(log), phase.Seconds(), gap.Seconds()))
	s.check("Intercom 429s", float64(is.Throttled), "", "==", 0, refused(is))
	s.check("Brevo 429s", float64(bs.Throttled), "", "==", 0, refused(bs))

	// Wall time against what the budget allows at best: the floor's
	// requests at 100 per 10 s.
	s.info("wall time", wall, "s", "tajo-agent sync --once, process start to exit")
	s.info("rate-limit floor time", floorTime, "s", fmt.Sprintf("%d requests at %d per 10 s", floor, premiumBudget))
	s.check("wall time / floor time", wall/floorTime, "×", "<=", 1.15, "")
	s.info("Intercom phase", phase.Seconds(), "s", "first to last Intercom request")
	s.info("after last Intercom request", wall-phase.Seconds()-first.Sub(p.start).Seconds(), "s", "Brevo writes and import checks left when reading ended")

	// Brevo requests and batching.
	r.brevoFigures(&s, sb, bs, nil, true)
	s.check("peak RSS (agent process)", p.peakMiB(), "MiB", "<=", 150, "VmHWM of the tajo-agent sync process")

	// What the agent says it did.
	if m := passLine.FindStringSubmatch(p.out.String()); m != nil {
		s.note("agent: %s", strings.TrimSpace(m[0]))
	}

	// Correct, not only fast: the whole Brevo state against the workspace.
	verify(&s, sb, "all")
	return fx, s
}

var smsMissing = regexp.MustCompile(`^contact (\S+): attribute SMS missing`)

// verify compares the whole simulated Brevo with the workspace
// (expect.Compare). A Brevo SMS identifies one contact, so of Intercom
// contacts that share a phone number only one can carry it: "SMS missing"
// on such a contact is the agent's documented policy (written without
// SMS), not a difference; it is counted apart. Everything else fails.
func verify(s *Scenario, sb *sandbox.Sandbox, what string) {
	start := time.Now()
	rep := expect.Compare(sb, benchSetup)
	phones := map[string]int{}
	for _, id := range sb.Intercom.ContactIDs() {
		if c, ok := sb.Intercom.Contact(id); ok && c.Email != "" && c.FormattedPhone != "" {
			phones[c.FormattedPhone]++
		}
	}
	var real []string
	policy := 0
	for _, p := range rep.Problems {
		if m := smsMissing.FindStringSubmatch(p); m != nil {
			if c, ok := sb.Intercom.Contact(m[1]); ok && phones[c.FormattedPhone] > 1 {
				policy++
				continue
			}
		}
		real = append(real, p)
	}
	shared := 0
	for _, n := range phones {
		if n > 1 {
			shared += n
		}
	}
	s.check("expect.Compare differences", float64(len(real)), "", "==", 0,
		fmt.Sprintf("%s %d contacts (%d leads without email skipped) and %d companies checked in %.0f s", what, rep.Contacts, rep.Skipped, rep.Companies, time.Since(start).Seconds()))
	s.info("SMS left off shared numbers", float64(policy), "", fmt.Sprintf("%d contacts with an email share a phone number with another", shared))
	if len(real) > 0 {
		kinds := map[string]int{}
		for _, p := range real {
			kinds[problemKind(p)]++
		}
		s.note("differences by kind: %s", routes(kinds))
		shown := real[:min(len(real), 8)]
		s.note("first differences:\n      %s", strings.Join(shown, "\n      "))
	}
}

var problemID = regexp.MustCompile(`[0-9a-f]{24}|#\d+|\d{2,}`)

// problemKind generalises a difference ("contact 5692…: missing in
// Brevo" → "contact ID: missing in Brevo") for counting.
func problemKind(p string) string {
	k := problemID.ReplaceAllString(p, "ID")
	if i := strings.Index(k, " = "); i > 0 {
		k = k[:i]
	}
	if i := strings.Index(k, ", want"); i > 0 {
		k = k[:i]
	}
	if i := strings.Index(k, " (ext_id"); i > 0 {
		k = k[:i]
	}
	if i := strings.Index(k, " email \""); i > 0 {
		k = k[:i] + " email"
	}
	return k
}

var passLine = regexp.MustCompile(`(?m)^intercom: .*requests in .*$`)

// brevoFigures reports Brevo requests and how well writes were batched.
// since limits the write log to entries after a sequence number.
func (r *runner) brevoFigures(s *Scenario, sb *sandbox.Sandbox, bs harness.Stats, before *int, bulk bool) {
	writes := sb.Brevo.Writes()
	if before != nil {
		writes = writes[*before:]
	}
	imports := bs.ByRoute["POST /contacts/import"]
	imported, listCalls, listContacts := 0, 0, 0
	for _, w := range writes {
		switch {
		case w.Kind == fakebrevo.WriteContact && strings.Contains(w.Route, "POST /contacts/import"):
			imported += len(w.ContactIDs)
		case w.Kind == fakebrevo.WriteList:
			listContacts += len(w.ContactIDs)
		}
	}
	for route, n := range bs.ByRoute {
		if strings.HasSuffix(route, "/contacts/add") || strings.HasSuffix(route, "/contacts/remove") {
			listCalls += n
		}
	}
	s.info("Brevo requests", float64(bs.Requests), "", routes(bs.ByRoute))
	if bulk {
		per := math.NaN()
		if imports > 0 {
			per = float64(imported) / float64(imports)
		}
		s.check("contacts per Brevo import", per, "", ">=", 500, fmt.Sprintf("%d contacts in %d imports", imported, imports))
	}
	if listCalls > 0 {
		s.check("contacts per list call", float64(listContacts)/float64(listCalls), "", ">=", 150,
			fmt.Sprintf("%d list calls; 150 is the API maximum (a last partial chunk per list lowers the mean)", listCalls))
	} else {
		s.info("list calls", 0, "", "list memberships travelled with the imports (listIds)")
	}
}

// passPause separates the passes of scenarios 1, 3 and 4. Each pass is a
// new tajo-agent process, which cannot know what the previous one spent of
// Intercom's search budget (1 per second, no headers to read it from): a
// search within the same second would be refused. A running agent spaces
// its passes by minutes.
const passPause = 2 * time.Second

// nextPass waits passPause, clears the sandbox's request statistics and
// runs one more `tajo-agent sync --once`; before is the length of Brevo's
// write log when it started.
func (r *runner) nextPass(ctx context.Context, fx *syncFixture) (p *proc, before int, err error) {
	select {
	case <-ctx.Done():
		return nil, 0, ctx.Err()
	case <-time.After(passPause):
	}
	sb := fx.srv.sb
	sb.Intercom.Harness().ResetStats()
	sb.Brevo.Harness().ResetStats()
	before = len(sb.Brevo.Writes())
	p, err = runAgent(ctx, foreground, 5*time.Minute, r.bin.Agent, fx.env, "sync", "--once", "--log-level", agentLogLevel)
	return p, before, err
}

// scenarioResync is scenario 3: a pass over an unchanged workspace.
func (r *runner) scenarioResync(ctx context.Context, fx *syncFixture) Scenario {
	s := Scenario{Name: "resync", Title: "unchanged re-sync (tajo-agent sync --once after the full sync)"}
	sb := fx.srv.sb
	p, before, err := r.nextPass(ctx, fx)
	if err != nil {
		s.Error = err.Error()
		return s
	}
	is, bs := sb.Intercom.Harness().Stats(), sb.Brevo.Harness().Stats()
	writes := sb.Brevo.Writes()[before:]
	s.check("Brevo writes", float64(len(writes)), "", "==", 0, "entries in the simulated Brevo's write log")
	s.check("Brevo write requests", float64(writeRequests(bs.ByRoute)), "", "==", 0, "POST/PUT/PATCH/DELETE")
	s.info("Brevo requests", float64(bs.Requests), "", routes(bs.ByRoute))
	searchPages := is.ByRoute["POST /contacts/search"]
	s.info("Intercom requests", float64(is.Requests), "", routes(is.ByRoute))
	s.info("Intercom search pages", float64(searchPages), "",
		"contacts updated since the checkpoint's calendar day (2.11 search matches dates by day)")
	s.check("Intercom 429s", float64(is.Throttled), "", "==", 0, refused(is))
	s.info("wall time", p.wall.Seconds(), "s", "")
	if m := passLine.FindStringSubmatch(p.out.String()); m != nil {
		s.note("agent: %s", strings.TrimSpace(m[0]))
	}
	return s
}

// scenarioChurn is scenario 4: 1 % of the contacts change, then a pass.
func (r *runner) scenarioChurn(ctx context.Context, fx *syncFixture) Scenario {
	s := Scenario{Name: "churn", Title: "1 % churn, incremental pass"}
	sb := fx.srv.sb
	ids := sb.Intercom.ContactIDs()
	want := max(1, len(ids)/100)
	changed := map[string]bool{}
	// Spread over the workspace; twice as many candidates as needed since
	// leads without email are not in Brevo.
	stride := max(1, len(ids)/(2*want))
	for i := 3; i < len(ids) && len(changed) < want; i += stride {
		c, _ := sb.Intercom.Contact(ids[i])
		if c.Email == "" {
			continue // not in Brevo (lead policy skip)
		}
		if err := sb.Intercom.UpdateContact(ids[i], func(c *dataset.Contact) {
			c.CustomAttributes["plan_tier"] = "churned-" + strconv.Itoa(i)
		}); err != nil {
			s.Error = err.Error()
			return s
		}
		changed[ids[i]] = true
	}
	s.Params = map[string]any{"changed_contacts": len(changed), "change": "custom_attributes.plan_tier of contacts with an email"}
	p, before, err := r.nextPass(ctx, fx)
	if err != nil {
		s.Error = err.Error()
		return s
	}
	is, bs := sb.Intercom.Harness().Stats(), sb.Brevo.Harness().Stats()
	written := map[int64]bool{}
	for _, w := range sb.Brevo.Writes()[before:] {
		if w.Kind == fakebrevo.WriteContact {
			for _, id := range w.ContactIDs {
				written[id] = true
			}
		}
	}
	extra := 0
	for id := range written {
		if c, ok := sb.Brevo.ContactByID(id); !ok || !changed[c.ExtID] {
			extra++
		}
	}
	n := float64(len(changed))
	s.info("changed records", n, "", "")
	s.check("contacts written", float64(len(written)), "", "==", n, fmt.Sprintf("%d of them unchanged", extra))
	searchPages := is.ByRoute["POST /contacts/search"]
	s.info("Intercom requests", float64(is.Requests), "", routes(is.ByRoute))
	s.info("Intercom requests per changed record", float64(is.Requests)/n, "", fmt.Sprintf("%d search pages; floor ceil(%d/150)+2 = %d", searchPages, len(changed), ceilDiv(len(changed), contactPage)+2))
	s.info("Brevo requests", float64(bs.Requests), "", routes(bs.ByRoute))
	s.info("Brevo requests per changed record", float64(bs.Requests)/n, "", "")
	s.info("Brevo write requests per changed record", float64(writeRequests(bs.ByRoute))/n, "", "")
	s.check("Intercom 429s", float64(is.Throttled), "", "==", 0, refused(is))
	s.check("Brevo 429s", float64(bs.Throttled), "", "==", 0, refused(bs))
	s.info("wall time", p.wall.Seconds(), "s", "")
	if m := passLine.FindStringSubmatch(p.out.String()); m != nil {
		s.note("agent: %s", strings.TrimSpace(m[0]))
	}
	verify(&s, sb, "after the pass, all")
	return s
}

func writeRequests(byRoute map[string]int) int {
	n := 0
	for route, c := range byRoute {
		m, _, _ := strings.Cut(route, " ")
		if m == "POST" || m == "PUT" || m == "PATCH" || m == "DELETE" {
			n += c
		}
	}
	return n
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// span returns the first and last request times and the longest pause
// between consecutive requests.
func span(log []harness.Request) (first, last time.Time, gap time.Duration) {
	if len(log) == 0 {
		return
	}
	ts := make([]time.Time, len(log))
	for i, r := range log {
		ts[i] = r.At
	}
	slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
	for i := 1; i < len(ts); i++ {
		gap = max(gap, ts[i].Sub(ts[i-1]))
	}
	return ts[0], ts[len(ts)-1], gap
}

// routes renders request counts by route, largest first.
func routes(m map[string]int) string {
	type kv struct {
		k string
		v int
	}
	var xs []kv
	for k, v := range m {
		xs = append(xs, kv{k, v})
	}
	slices.SortFunc(xs, func(a, b kv) int {
		if a.v != b.v {
			return b.v - a.v
		}
		return strings.Compare(a.k, b.k)
	})
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprintf("%s ×%d", x.k, x.v)
	}
	return strings.Join(parts, ", ")
}

func refused(s harness.Stats) string {
	if len(s.Refused) == 0 {
		return ""
	}
	parts := []string{}
	for k, v := range s.Refused {
		parts = append(parts, fmt.Sprintf("%s %d", k, v))
	}
	slices.Sort(parts)
	return "refused by: " + strings.Join(parts, ", ")
}
