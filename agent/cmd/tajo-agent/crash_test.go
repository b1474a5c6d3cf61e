package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tajo/terraform-provider-tajo/agent/config"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox/expect"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox/fakebrevo"
	"github.com/tajo/terraform-provider-tajo/agent/store"
)

var (
	buildOnce sync.Once
	agentBin  string
	buildErr  error
	buildOut  []byte
)

// buildAgent builds the tajo-agent binary once per test binary.
func buildAgent(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "tajo-agent-bin-")
		if err != nil {
			buildErr = err
			return
		}
		agentBin = filepath.Join(dir, "tajo-agent")
		cmd := exec.Command("go", "build", "-o", agentBin, ".")
		buildOut, buildErr = cmd.CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("build tajo-agent: %v\n%s", buildErr, buildOut)
	}
	return agentBin
}

// applyQuickstartLike writes the quickstart's declarations straight into
// the store (the Terraform path is covered by the e2e tests).
func (x *e2e) applyQuickstartLike(t *testing.T) {
	t.Helper()
	st, err := store.Open(t.Context(), x.store)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c := config.NewConnector("intercom")
	c.Intercom.AccessToken, c.Brevo.APIKey = "env:INTERCOM_ACCESS_TOKEN", "env:BREVO_API_KEY"
	c.Intercom.BaseURL, c.Brevo.BaseURL, c.Intercom.Plan = x.ep.IntercomURL, x.ep.BrevoURL, config.PlanPremium
	c.Sync = config.Sync{Contacts: true, Companies: true, Tags: true}
	objs := []store.Object{c,
		config.FieldMapping{ConnectorID: "intercom", Source: "custom_attributes.plan_tier", Target: "PLAN_TIER", Type: "text"},
		config.FieldMapping{ConnectorID: "intercom", Source: "custom_attributes.feature_usage", Target: "FEATURE_USAGE", Type: "number"},
		config.ListAssignment{ConnectorID: "intercom", ListID: 35, Rule: "all_users"},
		config.ListAssignment{ConnectorID: "intercom", ListID: 37, Rule: "leads"},
	}
	for _, o := range objs {
		if _, err := store.Save(t.Context(), st, o, store.MustNotExist); err != nil {
			t.Fatal(err)
		}
	}
}

// save writes declarations into the test's store.
func (x *e2e) save(t *testing.T, objs ...store.Object) {
	t.Helper()
	st := x.crashStore(t)
	defer st.Close()
	for _, o := range objs {
		if _, err := store.Save(t.Context(), st, o, store.AnyVersion); err != nil {
			t.Fatal(err)
		}
	}
}

// editConnector changes the connector declared in the test's store.
func (x *e2e) editConnector(t *testing.T, edit func(*config.Connector)) {
	t.Helper()
	st := x.crashStore(t)
	defer st.Close()
	c, _, err := store.Load[config.Connector](t.Context(), st, config.KindConnector, "intercom")
	if err != nil {
		t.Fatal(err)
	}
	edit(&c)
	x.save(t, c)
}

// waitReady waits up to 30 s for the agent serving addr to answer
// /readyz with 200; output is the agent's, shown when it does not.
func waitReady(t *testing.T, addr string, output fmt.Stringer) {
	t.Helper()
	if !crashWaitUntil(30*time.Second, func() bool {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}) {
		t.Fatalf("agent not ready:\n%s", output)
	}
}

// crashSeed makes the kill points reproducible: TAJO_CRASH_SEED=n.
func crashSeed(t *testing.T) uint64 {
	if v := os.Getenv("TAJO_CRASH_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("TAJO_CRASH_SEED: %v", err)
		}
		return n
	}
	return uint64(time.Now().UnixNano())
}

