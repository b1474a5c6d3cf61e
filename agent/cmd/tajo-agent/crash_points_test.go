package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	gosync "sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tajo/terraform-provider-tajo/agent/config"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox/dataset"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox/expect"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox/fakeintercom"
	"github.com/tajo/terraform-provider-tajo/agent/store"
	"github.com/tajo/terraform-provider-tajo/agent/store/postgres/pgtest"
)

// crashAgent is a `tajo-agent run` subprocess.
type crashAgent struct {
	cmd  *exec.Cmd
	out  *lockedWriter
	done chan error
}

// crashLease are the flags that shorten the wait for a killed agent's
// connector lease, when the binary has leases.
var crashLease struct {
	once  gosync.Once
	flags []string
	ttl   time.Duration
}

func crashLeaseFlags(t *testing.T, bin string) ([]string, time.Duration) {
	crashLease.once.Do(func() {
		out, _ := exec.Command(bin, "run", "-h").CombinedOutput()
		if bytes.Contains(out, []byte("-lease-ttl")) {
			crashLease.flags, crashLease.ttl = []string{"--lease-ttl", "5s"}, 5*time.Second
		}
	})
	return crashLease.flags, crashLease.ttl
}

// startAgent starts `tajo-agent run` on the store with the sandbox's
// secrets in its environment.
func (x *e2e) crashStart(t *testing.T, bin string, args ...string) *crashAgent {
	t.Helper()
	lf, _ := crashLeaseFlags(t, bin)
	cmd := exec.Command(bin, append(append([]string{"run", "--store", x.store, "--log-level", "info"}, lf...), args...)...)
	cmd.Env = os.Environ()
	for k, v := range x.secrets {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	p := &crashAgent{cmd: cmd, out: &lockedWriter{w: &bytes.Buffer{}}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() { p.kill() })
	return p
}

// kill sends SIGKILL; it reports whether the agent was still running.
func (p *crashAgent) kill() bool {
	select {
	case err := <-p.done:
		p.done <- err
		return false
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	err := <-p.done
	p.done <- err
	return true
}

// stop sends SIGTERM and waits for a clean exit.
func (p *crashAgent) stop(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		p.done <- err
		if err != nil {
			t.Errorf("agent exited with %v after SIGTERM:\n%s", err, p.out.String())
		}
	case <-time.After(30 * time.Second):
		t.Errorf("agent did not stop within 30 s of SIGTERM")
		p.kill()
	}
}

// openStore opens the test's store beside the agent (SQLite in WAL mode
// and PostgreSQL both take a second process).
func (x *e2e) crashStore(t *testing.T) store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), x.store)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// fullPass reads the full-pass checkpoint: whether one completed.
func crashFullPassDone(ctx context.Context, st store.Store) bool {
	b, err := st.GetCheckpoint(ctx, "intercom", "full")
	if err != nil {
		return false
	}
	var cp struct {
		Done bool `json:"done"`
	}
	return json.Unmarshal(b, &cp) == nil && cp.Done
}

// crashWaitUntil polls ok every 100 ms for up to limit.
func crashWaitUntil(limit time.Duration, ok func() bool) bool {
	return crashWaitUntilEvery(limit, 100*time.Millisecond, ok)
}

// crashWaitUntilEvery polls ok every interval for up to limit.
func crashWaitUntilEvery(limit, interval time.Duration, ok func() bool) bool {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if ok() {
			return true
		}
		time.Sleep(interval)
	}
	return ok()
}

// crashNoDuplicates checks the write log beyond expect.Compare (which already
// finds a second Brevo contact for one Intercom contact): no list holds a
// contact twice, no event was recorded twice.
func crashNoDuplicates(t *testing.T, x *e2e, lists ...int64) {
	t.Helper()
	for _, l := range lists {
		members, _ := x.sb.Brevo.ListMembers(l)
		sorted := slices.Clone(members)
		slices.Sort(sorted)
		if len(slices.Compact(sorted)) != len(members) {
			t.Errorf("list %d holds a contact twice", l)
		}
	}
	if d := x.sb.Brevo.DuplicateEvents(); len(d) > 0 {
		t.Errorf("events recorded twice: %v", d)
	}
	emails := map[string]int{}
	for _, c := range x.sb.Brevo.Contacts() {
		if c.Email != "" {
			emails[strings.ToLower(c.Email)]++
		}
	}
	for e, n := range emails {
		if n > 1 {
			t.Errorf("%d Brevo contacts share the email of one Intercom contact", n)
			_ = e
		}
	}
}

