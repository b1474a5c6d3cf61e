package sync

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/tajo/terraform-provider-tajo/agent/store"
)

// TestSupervisorPrunesInbox: a running agent deletes finished deliveries
// accepted more than InboxRetention ago, keeps newer ones, waiting ones
// and dead letters, and keeps everything when the retention is 0.
func TestSupervisorPrunesInbox(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		retention time.Duration
		want      []string // deliveries left
	}{
		{0, []string{"done", "pending", "dead"}},
		{7 * 24 * time.Hour, []string{"pending", "dead"}},
	} {
		st, err := store.Open(t.Context(), "sqlite://"+filepath.Join(t.TempDir(), "tajo.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		ctx := t.Context()
		for _, id := range []string{"done", "pending", "dead"} {
			d := store.Delivery{ConnectorID: "c", Source: "intercom", ID: id, Topic: "contact.user.updated", Path: "/hooks", Key: id, Body: []byte(`{}`)}
			if _, err := st.Accept(ctx, d); err != nil {
				t.Fatal(err)
			}
		}
		claimed, err := st.Claim(ctx, "c", "w", time.Now(), time.Minute, 10)
		if err != nil || len(claimed) != 3 {
			t.Fatalf("claim: %d, %v", len(claimed), err)
		}
		for _, d := range claimed {
			switch d.ID {
			case "done":
				err = st.Finish(ctx, "c", d.Seq, "w")
			case "pending":
				err = st.Reschedule(ctx, "c", d.Seq, "w", time.Now(), "retry", false)
			case "dead":
				err = st.Reschedule(ctx, "c", d.Seq, "w", time.Now(), "gave up", true)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		// Eight days later.
		later := func() time.Time { return time.Now().Add(8 * 24 * time.Hour) }
		sup := NewSupervisor(st, Options{Logger: hclog.NewNullLogger(), Now: later, InboxRetention: tc.retention})
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); sup.Run(runCtx) }()
		deadline := time.Now().Add(10 * time.Second)
		var left []store.Delivery
		for {
			left, err = st.ListDeliveries(ctx, "c", store.InboxFilter{})
			if err != nil {
				t.Fatal(err)
			}
			if len(left) == len(tc.want) || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(100 * time.Millisecond) // nothing more goes
		left, _ = st.ListDeliveries(ctx, "c", store.InboxFilter{})
		cancel()
		<-done
		got := map[string]bool{}
		for _, d := range left {
			got[d.ID] = true
		}
		if len(left) != len(tc.want) {
			t.Errorf("retention %s: %d deliveries left, want %v", tc.retention, len(left), tc.want)
		}
		for _, id := range tc.want {
			if !got[id] {
				t.Errorf("retention %s: delivery %q was deleted", tc.retention, id)
			}
		}
	}
}
