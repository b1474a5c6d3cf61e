package brevo

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tajo/terraform-provider-tajo/agent/sandbox/fakebrevo"
)

// randomContacts makes contacts of uneven size (a few attributes, some
// long values, unicode, characters JSON escapes).
func randomContacts(r *rand.Rand, n int) []ImportContact {
	out := make([]ImportContact, n)
	for i := range out {
		attrs := map[string]any{"FIRSTNAME": fmt.Sprintf("Ünïcødé <%d> & \"q\"", i), "SESSION_COUNT": r.IntN(1000)}
		if r.IntN(10) == 0 {
			attrs["NOTES"] = strings.Repeat("x", r.IntN(600))
		}
		out[i] = ImportContact{Email: fmt.Sprintf("user%d@example.com", i), ExtID: fmt.Sprintf("ic-%x", r.Uint64()), Attributes: attrs}
	}
	return out
}

func TestImportChunkerNeverExceedsBudget(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	contacts := randomContacts(r, 3000)
	for _, budget := range []int{1500, 4096, 65536, 1 << 20} {
		for _, env := range []importEnvelope{
			{ListIDs: []int64{35}},
			{ListIDs: []int64{35, 36, 37}, NotifyURL: "https://agent.example.com/hooks/brevo-import?x=1&y=2", UpdateExistingContacts: Bool(true), EmptyContactsAttributes: true},
		} {
			t.Run(fmt.Sprint(budget, len(env.ListIDs)), func(t *testing.T) {
				t.Parallel()
				ch, err := newImportChunker(env, budget)
				if err != nil {
					t.Fatal(err)
				}
				var bodies [][]byte
				var items [][]byte
				for _, c := range contacts {
					item, _ := json.Marshal(c)
					items = append(items, item)
					full, _, err := ch.add(item)
					if err != nil {
						t.Fatal(err)
					}
					if full != nil {
						bodies = append(bodies, full)
					}
				}
				if last, _ := ch.flush(); last != nil {
					bodies = append(bodies, last)
				}
				planned, err := ch.plan(contacts)
				if err != nil || planned != len(bodies) {
					t.Errorf("plan says %d bodies, got %d (%v)", planned, len(bodies), err)
				}
				var got []json.RawMessage
				k := 0
				for i, b := range bodies {
					if len(b) > budget {
						t.Fatalf("body %d is %d bytes, budget %d", i, len(b), budget)
					}
					var req struct {
						JSONBody []json.RawMessage `json:"jsonBody"`
						importEnvelope
					}
					if err := json.Unmarshal(b, &req); err != nil {
						t.Fatalf("body %d is not JSON: %v", i, err)
					}
					if diff := cmp.Diff(env, req.importEnvelope); diff != "" {
						t.Fatalf("body %d envelope (-want +got):\n%s", i, diff)
					}
					got = append(got, req.JSONBody...)
					k += len(req.JSONBody)
					// Greedy: the next item would not have fitted.
					if i < len(bodies)-1 && len(b)+1+len(items[k]) <= budget {
						t.Errorf("body %d (%d bytes) had room for the next item (%d bytes)", i, len(b), len(items[k]))
					}
				}
				if len(got) != len(contacts) {
					t.Fatalf("%d items out, %d in", len(got), len(contacts))
				}
				for i := range got {
					if !bytes.Equal(got[i], items[i]) {
						t.Fatalf("item %d changed: %s vs %s", i, got[i], items[i])
					}
				}
			})
		}
	}
	if _, err := newImportChunker(importEnvelope{ListIDs: []int64{1}}, 10); !errors.Is(err, ErrInvalid) {
		t.Errorf("budget below the envelope: %v", err)
	}
	ch, _ := newImportChunker(importEnvelope{ListIDs: []int64{1}}, 200)
	if _, _, err := ch.add(bytes.Repeat([]byte("x"), 300)); !errors.Is(err, ErrInvalid) {
		t.Errorf("oversized contact: %v", err)
	}
}

