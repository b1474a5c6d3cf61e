// Command bench measures the agent and the provider on this machine and
// compares every figure with its target. It drives the simulated Intercom
// and Brevo (agent/sandbox) and the real agent binary, built from this
// tree, in separate processes where memory is measured:
//
//	go run ./bench                         # everything (make bench)
//	go run ./bench -smoke                  # small sizes, under a minute (make bench-smoke)
//	go run ./bench -scenarios full,resync  # some scenarios
//
// Scenarios: full (1: full sync at the Premium budget), scale (2: peak RSS
// at 10k/100k/1M contacts with limits lifted), resync (3: unchanged
// re-sync), churn (4: 1 % churn), webhooks (5: SQLite and PostgreSQL
// receivers, webhook → Brevo latency), provider (6: terraform plan of 500
// tajo_* resources against 500 terraform_data), micro (go test -bench).
//
// The scale scenario runs alongside full, resync and churn (which mostly
// wait on Intercom's rate budget); webhooks, provider and micro, which
// measure latency and CPU time, run after it on a quiet machine. The whole
// run keeps within -budget: the scale scenario's largest workspace is
// stopped when what is left would not do for the scenarios after it.
//
// It prints a table and writes bench/results/<timestamp>.json (-smoke:
// .tmp/bench/results). A missed target is reported (MISS) but does not
// fail the command; only errors that prevent a measurement make it exit
// non-zero.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tajo/terraform-provider-tajo/agent/store/postgres/pgtest"

	_ "github.com/tajo/terraform-provider-tajo/agent/store/postgres" // postgres:// store URLs
	_ "github.com/tajo/terraform-provider-tajo/agent/store/sqlite"   // sqlite:// store URLs
)

var allScenarios = []string{"full", "resync", "churn", "scale", "webhooks", "provider", "micro"}

// sizes are the parameters of a run: full or smoke.
type sizes struct {
	fullContacts, fullCompanies int
	scale                       []int
	webhookContacts             int
	webhookDeliveries           int
	webhookDuration             time.Duration
	latencyDeliveries           int
	drainWait                   time.Duration
	providerResources           int
	providerReps                int
	microBenchtime              string
	microCount                  int
	// budget bounds the whole run; the scale scenario's largest size gets
	// what is left of it but afterScale, the time of the scenarios that
	// follow it (webhooks, provider, micro).
	budget, afterScale time.Duration
}

var fullSizes = sizes{
	fullContacts: 100_000, fullCompanies: 5_000,
	scale:           []int{10_000, 100_000, 1_000_000},
	webhookContacts: 2000, webhookDeliveries: 20_000, webhookDuration: 30 * time.Second, latencyDeliveries: 100, drainWait: 30 * time.Second,
	providerResources: 500, providerReps: 5,
	microBenchtime: "500ms", microCount: 5,
	budget: 19 * time.Minute, afterScale: 270 * time.Second,
}

var smokeSizes = sizes{
	fullContacts: 1_500, fullCompanies: 100,
	scale:           []int{3_000, 6_000},
	webhookContacts: 300, webhookDeliveries: 1_000, webhookDuration: 5 * time.Second, latencyDeliveries: 5, drainWait: 5 * time.Second,
	providerResources: 50, providerReps: 1,
	microBenchtime: "20ms", microCount: 1,
	budget: 3 * time.Minute, afterScale: 90 * time.Second,
}

// agentLogLevel is the agents' --log-level.
var agentLogLevel = "warn"

type runner struct {
	sz sizes
	// postgres runs the webhook scenario on PostgreSQL too; pgOptional
	// skips it, instead of failing, where PostgreSQL is not installed.
	postgres, pgOptional bool
	// keep leaves the scratch files (-keep).
	keep  bool
	tmp   string
	bin   binaries
	start time.Time
}

// scaleUntil is when the scale scenario must end: the scenarios after
// it need afterScale of the budget.
func (r *runner) scaleUntil() time.Time {
	return r.start.Add(r.sz.budget - r.sz.afterScale)
}

