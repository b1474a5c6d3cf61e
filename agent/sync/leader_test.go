package sync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tajo/terraform-provider-tajo/agent/brevo"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox/dataset"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox/expect"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox/fakebrevo"
	"github.com/tajo/terraform-provider-tajo/agent/store"
)

var errCrashed = errors.New("test: the agent crashed")

// testLeaseTTL is short, so that a takeover after a crash comes soon, and
// long enough for renewals on a loaded test machine (SQLite serialises
// them with every other write).
const testLeaseTTL = 3 * time.Second

// crashingStore plays an agent that dies at the batch crash picks: that
// batch and everything after it is lost, the lease is neither renewed nor
// released.
type crashingStore struct {
	store.Store
	crash   func(store.Batch) bool
	crashed atomic.Bool
}

func (s *crashingStore) Apply(ctx context.Context, id string, b store.Batch) error {
	if s.crashed.Load() || s.crash(b) {
		s.crashed.Store(true)
		return errCrashed
	}
	return s.Store.Apply(ctx, id, b)
}

func (s *crashingStore) RenewLease(ctx context.Context, l store.Lease, ttl time.Duration, now time.Time) (store.Lease, error) {
	if s.crashed.Load() {
		return store.Lease{}, errCrashed
	}
	return s.Store.RenewLease(ctx, l, ttl, now)
}

func (s *crashingStore) ReleaseLease(ctx context.Context, l store.Lease) error {
	if s.crashed.Load() {
		return errCrashed
	}
	return s.Store.ReleaseLease(ctx, l)
}

// outcomeOfContacts is the batch recording what a contact write round did.
func outcomeOfContacts(b store.Batch) bool {
	for _, p := range b.Done {
		if p.Kind == store.KindContact {
			return true
		}
	}
	return false
}

// processJournal is the batch naming the Brevo import of journaled rows.
func processJournal(b store.Batch) bool {
	for _, f := range b.InFlight {
		if f.Process > 0 {
			return true
		}
	}
	return false
}

// contactWritesOnce fails unless every Brevo contact's data was written
// exactly once, and returns how many were.
func contactWritesOnce(t *testing.T, b *fakebrevo.Server) int {
	t.Helper()
	writes := b.ContactWrites()
	twice := 0
	for id, n := range writes {
		if n != 1 {
			twice++
			if twice <= 5 {
				t.Errorf("brevo contact %d written %d times", id, n)
			}
		}
	}
	if twice > 0 {
		t.Errorf("%d of %d contacts written more than once", twice, len(writes))
	}
	return len(writes)
}

// TestTakeOverResolvesWritesInFlight: an agent dies after Brevo accepted
// a round of contact writes but before it recorded them. The agent that
// takes over (after the lease ran out) finds out from Brevo what was
// written: the final state is exact and no contact is written twice.
func TestTakeOverResolvesWritesInFlight(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		contacts int
		upserts  bool
		crash    func(store.Batch) bool
	}{
		{name: "import accepted, process journaled", contacts: 400, crash: outcomeOfContacts},
		{name: "import accepted, process not journaled", contacts: 400, crash: processJournal},
		{name: "upserts sent", contacts: 40, upserts: true, crash: outcomeOfContacts},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, tc.contacts)
			// A: dies at the chosen point; its lease is not released.
			crashing := &crashingStore{Store: e.st, crash: tc.crash}
			oa := e.options()
			oa.Agent, oa.LeaseTTL = "agent-a", testLeaseTTL
			if tc.upserts {
				oa.ImportThreshold = 1 << 30
			}
			a, err := New(e.bundle, crashing, oa)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
			defer cancel()
			if err := a.Sync(ctx, PassOptions{}); err == nil {
				t.Fatalf("agent a: %v, want the crash", err)
			}
			inFlight, err := e.st.InFlightPending(ctx, "intercom")
			if err != nil {
				t.Fatal(err)
			}
			written := len(e.sb.Brevo.ContactWrites())
			if len(inFlight) == 0 || written == 0 {
				t.Fatalf("the crash left %d writes in flight, %d contacts written: nothing to recover", len(inFlight), written)
			}
			// B: takes over once A's lease ran out, and finishes.
			ob := e.options()
			ob.Agent, ob.LeaseTTL = "agent-b", testLeaseTTL
			if tc.upserts {
				ob.ImportThreshold = 1 << 30
			}
			b, err := New(e.bundle, e.st, ob)
			if err != nil {
				t.Fatal(err)
			}
			if err := b.Sync(ctx, PassOptions{}); err != nil {
				t.Fatalf("agent b: %v", err)
			}
			r := e.exact()
			n := contactWritesOnce(t, e.sb.Brevo)
			if left, _ := e.st.InFlightPending(ctx, "intercom"); len(left) != 0 {
				t.Errorf("%d writes still journaled in flight", len(left))
			}
			t.Logf("%d writes in flight at the crash (%d contacts already in Brevo); after the takeover %d contacts exact, each written once (%d)",
				len(inFlight), written, r.Contacts, n)
		})
	}
}

