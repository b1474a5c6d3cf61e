package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/tajo/terraform-provider-tajo/agent/store"
	_ "github.com/tajo/terraform-provider-tajo/agent/store/sqlite" // sqlite:// store URLs
	"github.com/tajo/terraform-provider-tajo/agent/store/sqlstore"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// command is one sub-command: flags are parsed by run.
type command struct {
	summary string
	run     func(ctx context.Context, env *env, args []string) int
}

// env is what a command may use; tests inject writers and variables.
type env struct {
	stdout, stderr io.Writer
	getenv         func(string) string
}

func (e *env) errorf(format string, args ...any) int {
	fmt.Fprintf(e.stderr, "tajo-agent: "+format+"\n", args...)
	return exitError
}

var commands = map[string]command{
	"version": {"print the version and the store schema this binary supports", cmdVersion},
	"schema":  {"print the schema version of a store (migrating it if older)", cmdSchema},
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "usage: tajo-agent <command> [flags]\n\ncommands:\n")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintf(w, "\nRun tajo-agent <command> -h for the flags of a command.\n")
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	e := &env{stdout: stdout, stderr: stderr, getenv: os.Getenv}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "tajo-agent: unknown command %q\n\n", args[0])
		usage(stderr)
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

func parse(fs *flag.FlagSet, args []string) (ok bool, code int) {
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return false, exitOK
		}
		return false, exitUsage
	}
	return true, exitOK
}

func cmdVersion(_ context.Context, e *env, args []string) int {
	if ok, code := parse(e.flags("version"), args); !ok {
		return code
	}
	fmt.Fprintf(e.stdout, "tajo-agent %s (store schema %d)\n", version, sqlstore.LatestSchema())
	return exitOK
}

func cmdSchema(ctx context.Context, e *env, args []string) int {
	fs := e.flags("schema")
	storeURL := e.storeFlag(fs)
	if ok, code := parse(fs, args); !ok {
		return code
	}
	s, err := store.Open(ctx, *storeURL)
	if err != nil {
		return e.errorf("%v", err)
	}
	defer s.Close()
	v, err := s.SchemaVersion(ctx)
	if err != nil {
		return e.errorf("%v", err)
	}
	fmt.Fprintf(e.stdout, "%s store %s: schema %d (this binary: %d)\n", s.Backend(), store.Redact(*storeURL), v, sqlstore.LatestSchema())
	return exitOK
}
