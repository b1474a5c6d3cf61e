package intercom_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/tajo/terraform-provider-tajo/agent/intercom"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox/dataset"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox/fakeintercom"
)

// A sync walks the contact list page by page and checkpoints the cursor
// of the next page after each; after a crash it resumes from there.
func ExampleContactsService_Pages() {
	fake := fakeintercom.New(fakeintercom.Options{Dataset: dataset.Options{Contacts: 1000, Seed: 1}})
	mux := http.NewServeMux()
	mux.Handle("/intercom/", http.StripPrefix("/intercom", fake))
	ts := httptest.NewServer(mux)
	defer ts.Close()

	c, _ := intercom.NewClient(fakeintercom.DefaultToken, intercom.WithBaseURL(ts.URL+"/intercom"), intercom.WithBudget(100))
	ctx := context.Background()
	checkpoint, seen := "", 0
	for page, err := range c.Contacts.Pages(ctx, intercom.ListOptions{StartingAfter: checkpoint}) {
		if err != nil {
			fmt.Println(err)
			return
		}
		seen += len(page.Items) // … process the page …
		checkpoint = page.Next  // … then store the checkpoint.
	}
	fmt.Println(seen, checkpoint == "")
	// Output: 1000 true
}

// An incremental contact sync on 2.11: search with UpdatedSince, then cut
// at the checkpoint and de-duplicate by (id, updated_at) client-side.
func ExampleUpdatedSince() {
	fake := fakeintercom.New(fakeintercom.Options{Dataset: dataset.Options{Contacts: 2000, Seed: 1},
		Clock: func() time.Time { return time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC) }})
	ts := httptest.NewServer(fake)
	defer ts.Close()
	c, _ := intercom.NewClient(fakeintercom.DefaultToken, intercom.WithBaseURL(ts.URL), intercom.WithBudget(100), intercom.WithSearchRate(100))

	since := time.Date(2026, 3, 9, 18, 0, 0, 0, time.UTC)
	type version struct {
		id string
		at intercom.Timestamp
	}
	done := map[version]bool{}
	for ct, err := range c.Contacts.SearchAll(context.Background(), intercom.SearchRequest{Query: intercom.UpdatedSince(since)}) {
		if err != nil {
			fmt.Println(err)
			return
		}
		if ct.UpdatedAt.Time().Before(since) || done[version{ct.ID, ct.UpdatedAt}] {
			continue // before the checkpoint, or already synced
		}
		done[version{ct.ID, ct.UpdatedAt}] = true
	}
	fmt.Println(len(done) > 0)
	// Output: true
}
