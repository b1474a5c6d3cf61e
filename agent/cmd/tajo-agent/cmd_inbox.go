package main

import (
	"context"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/tajo/terraform-provider-tajo/agent/store"
)

func cmdInbox(ctx context.Context, e *env, args []string) int {
	usage := func() int {
		fmt.Fprintln(e.stderr, `usage:
  tajo-agent inbox list  [--store URL] [--state pending|processing|done|dead] [--limit N] [connector ...]
  tajo-agent inbox retry [--store URL] <connector> [delivery seq ...]   (no seq: every dead delivery)`)
		return exitUsage
	}
	if len(args) == 0 {
		return usage()
	}
	switch args[0] {
	case "list":
		return inboxList(ctx, e, args[1:])
	case "retry":
		return inboxRetry(ctx, e, args[1:])
	}
	return usage()
}

func inboxList(ctx context.Context, e *env, args []string) int {
	fs := e.flags("inbox list")
	storeURL := e.storeFlag(fs)
	state := fs.String("state", "", "only deliveries in this state: pending, processing, done or dead")
	limit := fs.Int("limit", 50, "most deliveries per connector, newest first")
	if ok, code := parse(fs, args); !ok {
		return code
	}
	switch *state {
	case "", store.DeliveryPending, store.DeliveryProcessing, store.DeliveryDone, store.DeliveryDead:
	default:
		fmt.Fprintf(e.stderr, "tajo-agent inbox list: --state %q: use pending, processing, done or dead\n", *state)
		return exitUsage
	}
	st, err := e.openStore(ctx, *storeURL)
	if err != nil {
		return e.errorf("%v", err)
	}
	defer st.Close()
	bundles := loadBundles(ctx, e, st, fs.Args())
	tw := tabwriter.NewWriter(e.stdout, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "CONNECTOR\tSEQ\tSTATE\tSOURCE\tTOPIC\tRECORD\tRECEIVED\tATTEMPTS\tLAST ERROR")
	for _, b := range bundles {
		ds, err := st.ListDeliveries(ctx, b.Connector.ID(), store.InboxFilter{State: *state, Limit: *limit})
		if err != nil {
			return e.errorf("%v", err)
		}
		for _, d := range ds {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", d.ConnectorID, d.Seq, d.State, d.Source, d.Topic, d.Key,
				d.ReceivedAt.UTC().Format(time.RFC3339), d.Attempts, d.LastError)
		}
	}
	tw.Flush()
	return exitOK
}

func inboxRetry(ctx context.Context, e *env, args []string) int {
	fs := e.flags("inbox retry")
	storeURL := e.storeFlag(fs)
	if ok, code := parse(fs, args); !ok {
		return code
	}
	if fs.NArg() < 1 {
		fmt.Fprintln(e.stderr, "usage: tajo-agent inbox retry [--store URL] <connector> [delivery seq ...]")
		return exitUsage
	}
	var seqs []int64
	for _, a := range fs.Args()[1:] {
		n, err := strconv.ParseInt(a, 10, 64)
		if err != nil {
			fmt.Fprintf(e.stderr, "tajo-agent inbox retry: %q is not a delivery seq (see tajo-agent inbox list)\n", a)
			return exitUsage
		}
		seqs = append(seqs, n)
	}
	st, err := e.openStore(ctx, *storeURL)
	if err != nil {
		return e.errorf("%v", err)
	}
	defer st.Close()
	n, err := st.Requeue(ctx, fs.Arg(0), seqs)
	if err != nil {
		return e.errorf("%v", err)
	}
	fmt.Fprintf(e.stdout, "%s: %d deliveries queued again; a running agent processes them within a second\n", fs.Arg(0), n)
	return exitOK
}
