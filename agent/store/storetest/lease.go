package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tajo/terraform-provider-tajo/agent/store"
)

func leaseTests() map[string]func(*testing.T, Backend) {
	return map[string]func(*testing.T, Backend){
		"LeaseLifecycle":  testLeaseLifecycle,
		"LeaseFencing":    testLeaseFencing,
		"LeaseOneHolder":  testLeaseOneHolder,
		"InFlightJournal": testInFlightJournal,
	}
}

func testLeaseLifecycle(t *testing.T, b Backend) {
	ctx := t.Context()
	s, _ := Open(t, b)
	now := time.Now()
	a, ok, err := s.AcquireLease(ctx, "c", "agent-a", 15*time.Second, now)
	if err != nil || !ok || a.Token != 1 || a.Holder != "agent-a" {
		t.Fatalf("first acquire = %+v, %v, %v", a, ok, err)
	}
	if h, ok, _ := s.LeaseHolder(ctx, "c"); !ok || h != "agent-a" {
		t.Errorf("LeaseHolder = %q, %v", h, ok)
	}
	if cur, ok, _ := s.AcquireLease(ctx, "c", "agent-b", 15*time.Second, now.Add(time.Second)); ok || cur.Holder != "agent-a" {
		t.Fatalf("agent-b took a held lease: %+v", cur)
	}
	a2, ok, _ := s.AcquireLease(ctx, "c", "agent-a", 15*time.Second, now.Add(5*time.Second))
	if !ok || a2.Token != 1 {
		t.Fatalf("re-acquire by the holder = %+v, %v (the token must not change)", a2, ok)
	}
	if _, err := s.RenewLease(ctx, a2, 15*time.Second, now.Add(10*time.Second)); err != nil {
		t.Fatalf("renew: %v", err)
	}
	// agent-a stalls past the expiry; agent-b takes over with a new token.
	b1, ok, _ := s.AcquireLease(ctx, "c", "agent-b", 15*time.Second, now.Add(30*time.Second))
	if !ok || b1.Token != 2 || b1.Holder != "agent-b" {
		t.Fatalf("takeover = %+v, %v", b1, ok)
	}
	if _, err := s.RenewLease(ctx, a2, 15*time.Second, now.Add(31*time.Second)); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("renew by the ex-holder: %v; want ErrFenced", err)
	}
	// Graceful handover: released, the next agent takes it at once.
	if err := s.ReleaseLease(ctx, b1); err != nil {
		t.Fatal(err)
	}
	a3, ok, _ := s.AcquireLease(ctx, "c", "agent-a", 15*time.Second, now.Add(32*time.Second))
	if !ok || a3.Token != 3 {
		t.Fatalf("acquire after release = %+v, %v", a3, ok)
	}
}

func testLeaseFencing(t *testing.T, b Backend) {
	ctx := t.Context()
	s, _ := Open(t, b)
	// Real time: fences compare with the store's clock.
	old, _, _ := s.AcquireLease(ctx, "c", "agent-a", 200*time.Millisecond, time.Now())
	fenced := store.Batch{Fence: &store.Fence{Holder: old.Holder, Token: old.Token},
		Checkpoints: map[string][]byte{"contacts": []byte("a")}}
	if err := s.Apply(ctx, "c", fenced); err != nil {
		t.Fatalf("write under a held lease: %v", err)
	}
	time.Sleep(300 * time.Millisecond)
	if err := s.Apply(ctx, "c", fenced); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("write under an expired lease: %v; want ErrFenced", err)
	}
	nl, ok, _ := s.AcquireLease(ctx, "c", "agent-b", time.Minute, time.Now())
	if !ok {
		t.Fatal("takeover failed")
	}
	fenced.Checkpoints = map[string][]byte{"contacts": []byte("stale")}
	if err := s.Apply(ctx, "c", fenced); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("write by the ex-leader: %v; want ErrFenced", err)
	}
	if v, _ := s.GetCheckpoint(ctx, "c", "contacts"); string(v) != "a" {
		t.Errorf("a fenced batch wrote: %q", v)
	}
	if err := s.Apply(ctx, "c", store.Batch{Fence: &store.Fence{Holder: nl.Holder, Token: nl.Token},
		Checkpoints: map[string][]byte{"contacts": []byte("b")}}); err != nil {
		t.Fatalf("write by the new leader: %v", err)
	}
}

