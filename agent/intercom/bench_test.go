package intercom

import (
	"fmt"
	"testing"
)

// BenchmarkListAllContacts lists a whole workspace through the client and
// the simulator with budgets lifted: the client's and the simulator's own
// cost per contact.
func BenchmarkListAllContacts(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			_, base := newFake(b, unlimited(n))
			c := newTestClient(b, base)
			for b.Loop() {
				got := 0
				for _, err := range c.Contacts.All(b.Context(), ListOptions{}) {
					if err != nil {
						b.Fatal(err)
					}
					got++
				}
				if got != n {
					b.Fatalf("listed %d", got)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/contact")
		})
	}
}

// BenchmarkIncrementalSearch searches a week of changes in 100k contacts.
func BenchmarkIncrementalSearch(b *testing.B) {
	_, base := newFake(b, unlimited(100_000))
	c := newTestClient(b, base)
	for b.Loop() {
		for _, err := range c.Contacts.SearchAll(b.Context(), SearchRequest{Query: UpdatedSince(refNow.AddDate(0, 0, -7))}) {
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}
