package intercom

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Timestamp is a Unix time in seconds, as Intercom sends them; zero means
// null. It decodes leniently: numbers (also with a fraction), numeric
// strings and null.
type Timestamp int64

// Time returns the instant in UTC, or the zero time for a null timestamp.
func (t Timestamp) Time() time.Time {
	if t == 0 {
		return time.Time{}
	}
	return time.Unix(int64(t), 0).UTC()
}

// IsZero reports a null timestamp.
func (t Timestamp) IsZero() bool { return t == 0 }

// UnmarshalJSON implements json.Unmarshaler.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	n, err := lenientInt(b)
	*t = Timestamp(n)
	return err
}

// ID is an identifier Intercom sends as a string in some places and as a
// number in others (admin and data attribute ids); it decodes either.
type ID string

// UnmarshalJSON implements json.Unmarshaler.
func (id *ID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*id = ""
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*id = ID(s)
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return err
		}
		*id = ID(n.String())
	}
	return nil
}

// lenientInt decodes an integer from a number, a fractional number
// (truncated), a numeric string or null (0).
func lenientInt(b []byte) (int64, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || bytes.Equal(b, []byte("null")) {
		return 0, nil
	}
	s := string(b)
	if b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return 0, err
		}
		if s == "" {
			return 0, nil
		}
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, &json.UnmarshalTypeError{Value: "non-numeric " + kindOfJSON(b), Type: reflect.TypeFor[int64]()}
	}
	return int64(f), nil
}

func kindOfJSON(b []byte) string {
	switch b[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "bool"
	}
	return "value"
}

// Reference points at another object: {"type": "admin", "id": "123"}.
type Reference struct {
	Type string `json:"type"`
	ID   ID     `json:"id"`
}

// Tag is a workspace tag; AppliedAt and AppliedBy are set where a tag is
// listed as attached to something.
type Tag struct {
	Type      string     `json:"type"`
	ID        ID         `json:"id"`
	Name      string     `json:"name"`
	AppliedAt Timestamp  `json:"applied_at"`
	AppliedBy *Reference `json:"applied_by"`
}

// TagList is {"type": "tag.list", "tags": [...]} as embedded in companies
// and conversations.
type TagList struct {
	Type string `json:"type"`
	Tags []*Tag `json:"tags"`
}

// CursorPages is the "pages" object of cursor lists and searches.
type CursorPages struct {
	Type       string    `json:"type"`
	Page       int       `json:"page"`
	PerPage    int       `json:"per_page"`
	TotalPages int       `json:"total_pages"`
	Next       *NextPage `json:"next"`
}

// NextPage is pages.next of a cursor list. (Page-numbered lists send a
// URL string there instead; it decodes to an empty NextPage.)
type NextPage struct {
	Page          int    `json:"page"`
	PerPage       int    `json:"per_page"`
	StartingAfter string `json:"starting_after"`
}

// UnmarshalJSON accepts the object, a URL string or null.
func (n *NextPage) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		*n = NextPage{}
		return nil
	}
	type plain NextPage
	return json.Unmarshal(b, (*plain)(n))
}

// cursor returns the next page's starting_after, "" on the last page.
func (p *CursorPages) cursor() string {
	if p == nil || p.Next == nil {
		return ""
	}
	return p.Next.StartingAfter
}

// knownFields caches the JSON names of a struct type's fields.
var knownFields sync.Map // reflect.Type → map[string]bool

func fieldNames(t reflect.Type) map[string]bool {
	if m, ok := knownFields.Load(t); ok {
		return m.(map[string]bool)
	}
	m := map[string]bool{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		m[name] = true
	}
	knownFields.Store(t, m)
	return m
}

// extra returns the members of raw that v's type does not declare: fields
// real responses carry beyond the 2.11 schema (utm_*, referrer,
// session_count …).
func extra(raw json.RawMessage, v any) map[string]json.RawMessage {
	if len(raw) == 0 {
		return nil
	}
	var all map[string]json.RawMessage
	if json.Unmarshal(raw, &all) != nil {
		return nil
	}
	known := fieldNames(reflect.TypeOf(v).Elem())
	for k := range all {
		if known[k] {
			delete(all, k)
		}
	}
	return all
}

// keepRaw decodes b into v (through an alias type without methods) and
// returns a copy of b for the Raw field.
func keepRaw(b []byte, v any) (json.RawMessage, error) {
	if err := json.Unmarshal(b, v); err != nil {
		return nil, err
	}
	return bytes.Clone(b), nil
}

// marshal encodes JSON without HTML escaping, so that operators such as
// ">" go out as written rather than as "\u003e".
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
