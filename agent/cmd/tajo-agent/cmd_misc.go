package main

import (
	"context"
	"fmt"

	"github.com/tajo/terraform-provider-tajo/agent/store"
	"github.com/tajo/terraform-provider-tajo/agent/store/sqlstore"
)

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
	s, err := e.openStore(ctx, *storeURL)
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

func cmdReset(ctx context.Context, e *env, args []string) int {
	fs := e.flags("reset")
	storeURL := e.storeFlag(fs)
	if ok, code := parse(fs, args); !ok {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(e.stderr, "usage: tajo-agent reset [--store URL] <connector>\n\nForgets what the agent wrote for the connector (status, checkpoints, id map, pending writes);\nthe next pass is a full one. Brevo is not changed.")
		return exitUsage
	}
	s, err := e.openStore(ctx, *storeURL)
	if err != nil {
		return e.errorf("%v", err)
	}
	defer s.Close()
	if err := s.PurgeConnector(ctx, fs.Arg(0)); err != nil {
		return e.errorf("%v", err)
	}
	fmt.Fprintf(e.stdout, "connector %s: sync state cleared; the next pass is a full sync\n", fs.Arg(0))
	return exitOK
}
