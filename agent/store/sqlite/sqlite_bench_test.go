package sqlite_test

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tajo/terraform-provider-tajo/agent/store"
	"github.com/tajo/terraform-provider-tajo/agent/store/sqlite"
)

// benchPayload is the size and shape of a planned contact's desired state.
var benchPayload = json.RawMessage(`{"ext_id":"%s","email":"%s@example.com","attributes":{"COMPANY_NAME":"Acme Industries",` +
	`"COMPANY_PLAN":"pro","COMPANY_SIZE":42,"CONTACT_TYPE":"user","FEATURE_USAGE":175,"FIRSTNAME":"Ana","FULLNAME":"Ana María de la Cruz",` +
	`"LASTNAME":"María de la Cruz","LAST_ACTIVE":"2024-01-16","PLAN_TIER":"gold","SESSION_COUNT":17,"SIGNUP_DATE":"2024-01-15",` +
	`"SMS":"+493012345678","UNSUBSCRIBED":false},"lists":[35],"companies":["6643a1f2b3c4d5e6f7a8b9c0"],"updated_at":1717243200,` +
	`"gen":1,"facts":{"role":"user","company_plan":"pro"},"hash":"8f0d6b1c2a3e4f5061728394a5b6c7d8"}`)

func openBench(b *testing.B) store.Store {
	b.Helper()
	st, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "tajo.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

// pageIDs returns the contact ids of the n-th page of 150.
func pageIDs(n int) []string {
	ids := make([]string, 150)
	for i := range ids {
		ids[i] = fmt.Sprintf("%024x", n*150+i)
	}
	return ids
}

// planBatch is what the planner commits for one Intercom page of 150
// contacts in a full pass: their desired states, company memberships,
// "seen by this pass" and the cursor checkpoint, in one transaction.
func planBatch(ids []string) store.Batch {
	b := store.Batch{Members: map[string][]string{}, Seen: &store.Seen{Kind: store.KindContact, IDs: ids, Gen: 1},
		Checkpoints: map[string][]byte{"full": []byte(`{"gen":1,"started":1717243200,"cursor":"` + ids[len(ids)-1] + `"}`)}}
	for _, id := range ids {
		b.Enqueue = append(b.Enqueue, store.Pending{Kind: store.KindContact, IntercomID: id,
			Payload: json.RawMessage(strings.ReplaceAll(string(benchPayload), "%s", id))})
		b.Members[id] = []string{"6643a1f2b3c4d5e6f7a8b9c0"}
	}
	return b
}

// BenchmarkApplyPage commits the batches of one 150-contact page: "plan"
// is the planner's (outbox, memberships, seen, checkpoint), "written" the
// writer's after Brevo accepted the page (links with digests, outbox
// entries done). Every iteration is a new page, as in a full sync.
func BenchmarkApplyPage(b *testing.B) {
	ctx := b.Context()
	b.Run("plan", func(b *testing.B) {
		st := openBench(b)
		n := 0
		b.ReportAllocs()
		for b.Loop() {
			n++
			if err := st.Apply(ctx, "intercom", planBatch(pageIDs(n))); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n*150), "ns/contact")
	})
	b.Run("written", func(b *testing.B) {
		st := openBench(b)
		n := 0
		b.ReportAllocs()
		for b.Loop() {
			n++
			b.StopTimer()
			ids := pageIDs(n)
			plan := planBatch(ids)
			if err := st.Apply(ctx, "intercom", plan); err != nil {
				b.Fatal(err)
			}
			pend, err := st.GetPending(ctx, "intercom", store.KindContact, ids)
			if err != nil {
				b.Fatal(err)
			}
			var w store.Batch
			for _, p := range plan.Enqueue {
				w.Done = append(w.Done, pend[p.IntercomID])
				w.Clear = append(w.Clear, store.Key{Kind: store.KindContact, IntercomID: p.IntercomID})
				w.Links = append(w.Links, store.Link{Kind: store.KindContact, IntercomID: p.IntercomID, Email: p.IntercomID + "@example.com",
					Hash: "8f0d6b1c2a3e4f5061728394a5b6c7d8", Lists: []int64{35}, SourceUpdatedAt: 1717243200, Data: p.Payload, Seen: 1})
			}
			b.StartTimer()
			if err := st.Apply(ctx, "intercom", w); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n*150), "ns/contact")
	})
}

// benchDelivery is a contact.user.updated notification of typical size.
func benchDelivery(n int) store.Delivery {
	body := `{"type":"notification_event","id":"notif_` + fmt.Sprint(n) + `","topic":"contact.user.updated","data":{"item":{"type":"contact","id":"c` +
		fmt.Sprint(n%5000) + `",` + strings.Repeat(`"custom_attribute":"a value of some length",`, 70) + `"role":"user"}}}`
	return store.Delivery{ConnectorID: "intercom", Source: "intercom", ID: fmt.Sprintf("notif_%d", n), Topic: "contact.user.updated",
		Path: "/webhooks/intercom", Key: fmt.Sprintf("contact:c%d", n%5000), Body: []byte(body), ReceivedAt: time.Now()}
}

// BenchmarkAccept writes webhook deliveries to the durable inbox, one at
// a time and from concurrent receivers (the HTTP server runs one goroutine
// per request).
func BenchmarkAccept(b *testing.B) {
	ctx := b.Context()
	b.Run("serial", func(b *testing.B) {
		st := openBench(b)
		n := 0
		b.ReportAllocs()
		for b.Loop() {
			n++
			if dup, err := st.Accept(ctx, benchDelivery(n)); err != nil || dup {
				b.Fatal(dup, err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		st := openBench(b)
		b.SetParallelism(8)
		var seq atomic.Int64
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if dup, err := st.Accept(ctx, benchDelivery(int(seq.Add(1)))); err != nil || dup {
					b.Error(dup, err)
					return
				}
			}
		})
	})
}

// BenchmarkClaim claims the next 20 deliveries and finishes them, behind a
// backlog of 10,000 open deliveries (5 per contact) and 10,000 done ones,
// as the inbox worker does after a burst of webhooks. The backlog is
// topped up outside the timer.
func BenchmarkClaim(b *testing.B) {
	ctx := b.Context()
	st := openBench(b)
	const backlog = 10_000
	n := 0
	accept := func(k int) {
		for range k {
			n++
			if _, err := st.Accept(ctx, benchDelivery(n)); err != nil {
				b.Fatal(err)
			}
		}
	}
	accept(backlog)
	done, err := st.Claim(ctx, "intercom", "bench", time.Now(), time.Minute, backlog)
	if err != nil {
		b.Fatal(err)
	}
	for _, d := range done {
		if err := st.Finish(ctx, "intercom", d.Seq, "bench"); err != nil {
			b.Fatal(err)
		}
	}
	accept(backlog)
	b.ReportAllocs()
	for b.Loop() {
		ds, err := st.Claim(ctx, "intercom", "bench", time.Now(), time.Minute, 20)
		if err != nil || len(ds) == 0 {
			b.Fatal(len(ds), err)
		}
		for _, d := range ds {
			if err := st.Finish(ctx, "intercom", d.Seq, "bench"); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		accept(len(ds))
		b.StartTimer()
	}
}