// TestTakeOverAtAnyPoint: an agent syncing contacts, companies and
// conversations dies at the n-th batch it records, whatever that batch
// is (a planner page, a journal entry, an outcome); the agent that takes
// over ends in the exact state, no contact written twice.
func TestTakeOverAtAnyPoint(t *testing.T) {
	t.Parallel()
	for _, n := range []int64{3, 8, 16, 30} {
		t.Run(fmt.Sprintf("batch_%d", n), func(t *testing.T) {
			t.Parallel()
			e := convEnv(t, 500)
			var batches atomic.Int64
			crashAgentA(t, e, func(store.Batch) bool { return batches.Add(1) == n })
			before := e.sb.Brevo.ContactCount()
			syncAgentB(t, e)
			r := e.exact()
			contactWritesOnce(t, e.sb.Brevo)
			t.Logf("crash at batch %d with %d contacts in Brevo; after the takeover %d contacts exact, none written twice", n, before, r.Contacts)
		})
	}
}

// lossyTransport loses the answer to the lose-th contact import: Brevo
// applied it, the agent does not know.
type lossyTransport struct {
	base    http.RoundTripper
	lose    int32
	imports atomic.Int32
}

func (l *lossyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := l.base.RoundTrip(r)
	if err != nil || r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/contacts/import") || l.imports.Add(1) != l.lose {
		return res, err
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return nil, errors.New("test: connection reset after the request was sent")
}

// TestUnknownImportOutcomeNotWrittenTwice: an import whose answer is lost
// (Brevo applied it) is checked, not sent again — also when the client
// had split it and stopped after the lost request.
func TestUnknownImportOutcomeNotWrittenTwice(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		maxBytes int
		lose     int32
	}{
		{name: "one request", lose: 1},
		{name: "second of several requests", maxBytes: 24 << 10, lose: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, 400)
			o := e.options()
			lossy := &lossyTransport{base: http.DefaultTransport, lose: tc.lose}
			o.HTTPClient = &http.Client{Timeout: time.Minute, Transport: lossy}
			if tc.maxBytes > 0 {
				o.BrevoOptions = append(o.BrevoOptions, brevo.WithImportMaxBytes(tc.maxBytes))
			}
			eng, err := New(e.bundle, e.st, o)
			if err != nil {
				t.Fatal(err)
			}
			eng.importWait, eng.unsentWait = 700*time.Millisecond, 700*time.Millisecond
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
			defer cancel()
			if err := eng.Sync(ctx, PassOptions{}); err != nil {
				t.Fatal(err)
			}
			r := e.exact()
			n := contactWritesOnce(t, e.sb.Brevo)
			if lossy.imports.Load() < tc.lose {
				t.Fatalf("%d imports: the lost answer was never exercised", lossy.imports.Load())
			}
			t.Logf("%d contacts exact, each written once (%d) although the answer to import request %d of %d was lost",
				r.Contacts, n, tc.lose, lossy.imports.Load())
		})
	}
}

