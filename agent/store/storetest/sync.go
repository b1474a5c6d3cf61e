package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tajo/terraform-provider-tajo/agent/store"
)

func syncTests() map[string]func(*testing.T, Backend) {
	return map[string]func(*testing.T, Backend){
		"Links":             testLinks,
		"PendingVersions":   testPendingVersions,
		"CheckpointAtomic":  testCheckpointAtomic,
		"Members":           testMembers,
		"Failures":          testFailures,
		"PurgeSyncState":    testPurgeSyncState,
		"ConcurrentApplies": testConcurrentApplies,
	}
}

func testLinks(t *testing.T, b Backend) {
	ctx := t.Context()
	s, _ := Open(t, b)
	links := []store.Link{
		{Kind: store.KindContact, IntercomID: "c1", BrevoID: "17", Email: "a@b.c", Hash: "h1", Lists: []int64{37, 35, 35}, SourceUpdatedAt: 100, Data: json.RawMessage(`{"role":"user"}`), Seen: 1},
		{Kind: store.KindContact, IntercomID: "c2", Hash: "h2", Seen: 1},
		{Kind: store.KindContact, IntercomID: "c3", Hash: "h3", Seen: 2},
		{Kind: store.KindCompany, IntercomID: "c1", Data: json.RawMessage(`{"name":"Acme"}`)},
		{Kind: store.KindContact, IntercomID: "c4"}, // known, not written yet: not counted
	}
	if err := s.Apply(ctx, "x", store.Batch{Links: links}); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetLinks(ctx, "x", store.KindContact, []string{"c1", "c3", "missing"})
	if err != nil {
		t.Fatal(err)
	}
	want := links[0]
	want.Lists = []int64{35, 37}
	if diff := cmp.Diff(map[string]store.Link{"c1": want, "c3": links[2]}, got); diff != "" {
		t.Errorf("GetLinks (-want +got):\n%s", diff)
	}
	if got, err := s.LinksByEmail(ctx, "x", store.KindContact, "A@B.C"); err != nil || len(got) != 1 || got[0].IntercomID != "c1" {
		t.Errorf("LinksByEmail = %+v, %v", got, err)
	}
	// Seen never moves backwards; later upserts keep data.
	if err := s.Apply(ctx, "x", store.Batch{Seen: &store.Seen{Kind: store.KindContact, IDs: []string{"c1", "c3"}, Gen: 2}}); err != nil {
		t.Fatal(err)
	}
	unseen, err := s.ScanLinks(ctx, "x", store.ScanOptions{Kind: store.KindContact, SeenBefore: 2})
	if err != nil || len(unseen) != 2 || unseen[0].IntercomID != "c2" || unseen[1].IntercomID != "c4" {
		t.Errorf("unseen = %+v, %v; want c2, c4", unseen, err)
	}
	// Paging.
	var ids []string
	for after := ""; ; {
		page, err := s.ScanLinks(ctx, "x", store.ScanOptions{Kind: store.KindContact, After: after, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, l := range page {
			ids = append(ids, l.IntercomID)
		}
		after = page[len(page)-1].IntercomID
	}
	if diff := cmp.Diff([]string{"c1", "c2", "c3", "c4"}, ids); diff != "" {
		t.Errorf("paging (-want +got):\n%s", diff)
	}
	if n, _ := s.CountLinks(ctx, "x", store.KindContact); n != 3 {
		t.Errorf("CountLinks = %d, want 3 written", n)
	}
	if err := s.Apply(ctx, "x", store.Batch{Unlink: []store.Key{{Kind: store.KindContact, IntercomID: "c2"}}}); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.CountLinks(ctx, "x", store.KindContact); n != 2 {
		t.Errorf("CountLinks after unlink = %d", n)
	}
	// Many ids in one GetLinks (chunked IN lists).
	var many []store.Link
	var manyIDs []string
	for i := range 1200 {
		id := fmt.Sprintf("m%04d", i)
		many = append(many, store.Link{Kind: store.KindContact, IntercomID: id, Hash: id})
		manyIDs = append(manyIDs, id)
	}
	if err := s.Apply(ctx, "y", store.Batch{Links: many}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetLinks(ctx, "y", store.KindContact, manyIDs); err != nil || len(got) != 1200 {
		t.Errorf("GetLinks of 1200 = %d, %v", len(got), err)
	}
}

func testPendingVersions(t *testing.T, b Backend) {
	ctx := t.Context()
	s, _ := Open(t, b)
	enq := func(id, payload string) {
		t.Helper()
		if err := s.Apply(ctx, "x", store.Batch{Enqueue: []store.Pending{{Kind: store.KindContact, IntercomID: id, Payload: json.RawMessage(payload)}}}); err != nil {
			t.Fatal(err)
		}
	}
	enq("a", `{"v":1}`)
	time.Sleep(2 * time.Millisecond)
	enq("b", `{"v":1}`)
	ready, err := s.ReadyPending(ctx, "x", store.KindContact, time.Now(), 10)
	if err != nil || len(ready) != 2 || ready[0].IntercomID != "a" || ready[0].Version != 1 {
		t.Fatalf("ReadyPending = %+v, %v", ready, err)
	}
	// A newer version arrives while the writer works on version 1: Done of
	// version 1 must not remove it.
	enq("a", `{"v":2}`)
	if err := s.Apply(ctx, "x", store.Batch{Done: ready}); err != nil {
		t.Fatal(err)
	}
	left, _ := s.ReadyPending(ctx, "x", store.KindContact, time.Now(), 10)
	if len(left) != 1 || left[0].IntercomID != "a" || left[0].Version != 2 || string(left[0].Payload) != `{"v":2}` {
		t.Fatalf("after Done: %+v", left)
	}
	// Retry reschedules; not ready before its time.
	later := time.Now().Add(time.Hour)
	if err := s.Apply(ctx, "x", store.Batch{Retry: []store.Retry{{Kind: store.KindContact, IntercomID: "a", Version: 2, NotBefore: later, Error: "brevo 503"}}}); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.ReadyPending(ctx, "x", store.KindContact, time.Now(), 10); len(r) != 0 {
		t.Errorf("rescheduled write is ready: %+v", r)
	}
	r, _ := s.ReadyPending(ctx, "x", store.KindContact, later.Add(time.Second), 10)
	if len(r) != 1 || r[0].Attempts != 1 || r[0].LastError != "brevo 503" {
		t.Errorf("after retry: %+v", r)
	}
	if n, _ := s.CountPending(ctx, "x", ""); n != 1 {
		t.Errorf("CountPending = %d", n)
	}
	if got, err := s.GetPending(ctx, "x", store.KindContact, []string{"a", "b", "zz"}); err != nil || len(got) != 1 || got["a"].Version != 2 {
		t.Errorf("GetPending = %+v, %v", got, err)
	}
	// Enqueuing again resets attempts.
	enq("a", `{"v":3}`)
	r, _ = s.ReadyPending(ctx, "x", store.KindContact, time.Now(), 10)
	if len(r) != 1 || r[0].Attempts != 0 || r[0].Version != 3 {
		t.Errorf("re-enqueued: %+v", r)
	}
}

func testCheckpointAtomic(t *testing.T, b Backend) {
	ctx := t.Context()
	s, _ := Open(t, b)
	// A failing batch (duplicate link in an invalid state cannot be made
	// portable, so use a cancelled context) writes nothing.
	cctx, cancel := contextCancelled(ctx)
	cancel()
	err := s.Apply(cctx, "x", store.Batch{
		Enqueue:     []store.Pending{{Kind: store.KindContact, IntercomID: "a", Payload: json.RawMessage(`{}`)}},
		Checkpoints: map[string][]byte{"contacts": []byte("cursor-1")},
	})
	if err == nil {
		t.Fatal("Apply with a cancelled context succeeded")
	}
	if _, err := s.GetCheckpoint(ctx, "x", "contacts"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("checkpoint written by a failed batch: %v", err)
	}
	if err := s.Apply(ctx, "x", store.Batch{
		Enqueue:     []store.Pending{{Kind: store.KindContact, IntercomID: "a", Payload: json.RawMessage(`{}`)}},
		Checkpoints: map[string][]byte{"contacts": []byte("cursor-1"), "gone": nil},
	}); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.GetCheckpoint(ctx, "x", "contacts"); string(v) != "cursor-1" {
		t.Errorf("checkpoint = %q", v)
	}
	if n, _ := s.CountPending(ctx, "x", store.KindContact); n != 1 {
		t.Errorf("pending = %d", n)
	}
}

func testMembers(t *testing.T, b Backend) {
	ctx := t.Context()
	s, _ := Open(t, b)
	if err := s.Apply(ctx, "x", store.Batch{Members: map[string][]string{"u1": {"co1", "co2"}, "u2": {"co1"}}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.MembersOf(ctx, "x", "co1"); !cmp.Equal(got, []string{"u1", "u2"}) {
		t.Errorf("members of co1 = %v", got)
	}
	// Replacing u1's companies drops co1.
	if err := s.Apply(ctx, "x", store.Batch{Members: map[string][]string{"u1": {"co2"}}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.MembersOf(ctx, "x", "co1"); !cmp.Equal(got, []string{"u2"}) {
		t.Errorf("members of co1 = %v", got)
	}
	if got, _ := s.MembersOf(ctx, "x", "co2"); !cmp.Equal(got, []string{"u1"}) {
		t.Errorf("members of co2 = %v", got)
	}
}

func testFailures(t *testing.T, b Backend) {
	ctx := t.Context()
	s, _ := Open(t, b)
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := s.Apply(ctx, "x", store.Batch{Fail: []store.Failure{
		{Kind: store.KindContact, IntercomID: "a", Reason: "invalid email", Attempts: 5, At: at},
		{Kind: store.KindContact, IntercomID: "b", Reason: "425", Attempts: 5, At: at.Add(time.Second)},
	}}); err != nil {
		t.Fatal(err)
	}
	fs, err := s.ListFailures(ctx, "x", 10)
	if err != nil || len(fs) != 2 || fs[0].IntercomID != "b" || fs[1].Reason != "invalid email" || !fs[1].At.Equal(at) {
		t.Fatalf("ListFailures = %+v, %v", fs, err)
	}
	if err := s.Apply(ctx, "x", store.Batch{Clear: []store.Key{{Kind: store.KindContact, IntercomID: "b"}}}); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.CountFailures(ctx, "x"); n != 1 {
		t.Errorf("CountFailures = %d", n)
	}
}

func testPurgeSyncState(t *testing.T, b Backend) {
	ctx := t.Context()
	s, _ := Open(t, b)
	batch := store.Batch{
		Links:   []store.Link{{Kind: store.KindContact, IntercomID: "a", Hash: "h"}},
		Enqueue: []store.Pending{{Kind: store.KindContact, IntercomID: "a", Payload: json.RawMessage(`{}`)}},
		Members: map[string][]string{"a": {"co"}},
		Fail:    []store.Failure{{Kind: store.KindContact, IntercomID: "a", Reason: "r", Attempts: 1}},
	}
	for _, c := range []string{"x", "y"} {
		if err := s.Apply(ctx, c, batch); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PurgeConnector(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	for c, want := range map[string]int64{"x": 0, "y": 1} {
		l, _ := s.CountLinks(ctx, c, store.KindContact)
		p, _ := s.CountPending(ctx, c, "")
		f, _ := s.CountFailures(ctx, c)
		m, _ := s.MembersOf(ctx, c, "co")
		if l != want || p != want || f != want || int64(len(m)) != want {
			t.Errorf("connector %s after purge of x: links %d pending %d failures %d members %d; want %d", c, l, p, f, len(m), want)
		}
	}
}

// testConcurrentApplies: the planner and the writer apply batches at the
// same time (and another process reads); nothing is lost.
func testConcurrentApplies(t *testing.T, b Backend) {
	ctx := t.Context()
	s, u := Open(t, b)
	other, err := store.Open(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	const writers, each = 4, 50
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		st := s
		if w%2 == 1 {
			st = other
		}
		wg.Go(func() {
			for i := range each {
				id := fmt.Sprintf("w%d-%03d", w, i)
				err := st.Apply(ctx, "x", store.Batch{
					Links:       []store.Link{{Kind: store.KindContact, IntercomID: id, Hash: id}},
					Enqueue:     []store.Pending{{Kind: store.KindContact, IntercomID: id, Payload: json.RawMessage(`{}`)}},
					Checkpoints: map[string][]byte{fmt.Sprintf("w%d", w): []byte(id)},
				})
				if err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n, _ := s.CountLinks(ctx, "x", store.KindContact); n != writers*each {
		t.Errorf("links = %d, want %d", n, writers*each)
	}
	if n, _ := s.CountPending(ctx, "x", store.KindContact); n != writers*each {
		t.Errorf("pending = %d, want %d", n, writers*each)
	}
}
