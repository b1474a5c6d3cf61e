package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tajo/terraform-provider-tajo/agent/store"
)

func inboxTests() map[string]func(*testing.T, Backend) {
	return map[string]func(*testing.T, Backend){
		"InboxAcceptDedup":     testInboxAcceptDedup,
		"InboxOrderPerKey":     testInboxOrderPerKey,
		"InboxLeaseAndDead":    testInboxLeaseAndDead,
		"InboxConcurrentClaim": testInboxConcurrentClaim,
	}
}

func delivery(id, key string) store.Delivery {
	return store.Delivery{ConnectorID: "c", Source: "intercom", ID: id, Topic: "contact.user.updated", Path: "/hooks", Key: key,
		Body: []byte(`{"id":"` + id + `"}`)}
}

func accept(t *testing.T, s store.Store, d store.Delivery) bool {
	t.Helper()
	dup, err := s.Accept(t.Context(), d)
	if err != nil {
		t.Fatal(err)
	}
	return dup
}

func testInboxAcceptDedup(t *testing.T, b Backend) {
	s, _ := Open(t, b)
	if accept(t, s, delivery("n1", "u1")) {
		t.Fatal("first delivery reported as duplicate")
	}
	if !accept(t, s, delivery("n1", "u1")) {
		t.Fatal("redelivery not recognised")
	}
	other := delivery("n1", "u1")
	other.Source = "brevo"
	if accept(t, s, other) {
		t.Fatal("same id from another source is not a duplicate")
	}
	depth, oldest, dead, err := s.InboxStats(t.Context(), "c")
	if err != nil || depth != 2 || oldest.IsZero() || dead != 0 {
		t.Errorf("InboxStats = %d, %v, %d, %v", depth, oldest, dead, err)
	}
	got, err := s.ListDeliveries(t.Context(), "c", store.InboxFilter{})
	if err != nil || len(got) != 2 || string(got[1].Body) != `{"id":"n1"}` || got[0].State != store.DeliveryPending {
		t.Errorf("ListDeliveries = %+v, %v", got, err)
	}
}

func testInboxOrderPerKey(t *testing.T, b Backend) {
	ctx := t.Context()
	s, _ := Open(t, b)
	for _, d := range []store.Delivery{delivery("a1", "A"), delivery("b1", "B"), delivery("a2", "A"), delivery("a3", "A"), delivery("c1", "C")} {
		accept(t, s, d)
	}
	now := time.Now()
	first, err := s.Claim(ctx, "c", "w1", now, time.Minute, 10)
	if err != nil {
		t.Fatal(err)
	}
	if ids(first) != "a1,b1,c1" {
		t.Fatalf("first claim = %s, want the oldest of each key: a1,b1,c1", ids(first))
	}
	if more, _ := s.Claim(ctx, "c", "w2", now, time.Minute, 10); len(more) != 0 {
		t.Fatalf("claimed %s while earlier deliveries of their keys are in flight", ids(more))
	}
	for _, d := range first {
		if err := s.Finish(ctx, "c", d.Seq, "w1"); err != nil {
			t.Fatal(err)
		}
	}
	next, _ := s.Claim(ctx, "c", "w2", now, time.Minute, 10)
	if ids(next) != "a2" {
		t.Fatalf("after a1 finished: %s, want a2", ids(next))
	}
	// A failed delivery holds back later ones of its key until retried.
	if err := s.Reschedule(ctx, "c", next[0].Seq, "w2", now.Add(time.Hour), "brevo 503", false); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Claim(ctx, "c", "w2", now, time.Minute, 10); len(got) != 0 {
		t.Fatalf("claimed %s while a2 waits for its retry", ids(got))
	}
	later, _ := s.Claim(ctx, "c", "w2", now.Add(2*time.Hour), time.Minute, 10)
	if ids(later) != "a2" || later[0].Attempts != 1 || later[0].LastError != "brevo 503" {
		t.Fatalf("retry = %+v", later)
	}
}

