package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/mattn/go-isatty"

	"github.com/tajo/terraform-provider-tajo/agent/store"
	_ "github.com/tajo/terraform-provider-tajo/agent/store/postgres" // postgres:// store URLs
	_ "github.com/tajo/terraform-provider-tajo/agent/store/sqlite"   // sqlite:// store URLs
	"github.com/tajo/terraform-provider-tajo/agent/sync"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// command is one sub-command.
type command struct {
	summary string
	run     func(ctx context.Context, env *env, args []string) int
}

// env is what a command may use; tests inject writers and variables.
type env struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	lookupEnv      func(string) (string, bool)
}

func (e *env) errorf(format string, args ...any) int {
	fmt.Fprintf(e.stderr, "tajo-agent: "+format+"\n", args...)
	return exitError
}

var commands map[string]command

func init() {
	commands = map[string]command{
		"run":     {"sync continuously and serve webhooks, /healthz, /readyz and /metrics", cmdRun},
		"sync":    {"run one sync pass (--once) and exit", cmdSync},
		"test":    {"check the connections of the connectors (the brief's checklist)", cmdTest},
		"status":  {"print the status of the connectors", cmdStatus},
		"reset":   {"forget a connector's sync state so the next pass starts over", cmdReset},
		"inbox":   {"list webhook deliveries, or retry dead-lettered ones", cmdInbox},
		"sandbox": {"serve simulated Intercom and Brevo APIs for the demo and tests", cmdSandbox},
		"schema":  {"print the schema version of a store (migrating it if older)", cmdSchema},
		"version": {"print the version and the store schema this binary supports", cmdVersion},
	}
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "usage: tajo-agent <command> [flags]\n\ncommands:\n")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, commands[n].summary)
	}
	fmt.Fprintf(w, "\nEvery command takes --store (default $TAJO_STORE). Run tajo-agent <command> -h for its flags.\n")
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runEnv(ctx, &env{stdout: stdout, stderr: stderr, getenv: os.Getenv, lookupEnv: os.LookupEnv}, args)
}

func runEnv(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(e.stdout)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(e.stderr, "tajo-agent: unknown command %q\n\n", args[0])
		usage(e.stderr)
		return exitUsage
	}
	return cmd.run(ctx, e, args[1:])
}

// flags returns a flag set that prints to the command's stderr.
func (e *env) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("tajo-agent "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	return fs
}

// storeFlag registers --store with TAJO_STORE as its default.
func (e *env) storeFlag(fs *flag.FlagSet) *string {
	return fs.String("store", e.getenv("TAJO_STORE"), "store URL, e.g. sqlite:///var/lib/tajo/tajo.db (default $TAJO_STORE)")
}

// leaseTTLFlag registers --lease-ttl: how long a connector lease taken by
// this process lasts unrenewed.
func (e *env) leaseTTLFlag(fs *flag.FlagSet, meaning string) *time.Duration {
	return fs.Duration("lease-ttl", sync.DefaultLeaseTTL, meaning+" (5s to 10m)")
}

// checkLeaseTTL reports a --lease-ttl outside 5s..10m on stderr.
func (e *env) checkLeaseTTL(cmd string, d time.Duration) bool {
	if d < 5*time.Second || d > 10*time.Minute {
		fmt.Fprintf(e.stderr, "tajo-agent %s: --lease-ttl %s is out of range: give 5s to 10m (default %s)\n", cmd, d, sync.DefaultLeaseTTL)
		return false
	}
	return true
}

// logFlags registers --log-format and --log-level.
type logFlags struct{ format, level *string }

func (e *env) logFlags(fs *flag.FlagSet) logFlags {
	return logFlags{
		format: fs.String("log-format", "text", "log format: text or json"),
		level:  fs.String("log-level", "info", "log level: trace, debug, info, warn or error (connectors may log more with log_level/debug)"),
	}
}

func (e *env) logger(f logFlags) (hclog.Logger, error) {
	level := hclog.LevelFromString(*f.level)
	if level == hclog.NoLevel {
		return nil, fmt.Errorf("--log-level %q: use trace, debug, info, warn or error", *f.level)
	}
	if *f.format != "text" && *f.format != "json" {
		return nil, fmt.Errorf("--log-format %q: use text or json", *f.format)
	}
	color := hclog.ColorOff
	if fd, ok := e.stderr.(*os.File); ok && *f.format == "text" && isatty.IsTerminal(fd.Fd()) {
		color = hclog.AutoColor
	}
	return hclog.New(&hclog.LoggerOptions{
		Name: "tajo-agent", Level: level, Output: e.stderr, JSONFormat: *f.format == "json", Color: color,
		// Connectors may ask for more than the agent's level.
		IndependentLevels: true,
	}), nil
}

func parse(fs *flag.FlagSet, args []string) (ok bool, code int) {
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return false, exitOK
		}
		return false, exitUsage
	}
	return true, exitOK
}

func (e *env) openStore(ctx context.Context, url string) (store.Store, error) {
	return store.Open(ctx, url)
}

// selected filters connector ids by the command's positional arguments.
func selected(args []string, id string) bool {
	if len(args) == 0 {
		return true
	}
	for _, a := range args {
		if strings.EqualFold(a, id) {
			return true
		}
	}
	return false
}