// TestSyncWaitsForTheLease: a pass does not run beside an agent that holds
// the connector's lease, and names it.
func TestSyncWaitsForTheLease(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 20)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	held, ok, err := e.st.AcquireLease(ctx, "intercom", "agent-elsewhere/1", time.Hour, time.Now())
	if err != nil || !ok {
		t.Fatalf("acquire: %v %v", ok, err)
	}
	o := e.options()
	o.LeaseTTL = testLeaseTTL
	eng, err := New(e.bundle, e.st, o)
	if err != nil {
		t.Fatal(err)
	}
	err = eng.Sync(ctx, PassOptions{})
	if !errors.Is(err, ErrNotLeader) || !strings.Contains(err.Error(), "agent-elsewhere/1") {
		t.Fatalf("sync beside a lease holder: %v", err)
	}
	if n := len(e.sb.Brevo.Writes()); n != 0 {
		t.Fatalf("%d brevo writes by an agent without the lease", n)
	}
	if err := e.st.ReleaseLease(ctx, held); err != nil {
		t.Fatal(err)
	}
	if err := eng.Sync(ctx, PassOptions{}); err != nil {
		t.Fatalf("sync once the lease is free: %v", err)
	}
	e.exact()
}

// TestRunStandsByAndTakesOver: of two agents running one connector, one
// leads; the other processes nothing of the passes until the leader
// stops, then takes over and syncs what changed.
func TestRunStandsByAndTakesOver(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 200)
	type agent struct {
		*Engine
		trigger chan PassOptions
		stop    context.CancelFunc
		done    chan struct{}
	}
	start := func(name string) *agent {
		o := e.options()
		o.Agent, o.LeaseTTL = name, testLeaseTTL
		eng, err := New(e.bundle, e.st, o)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		a := &agent{Engine: eng, trigger: make(chan PassOptions, 1), stop: cancel, done: make(chan struct{})}
		go func() { defer close(a.done); _ = eng.Run(ctx, a.trigger) }()
		t.Cleanup(func() { cancel(); <-a.done })
		return a
	}
	a := start("agent-a")
	waitFor(t, 2*time.Minute, "agent a syncs", func() bool { return a.Leader() && !a.Stats().LastSuccess.IsZero() })
	b := start("agent-b")
	time.Sleep(testLeaseTTL + 500*time.Millisecond) // more than the lease TTL
	if b.Leader() || b.Stats().IntercomRequests != 0 || b.Stats().BrevoRequests != 0 {
		t.Fatalf("standby agent leads (%v) or called the APIs: %+v", b.Leader(), b.Stats())
	}
	e.exact()
	before := len(e.sb.Brevo.Writes())
	a.stop()
	<-a.done
	released := time.Now()
	waitFor(t, 10*time.Second, "agent b takes over", b.Leader)
	t.Logf("graceful handover in %s", time.Since(released).Round(time.Millisecond))
	if n := len(e.sb.Brevo.Writes()) - before; n != 0 {
		t.Fatalf("%d brevo writes across an idle handover", n)
	}
	ids := e.sb.Intercom.ContactIDs()
	renamed := 0
	for i := 0; i < len(ids); i += 20 {
		if err := e.sb.Intercom.UpdateContact(ids[i], func(c *dataset.Contact) { c.Name = "Handed Over " + c.ID[len(c.ID)-3:] }); err != nil {
			t.Fatal(err)
		}
		renamed++
	}
	b.trigger <- PassOptions{}
	waitFor(t, 2*time.Minute, "agent b syncs the changes", func() bool { return expect.Compare(e.sb, e.setup).Err() == nil })
	if a.Stats().IntercomRequests == 0 || b.Stats().BrevoRequests == 0 {
		t.Fatalf("stats: a %+v, b %+v", a.Stats(), b.Stats())
	}
	t.Logf("%d contacts renamed after the handover, synced by the new leader", renamed)
}

