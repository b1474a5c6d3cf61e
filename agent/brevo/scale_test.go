package brevo

import (
	"fmt"
	"testing"
	"time"

	"github.com/tajo/terraform-provider-tajo/agent/sandbox/fakebrevo"
)

// TestScaleHundredThousand imports 100,000 contacts end to end and maps
// their ext ids back, the sync engine's full-sync path.
func TestScaleHundredThousand(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("scale test")
	}
	const n = 100_000
	fb, c, _ := newFake(t, []fakebrevo.Option{fakebrevo.WithLists(fakebrevo.List{ID: 35, Name: "all"}), fakebrevo.WithProcessDelay(0)})
	contacts := make([]ImportContact, n)
	for i := range contacts {
		contacts[i] = ImportContact{Email: fmt.Sprintf("u%06d@example.com", i), ExtID: fmt.Sprintf("ic%06d", i),
			Attributes: map[string]any{"FIRSTNAME": "First", "LASTNAME": fmt.Sprintf("Last %d", i)}}
	}
	start := time.Now()
	res, _, err := c.Contacts.Import(t.Context(), &ImportRequest{Contacts: contacts, ListIDs: []int64{35}})
	if err != nil {
		t.Fatal(err)
	}
	if err := fb.WaitIdle(t.Context()); err != nil {
		t.Fatal(err)
	}
	imported := time.Since(start)
	start = time.Now()
	m, err := c.Contacts.MapExtIDs(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	mapped := time.Since(start)
	t.Logf("imported %d contacts in %d requests (%d per request) in %v; mapped %d ext ids in %v (%d pages)",
		n, len(res.ProcessIDs), n/len(res.ProcessIDs), imported.Round(time.Millisecond), len(m), mapped.Round(time.Millisecond), n/MaxContactsPage)
	if len(m) != n || fb.ContactCount() != n {
		t.Errorf("%d mapped, %d stored", len(m), fb.ContactCount())
	}
	if m["ic012345"] == 0 {
		t.Error("ext id missing from the map")
	}
}
