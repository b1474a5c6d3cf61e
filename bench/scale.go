package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tajo/terraform-provider-tajo/agent/config"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox/harness"
)

// controlStats reads a sandbox side's request statistics from its
// control endpoint.
func controlStats(ctx context.Context, url string) (harness.Stats, error) {
	var st harness.Stats
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return st, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

// scenarioScale is scenario 2: the agent's peak memory and throughput at
// growing workspace sizes, with the sandbox's rate limits lifted. The
// sandbox runs in a process of its own (tajo-agent sandbox --lift-limits)
// so that only the agent's memory is measured.
func (r *runner) scenarioScale(ctx context.Context) Scenario {
	s := Scenario{Name: "scale", Title: "peak RSS and throughput by workspace size, rate limits lifted",
		Params: map[string]any{"sizes": r.sz.scale, "store": "sqlite",
			"intercom_requests_per_10s": config.MaxRequestsPer10s, "companies_written": false,
			"sandbox": "tajo-agent sandbox --lift-limits (separate process)", "agent": "tajo-agent sync --once (separate process)"}}
	s.note("the connector's Intercom budget is set to its maximum (%d per 10 s) so the agent's own pacing does not hide its processing cost", config.MaxRequestsPer10s)
	s.note("the agent keeps to Brevo's General-tier budget (10 contact requests/s) although the sandbox does not enforce it: it has no setting to lift it")
	s.note("%s", companyNote)
	s.note("runs alongside scenarios full, resync and churn, which mostly wait on Intercom's rate budget, at niceness %d so that they keep the CPU they need: the records/s are what those leave", background)
	type done struct {
		label string
		rss   float64
	}
	var completed []done
	for _, n := range r.sz.scale {
		if ctx.Err() != nil {
			break
		}
		label := humanCount(n)
		if time.Until(r.scaleUntil()) < time.Minute {
			s.check("sync run at "+label, 0, "", "==", 1, "not run: the time budget (-budget) is spent")
			break
		}
		dir := filepath.Join(r.tmp, "scale-"+label)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			s.Error = err.Error()
			return s
		}
		r.logf("scale: %s contacts: starting the sandbox process…", label)
		sbp, info, err := startSandbox(ctx, background, r.bin.Agent, dir, "--contacts", strconv.Itoa(n), "--lift-limits", "--seed", "1")
		if err != nil {
			s.Error = err.Error()
			return s
		}
		storeURL := "sqlite://" + filepath.Join(dir, "tajo.db")
		ep := endpoints{IntercomURL: info.IntercomURL, BrevoURL: info.BrevoURL, IntercomToken: info.IntercomToken,
			BrevoKey: info.BrevoAPIKey, ClientSecret: info.IntercomClientSecret}
		if err := applyConfig(ctx, storeURL, ep, connectorOptions{requestsPer10s: config.MaxRequestsPer10s}); err != nil {
			sbp.stop(10 * time.Second)
			s.Error = err.Error()
			return s
		}
		limit := time.Until(r.scaleUntil())
		r.logf("scale: %s contacts: tajo-agent sync --once (at most %s, what is left of the budget)…", label, limit.Round(time.Second))
		p, err := runAgent(ctx, background, limit, r.bin.Agent, ep.env(storeURL), "sync", "--once", "--log-level", agentLogLevel)
		base := strings.TrimSuffix(info.IntercomURL, "/intercom")
		is, ierr := controlStats(ctx, base+"/_sandbox/intercom/stats")
		bs, berr := controlStats(ctx, base+"/_sandbox/brevo/stats")
		sbp.stop(10 * time.Second)
		if !r.keep {
			// Removed at once, the store's pages are never written back:
			// a gigabyte of writeback would stall the scenarios after it.
			_ = os.RemoveAll(dir)
		}
		capped := errors.Is(err, errStopped)
		if err != nil && !capped {
			s.Error = err.Error()
			return s
		}
		if ierr != nil || berr != nil {
			s.Error = fmt.Sprintf("sandbox statistics: %v %v", ierr, berr)
			return s
		}
		// Contacts come 150 a page (the last page fewer).
		read := min(n, 150*is.ByRoute["GET /contacts"])
		rss := p.peakMiB()
		note := fmt.Sprintf("sandbox process peaked at %.0f MiB", sbp.peakMiB())
		if capped {
			// A pass stopped early says nothing about its end (imports
			// are verified, and their bookkeeping released, at the end).
			s.info("peak RSS at "+label+" until stopped", rss, "MiB",
				fmt.Sprintf("%s; stopped by the time budget after reading %d of the %d contacts", note, read, n))
		} else {
			s.check("peak RSS at "+label, rss, "MiB", "<=", 150, note)
			completed = append(completed, done{label, rss})
		}
		// With the limits lifted the planner reads page after page, each
		// mapped and committed with its checkpoint before the next is
		// fetched: the pace of the read phase is that of HTTP + mapping +
		// store (the in-process pace of mapping + store alone is in the
		// micro-benchmarks).
		span := is.Last.Sub(is.First)
		s.info("records/s read and planned at "+label, float64(read+info.Companies)/span.Seconds(), "/s",
			fmt.Sprintf("%d contacts and %d companies read, mapped and stored in %.1f s (first to last Intercom request; %s)",
				read, info.Companies, span.Seconds(), routes(is.ByRoute)))
		s.info("wall time at "+label, p.wall.Seconds(), "s", fmt.Sprintf("Brevo: %s", routes(bs.ByRoute)))
		if capped {
			s.check("sync completed at "+label, 0, "", "==", 1,
				fmt.Sprintf("stopped after %s, when the time budget ran out", p.wall.Round(time.Second)))
		}
	}
	if len(completed) > 1 {
		first, last := completed[0], completed[len(completed)-1]
		s.check(fmt.Sprintf("peak RSS %s / %s", last.label, first.label), last.rss/first.rss, "×", "<=", 1.5,
			"flat: memory bounded by page and batch sizes, not the workspace")
	}
	return s
}

// perRecord are the micro-benchmarks a contact of a full pass goes
// through in the agent, and the unit each reports its cost in.
var perRecord = []struct{ pkg, name, unit string }{
	{"agent/mapping", "BenchmarkMap", "ns/op"},
	{"agent/mapping", "BenchmarkHash", "ns/op"},
	{"agent/store/sqlite", "BenchmarkApplyPage/plan", "ns/contact"},
	{"agent/store/sqlite", "BenchmarkApplyPage/written", "ns/contact"},
}

// inProcessRate adds to the scale scenario the pace of mapping + store
// alone, on one core and without HTTP, from the micro-benchmarks.
func inProcessRate(s *Scenario, micro []Micro) {
	var ns float64
	var parts []string
	for _, want := range perRecord {
		i := slices.IndexFunc(micro, func(m Micro) bool { return m.Package == want.pkg && m.Name == want.name })
		if i < 0 {
			return
		}
		v := micro[i].NsPerOp
		if want.unit != "ns/op" {
			v = micro[i].Extra[want.unit]
		}
		ns += v
		parts = append(parts, fmt.Sprintf("%s %.0f ns", strings.TrimPrefix(want.name, "Benchmark"), v))
	}
	s.info("records/s through mapping + store, one core", 1e9/ns, "/s", "in process, from the micro-benchmarks: "+strings.Join(parts, " + "))
}

func humanCount(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n >= 1000 && n%1000 == 0:
		return fmt.Sprintf("%dk", n/1000)
	}
	return strconv.Itoa(n)
}
