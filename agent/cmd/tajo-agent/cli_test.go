package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errw bytes.Buffer
	code := run(t.Context(), args, &out, &errw)
	return code, out.String(), errw.String()
}

func TestVersionAndSchema(t *testing.T) {
	code, out, _ := runCLI(t, "version")
	if code != 0 || !strings.Contains(out, "store schema") {
		t.Errorf("version: %d %q", code, out)
	}
	url := "sqlite://" + filepath.Join(t.TempDir(), "tajo.db")
	code, out, errs := runCLI(t, "schema", "--store", url)
	if code != 0 || !strings.Contains(out, "sqlite store") {
		t.Errorf("schema: %d %q %q", code, out, errs)
	}
	code, _, errs = runCLI(t, "schema", "--store", "")
	if code != 1 || !strings.Contains(errs, "TAJO_STORE") {
		t.Errorf("schema without store: %d %q", code, errs)
	}
	code, _, errs = runCLI(t, "frobnicate")
	if code != 2 || !strings.Contains(errs, "unknown command") {
		t.Errorf("unknown command: %d %q", code, errs)
	}
}

func TestLeaseTTLRange(t *testing.T) {
	for _, args := range [][]string{{"run"}, {"sync", "--once"}} {
		for _, ttl := range []string{"1s", "11m0s"} {
			code, _, errs := runCLI(t, append(args, "--lease-ttl", ttl)...)
			if code != exitUsage || !strings.Contains(errs, "tajo-agent "+args[0]+": --lease-ttl "+ttl+" is out of range") {
				t.Errorf("%s --lease-ttl %s: exit %d %q", args[0], ttl, code, errs)
			}
		}
	}
}

func TestInboxRetentionTooShort(t *testing.T) {
	code, _, errs := runCLI(t, "run", "--inbox-retention", "1h")
	if code != exitUsage || !strings.Contains(errs, "--inbox-retention 1h0m0s is too short: Intercom redelivers for up to 2 hours") {
		t.Errorf("run --inbox-retention 1h: exit %d %q", code, errs)
	}
}

func TestSyncResources(t *testing.T) {
	code, _, errs := runCLI(t, "sync", "--once", "--resources", "contacts,tickets")
	if code != exitUsage || !strings.Contains(errs, `"tickets" is not a resource; use some of contacts, companies, conversations, events`) {
		t.Errorf("sync --resources tickets: exit %d %q", code, errs)
	}
	// Every documented resource is accepted: the command goes on to want
	// a store.
	code, _, errs = runCLI(t, "sync", "--once", "--full", "--resources", "contacts,companies,conversations,events", "--store", "")
	if code == exitUsage || strings.Contains(errs, "not a resource") {
		t.Errorf("sync --resources with every resource: exit %d %q", code, errs)
	}
}