func waitFor(t *testing.T, d time.Duration, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out: %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestEventsNotResentAfterCrash: an agent dies right after Brevo accepted
// a batch of events, before it recorded them as sent. The agent that takes
// over records them as of unknown outcome and never sends them again.
func TestEventsNotResentAfterCrash(t *testing.T) {
	t.Parallel()
	e := convEnv(t, 300)
	e.sync(PassOptions{})
	ic := e.sb.Intercom
	closed, err := ic.CloseOpenConversations(8)
	if err != nil {
		t.Fatal(err)
	}
	sentOutcome := func(b store.Batch) bool {
		for _, u := range b.EventUpdates {
			if u.State == store.EventSent {
				return true
			}
		}
		return false
	}
	crashAgentA(t, e, sentOutcome)
	inBrevo := len(e.sb.Brevo.Events())
	if inBrevo < closed {
		t.Fatalf("%d events in Brevo before the crash, want %d", inBrevo, closed)
	}
	syncAgentB(t, e)
	e.exact()
	if d := e.sb.Brevo.DuplicateEvents(); len(d) != 0 {
		t.Fatalf("events sent twice: %v", d)
	}
	if n := len(e.sb.Brevo.Events()); n != inBrevo {
		t.Fatalf("%d events in Brevo after the takeover, %d before", n, inBrevo)
	}
	unknown, _ := e.st.CountEvents(t.Context(), "intercom", store.EventUnknown)
	if unknown != int64(inBrevo) {
		t.Fatalf("%d events recorded as of unknown outcome, want the %d in flight at the crash", unknown, inBrevo)
	}
	t.Logf("%d events in flight at the crash: in Brevo once, recorded as of unknown outcome, not resent", inBrevo)
}

// stallingStore delays one lease renewal past the lease's expiry, as a
// store stalled by a long checkpoint or a failover of its own would.
type stallingStore struct {
	store.Store
	renewals atomic.Int64
	stall    time.Duration
}

func (s *stallingStore) RenewLease(ctx context.Context, l store.Lease, ttl time.Duration, now time.Time) (store.Lease, error) {
	if s.renewals.Add(1) == 2 {
		select {
		case <-time.After(s.stall):
		case <-ctx.Done():
			return l, ctx.Err()
		}
		now = time.Now()
	}
	return s.Store.RenewLease(ctx, l, ttl, now)
}

// TestLeaseLapseWithoutRival: when a renewal comes too late and no other
// agent took the lease meanwhile, the agent takes it again and carries on:
// the pass completes, exact, nothing written twice.
func TestLeaseLapseWithoutRival(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 400)
	st := &stallingStore{Store: e.st, stall: testLeaseTTL + time.Second}
	o := e.options()
	o.LeaseTTL = testLeaseTTL
	eng, err := New(e.bundle, st, o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	if err := eng.Sync(ctx, PassOptions{}); err != nil {
		t.Fatalf("sync across a lapsed lease: %v", err)
	}
	if st.renewals.Load() < 2 {
		t.Fatalf("%d renewals: the pass ended before the stall", st.renewals.Load())
	}
	e.exact()
	contactWritesOnce(t, e.sb.Brevo)
	l, _, _ := e.st.AcquireLease(ctx, "intercom", "probe", time.Second, time.Now())
	t.Logf("%d renewals, one stalled %s past a %s lease; lease token now %d", st.renewals.Load(), st.stall, testLeaseTTL, l.Token)
}

// crashAgentA runs a sync as agent-a over a store that crashes (stops
// applying, as a killed process) at the batch crash picks, and fails the
// test unless it did.
func crashAgentA(t *testing.T, e *env, crash func(store.Batch) bool) {
	t.Helper()
	crashing := &crashingStore{Store: e.st, crash: crash}
	oa := e.options()
	oa.Agent, oa.LeaseTTL = "agent-a", testLeaseTTL
	a, err := New(e.bundle, crashing, oa)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	if err := a.Sync(ctx, PassOptions{}); err == nil || !crashing.crashed.Load() {
		t.Fatalf("agent a did not crash: %v", err)
	}
}

// syncAgentB runs a sync as agent-b, the agent taking over from agent-a.
func syncAgentB(t *testing.T, e *env) {
	t.Helper()
	ob := e.options()
	ob.Agent, ob.LeaseTTL = "agent-b", testLeaseTTL
	b, err := New(e.bundle, e.st, ob)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	if err := b.Sync(ctx, PassOptions{}); err != nil {
		t.Fatalf("agent b: %v", err)
	}
}