// TestCrashRecoveryFullSync kills `tajo-agent sync --once` with SIGKILL at
// random points of a full sync (seeded: TAJO_CRASH_SEED), restarts it each
// time, and checks that the last run ends in the exact Brevo state with no
// duplicate contact. Kill points alternate between a moment of the pass
// (200 ms to 1.5 s after the lease is free) and 0–40 ms after a Brevo
// write begins, so they land in the sync however fast this machine runs
// it; a killed run's lease (--lease-ttl 5s) runs out before the next run
// starts, so no kill lands while a run waits for it.
func TestCrashRecoveryFullSync(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the agent binary")
	}
	bin := buildAgent(t)
	seed := crashSeed(t)
	t.Logf("kill points from seed %d (rerun with TAJO_CRASH_SEED=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0x7a30))
	x := newE2E(t, 3000)
	x.applyQuickstartLike(t)
	st := x.crashStore(t)
	defer st.Close()
	env := append(os.Environ(), "TAJO_STORE="+x.store)
	for k, v := range x.secrets {
		env = append(env, k+"="+v)
	}
	leaseFree := func() bool {
		_, held, err := st.LeaseHolder(t.Context(), "intercom")
		return err == nil && !held
	}
	// run starts a pass; kill, when set, returns once the process should
	// be killed (or has ended by itself).
	run := func(kill func(done <-chan struct{}) string) (killed bool, what, out string) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, "sync", "--once", "--lease-ttl", "5s", "--log-level", "warn")
		cmd.Env = env
		var buf bytes.Buffer // read once the process has ended
		cmd.Stdout, cmd.Stderr = &buf, &buf
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		ended := make(chan struct{})
		var waitErr error
		go func() { waitErr = cmd.Wait(); close(ended) }()
		if kill != nil {
			what = kill(ended)
			select {
			case <-ended:
				return false, what, buf.String() + errString(waitErr)
			default:
			}
			_ = cmd.Process.Signal(syscall.SIGKILL)
			<-ended
			return true, what, buf.String()
		}
		<-ended
		if waitErr != nil {
			t.Fatalf("final sync failed: %v\n%s", waitErr, buf.String())
		}
		return false, "", buf.String()
	}
	sleepOrEnd := func(d time.Duration, done <-chan struct{}) {
		select {
		case <-time.After(d):
		case <-done:
		}
	}
	kills, duringWrite := 0, 0
	for i := range 8 {
		if !crashWaitUntil(15*time.Second, leaseFree) {
			t.Fatalf("the killed run's lease did not run out within 15 s")
		}
		atWrite := false
		killed, what, out := run(func(done <-chan struct{}) string {
			if i%2 == 0 {
				d := time.Duration(200+rng.IntN(1300)) * time.Millisecond
				sleepOrEnd(d, done)
				return fmt.Sprintf("after %s", d)
			}
			delay, before := time.Duration(rng.IntN(40))*time.Millisecond, x.brevoWrites()
			if !crashWaitUntilEvery(20*time.Second, 2*time.Millisecond, func() bool {
				select {
				case <-done:
					return true
				default:
				}
				return x.brevoWrites() > before
			}) {
				return "after 20 s without a Brevo write"
			}
			sleepOrEnd(delay, done)
			atWrite = true
			return fmt.Sprintf("%s after a Brevo write began", delay)
		})
		if !killed {
			t.Logf("run %d: finished before the kill (%s):\n%s", i+1, what, out)
			break
		}
		kills++
		if atWrite {
			duringWrite++
		}
		t.Logf("run %d: killed %s; full pass done %v, %d Brevo contacts", i+1, what, crashFullPassDone(t.Context(), st), x.sb.Brevo.ContactCount())
	}
	if !crashWaitUntil(15*time.Second, leaseFree) {
		t.Fatalf("the killed run's lease did not run out within 15 s")
	}
	_, _, out := run(nil)
	t.Logf("final run:\n%s", out)
	if kills < 3 || duringWrite == 0 {
		t.Fatalf("only %d runs were killed mid-sync (%d during a Brevo write); the test did not exercise recovery", kills, duringWrite)
	}
	r := expect.Compare(x.sb, expect.Setup{Custom: true, Companies: true, Lists: map[string]int64{"all_users": 35, "leads": 37}})
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	crashNoDuplicates(t, x, 35, 37)
	writes := 0
	for _, w := range x.sb.Brevo.Writes() {
		if w.Kind == fakebrevo.WriteContact {
			writes += len(w.ContactIDs)
		}
	}
	t.Logf("%d kills (%d during a Brevo write); %d contacts exact in Brevo, no duplicates; %d contact writes in all (%.2f per contact)",
		kills, duringWrite, r.Contacts, writes, float64(writes)/float64(r.Contacts))
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
