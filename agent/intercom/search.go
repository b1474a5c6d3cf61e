package intercom

import (
	"fmt"
	"reflect"
	"slices"
	"time"
)

// Search operators (https://developers.intercom.com/docs/references/2.11/rest-api/api.intercom.io/contacts/searchcontacts).
const (
	OpEquals      = "="
	OpNotEquals   = "!="
	OpIn          = "IN"
	OpNotIn       = "NIN"
	OpGreater     = ">"
	OpLess        = "<"
	OpGreaterEq   = ">="
	OpLessEq      = "<="
	OpContains    = "~"
	OpNotContains = "!~"
	OpStartsWith  = "^"
	OpEndsWith    = "$"
)

var operators = []string{OpEquals, OpNotEquals, OpIn, OpNotIn, OpGreater, OpLess, OpGreaterEq, OpLessEq,
	OpContains, OpNotContains, OpStartsWith, OpEndsWith}

// Limits of a search query, from the 2.11 documentation: "max 2 nested
// filters" (levels of AND/OR groups) and "max 15 filters for each AND or
// OR group".
const (
	MaxQueryDepth = 2
	MaxGroupSize  = 15
)

// Query is a search query: one filter (Field, Operator, Value) or an AND/OR
// group of queries. Build it with Filter, And and Or.
type Query struct {
	Field    string
	Operator string
	// Value is a string, number, bool, time.Time (sent as Unix seconds),
	// nil, or a slice of those for IN and NIN.
	Value any
	// Group holds the members of an AND/OR group (Operator "AND"/"OR").
	Group []Query
}

// Filter is a single condition, e.g. Filter("role", OpEquals, "user").
func Filter(field, operator string, value any) Query {
	return Query{Field: field, Operator: operator, Value: value}
}

// And matches what all of qs match.
func And(qs ...Query) Query { return Query{Operator: "AND", Group: qs} }

// Or matches what any of qs matches.
func Or(qs ...Query) Query { return Query{Operator: "OR", Group: qs} }

func (q Query) isGroup() bool { return q.Operator == "AND" || q.Operator == "OR" }

// MarshalJSON renders the query as Intercom expects it.
func (q Query) MarshalJSON() ([]byte, error) {
	if q.isGroup() {
		members := q.Group
		if members == nil {
			members = []Query{}
		}
		return marshal(struct {
			Operator string  `json:"operator"`
			Value    []Query `json:"value"`
		}{q.Operator, members})
	}
	return marshal(struct {
		Field    string `json:"field"`
		Operator string `json:"operator"`
		Value    any    `json:"value"`
	}{q.Field, q.Operator, jsonValue(q.Value)})
}

// jsonValue turns times into Unix seconds (inside slices too).
func jsonValue(v any) any {
	switch x := v.(type) {
	case time.Time:
		return x.Unix()
	case *time.Time:
		if x == nil {
			return nil
		}
		return x.Unix()
	case []time.Time:
		out := make([]int64, len(x))
		for i, t := range x {
			out[i] = t.Unix()
		}
		return out
	}
	return v
}

// Validate checks what Intercom would refuse: unknown operators, empty or
// oversized groups, more than MaxQueryDepth levels of groups, IN/NIN
// without a list.
func (q Query) Validate() error { return q.validate(0) }

func (q Query) validate(depth int) error {
	if q.isGroup() {
		if depth >= MaxQueryDepth {
			return fmt.Errorf("%w: more than %d levels of AND/OR groups", ErrInvalidQuery, MaxQueryDepth)
		}
		if len(q.Group) == 0 {
			return fmt.Errorf("%w: empty %s group", ErrInvalidQuery, q.Operator)
		}
		if len(q.Group) > MaxGroupSize {
			return fmt.Errorf("%w: %s group of %d filters (at most %d)", ErrInvalidQuery, q.Operator, len(q.Group), MaxGroupSize)
		}
		for _, m := range q.Group {
			if err := m.validate(depth + 1); err != nil {
				return err
			}
		}
		return nil
	}
	if len(q.Group) > 0 {
		return fmt.Errorf("%w: filter %q has group members but operator %q", ErrInvalidQuery, q.Field, q.Operator)
	}
	if q.Field == "" {
		return fmt.Errorf("%w: filter without a field", ErrInvalidQuery)
	}
	if !slices.Contains(operators, q.Operator) {
		return fmt.Errorf("%w: unknown operator %q on %s", ErrInvalidQuery, q.Operator, q.Field)
	}
	isList := q.Value != nil && reflect.TypeOf(jsonValue(q.Value)).Kind() == reflect.Slice
	switch {
	case (q.Operator == OpIn || q.Operator == OpNotIn) && (!isList || reflect.ValueOf(jsonValue(q.Value)).Len() == 0):
		return fmt.Errorf("%w: %s on %s needs a non-empty list", ErrInvalidQuery, q.Operator, q.Field)
	case q.Operator != OpIn && q.Operator != OpNotIn && isList:
		return fmt.Errorf("%w: a list value needs IN or NIN, not %s, on %s", ErrInvalidQuery, q.Operator, q.Field)
	}
	return nil
}

