package intercom

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestQueryJSON(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name string
		q    Query
		want string
	}{
		{"filter", Filter("email", OpEquals, "a@b.c"), `{"field":"email","operator":"=","value":"a@b.c"}`},
		{"time value", Filter("created_at", OpGreater, at), `{"field":"created_at","operator":">","value":1767323045}`},
		{"null value", Filter("phone", OpEquals, nil), `{"field":"phone","operator":"=","value":null}`},
		{"list", Filter("role", OpIn, []string{"user", "lead"}), `{"field":"role","operator":"IN","value":["user","lead"]}`},
		{"nested", And(Filter("role", OpEquals, "user"), Or(Filter("tag_id", OpEquals, "7"), Filter("tag_id", OpEquals, "8"))),
			`{"operator":"AND","value":[{"field":"role","operator":"=","value":"user"},{"operator":"OR","value":[{"field":"tag_id","operator":"=","value":"7"},{"field":"tag_id","operator":"=","value":"8"}]}]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b, err := marshal(tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tc.want {
				t.Errorf("got  %s\nwant %s", b, tc.want)
			}
		})
	}
}

func TestQueryValidate(t *testing.T) {
	t.Parallel()
	f := Filter("role", OpEquals, "user")
	many := make([]Query, 16)
	for i := range many {
		many[i] = f
	}
	tests := []struct {
		name    string
		q       Query
		contact bool // also the contact date rules
		wantErr string
	}{
		{name: "single", q: f},
		{name: "two levels", q: And(f, Or(f, f))},
		{name: "three levels", q: And(f, Or(f, And(f, f))), wantErr: "more than 2 levels"},
		{name: "15 in a group", q: And(many[:15]...)},
		{name: "16 in a group", q: Or(many...), wantErr: "group of 16 filters"},
		{name: "empty group", q: And(), wantErr: "empty AND group"},
		{name: "no field", q: Filter("", OpEquals, 1), wantErr: "without a field"},
		{name: "unknown operator", q: Filter("role", "==", "user"), wantErr: `unknown operator "=="`},
		{name: "IN without list", q: Filter("role", OpIn, "user"), wantErr: "needs a non-empty list"},
		{name: "IN with empty list", q: Filter("role", OpIn, []string{}), wantErr: "needs a non-empty list"},
		{name: "list with =", q: Filter("role", OpEquals, []string{"a"}), wantErr: "needs IN or NIN"},
		{name: "date >", q: Filter("updated_at", OpGreater, 1), contact: true},
		{name: "date >=", q: Filter("updated_at", OpGreaterEq, 1), contact: true, wantErr: "not supported on the date field updated_at"},
		{name: "date != nested", q: And(f, Filter("created_at", OpNotEquals, 1)), contact: true, wantErr: "operator != is not supported"},
		{name: "date IN", q: Filter("last_seen_at", OpIn, []int{1}), contact: true, wantErr: "operator IN"},
		{name: "integer >=", q: Filter("owner_id", OpGreaterEq, 1), contact: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.q.Validate()
			if err == nil && tc.contact {
				err = tc.q.validateContactDates()
			}
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, ErrInvalidQuery) {
				t.Errorf("err = %v, want %q (ErrInvalidQuery)", err, tc.wantErr)
			}
		})
	}
}

func TestUpdatedSince(t *testing.T) {
	t.Parallel()
	tests := []struct {
		at   time.Time
		want int64
	}{
		// 2026-03-10 15:30 UTC → > 2026-03-09 00:00 UTC, which matches
		// from 2026-03-10 00:00 on.
		{time.Date(2026, 3, 10, 15, 30, 0, 0, time.UTC), time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC).Unix()},
		{time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC).Unix()},
		// 01:00 on the 11th in UTC+2 is 23:00 on the 10th UTC.
		{time.Date(2026, 3, 11, 1, 0, 0, 0, time.FixedZone("CEST", 2*3600)), time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC).Unix()},
		{time.Date(2026, 1, 1, 5, 0, 0, 0, time.UTC), time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC).Unix()},
	}
	for _, tc := range tests {
		q := UpdatedSince(tc.at)
		if q.Field != "updated_at" || q.Operator != OpGreater || q.Value != tc.want {
			t.Errorf("UpdatedSince(%v) = %+v, want > %d", tc.at, q, tc.want)
		}
		if err := q.validateContactDates(); err != nil {
			t.Error(err)
		}
	}
}

func TestSearchRequestBody(t *testing.T) {
	t.Parallel()
	r := &SearchRequest{Query: Filter("role", OpEquals, "lead"), PerPage: 25, StartingAfter: "abc", Sort: &Sort{Field: "updated_at", Order: SortAscending}}
	b, err := r.body()
	if err != nil {
		t.Fatal(err)
	}
	js, _ := marshal(b)
	want := `{"query":{"field":"role","operator":"=","value":"lead"},"pagination":{"per_page":25,"starting_after":"abc"},"sort":{"field":"updated_at","order":"ascending"}}`
	if string(js) != want {
		t.Errorf("got  %s\nwant %s", js, want)
	}
	if _, err := (&SearchRequest{Query: Filter("a", "=", 1), Sort: &Sort{Field: "x", Order: "up"}}).body(); !errors.Is(err, ErrInvalidQuery) {
		t.Errorf("bad sort order: %v", err)
	}
	if _, err := (&SearchRequest{Query: Filter("a", "=", 1), PerPage: 500}).body(); err == nil {
		t.Error("per_page 500 accepted")
	}
}