func TestImportMarshalsExtIDAndSMSAsAttributes(t *testing.T) {
	t.Parallel()
	attrs := map[string]any{"FIRSTNAME": "Ann"}
	b, err := json.Marshal(ImportContact{Email: "a@example.com", ExtID: "ic-1", SMS: "+4915112345678", Attributes: attrs})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"email":"a@example.com","attributes":{"EXT_ID":"ic-1","FIRSTNAME":"Ann","SMS":"+4915112345678"}}`; string(b) != want {
		t.Errorf("got %s\nwant %s", b, want)
	}
	if len(attrs) != 1 {
		t.Errorf("the caller's attributes were modified: %v", attrs)
	}
}

// TestImportTwentyThousand imports 20,000 realistic contacts and reports
// the contacts per request at the default 8 MB budget and at 1 MB.
func TestImportTwentyThousand(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 4))
	var contacts []ImportContact
	for i := range 20000 {
		contacts = append(contacts, ImportContact{Email: fmt.Sprintf("person.%d@company%d.example", i, i%500), ExtID: fmt.Sprintf("%024x", r.Uint64()),
			SMS: fmt.Sprintf("+4915%09d", i), Attributes: map[string]any{
				"FIRSTNAME": "Firstname", "LASTNAME": fmt.Sprintf("Lastname-%d", i), "COMPANY_NAME": fmt.Sprintf("Company %d", i%500),
				"COMPANY_PLAN": "premium", "SIGNUP_DATE": "2023-05-17", "LAST_ACTIVE": "2024-11-02", "SESSION_COUNT": r.IntN(5000),
				"PLAN_TIER": "enterprise", "UNSUBSCRIBED": false}})
	}
	for _, budget := range []int{DefaultImportMaxBytes, 1_000_000} {
		fb, c, _ := newFake(t, []fakebrevo.Option{fakebrevo.WithLists(fakebrevo.List{ID: 35, Name: "all"})}, WithImportMaxBytes(budget))
		res, _, err := c.Contacts.Import(t.Context(), &ImportRequest{Contacts: contacts, ListIDs: []int64{35}})
		if err != nil {
			t.Fatal(err)
		}
		if err := fb.WaitIdle(t.Context()); err != nil {
			t.Fatal(err)
		}
		per := len(contacts) / len(res.ProcessIDs)
		t.Logf("budget %d bytes: %d requests, %d contacts per request, bodies %v", budget, len(res.ProcessIDs), per, res.BodyBytes)
		if per < 500 {
			t.Errorf("%d contacts per request, want ≥ 500", per)
		}
		for _, n := range res.BodyBytes {
			if n > budget {
				t.Errorf("body %d > budget %d", n, budget)
			}
		}
		if fb.ContactCount() != len(contacts) {
			t.Errorf("%d contacts stored", fb.ContactCount())
		}
		for id, n := range fb.ContactWrites() {
			if n != 1 {
				t.Fatalf("contact %d written %d times", id, n)
			}
		}
	}
}

// TestListChunking: 1,000 ids are 7 calls of at most 150, the answers
// aggregated in order.
func TestListChunking(t *testing.T) {
	t.Parallel()
	var sizes []int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b struct {
			IDs []int64 `json:"ids"`
		}
		json.NewDecoder(r.Body).Decode(&b)
		sizes = append(sizes, len(b.IDs))
		var ok, fail []int64
		for _, id := range b.IDs {
			if id%10 == 0 {
				fail = append(fail, id)
			} else {
				ok = append(ok, id)
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(201)
		json.NewEncoder(w).Encode(map[string]any{"contacts": map[string]any{"success": ok, "failure": fail}})
	}))
	t.Cleanup(srv.Close)
	c := newTestClient(t, srv)
	ids := make([]int64, 1000)
	for i := range ids {
		ids[i] = int64(i + 1)
	}
	res, _, err := c.Lists.RemoveIDs(t.Context(), 7, ids)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int{150, 150, 150, 150, 150, 150, 100}, sizes); diff != "" {
		t.Errorf("call sizes (-want +got):\n%s", diff)
	}
	if res.Requests != 7 || res.Done != 1000 || len(res.Success) != 900 || len(res.Failure) != 100 {
		t.Errorf("result: %d requests, %d done, %d/%d", res.Requests, res.Done, len(res.Success), len(res.Failure))
	}
	if !slices.IsSorted(res.Success) || res.Failure[0] != 10 || res.Failure[99] != 1000 {
		t.Errorf("aggregation out of order")
	}
}