func testInboxLeaseAndDead(t *testing.T, b Backend) {
	ctx := t.Context()
	s, _ := Open(t, b)
	accept(t, s, delivery("x1", "X"))
	now := time.Now()
	got, _ := s.Claim(ctx, "c", "crashed", now, time.Minute, 10)
	if len(got) != 1 {
		t.Fatal("nothing claimed")
	}
	// The worker dies; after the lease another takes over and the dead
	// worker can no longer finish it.
	taken, _ := s.Claim(ctx, "c", "w2", now.Add(2*time.Minute), time.Minute, 10)
	if ids(taken) != "x1" {
		t.Fatalf("expired claim not taken over: %s", ids(taken))
	}
	if err := s.Finish(ctx, "c", got[0].Seq, "crashed"); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("finish by the ex-holder: %v; want ErrConflict", err)
	}
	if err := s.Reschedule(ctx, "c", taken[0].Seq, "w2", time.Time{}, "malformed payload", true); err != nil {
		t.Fatal(err)
	}
	if _, _, dead, _ := s.InboxStats(ctx, "c"); dead != 1 {
		t.Fatalf("dead = %d", dead)
	}
	if got, _ := s.Claim(ctx, "c", "w2", now.Add(time.Hour), time.Minute, 10); len(got) != 0 {
		t.Fatal("dead delivery claimed")
	}
	dl, _ := s.ListDeliveries(ctx, "c", store.InboxFilter{State: store.DeliveryDead})
	if len(dl) != 1 || dl[0].LastError != "malformed payload" {
		t.Fatalf("dead letters = %+v", dl)
	}
	if n, err := s.Requeue(ctx, "c", nil); err != nil || n != 1 {
		t.Fatalf("Requeue = %d, %v", n, err)
	}
	again, _ := s.Claim(ctx, "c", "w3", now.Add(time.Hour), time.Minute, 10)
	if len(again) != 1 || again[0].Attempts != 0 {
		t.Fatalf("requeued = %+v", again)
	}
	if err := s.Finish(ctx, "c", again[0].Seq, "w3"); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Prune(ctx, time.Now().Add(time.Minute)); err != nil || n != 1 {
		t.Fatalf("Prune = %d, %v", n, err)
	}
	// Pruned deliveries are forgotten: a redelivery is accepted again.
	if accept(t, s, delivery("x1", "X")) {
		t.Fatal("pruned delivery still deduplicated")
	}
}

// testInboxConcurrentClaim: workers on two handles (two agents) process
// each delivery exactly once, one at a time per key.
func testInboxConcurrentClaim(t *testing.T, b Backend) {
	ctx := t.Context()
	s, u := Open(t, b)
	other, err := store.Open(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	const n = 200
	for i := range n {
		accept(t, s, delivery(fmt.Sprintf("d%03d", i), fmt.Sprintf("K%d", i%17)))
	}
	var mu sync.Mutex
	done := map[string]int{}
	inFlight := map[string]bool{}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for w := range 6 {
		st := s
		if w%2 == 1 {
			st = other
		}
		wg.Go(func() {
			worker := fmt.Sprintf("w%d", w)
			for idle := 0; idle < 20; {
				ds, err := st.Claim(ctx, "c", worker, time.Now(), time.Minute, 5)
				if err != nil {
					errs <- err
					return
				}
				if len(ds) == 0 {
					idle++
					time.Sleep(5 * time.Millisecond)
					continue
				}
				idle = 0
				for _, d := range ds {
					mu.Lock()
					if inFlight[d.Key] {
						errs <- fmt.Errorf("key %s processed twice at once", d.Key)
					}
					inFlight[d.Key] = true
					done[d.ID]++
					mu.Unlock()
					mu.Lock()
					inFlight[d.Key] = false
					mu.Unlock()
					if err := st.Finish(ctx, "c", d.Seq, worker); err != nil {
						errs <- err
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if len(done) != n {
		t.Errorf("%d deliveries processed, want %d", len(done), n)
	}
	for id, c := range done {
		if c != 1 {
			t.Errorf("delivery %s processed %d times", id, c)
		}
	}
}

func ids(ds []store.Delivery) string {
	s := ""
	for i, d := range ds {
		if i > 0 {
			s += ","
		}
		s += d.ID
	}
	return s
}
