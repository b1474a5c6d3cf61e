package fakebrevo_test

import (
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/tajo/terraform-provider-tajo/agent/brevo"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox/fakebrevo"
)

// BenchmarkImport imports 100k and 1M contacts through the client (8 MB
// requests) into a fresh fake with lifted budgets and no process delay:
//
//	go test -run x -bench Import -benchtime 1x ./agent/sandbox/fakebrevo/
func BenchmarkImport(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			contacts := make([]brevo.ImportContact, n)
			for i := range contacts {
				contacts[i] = brevo.ImportContact{Email: fmt.Sprintf("u%07d@example.com", i), ExtID: fmt.Sprintf("ic%07d", i),
					Attributes: map[string]any{"FIRSTNAME": "First", "LASTNAME": fmt.Sprintf("Last %d", i)}}
			}
			b.ResetTimer()
			for b.Loop() {
				fb := fakebrevo.New(fakebrevo.WithLiftedBudgets(), fakebrevo.WithProcessDelay(0), fakebrevo.WithLists(fakebrevo.List{ID: 2, Name: "all"}))
				srv := httptest.NewServer(fb)
				c, err := brevo.NewClient(fb.APIKey(), brevo.WithBaseURL(srv.URL+fb.BasePath()), brevo.WithLimits(brevo.Unlimited()))
				if err != nil {
					b.Fatal(err)
				}
				res, _, err := c.Contacts.Import(b.Context(), &brevo.ImportRequest{Contacts: contacts, ListIDs: []int64{2}})
				if err != nil {
					b.Fatal(err)
				}
				if err := fb.WaitIdle(b.Context()); err != nil {
					b.Fatal(err)
				}
				if fb.ContactCount() != n {
					b.Fatalf("%d contacts", fb.ContactCount())
				}
				b.ReportMetric(float64(n)/float64(len(res.ProcessIDs)), "contacts/request")
				srv.Close()
				fb.Close()
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "contacts/s")
		})
	}
}

// BenchmarkListContacts pages through 100k contacts, 1,000 a page.
func BenchmarkListContacts(b *testing.B) {
	const n = 100_000
	fb := fakebrevo.New(fakebrevo.WithLiftedBudgets(), fakebrevo.WithProcessDelay(0), fakebrevo.WithLists(fakebrevo.List{ID: 2, Name: "all"}))
	defer fb.Close()
	srv := httptest.NewServer(fb)
	defer srv.Close()
	c, _ := brevo.NewClient(fb.APIKey(), brevo.WithBaseURL(srv.URL+fb.BasePath()), brevo.WithLimits(brevo.Unlimited()))
	contacts := make([]brevo.ImportContact, n)
	for i := range contacts {
		contacts[i] = brevo.ImportContact{Email: fmt.Sprintf("u%07d@example.com", i), ExtID: fmt.Sprintf("ic%07d", i)}
	}
	if _, _, err := c.Contacts.Import(b.Context(), &brevo.ImportRequest{Contacts: contacts, ListIDs: []int64{2}}); err != nil {
		b.Fatal(err)
	}
	fb.WaitIdle(b.Context())
	b.ResetTimer()
	for b.Loop() {
		m, err := c.Contacts.MapExtIDs(b.Context(), nil)
		if err != nil || len(m) != n {
			b.Fatalf("%d %v", len(m), err)
		}
	}
}