func (r *runner) logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[%5.0fs] %s\n", time.Since(r.start).Seconds(), fmt.Sprintf(format, args...))
}

func main() {
	os.Exit(run())
}

func run() int {
	smoke := flag.Bool("smoke", false, "small sizes (a minute): checks that every scenario runs, not the targets")
	list := flag.String("scenarios", strings.Join(allScenarios, ","), "comma-separated scenarios: "+strings.Join(allScenarios, ", "))
	out := flag.String("out", "", "directory of the JSON result (default bench/results, or .tmp/bench/results with -smoke)")
	tmp := flag.String("tmp", ".tmp/bench", "scratch directory (stores, binaries, Terraform configurations)")
	budget := flag.Duration("budget", 0, "time budget of the whole run (default 19m, smoke 3m)")
	keep := flag.Bool("keep", false, "keep the scratch files of this run")
	scaleSizes := flag.String("scale-sizes", "", "comma-separated workspace sizes of the scale scenario (default 10000,100000,1000000; smoke 3000,6000)")
	agentBin := flag.String("agent-bin", "", "measure this tajo-agent binary instead of building one (e.g. a candidate fix)")
	providerBin := flag.String("provider-bin", "", "measure this terraform-provider-tajo binary instead of building one")
	pg := flag.String("postgres", "auto", "run the webhook scenario on PostgreSQL too: true, false, or auto (true; with -smoke, when PostgreSQL is installed or "+pgtest.RequireEnv+"=1)")
	flag.StringVar(&agentLogLevel, "agent-log-level", "warn", "--log-level of the agent processes (their output is shown on errors)")
	flag.Parse()

	r := &runner{sz: fullSizes, start: time.Now()}
	mode := "full"
	if *smoke {
		r.sz, mode = smokeSizes, "smoke"
	}
	if *budget > 0 {
		r.sz.budget = *budget
	}
	switch *pg {
	case "true", "false":
		r.postgres = *pg == "true"
	case "auto":
		r.postgres, r.pgOptional = true, *smoke && os.Getenv(pgtest.RequireEnv) != "1"
	default:
		fmt.Fprintf(os.Stderr, "bench: -postgres %q: want true, false or auto\n", *pg)
		return 2
	}
	if *scaleSizes != "" {
		r.sz.scale = nil
		for _, f := range strings.Split(*scaleSizes, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n <= 0 {
				fmt.Fprintf(os.Stderr, "bench: -scale-sizes: %q is not a size\n", f)
				return 2
			}
			r.sz.scale = append(r.sz.scale, n)
		}
	}
	want := map[string]bool{}
	for _, s := range strings.Split(*list, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !slices.Contains(allScenarios, s) {
			fmt.Fprintf(os.Stderr, "bench: unknown scenario %q (have %s)\n", s, strings.Join(allScenarios, ", "))
			return 2
		}
		want[s] = true
	}
	if *out == "" {
		*out = "bench/results"
		if *smoke {
			*out = filepath.Join(*tmp, "results")
		}
	}
	if _, err := os.Stat("go.mod"); err != nil {
		fmt.Fprintln(os.Stderr, "bench: run from the repository root (go run ./bench)")
		return 2
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		return 1
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	rep := &Report{Started: r.start.UTC(), Mode: mode, Command: strings.Join(os.Args, " "), Machine: describeMachine()}
	if err := os.MkdirAll(*tmp, 0o755); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		return 1
	}
	dir, err := os.MkdirTemp(*tmp, "run-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		return 1
	}
	if r.tmp, err = filepath.Abs(dir); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		return 1
	}
	r.keep = *keep
	if !*keep {
		defer os.RemoveAll(r.tmp)
	}
	procLogs = filepath.Join(r.tmp, "logs")
	if err := os.MkdirAll(procLogs, 0o755); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		return 1
	}
	r.logf("building tajo-agent and terraform-provider-tajo…")
	if r.bin, err = build(ctx, filepath.Join(r.tmp, "bin")); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		return 1
	}
	for _, o := range []struct {
		flag, name string
		dst        *string
	}{{*agentBin, "tajo-agent", &r.bin.Agent}, {*providerBin, "terraform-provider-tajo", &r.bin.Provider}} {
		if o.flag == "" {
			continue
		}
		abs, err := filepath.Abs(o.flag)
		if err == nil && filepath.Base(abs) != o.name {
			err = fmt.Errorf("%s must be named %s", o.flag, o.name)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: %v\n", err)
			return 2
		}
		*o.dst = abs
		rep.Binaries = append(rep.Binaries, abs)
	}

	timed := func(f func() Scenario) Scenario {
		t := time.Now()
		s := f()
		s.Duration = time.Since(t).Seconds()
		r.logf("%s done in %.0f s", s.Name, s.Duration)
		return s
	}
	add := func(f func() Scenario) {
		if ctx.Err() == nil {
			rep.Scenarios = append(rep.Scenarios, timed(f))
		}
	}

	// The scale scenario runs alongside the full sync, the re-sync and
	// the churn pass, which mostly wait on Intercom's rate budget: its
	// largest workspace takes longer than the rest of the run together.
	// The scenarios measuring latency and CPU time come after it.
	var scale chan Scenario
	if want["scale"] {
		scale = make(chan Scenario, 1)
		go func() { scale <- timed(func() Scenario { return r.scenarioScale(ctx) }) }()
	}
	if want["full"] || want["resync"] || want["churn"] {
		var fx *syncFixture
		add(func() Scenario {
			var s Scenario
			fx, s = r.scenarioFull(ctx, fullOptions{contacts: r.sz.fullContacts, companies: r.sz.fullCompanies})
			if s.Error != "" && fx != nil {
				fx.srv.close()
				fx = nil
			}
			return s
		})
		if fx != nil {
			if want["resync"] {
				add(func() Scenario { return r.scenarioResync(ctx, fx) })
			}
			if want["churn"] {
				add(func() Scenario { return r.scenarioChurn(ctx, fx) })
			}
			fx.srv.close()
		}
	}
	if scale != nil {
		r.logf("waiting for the scale scenario…")
		rep.Scenarios = append(rep.Scenarios, <-scale)
	}
	if want["webhooks"] {
		add(func() Scenario { return r.scenarioWebhooks(ctx, "sqlite") })
		if r.postgres {
			add(func() Scenario { return r.scenarioWebhooks(ctx, "postgres") })
		}
	}
	if want["provider"] {
		add(func() Scenario { return r.scenarioProvider(ctx) })
	}
	if want["micro"] && ctx.Err() == nil {
		r.logf("micro-benchmarks (go test -bench)…")
		raw := filepath.Join(*out, r.start.UTC().Format("20060102T150405Z")+"-micro.txt")
		micro, err := r.microBenchmarks(ctx, raw)
		if err != nil {
			rep.Scenarios = append(rep.Scenarios, Scenario{Name: "micro", Title: "go test -bench", Error: err.Error()})
		}
		rep.Micro = micro
		for i := range rep.Scenarios {
			if rep.Scenarios[i].Name == "scale" {
				inProcessRate(&rep.Scenarios[i], micro)
			}
		}
	}

	rep.Duration = time.Since(r.start).Seconds()
	rep.Machine.LoadAvgEnd = loadAverage()
	rep.summarise()
	rep.printTable(os.Stdout)
	path := filepath.Join(*out, r.start.UTC().Format("20060102T150405Z")+".json")
	if err := rep.write(path); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		return 1
	}
	fmt.Printf("\nresults: %s\n", path)
	if ctx.Err() != nil {
		fmt.Fprintln(os.Stderr, "bench: interrupted")
		return 1
	}
	if len(rep.Errors) > 0 {
		return 1
	}
	return 0
}
