package brevo

import (
	"bytes"
	"context"
	"encoding/json"
	"iter"
	"strconv"
	"time"
)

// Time is a timestamp as Brevo writes them ("2017-05-12T12:30:00Z",
// "2024-01-10T11:22:33.123+01:00"). A value that does not parse decodes
// to the zero time rather than failing the whole page.
type Time struct{ time.Time }

// timeLayout is how the client writes times (Brevo's
// YYYY-MM-DDTHH:mm:ss.SSSZ).
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05", time.DateOnly}

// UnmarshalJSON implements json.Unmarshaler.
func (t *Time) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		t.Time = time.Time{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		t.Time = time.Time{}
		return nil
	}
	t.Time = parseTime(s)
	return nil
}

// MarshalJSON implements json.Marshaler.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(t.UTC().Format(timeLayout))
}

func parseTime(s string) time.Time {
	for _, l := range timeLayouts {
		if v, err := time.Parse(l, s); err == nil {
			return v
		}
	}
	return time.Time{}
}

// formatTime writes a query-string time the way Brevo documents it.
func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// Sort orders list endpoints by record creation.
type Sort string

// Sort orders; Brevo's default is descending.
const (
	SortAsc  Sort = "asc"
	SortDesc Sort = "desc"
)

// Page selects one page of an offset-paginated list.
type Page struct {
	// Limit is the page size (each endpoint has its own maximum).
	Limit int
	// Offset is the index of the first record.
	Offset int
	// Sort orders by creation; empty means the server default (desc).
	Sort Sort
}

func (p Page) query(q map[string][]string) {
	if p.Limit > 0 {
		q["limit"] = []string{strconv.Itoa(p.Limit)}
	}
	if p.Offset > 0 {
		q["offset"] = []string{strconv.Itoa(p.Offset)}
	}
	if p.Sort != "" {
		q["sort"] = []string{string(p.Sort)}
	}
}

// paginate walks offset pages: fetch returns one page and the total count
// (or -1 when the endpoint reports none). It stops at a short page, at the
// count, or at the first error (yielded once).
func paginate[T any](ctx context.Context, p Page, maxLimit int, fetch func(context.Context, Page) ([]T, int64, error)) iter.Seq2[T, error] {
	if p.Limit <= 0 || p.Limit > maxLimit {
		p.Limit = maxLimit
	}
	return func(yield func(T, error) bool) {
		for {
			items, count, err := fetch(ctx, p)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
			p.Offset += len(items)
			if len(items) < p.Limit || (count >= 0 && int64(p.Offset) >= count) {
				return
			}
		}
	}
}

// dedupe drops repeated values, keeping the first occurrence's order.
func dedupe[T comparable](in []T) []T {
	seen := make(map[T]struct{}, len(in))
	out := make([]T, 0, len(in))
	for _, v := range in {
		if _, ok := seen[v]; ok {
			continue
		}
		seen[v] = struct{}{}
		out = append(out, v)
	}
	return out
}

// chunks splits s into consecutive pieces of at most n.
func chunks[T any](s []T, n int) [][]T {
	var out [][]T
	for len(s) > n {
		out = append(out, s[:n:n])
		s = s[n:]
	}
	if len(s) > 0 {
		out = append(out, s)
	}
	return out
}

// Bool returns a pointer to b, for optional boolean fields.
func Bool(b bool) *bool { return &b }

// stringValue renders an attribute value that should be a string.
func stringValue(v any) (string, bool) {
	switch t := v.(type) {
	case string:
		return t, t != ""
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64), true
	case json.Number:
		return t.String(), true
	}
	return "", false
}