// Contact date fields: matched by calendar day in 2.11, and the operators
// !=, >=, <=, IN and NIN are refused on them.
var contactDateFields = []string{
	"created_at", "updated_at", "signed_up_at", "last_seen_at", "last_contacted_at", "last_replied_at",
	"last_email_opened_at", "last_email_clicked_at", "ios_last_seen_at", "android_last_seen_at",
}

// validateContactDates refuses operators Intercom rejects on contact date
// fields. (Date custom attributes have the same rule; their types are not
// known here, Intercom reports those.)
func (q Query) validateContactDates() error {
	if q.isGroup() {
		for _, m := range q.Group {
			if err := m.validateContactDates(); err != nil {
				return err
			}
		}
		return nil
	}
	if slices.Contains(contactDateFields, q.Field) {
		switch q.Operator {
		case OpEquals, OpGreater, OpLess:
		default:
			return fmt.Errorf("%w: operator %s is not supported on the date field %s (only =, > and <)", ErrInvalidQuery, q.Operator, q.Field)
		}
	}
	return nil
}

// UpdatedSince is the incremental-sync filter for contacts on 2.11, where
// search matches dates by calendar day: `updated_at > X` matches only from
// the start of the day AFTER X's day, so `> t` would skip whatever changed
// later on t's own day. This filter asks for `updated_at > (start of t's
// UTC day − 1 day)`, which matches from the start of t's day.
//
// The day boundary is the workspace's time zone, not UTC; for any zone
// (UTC−12 … UTC+14) the window still begins at or before midnight UTC of
// t's day, only earlier. So the result is a superset: the caller must drop
// contacts with updated_at < t and de-duplicate by (id, updated_at) across
// overlapping runs — the same contact version comes back in the next run's
// overlap. Recently created contacts can also take a few minutes to become
// searchable, another reason to keep an overlap window before t.
func UpdatedSince(t time.Time) Query {
	u := t.UTC()
	day := time.Date(u.Year(), u.Month(), u.Day(), 0, 0, 0, 0, time.UTC)
	return Filter("updated_at", OpGreater, day.AddDate(0, 0, -1).Unix())
}

// Sort orders search results. Intercom accepts it on searches although
// the 2.11 search_request schema does not declare it.
type Sort struct {
	Field string `json:"field"`
	// Order is SortAscending or SortDescending.
	Order string `json:"order"`
}

// Sort orders.
const (
	SortAscending  = "ascending"
	SortDescending = "descending"
)

// SearchRequest is the body of POST /contacts/search and
// /conversations/search.
type SearchRequest struct {
	Query Query
	// PerPage defaults to MaxPerPage (Intercom's own default is 50 for
	// contacts and 20 for conversations).
	PerPage int
	// StartingAfter is the cursor of the page to fetch ("" = first).
	StartingAfter string
	Sort          *Sort
}

type searchBody struct {
	Query      Query      `json:"query"`
	Pagination pagination `json:"pagination"`
	Sort       *Sort      `json:"sort,omitempty"`
}

type pagination struct {
	// per_page is required by the schema of starting_after_paging.
	PerPage       int    `json:"per_page"`
	StartingAfter string `json:"starting_after,omitempty"`
}

func (r *SearchRequest) body() (searchBody, error) {
	if err := r.Query.Validate(); err != nil {
		return searchBody{}, err
	}
	pp, err := perPage(r.PerPage)
	if err != nil {
		return searchBody{}, err
	}
	if r.Sort != nil && r.Sort.Order != SortAscending && r.Sort.Order != SortDescending {
		return searchBody{}, fmt.Errorf("%w: sort order %q (want %s or %s)", ErrInvalidQuery, r.Sort.Order, SortAscending, SortDescending)
	}
	return searchBody{Query: r.Query, Pagination: pagination{PerPage: pp, StartingAfter: r.StartingAfter}, Sort: r.Sort}, nil
}

// perPage applies the default and checks the maximum.
func perPage(n int) (int, error) {
	switch {
	case n == 0:
		return MaxPerPage, nil
	case n < 0 || n > MaxPerPage:
		return 0, fmt.Errorf("intercom: per_page must be between 1 and %d, got %d", MaxPerPage, n)
	}
	return n, nil
}
