package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/tajo/terraform-provider-tajo/agent/config"
	"github.com/tajo/terraform-provider-tajo/agent/intercom"
	"github.com/tajo/terraform-provider-tajo/agent/store"
	"github.com/tajo/terraform-provider-tajo/agent/sync"
)

// check is one line of the connection checklist.
type check struct {
	name string
	run  func(ctx context.Context, eng *sync.Engine, b config.Bundle, st store.Store) (skipped string, err error)
}

// checklist is the brief's connection test output, in order.
var checklist = []check{
	{"API connection successful", func(ctx context.Context, eng *sync.Engine, _ config.Bundle, _ store.Store) (string, error) {
		return "", eng.Check(ctx)
	}},
	{"Contacts readable", func(ctx context.Context, eng *sync.Engine, _ config.Bundle, _ store.Store) (string, error) {
		_, _, err := eng.Intercom().Contacts.List(ctx, &intercom.ListOptions{PerPage: 1})
		return "", err
	}},
	{"Conversations readable", func(ctx context.Context, eng *sync.Engine, b config.Bundle, _ store.Store) (string, error) {
		_, _, err := eng.Intercom().Conversations.List(ctx, &intercom.ListOptions{PerPage: 1})
		if err != nil && !b.Connector.Sync.Conversations {
			return "not synced (sync.conversations = false)", nil
		}
		return "", err
	}},
	{"Companies readable", func(ctx context.Context, eng *sync.Engine, _ config.Bundle, _ store.Store) (string, error) {
		_, _, err := eng.Intercom().Companies.List(ctx, &intercom.CompanyListOptions{PageOptions: intercom.PageOptions{PerPage: 1}})
		return "", err
	}},
	{"Webhooks registered", checkWebhooks},
}

// checkWebhooks: Brevo subscriptions must be registered in Brevo;
// Intercom ones must have delivered something (a ping at least).
func checkWebhooks(ctx context.Context, eng *sync.Engine, b config.Bundle, st store.Store) (string, error) {
	if len(b.Webhooks) == 0 {
		if b.Connector.Mode == config.ModeRealtime {
			return "", errors.New("mode is realtime but no tajo_webhook_subscription is declared: declare one, or use mode = \"hybrid\"")
		}
		return "none declared (scheduled passes only)", nil
	}
	return "", sync.CheckWebhooks(ctx, eng, st)
}

func cmdTest(ctx context.Context, e *env, args []string) int {
	fs := e.flags("test")
	storeURL := e.storeFlag(fs)
	lf := e.logFlags(fs)
	*lf.level = "error"
	if ok, code := parse(fs, args); !ok {
		return code
	}
	log, err := e.logger(lf)
	if err != nil {
		fmt.Fprintf(e.stderr, "tajo-agent test: %v\n", err)
		return exitUsage
	}
	st, err := e.openStore(ctx, *storeURL)
	if err != nil {
		return e.errorf("%v", err)
	}
	defer st.Close()
	bundles := loadBundles(ctx, e, st, fs.Args())
	if len(bundles) == 0 {
		return e.errorf("no connector in %s: declare a tajo_connector and run terraform apply", store.Redact(*storeURL))
	}
	failed := false
	for _, b := range bundles {
		if !runChecklist(ctx, e.stdout, b, st, e.engineOptions(log, agentID())) {
			failed = true
		}
	}
	if failed {
		return exitError
	}
	return exitOK
}

func runChecklist(ctx context.Context, w io.Writer, b config.Bundle, st store.Store, opts sync.Options) bool {
	fmt.Fprintf(w, "%s:\n", b.Connector.ID())
	eng, err := sync.New(b, st, opts)
	if err != nil {
		fmt.Fprintf(w, "  ✗ configuration: %v\n", err)
		return false
	}
	ok := true
	for _, c := range checklist {
		skipped, err := c.run(ctx, eng, b, st)
		switch {
		case err != nil:
			ok = false
			fmt.Fprintf(w, "  ✗ %s: %v\n", c.name, err)
			for _, t := range troubleshooting {
				if t.match(err) {
					fmt.Fprintf(w, "      fix (%s): %s\n", t.problem, t.fix)
					break
				}
			}
		case skipped != "":
			fmt.Fprintf(w, "  – %s: %s\n", c.name, skipped)
		default:
			fmt.Fprintf(w, "  ✓ %s\n", c.name)
		}
	}
	if b.Connector.LeadPolicy == config.LeadPolicySkip {
		fmt.Fprintf(w, "  note: %s\n", fixLeadsSkipped)
	}
	return ok
}