// TestCrashPoints kills `tajo-agent run` with SIGKILL at 10 random
// points (seeded: TAJO_CRASH_SEED; each run logs its seed) of a full sync
// (crashFullSync) and of a webhook burst (crashWebhookBurst), on a SQLite
// and on a PostgreSQL store, restarting it each time: the last run must
// leave Brevo exact, with no duplicate contact, list member or event, and
// lose no delivery answered 200.
func TestCrashPoints(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the agent binary")
	}
	t.Parallel()
	// The four run at once, not within the -parallel slots (t.Run from
	// goroutines): they spend most of their time waiting for a killed
	// agent's connector lease (5 s) or inbox claims (2 min) to run out.
	var wg gosync.WaitGroup
	for _, sc := range []struct {
		name     string
		contacts int
		run      func(*testing.T, *e2e)
	}{
		{"full sync", 3000, func(t *testing.T, x *e2e) { crashFullSync(t, x, 10) }},
		{"webhook burst", 300, crashWebhookBurst},
	} {
		for _, backend := range []string{"sqlite", "postgres"} {
			wg.Go(func() {
				t.Run(sc.name+"/"+backend, func(t *testing.T) {
					x := newE2E(t, sc.contacts)
					if backend == "postgres" {
						x.store = pgtest.NewURL(t)
					}
					sc.run(t, x)
				})
			})
		}
	}
	wg.Wait()
}

// crashWriteRoutes are the Brevo requests a kill may wait for: it then
// lands while a bulk write is in flight or just answered (journaled,
// possibly applied, outcome not yet recorded).
var crashWriteRoutes = []string{"POST /contacts/import", "POST /contacts/import", "POST /companies/import"}

// crashFullSync kills the agent points times. Even points are moments of
// the pass (300 ms to 2.5 s after the start: reading Intercom, planning,
// resolving what the previous agent left in flight); odd points wait for
// a Brevo bulk write to begin (or, failing one within 6 s, any Brevo
// write within 20 s more) and kill 0–40 ms later. Once the full pass is done, 80 contacts change
// before each restart, so that later points land in incremental passes
// with imports of their own.
func crashFullSync(t *testing.T, x *e2e, points int) {
	bin := buildAgent(t)
	seed := crashSeed(t)
	t.Logf("%d kill points from seed %d (rerun with TAJO_CRASH_SEED=%d)", points, seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0xf011))
	x.applyQuickstartLike(t)
	_, ttl := crashLeaseFlags(t, bin)
	st := x.crashStore(t)
	defer st.Close()
	route := func(r string) int { return x.sb.Brevo.Harness().Stats().ByRoute[r] }
	planning, writing, churned := 0, 0, 0
	for i := range points {
		if crashFullPassDone(t.Context(), st) {
			churned += crashChurn(t, x, fmt.Sprintf("crash%02d", i), 80)
		}
		p := x.crashStart(t, bin)
		start := time.Now()
		what := ""
		if i%2 == 0 {
			d := time.Duration(300+rng.IntN(2200)) * time.Millisecond
			time.Sleep(d)
			what = fmt.Sprintf("after %s", d)
			planning++
		} else {
			r, delay := crashWriteRoutes[rng.IntN(len(crashWriteRoutes))], time.Duration(rng.IntN(40))*time.Millisecond
			before, writes := route(r), x.brevoWrites()
			switch {
			case crashWaitUntilEvery(6*time.Second, 2*time.Millisecond, func() bool { return route(r) > before }):
				what = fmt.Sprintf("%s after the start of %s", delay, r)
			case crashWaitUntilEvery(20*time.Second, 2*time.Millisecond, func() bool { return x.brevoWrites() > writes }):
				// No such import (yet): the agent may be resolving what
				// its predecessor left in flight (an import it never
				// sent is looked for 15 s). Any Brevo write does.
				what = fmt.Sprintf("%s after the start of a Brevo write (no %s came)", delay, r)
			default:
				what = fmt.Sprintf("after %s: no Brevo write came", time.Since(start).Round(time.Millisecond))
				delay = -1
			}
			if delay >= 0 {
				time.Sleep(delay)
				writing++
			}
		}
		if !p.kill() {
			t.Fatalf("agent exited by itself before the kill:\n%s", p.out.String())
		}
		pending, _ := st.CountPending(t.Context(), "intercom", "")
		t.Logf("kill %d %s: full pass done %v, %d writes pending, %d Brevo contacts, %d contact imports, %d company imports",
			i+1, what, crashFullPassDone(t.Context(), st), pending, x.sb.Brevo.ContactCount(),
			route("POST /contacts/import"), route("POST /companies/import"))
		if ttl > 0 {
			// The killed agent's lease runs out; the next one takes over.
			time.Sleep(ttl + 300*time.Millisecond)
		}
	}
	if writing == 0 {
		t.Errorf("no kill landed during a Brevo write: recovery of writes in flight was not tested")
	}
	p := x.crashStart(t, bin, "--log-level", "debug")
	ok := crashWaitUntil(3*time.Minute, func() bool {
		if !crashFullPassDone(t.Context(), st) {
			return false
		}
		if n, err := st.CountPending(t.Context(), "intercom", ""); err != nil || n > 0 {
			return false
		}
		return expect.Compare(x.sb, quickstartSetup).Err() == nil
	})
	p.stop(t)
	if !ok {
		t.Fatalf("not exact 3 minutes after the last restart: %v\nbrevo requests: %+v\nintercom requests: %+v\nagent output:\n%s",
			expect.Compare(x.sb, quickstartSetup).Err(), x.sb.Brevo.Harness().Stats(), x.sb.Intercom.Harness().Stats(), p.out.String())
	}
	crashNoDuplicates(t, x, 35, 37)
	writes, most := 0, 0
	for _, n := range x.sb.Brevo.ContactWrites() {
		writes += n
		most = max(most, n)
	}
	r := expect.Compare(x.sb, quickstartSetup)
	t.Logf("%d kills on %s (%d at moments of the pass, %d during Brevo writes; %d contacts changed between kills); %d contacts exact, no duplicates; %d contact writes (%.2f per contact, at most %d for one)",
		points, st.Backend(), planning, writing, churned, r.Contacts, writes, float64(writes)/float64(r.Contacts), most)
}