// testLeaseOneHolder: agents racing for a free lease (on two handles) —
// exactly one gets it.
func testLeaseOneHolder(t *testing.T, b Backend) {
	ctx := t.Context()
	s, u := Open(t, b)
	other, err := store.Open(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	var mu sync.Mutex
	holders := map[string]bool{}
	var wg sync.WaitGroup
	now := time.Now()
	for i := range 8 {
		st := s
		if i%2 == 1 {
			st = other
		}
		wg.Go(func() {
			l, ok, err := st.AcquireLease(ctx, "c", fmt.Sprintf("agent-%d", i), time.Minute, now)
			if err != nil {
				t.Error(err)
				return
			}
			if ok {
				mu.Lock()
				holders[l.Holder] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(holders) != 1 {
		t.Fatalf("%d agents hold the lease: %v", len(holders), holders)
	}
}

func testInFlightJournal(t *testing.T, b Backend) {
	ctx := t.Context()
	s, _ := Open(t, b)
	enq := func(id, payload string) {
		if err := s.Apply(ctx, "c", store.Batch{Enqueue: []store.Pending{{Kind: store.KindContact, IntercomID: id, Payload: json.RawMessage(payload)}}}); err != nil {
			t.Fatal(err)
		}
	}
	enq("a", `{"v":1}`)
	enq("b", `{"v":1}`)
	ready, _ := s.ReadyPending(ctx, "c", store.KindContact, time.Now(), 10)
	at := time.Now().Truncate(time.Microsecond)
	var fl []store.InFlight
	for _, p := range ready {
		fl = append(fl, store.InFlight{Kind: p.Kind, IntercomID: p.IntercomID, Version: p.Version, Batch: "round-1", At: at})
	}
	if err := s.Apply(ctx, "c", store.Batch{InFlight: fl}); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.ReadyPending(ctx, "c", store.KindContact, time.Now(), 10); len(r) != 0 {
		t.Fatalf("in-flight writes are ready again: %+v", r)
	}
	// The import was accepted: its process is journaled.
	if err := s.Apply(ctx, "c", store.Batch{InFlight: []store.InFlight{{Kind: store.KindContact, IntercomID: "a", Version: 1, Batch: "round-1", At: at, Process: 77}}}); err != nil {
		t.Fatal(err)
	}
	got, err := s.InFlightPending(ctx, "c")
	if err != nil || len(got) != 2 || got[0].InFlight.Process != 77 || got[0].InFlight.Batch != "round-1" || !got[1].InFlight.At.Equal(at) {
		t.Fatalf("InFlightPending = %+v, %v", got, err)
	}
	// The same payload again changes nothing: still in flight, version 1.
	enq("a", `{"v":1}`)
	if got, _ := s.InFlightPending(ctx, "c"); len(got) != 2 || got[0].Version != 1 || got[0].InFlight.Process != 77 {
		t.Fatalf("re-enqueued unchanged, the journal changed: %+v", got)
	}
	// A newer version of b replaces the in-flight one: ready again.
	enq("b", `{"v":2}`)
	r, _ := s.ReadyPending(ctx, "c", store.KindContact, time.Now(), 10)
	if len(r) != 1 || r[0].IntercomID != "b" || r[0].Version != 2 {
		t.Fatalf("after re-enqueue: %+v", r)
	}
	// A retry clears the journal.
	if err := s.Apply(ctx, "c", store.Batch{Retry: []store.Retry{{Kind: store.KindContact, IntercomID: "a", Version: 1, NotBefore: time.Now()}}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.InFlightPending(ctx, "c"); len(got) != 0 {
		t.Fatalf("journal after retry: %+v", got)
	}
}
