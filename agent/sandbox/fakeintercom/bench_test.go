package fakeintercom

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tajo/terraform-provider-tajo/agent/sandbox/dataset"
)

// TestServes100kContactsCheaply bounds the cost of a large workspace:
// building it, a list page and a search page (cold and cached).
func TestServes100kContactsCheaply(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 100k-contact workspace")
	}
	start := time.Now()
	s, _ := newServer(t, 100_000, nil)
	built := time.Since(start)
	if built > 5*time.Second {
		t.Errorf("building 100k contacts took %v", built)
	}
	start = time.Now()
	r := call(t, s, "GET", "/contacts?per_page=150&starting_after="+encodeCursor(cursor{Slot: 70_000}), "")
	list := time.Since(start)
	if r.status != 200 {
		t.Fatal(r.status)
	}
	q := fmt.Sprintf(`{"query":{"field":"updated_at","operator":">","value":%d},"pagination":{"per_page":150}}`, refNow.AddDate(0, 0, -7).Unix())
	start = time.Now()
	r = call(t, s, "POST", "/contacts/search", q)
	cold := time.Since(start)
	var p searchPage
	json.Unmarshal(r.body, &p)
	start = time.Now()
	call(t, s, "POST", "/contacts/search", strings.Replace(q, `"per_page":150}`, `"per_page":150,"starting_after":"`+p.Pages.Next.StartingAfter+`"}`, 1))
	warm := time.Since(start)
	t.Logf("100k contacts: build %v, list page %v, search page cold %v / cached %v (%d matches)", built, list, cold, warm, p.TotalCount)
	if list > 200*time.Millisecond || warm > 200*time.Millisecond || cold > 2*time.Second {
		t.Errorf("too slow: list %v, cold search %v, warm search %v", list, cold, warm)
	}
}

func BenchmarkNew(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for b.Loop() {
				New(Options{Dataset: dataset.Options{Contacts: n, Seed: 1, Now: refNow}, Clock: func() time.Time { return refNow }})
			}
		})
	}
}

func benchServer(b *testing.B, n int) *Server {
	b.Helper()
	s, _ := newServer(b, n, nil)
	return s
}

func BenchmarkListPage(b *testing.B) {
	s := benchServer(b, 100_000)
	i := 0
	for b.Loop() {
		req := httptest.NewRequest("GET", "/contacts?per_page=150&starting_after="+encodeCursor(cursor{Slot: (i * 150) % 99_000}), nil)
		req.Header.Set("Authorization", "Bearer "+DefaultToken)
		s.ServeHTTP(httptest.NewRecorder(), req)
		i++
	}
}

func BenchmarkSearchPage(b *testing.B) {
	s := benchServer(b, 100_000)
	body := fmt.Sprintf(`{"query":{"field":"updated_at","operator":">","value":%d},"pagination":{"per_page":150}}`, refNow.AddDate(0, 0, -7).Unix())
	b.Run("cached", func(b *testing.B) {
		for b.Loop() {
			req := httptest.NewRequest("POST", "/contacts/search", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+DefaultToken)
			s.ServeHTTP(httptest.NewRecorder(), req)
		}
	})
	b.Run("after a change", func(b *testing.B) {
		id := s.ContactIDs()[0]
		for b.Loop() {
			s.UpdateContact(id, func(c *dataset.Contact) { c.Name = "x" })
			req := httptest.NewRequest("POST", "/contacts/search", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+DefaultToken)
			s.ServeHTTP(httptest.NewRecorder(), req)
		}
	})
}
