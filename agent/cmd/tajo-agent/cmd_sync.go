package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/mattn/go-isatty"

	"github.com/tajo/terraform-provider-tajo/agent/config"
	"github.com/tajo/terraform-provider-tajo/agent/store"
	"github.com/tajo/terraform-provider-tajo/agent/sync"
)

// engineOptions are the sync options every command uses.
func (e *env) engineOptions(log hclog.Logger, agent string) sync.Options {
	return sync.Options{
		Logger: log,
		Agent:  agent,
		Resolver: config.Resolver{
			LookupEnv: e.lookupEnv,
			Warn: func(ref config.SecretRef, msg string) {
				log.Warn("secret file permissions", "reference", string(ref), "warning", msg)
			},
		},
	}
}

// loadBundles reads the applied configuration; documents that do not
// decode are reported and skipped.
func loadBundles(ctx context.Context, e *env, st store.Store, args []string) []config.Bundle {
	bundles, _, err := store.LoadBundles(ctx, st)
	if err != nil {
		fmt.Fprintf(e.stderr, "tajo-agent: some configuration in the store is not usable:\n%v\n", err)
	}
	var out []config.Bundle
	for _, b := range bundles {
		if selected(args, b.Connector.ID()) {
			out = append(out, b)
		}
	}
	return out
}

func cmdSync(ctx context.Context, e *env, args []string) int {
	fs := e.flags("sync")
	storeURL := e.storeFlag(fs)
	once := fs.Bool("once", false, "run one pass and exit (required: continuous syncing is `tajo-agent run`)")
	full := fs.Bool("full", false, "read every record, not only what changed since the last pass")
	resources := fs.String("resources", "", "limit the pass to some resources: contacts, companies, conversations, events (events: with --full, a backfill of the last 90 days of data events)")
	since := fs.String("since", "", "with --full: only records updated since this date (2023-01-01 or RFC 3339)")
	leaseTTL := e.leaseTTLFlag(fs, "how long the connector's lease taken for the pass lasts unrenewed: how long others wait when this process is killed")
	lf := e.logFlags(fs)
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: tajo-agent sync --once [--full] [--resources contacts,companies,conversations,events] [--since DATE] [--lease-ttl D] [--store URL] [connector ...]")
		fs.PrintDefaults()
	}
	if ok, code := parse(fs, args); !ok {
		return code
	}
	if !*once {
		fmt.Fprintln(e.stderr, "tajo-agent sync: add --once to run one pass (tajo-agent run syncs continuously)")
		return exitUsage
	}
	if !e.checkLeaseTTL("sync", *leaseTTL) {
		return exitUsage
	}
	o := sync.PassOptions{Full: *full}
	if *resources != "" {
		for _, r := range strings.Split(*resources, ",") {
			r = strings.TrimSpace(r)
			if !slices.Contains(sync.Resources, r) {
				fmt.Fprintf(e.stderr, "tajo-agent sync: --resources: %q is not a resource; use some of %s\n", r, strings.Join(sync.Resources, ", "))
				return exitUsage
			}
			o.Resources = append(o.Resources, r)
		}
	}
	if *since != "" {
		t, err := config.ParseSince(*since)
		if err != nil {
			fmt.Fprintf(e.stderr, "tajo-agent sync: --since %v\n", err)
			return exitUsage
		}
		o.Since, o.Full = t, true
	}
	log, err := e.logger(lf)
	if err != nil {
		fmt.Fprintf(e.stderr, "tajo-agent sync: %v\n", err)
		return exitUsage
	}
	st, err := e.openStore(ctx, *storeURL)
	if err != nil {
		return e.errorf("%v", err)
	}
	defer st.Close()
	bundles := loadBundles(ctx, e, st, fs.Args())
	if len(bundles) == 0 {
		return e.errorf("no connector to sync in %s: declare a tajo_connector and run terraform apply", store.Redact(*storeURL))
	}
	failed := 0
	for _, b := range bundles {
		id := b.Connector.ID()
		if !b.Connector.Enabled {
			fmt.Fprintf(e.stdout, "%s: disabled, skipped\n", id)
			continue
		}
		opts := e.engineOptions(log, agentID())
		opts.LeaseTTL = *leaseTTL
		eng, err := sync.New(b, st, opts)
		if err != nil {
			failed++
			fmt.Fprintf(e.stderr, "%s: %v\n", id, err)
			_ = st.PutStatus(ctx, store.Status{ConnectorID: id, State: sync.StateError, LastError: err.Error()})
			continue
		}
		if err := eng.Check(ctx); err != nil {
			fmt.Fprintf(e.stderr, "%s: connection check failed: %v\n", id, err)
		}
		start := time.Now()
		stop := e.progressLine(ctx, eng)
		err = eng.Sync(ctx, o)
		stop()
		if err != nil {
			failed++
			fmt.Fprintf(e.stderr, "%s: sync failed: %v\n", id, explain(err))
			continue
		}
		s := eng.Stats()
		status, _ := st.GetStatus(ctx, id)
		fmt.Fprintf(e.stdout, "%s: %d contacts and %d companies in Brevo; this pass read %d, wrote %d, left %d unchanged, skipped %d, failed %d; %d Intercom and %d Brevo requests in %s\n",
			id, status.ContactsSynced, status.CompaniesSynced, s.Read, s.Written, s.Unchanged, s.Skipped, s.Failed,
			s.IntercomRequests, s.BrevoRequests, time.Since(start).Round(time.Millisecond))
		if len(status.Errors) > 0 {
			fmt.Fprintf(e.stdout, "%s: %d records failed; see tajo-agent status\n", id, len(status.Errors))
		}
	}
	if failed > 0 {
		return exitError
	}
	return exitOK
}

// progressLine shows a live progress line on a terminal and returns a
// function that removes it.
func (e *env) progressLine(ctx context.Context, eng *sync.Engine) func() {
	f, ok := e.stderr.(*os.File)
	if !ok || !isatty.IsTerminal(f.Fd()) {
		return func() {}
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				fmt.Fprint(f, "\r\033[K")
				return
			case <-ctx.Done():
				return
			case <-t.C:
				if p := eng.Progress(); p != nil {
					fmt.Fprintf(f, "\r\033[K%s: %s", eng.ID(), progressText(p))
				}
			}
		}
	}()
	return func() { close(done); <-stopped }
}

func progressText(p *store.Progress) string {
	s := fmt.Sprintf("%s %d", p.Phase, p.Done)
	if p.Total > 0 {
		s += fmt.Sprintf("/%d (%.0f%%)", p.Total, 100*float64(p.Done)/float64(p.Total))
	}
	if p.PerSecond > 0 {
		s += fmt.Sprintf(", %.0f/s", p.PerSecond)
	}
	if !p.ETA.IsZero() {
		s += fmt.Sprintf(", ETA %s", time.Until(p.ETA).Round(time.Second))
	}
	return s
}

// explain adds the brief's fix to errors it has a row for.
func explain(err error) string {
	msg := err.Error()
	for _, t := range troubleshooting {
		if t.match(err) {
			return msg + "\n  fix: " + t.fix
		}
	}
	return msg
}

func agentID() string {
	h, err := os.Hostname()
	if err != nil {
		h = "agent"
	}
	return fmt.Sprintf("%s-%d", h, os.Getpid())
}

var errNoConnector = errors.New("no connector")