// brevoWrites counts the Brevo requests that change something (all but
// GETs) the sandbox has served.
func (x *e2e) brevoWrites() int {
	n := 0
	for r, c := range x.sb.Brevo.Harness().Stats().ByRoute {
		if !strings.HasPrefix(r, "GET ") {
			n += c
		}
	}
	return n
}

// crashChurn changes the plan tier of n Intercom users (an incremental
// pass then imports them) and returns n.
func crashChurn(t *testing.T, x *e2e, tag string, n int) int {
	t.Helper()
	changed := 0
	for _, id := range x.sb.Intercom.ContactIDs() {
		if changed == n {
			break
		}
		if c, _ := x.sb.Intercom.Contact(id); c.Email == "" || c.Role != "user" {
			continue
		}
		if err := x.sb.Intercom.UpdateContact(id, func(c *dataset.Contact) { c.CustomAttributes["plan_tier"] = tag }); err != nil {
			t.Fatal(err)
		}
		changed++
	}
	return changed
}

// crashWebhookBurst: a `tajo-agent run --listen` subprocess receives
// signed deliveries from 4 concurrent senders and is SIGKILLed at a random
// point of each of 10 bursts (while they arrive, or while they are
// processed), then restarted. Deliveries not answered 200
// are sent again, as Intercom does. Every delivery the agent answered 200
// must be in its inbox once and processed after the restarts, and Brevo
// must end exact with no duplicate.
func crashWebhookBurst(t *testing.T, x *e2e) {
	bin := buildAgent(t)
	seed := crashSeed(t)
	t.Logf("kill points from seed %d (rerun with TAJO_CRASH_SEED=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0xb0057))
	// Pacing is not under test: stale deliveries each cost a GET, which
	// the sandbox's default Intercom budget would spread over minutes.
	x.sb.LiftLimits(true)
	x.applyQuickstartLike(t)
	x.editConnector(t, func(c *config.Connector) { c.Mode = config.ModeRealtime })
	x.save(t, config.WebhookSubscription{ConnectorID: "intercom", Source: config.SourceIntercom, Path: "/webhooks/intercom",
		Secret: "env:INTERCOM_CLIENT_SECRET", Topics: []string{"contact.created", "contact.updated", "contact.deleted"}})
	var users []string
	for _, id := range x.sb.Intercom.ContactIDs() {
		if c, _ := x.sb.Intercom.Contact(id); c.Email != "" && c.Role == "user" {
			users = append(users, id)
		}
	}
	var clock atomic.Int64
	clock.Store(x.sb.Intercom.Now().Unix())
	x.sb.Intercom.SetClock(func() time.Time { return time.Unix(clock.Load(), 0) })

	addr := freeAddr(t)
	url := "http://" + addr + "/webhooks/intercom"
	accepted := map[string]bool{}
	var resend []fakeintercom.Notification
	var sentOK []fakeintercom.Notification
	st := x.crashStore(t)
	defer st.Close()
	ready := func(p *crashAgent) { waitReady(t, addr, p.out) }
	// send delivers a burst with 4 senders and returns what was answered
	// 200 and what was not.
	send := func(burst []fakeintercom.Notification) (ok, failed []fakeintercom.Notification) {
		var mu gosync.Mutex
		work := make(chan fakeintercom.Notification)
		var wg gosync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for n := range work {
					time.Sleep(2 * time.Millisecond) // a burst, not a flood: kills land inside it
					status, err := x.sb.Intercom.Deliver(context.Background(), url, n)
					mu.Lock()
					if err == nil && status == http.StatusOK {
						ok = append(ok, n)
					} else {
						failed = append(failed, n)
					}
					mu.Unlock()
				}
			})
		}
		for _, n := range burst {
			work <- n
		}
		close(work)
		wg.Wait()
		return ok, failed
	}
	pendingAtKill := int64(0)
	for cycle := range 10 {
		p := x.crashStart(t, bin, "--listen", addr)
		ready(p)
		burst := slices.Clone(resend)
		for k := range 50 {
			id := users[rng.IntN(len(users))]
			clock.Add(1)
			value := fmt.Sprintf("c%02d-%02d", cycle, k)
			if err := x.sb.Intercom.UpdateContact(id, func(c *dataset.Contact) { c.CustomAttributes["plan_tier"] = value }); err != nil {
				t.Fatal(err)
			}
			n, err := x.sb.Intercom.Notify("contact.user.updated", id)
			if err != nil {
				t.Fatal(err)
			}
			burst = append(burst, n)
		}
		for range 4 { // redeliveries of accepted ones
			if len(sentOK) > 0 {
				burst = append(burst, sentOK[rng.IntN(len(sentOK))])
			}
		}
		// Even bursts are killed while deliveries arrive, odd ones while
		// the agent processes them (or has just finished).
		killAfter := time.Duration(5+rng.IntN(60)) * time.Millisecond
		if cycle%2 == 1 {
			killAfter = time.Duration(100+rng.IntN(1400)) * time.Millisecond
		}
		killed := make(chan bool, 1)
		go func() {
			time.Sleep(killAfter)
			killed <- p.kill()
		}()
		ok, failed := send(burst)
		wasRunning := <-killed
		for _, n := range ok {
			accepted[n.ID] = true
		}
		sentOK = append(sentOK, ok...)
		resend = failed
		depth, _, _, _ := st.InboxStats(t.Context(), "intercom")
		pendingAtKill = depth
		t.Logf("burst %d: killed after %s (running: %v): %d answered 200, %d to send again, %d accepted deliveries unprocessed at the kill",
			cycle+1, killAfter, wasRunning, len(ok), len(failed), depth)
	}
	p := x.crashStart(t, bin, "--listen", addr)
	ready(p)
	for len(resend) > 0 {
		ok, failed := send(resend)
		for _, n := range ok {
			accepted[n.ID] = true
		}
		resend = failed
	}
	// Deliveries a killed agent had claimed wait for the claim to run out
	// (the inbox lease, 2 minutes), and so do the later ones of the same
	// contacts.
	restarted := time.Now()
	if !crashWaitUntil(4*time.Minute, func() bool {
		depth, _, dead, err := st.InboxStats(t.Context(), "intercom")
		return err == nil && depth == 0 && dead == 0
	}) {
		depth, _, dead, _ := st.InboxStats(t.Context(), "intercom")
		ds, _ := st.ListDeliveries(t.Context(), "intercom", store.InboxFilter{Limit: 100000})
		states := map[string]int{}
		var sample []string
		for _, d := range ds {
			states[d.State]++
			if d.State == store.DeliveryProcessing && len(sample) < 5 {
				sample = append(sample, fmt.Sprintf("%s %s attempts=%d claimed by %q until %s: %s", d.ID, d.State, d.Attempts, d.ClaimedBy,
					d.ClaimUntil.Format(time.RFC3339), d.LastError))
			}
		}
		t.Fatalf("the inbox did not drain within 4 minutes of the restart (at %s): depth %d, dead %d, states %v\n%s\nagent output:\n%s",
			restarted.UTC().Format(time.RFC3339), depth, dead, states, strings.Join(sample, "\n"), p.out.String())
	}
	drained := time.Since(restarted)
	all, err := st.ListDeliveries(t.Context(), "intercom", store.InboxFilter{Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	inbox := map[string]int{}
	for _, d := range all {
		inbox[d.ID]++
		if d.State != store.DeliveryDone {
			t.Errorf("delivery %s is %s: %s", d.ID, d.State, d.LastError)
		}
	}
	lost := 0
	for id := range accepted {
		if inbox[id] != 1 {
			lost++
			t.Errorf("delivery %s was answered 200 but is in the inbox %d times", id, inbox[id])
		}
	}
	ok := crashWaitUntil(2*time.Minute, func() bool {
		n, err := st.CountPending(t.Context(), "intercom", store.KindContact)
		return err == nil && n == 0 && expect.Compare(x.sb, quickstartSetup).Err() == nil
	})
	p.stop(t)
	if !ok {
		t.Fatalf("Brevo not exact after the restarts: %v\n%s", expect.Compare(x.sb, quickstartSetup).Err(), p.out.String())
	}
	crashNoDuplicates(t, x, 35, 37)
	t.Logf("10 bursts killed on %s; %d deliveries answered 200 (%d of them unprocessed at the last kill), all processed %s after the last restart (%d lost); Brevo exact, no duplicates",
		st.Backend(), len(accepted), pendingAtKill, drained.Round(time.Second), lost)
}

// TestCLIBadStoreFiles: a store file that is not a database, another
// application's database and a store whose pages were damaged are
// refused by every command with a message naming the problem, not a
// panic or a Go error dump.
func TestCLIBadStoreFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	junk := dir + "/junk.db"
	if err := os.WriteFile(junk, bytes.Repeat([]byte("not sqlite at all\n"), 500), 0o600); err != nil {
		t.Fatal(err)
	}
	foreign := dir + "/foreign.db"
	func() {
		st, err := store.Open(t.Context(), "sqlite://"+dir+"/scratch.db") // registers the driver
		if err != nil {
			t.Fatal(err)
		}
		st.Close()
	}()
	if err := crashForeignSQLite(foreign); err != nil {
		t.Fatal(err)
	}
	damaged := dir + "/damaged.db"
	func() {
		st, err := store.Open(t.Context(), "sqlite://"+damaged)
		if err != nil {
			t.Fatal(err)
		}
		c := config.NewConnector("intercom")
		c.Intercom.AccessToken, c.Brevo.APIKey = "env:A", "env:B"
		if _, err := store.Save(t.Context(), st, c, store.MustNotExist); err != nil {
			t.Fatal(err)
		}
		st.Close()
		b, err := os.ReadFile(damaged)
		if err != nil {
			t.Fatal(err)
		}
		for i := 100; i < len(b); i++ { // keep the header, wreck the pages
			b[i] = byte(i * 7)
		}
		if err := os.WriteFile(damaged, b, 0o600); err != nil {
			t.Fatal(err)
		}
		os.Remove(damaged + "-wal")
		os.Remove(damaged + "-shm")
	}()
	cases := []struct {
		file string
		want []string
	}{
		{junk, []string{"not a usable SQLite database"}},
		{foreign, []string{"not a Tajo store", "invoices"}},
		{damaged, []string{"malformed"}},
	}
	for _, tc := range cases {
		for _, args := range [][]string{{"status"}, {"sync", "--once"}, {"run"}, {"schema"}} {
			env := &env{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, getenv: func(string) string { return "" },
				lookupEnv: func(string) (string, bool) { return "", false }}
			var out lockedWriter
			out.w = &bytes.Buffer{}
			env.stdout, env.stderr = &out, &out
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			code := runEnv(ctx, env, append(args, "--store", "sqlite://"+tc.file))
			cancel()
			msg := out.String()
			if code == exitOK {
				t.Errorf("%s on %s: exit 0:\n%s", args[0], tc.file, msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("%s on %s: message lacks %q:\n%s", args[0], tc.file, w, msg)
				}
			}
			if strings.Contains(msg, "goroutine ") || strings.Contains(msg, "panic") {
				t.Errorf("%s on %s: crashed:\n%s", args[0], tc.file, msg)
			}
		}
	}
}

// crashForeignSQLite makes another application's SQLite database.
func crashForeignSQLite(path string) error {
	db, err := sql.Open("sqlite", path)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)`); err != nil {
		return errors.Join(err, db.Close())
	}
	return nil
}
