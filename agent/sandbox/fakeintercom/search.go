package fakeintercom

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tajo/terraform-provider-tajo/agent/sandbox/dataset"
)

// Search: a query is compiled against a model (contacts or conversations)
// into a condition tree, evaluated over every live record, and the matches
// are sorted and cached per (query, sort, workspace version). Pages are
// cut from the cached result by keyset: the cursor carries the sort key
// and slot of the last record returned, so it stays meaningful after the
// workspace changes (the result is then recomputed).

type kind uint8

const (
	kString kind = iota
	kInt
	kFloat
	kDate
	kBool
	kTag // tag_id on contacts: only = and !=
)

func (k kind) String() string {
	return [...]string{"string", "integer", "float", "date", "boolean", "tag"}[k]
}

type value struct {
	null bool
	s    string
	n    int64
	f    float64
	b    bool
}

// rec is one record under evaluation; the full record is generated only
// when a condition needs a field the per-slot arrays do not hold.
type rec struct {
	s    *Server
	slot int
	c    *dataset.Contact
	v    *dataset.Conversation
}

func (r *rec) contact() *dataset.Contact {
	if r.c == nil {
		c := r.s.w.contact(r.slot)
		r.c = &c
	}
	return r.c
}

func (r *rec) conversation() *dataset.Conversation {
	if r.v == nil {
		v := r.s.w.conversation(r.slot)
		r.v = &v
	}
	return r.v
}

type field struct {
	kind kind
	// get appends the field's values (one, or several for a multi-valued
	// field such as contact_ids) to buf.
	get   func(r *rec, buf []value) []value
	multi bool
}

func str(s string) value   { return value{s: s, null: s == ""} }
func num(n int64) value    { return value{n: n, f: float64(n), null: n == 0} }
func date(n int64) value   { return value{n: n, null: n == 0} }
func boolean(b bool) value { return value{b: b} }

func one(f func(r *rec) value) func(*rec, []value) []value {
	return func(r *rec, buf []value) []value { return append(buf, f(r)) }
}

type model struct {
	name   string
	fields map[string]field
	// dayGranular: dates compare by calendar day (contacts in 2.11);
	// otherwise by second, with > and < inclusive as the conversation
	// search documentation says ("Greater (or equal) than").
	dayGranular bool
	custom      map[string]kind
	customGet   func(r *rec, name string) (any, bool)
	operators   map[kind][]string
}

var contactOps = map[kind][]string{
	kString: {"=", "!=", "IN", "NIN", "~", "!~", "^", "$"},
	kInt:    {"=", "!=", "IN", "NIN", ">", "<", ">=", "<="},
	kFloat:  {"=", "!=", "IN", "NIN", ">", "<", ">=", "<="},
	kDate:   {"=", ">", "<"},
	kBool:   {"=", "!="},
	kTag:    {"=", "!="},
}

var conversationOps = map[kind][]string{
	kString: {"=", "!=", "IN", "NIN", "~", "!~", "^", "$"},
	kInt:    {"=", "!=", "IN", "NIN", ">", "<"},
	kFloat:  {"=", "!=", "IN", "NIN", ">", "<"},
	kDate:   {"=", "!=", "IN", "NIN", ">", "<"},
	kBool:   {"=", "!="},
}

func (s *Server) contactModel() *model {
	c := func(f func(c *dataset.Contact) value) func(*rec, []value) []value {
		return one(func(r *rec) value { return f(r.contact()) })
	}
	strf := func(f func(c *dataset.Contact) string) field {
		return field{kind: kString, get: c(func(x *dataset.Contact) value { return str(f(x)) })}
	}
	datef := func(f func(c *dataset.Contact) int64) field {
		return field{kind: kDate, get: c(func(x *dataset.Contact) value { return date(f(x)) })}
	}
	boolf := func(f func(c *dataset.Contact) bool) field {
		return field{kind: kBool, get: c(func(x *dataset.Contact) value { return boolean(f(x)) })}
	}
	null := field{kind: kString, get: one(func(*rec) value { return value{null: true} })}
	nullDate := field{kind: kDate, get: one(func(*rec) value { return value{null: true} })}
	m := &model{
		name:        "contacts",
		dayGranular: true,
		operators:   contactOps,
		fields: map[string]field{
			"id":                       {kind: kString, get: one(func(r *rec) value { return str(r.s.ds.ContactID(r.slot)) })},
			"created_at":               {kind: kDate, get: one(func(r *rec) value { return date(r.s.w.cCreated[r.slot]) })},
			"updated_at":               {kind: kDate, get: one(func(r *rec) value { return date(r.s.w.cUpdated[r.slot]) })},
			"role":                     strf(func(c *dataset.Contact) string { return c.Role }),
			"name":                     strf(func(c *dataset.Contact) string { return c.Name }),
			"avatar":                   strf(func(c *dataset.Contact) string { return c.AvatarURL }),
			"owner_id":                 {kind: kInt, get: c(func(x *dataset.Contact) value { return num(x.OwnerID) })},
			"email":                    strf(func(c *dataset.Contact) string { return c.Email }),
			"email_domain":             strf(func(c *dataset.Contact) string { _, d, _ := strings.Cut(c.Email, "@"); return d }),
			"phone":                    strf(func(c *dataset.Contact) string { return c.Phone }),
			"external_id":              strf(func(c *dataset.Contact) string { return c.ExternalID }),
			"signed_up_at":             datef(func(c *dataset.Contact) int64 { return c.SignedUpAt }),
			"last_seen_at":             datef(func(c *dataset.Contact) int64 { return c.LastSeenAt }),
			"last_contacted_at":        datef(func(c *dataset.Contact) int64 { return c.LastContactedAt }),
			"last_replied_at":          datef(func(c *dataset.Contact) int64 { return c.LastRepliedAt }),
			"last_email_opened_at":     datef(func(c *dataset.Contact) int64 { return c.LastEmailOpenedAt }),
			"last_email_clicked_at":    datef(func(c *dataset.Contact) int64 { return c.LastEmailClickedAt }),
			"language_override":        strf(func(c *dataset.Contact) string { return c.LanguageOverride }),
			"browser":                  strf(func(c *dataset.Contact) string { return c.Browser }),
			"browser_language":         strf(func(c *dataset.Contact) string { return c.BrowserLanguage }),
			"os":                       strf(func(c *dataset.Contact) string { return c.OS }),
			"location.country":         strf(func(c *dataset.Contact) string { return c.Country }),
			"location.region":          strf(func(c *dataset.Contact) string { return c.Region }),
			"location.city":            strf(func(c *dataset.Contact) string { return c.City }),
			"unsubscribed_from_emails": boolf(func(c *dataset.Contact) bool { return c.UnsubscribedFromEmails }),
			"marked_email_as_spam":     boolf(func(c *dataset.Contact) bool { return c.MarkedEmailAsSpam }),
			"has_hard_bounced":         boolf(func(c *dataset.Contact) bool { return c.HasHardBounced }),
			"ios_last_seen_at":         nullDate,
			"android_last_seen_at":     nullDate,
			"ios_app_version":          null, "ios_device": null, "ios_app_device": null, "ios_os_version": null,
			"ios_app_name": null, "ios_sdk_version": null, "android_app_version": null, "android_device": null,
			"android_app_name": null, "andoid_sdk_version": null, "android_sdk_version": null,
			"segment_id": null,
			"tag_id": {kind: kTag, multi: true, get: func(r *rec, buf []value) []value {
				for _, t := range r.contact().Tags {
					if t >= 0 && t < len(r.s.w.tags) {
						buf = append(buf, str(r.s.w.tags[t].ID))
					}
				}
				return buf
			}},
		},
		custom: map[string]kind{},
		customGet: func(r *rec, name string) (any, bool) {
			v, ok := r.contact().CustomAttributes[name]
			return v, ok
		},
	}
	for _, a := range s.ds.ContactAttributes() {
		m.custom[a.Name] = kindOf(a.DataType)
	}
	return m
}

func kindOf(dataType string) kind {
	switch dataType {
	case "integer":
		return kInt
	case "float":
		return kFloat
	case "boolean":
		return kBool
	case "date":
		return kDate
	}
	return kString
}

func (s *Server) conversationModel() *model {
	v := func(f func(c *dataset.Conversation) value) func(*rec, []value) []value {
		return one(func(r *rec) value { return f(r.conversation()) })
	}
	strf := func(f func(c *dataset.Conversation) string) field {
		return field{kind: kString, get: v(func(x *dataset.Conversation) value { return str(f(x)) })}
	}
	ai := func(f func(a *dataset.AIAgent) string) field {
		return strf(func(c *dataset.Conversation) string {
			if c.AIAgent == nil {
				return ""
			}
			return f(c.AIAgent)
		})
	}
	m := &model{
		name:      "conversations",
		operators: conversationOps,
		fields: map[string]field{
			"id":         {kind: kString, get: one(func(r *rec) value { return str(r.s.ds.ConversationID(r.slot)) })},
			"created_at": {kind: kDate, get: one(func(r *rec) value { return date(r.s.w.vCreated[r.slot]) })},
			"updated_at": {kind: kDate, get: one(func(r *rec) value { return date(r.s.w.vUpdated[r.slot]) })},
			"contact_ids": {kind: kString, multi: true, get: func(r *rec, buf []value) []value {
				return append(buf, str(r.s.ds.ContactID(int(r.s.w.vContact[r.slot]))))
			}},
			"state":               strf(func(c *dataset.Conversation) string { return c.State }),
			"open":                {kind: kBool, get: v(func(c *dataset.Conversation) value { return boolean(c.Open()) })},
			"read":                {kind: kBool, get: v(func(c *dataset.Conversation) value { return boolean(c.Read) })},
			"priority":            strf(func(c *dataset.Conversation) string { return c.Priority }),
			"admin_assignee_id":   {kind: kInt, get: v(func(c *dataset.Conversation) value { return num(c.AdminID) })},
			"team_assignee_id":    {kind: kInt, get: v(func(c *dataset.Conversation) value { return num(c.TeamID) })},
			"waiting_since":       {kind: kDate, get: v(func(c *dataset.Conversation) value { return date(c.WaitingSince) })},
			"snoozed_until":       {kind: kDate, get: v(func(c *dataset.Conversation) value { return date(c.SnoozedUntil) })},
			"source.type":         strf(func(c *dataset.Conversation) string { return c.Source.Type }),
			"source.id":           strf(func(c *dataset.Conversation) string { return c.Source.ID }),
			"source.delivered_as": strf(func(c *dataset.Conversation) string { return c.Source.DeliveredAs }),
			"source.subject":      strf(func(c *dataset.Conversation) string { return c.Source.Subject }),
			"tag_ids": {kind: kString, multi: true, get: func(r *rec, buf []value) []value {
				for _, t := range r.conversation().Tags {
					if t >= 0 && t < len(r.s.w.tags) {
						buf = append(buf, str(r.s.w.tags[t].ID))
					}
				}
				return buf
			}},
			"teammate_ids": {kind: kString, multi: true, get: func(r *rec, buf []value) []value {
				if id := r.conversation().AdminID; id != 0 {
					buf = append(buf, str(strconv.FormatInt(id, 10)))
				}
				return buf
			}},
			"ai_agent_participated":     {kind: kBool, get: v(func(c *dataset.Conversation) value { return boolean(c.AIAgentParticipated) })},
			"ai_agent.resolution_state": ai(func(a *dataset.AIAgent) string { return a.ResolutionState }),
			"ai_agent.last_answer_type": ai(func(a *dataset.AIAgent) string { return a.LastAnswerType }),
			"ai_agent.source_type":      ai(func(a *dataset.AIAgent) string { return a.SourceType }),
			"ai_agent.source_title":     ai(func(a *dataset.AIAgent) string { return a.SourceTitle }),
			"ai_agent.rating_remark":    ai(func(a *dataset.AIAgent) string { return a.RatingRemark }),
			"ai_agent.rating": {kind: kInt, get: v(func(c *dataset.Conversation) value {
				if c.AIAgent == nil {
					return value{null: true}
				}
				return num(int64(c.AIAgent.Rating))
			})},
			"conversation_rating.score": {kind: kInt, get: v(func(c *dataset.Conversation) value {
				if c.Rating == nil {
					return value{null: true}
				}
				return num(int64(c.Rating.Rating))
			})},
			"conversation_rating.remark": strf(func(c *dataset.Conversation) string {
				if c.Rating == nil {
					return ""
				}
				return c.Rating.Remark
			}),
		},
		custom: map[string]kind{},
		customGet: func(r *rec, name string) (any, bool) {
			v, ok := r.conversation().CustomAttributes[name]
			return v, ok
		},
	}
	for _, a := range s.ds.ConversationAttributes() {
		m.custom[a.Name] = kindOf(a.DataType)
	}
	return m
}

// queryError is a 400 the search answers with.
type queryError struct{ code, msg string }

func (e *queryError) Error() string { return e.msg }

func badQuery(format string, args ...any) error {
	return &queryError{code: "parameter_invalid", msg: fmt.Sprintf(format, args...)}
}

// cond is a compiled condition.
type cond struct {
	group string // AND | OR for a group
	kids  []*cond

	field field
	name  string
	op    string
	vals  []value
	// Day-granular date bounds (Unix seconds): [lo, hi) is the day of the
	// value.
	lo, hi int64
}

type rawQuery struct {
	Field    *string         `json:"field"`
	Operator string          `json:"operator"`
	Value    json.RawMessage `json:"value"`
}

// compile parses and checks a query. The limits are the documented ones:
// at most 2 levels of nested groups, at most 15 filters per group.
func (m *model) compile(raw json.RawMessage, tz *time.Location, depth int) (*cond, error) {
	var q rawQuery
	if err := json.Unmarshal(raw, &q); err != nil {
		return nil, badQuery("query must be an object: %v", err)
	}
	if q.Operator == "AND" || q.Operator == "OR" {
		if depth >= 2 {
			return nil, badQuery("a query can nest at most 2 levels of AND/OR groups")
		}
		var kids []json.RawMessage
		if err := json.Unmarshal(q.Value, &kids); err != nil || len(kids) == 0 {
			return nil, badQuery("the value of an %s group must be a non-empty array of filters", q.Operator)
		}
		if len(kids) > 15 {
			return nil, badQuery("an %s group can hold at most 15 filters, got %d", q.Operator, len(kids))
		}
		c := &cond{group: q.Operator}
		for _, k := range kids {
			kc, err := m.compile(k, tz, depth+1)
			if err != nil {
				return nil, err
			}
			c.kids = append(c.kids, kc)
		}
		return c, nil
	}
	if q.Field == nil || *q.Field == "" {
		return nil, badQuery("a filter needs field, operator and value")
	}
	name := *q.Field
	f, ok := m.fields[name]
	if !ok {
		if ca, isCA := strings.CutPrefix(name, "custom_attributes."); isCA {
			k, known := m.custom[ca]
			if !known {
				return nil, &queryError{code: "invalid_field", msg: fmt.Sprintf("%s is not a data attribute of %s", name, m.name)}
			}
			f = m.customField(ca, k)
		} else {
			return nil, &queryError{code: "invalid_field", msg: fmt.Sprintf("%s is not a searchable field of %s", name, m.name)}
		}
	}
	if !slices.Contains(m.operators[f.kind], q.Operator) {
		return nil, badQuery("operator %q is not supported on %s field %s", q.Operator, f.kind, name)
	}
	c := &cond{field: f, name: name, op: q.Operator}
	if q.Operator == "IN" || q.Operator == "NIN" {
		var items []json.RawMessage
		if err := json.Unmarshal(q.Value, &items); err != nil || len(items) == 0 {
			return nil, badQuery("%s on %s needs a non-empty array value", q.Operator, name)
		}
		for _, it := range items {
			v, err := parseValue(it, f.kind, name)
			if err != nil {
				return nil, err
			}
			c.vals = append(c.vals, v)
		}
		return c, nil
	}
	v, err := parseValue(q.Value, f.kind, name)
	if err != nil {
		return nil, err
	}
	if v.null && q.Operator != "=" && q.Operator != "!=" {
		return nil, badQuery("operator %q on %s needs a value", q.Operator, name)
	}
	c.vals = []value{v}
	if f.kind == kDate && m.dayGranular && !v.null {
		day := time.Unix(v.n, 0).In(tz)
		start := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, tz)
		c.lo, c.hi = start.Unix(), start.AddDate(0, 0, 1).Unix()
	}
	return c, nil
}

func (m *model) customField(name string, k kind) field {
	return field{kind: k, get: one(func(r *rec) value {
		v, ok := m.customGet(r, name)
		if !ok || v == nil {
			return value{null: true}
		}
		switch x := v.(type) {
		case string:
			return str(x)
		case bool:
			return boolean(x)
		case int:
			return value{n: int64(x), f: float64(x)}
		case int64:
			return value{n: x, f: float64(x)}
		case float64:
			return value{n: int64(x), f: x}
		case json.Number:
			f, _ := x.Float64()
			return value{n: int64(f), f: f}
		}
		return str(fmt.Sprint(v))
	})}
}

// parseValue checks a filter value against the field's type. Numbers may
// come as numeric strings (the documentation's own example does so).
func parseValue(raw json.RawMessage, k kind, name string) (value, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return value{null: true}, nil
	}
	var x any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&x); err != nil {
		return value{}, badQuery("invalid value for %s", name)
	}
	switch k {
	case kString, kTag:
		switch v := x.(type) {
		case string:
			return value{s: v}, nil
		case json.Number:
			return value{s: v.String()}, nil
		}
	case kInt, kDate, kFloat:
		var s string
		switch v := x.(type) {
		case json.Number:
			s = v.String()
		case string:
			s = v
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsInf(f, 0) {
			if k != kFloat && f != math.Trunc(f) {
				break
			}
			return value{n: int64(f), f: f}, nil
		}
	case kBool:
		switch v := x.(type) {
		case bool:
			return value{b: v}, nil
		case string:
			if b, err := strconv.ParseBool(v); err == nil {
				return value{b: b}, nil
			}
		}
	}
	return value{}, badQuery("%s accepts a %s value, got %s", name, k, string(raw))
}

// eval reports whether r matches.
func (c *cond) eval(r *rec, m *model, buf []value) bool {
	switch c.group {
	case "AND":
		for _, k := range c.kids {
			if !k.eval(r, m, buf) {
				return false
			}
		}
		return true
	case "OR":
		for _, k := range c.kids {
			if k.eval(r, m, buf) {
				return true
			}
		}
		return false
	}
	vals := c.field.get(r, buf[:0])
	if c.field.multi {
		// A multi-valued field matches = when any value does, != when
		// none does.
		switch c.op {
		case "!=", "NIN", "!~":
			pos := map[string]string{"!=": "=", "NIN": "IN", "!~": "~"}[c.op]
			for _, v := range vals {
				if c.match(v, pos, m) {
					return false
				}
			}
			return true
		}
		for _, v := range vals {
			if c.match(v, c.op, m) {
				return true
			}
		}
		return false
	}
	if len(vals) == 0 {
		return c.match(value{null: true}, c.op, m)
	}
	return c.match(vals[0], c.op, m)
}

func (c *cond) match(x value, op string, m *model) bool {
	want := c.vals[0]
	k := c.field.kind
	switch op {
	case "=":
		if want.null || x.null {
			return want.null == x.null
		}
		if k == kDate && m.dayGranular {
			return x.n >= c.lo && x.n < c.hi
		}
		return equal(x, want, k)
	case "!=":
		return !c.match(x, "=", m)
	case "IN", "NIN":
		in := false
		for _, v := range c.vals {
			if !x.null && !v.null && equal(x, v, k) || x.null && v.null {
				in = true
				break
			}
		}
		return in == (op == "IN")
	case ">", "<", ">=", "<=":
		if x.null {
			return false
		}
		if k == kDate && m.dayGranular {
			if op == ">" {
				return x.n >= c.hi // from the start of the next day
			}
			return x.n < c.lo // before the start of the day
		}
		a, b := x.f, want.f
		if k == kDate || k == kInt {
			a, b = float64(x.n), float64(want.n)
		}
		switch op {
		case ">":
			if !m.dayGranular {
				return a >= b
			}
			return a > b
		case "<":
			if !m.dayGranular {
				return a <= b
			}
			return a < b
		case ">=":
			return a >= b
		default:
			return a <= b
		}
	case "~", "!~", "^", "$":
		if x.null {
			return op == "!~"
		}
		h, n := strings.ToLower(x.s), strings.ToLower(want.s)
		switch op {
		case "~":
			return strings.Contains(h, n)
		case "!~":
			return !strings.Contains(h, n)
		case "^":
			return strings.HasPrefix(h, n)
		default:
			return strings.HasSuffix(h, n)
		}
	}
	return false
}

func equal(a, b value, k kind) bool {
	switch k {
	case kString, kTag:
		return strings.EqualFold(a.s, b.s)
	case kInt, kDate:
		return a.n == b.n
	case kFloat:
		return a.f == b.f
	case kBool:
		return a.b == b.b
	}
	return false
}

// sortKey orders search results; slot breaks ties.
type sortKey struct {
	null bool
	n    float64
	s    string
}

func (a sortKey) cmp(b sortKey) int {
	switch {
	case a.null != b.null:
		if a.null {
			return -1
		}
		return 1
	case a.s != b.s:
		return strings.Compare(a.s, b.s)
	case a.n < b.n:
		return -1
	case a.n > b.n:
		return 1
	}
	return 0
}

type sortSpec struct {
	Field string `json:"field"`
	Order string `json:"order"`
}

type result struct {
	version uint64
	slots   []int32
	keys    []sortKey // nil when ordered by slot
	desc    bool
	at      time.Time
}

type searchCache struct {
	mu      sync.Mutex
	entries map[string]*result
}

func (sc *searchCache) get(key string, version uint64) *result {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if r, ok := sc.entries[key]; ok && r.version == version {
		return r
	}
	return nil
}

func (sc *searchCache) put(key string, r *result) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.entries == nil {
		sc.entries = map[string]*result{}
	}
	// A handful of live queries at a time is what a sync runs; evict the
	// oldest beyond that.
	if len(sc.entries) >= 8 {
		var oldest string
		for k, e := range sc.entries {
			if oldest == "" || e.at.Before(sc.entries[oldest].at) {
				oldest = k
			}
		}
		delete(sc.entries, oldest)
	}
	sc.entries[key] = r
}

// run evaluates a compiled query over the n slots whose state is live
// and returns the ordered matches. Callers hold s.mu (read).
func (s *Server) run(m *model, c *cond, sort_ *sortSpec, states []uint8, key string) (*result, error) {
	ck := m.name + "|" + key
	if sort_ != nil {
		ck += "|" + sort_.Field + "|" + sort_.Order
	}
	if r := s.cache.get(ck, s.version); r != nil {
		return r, nil
	}
	var sf field
	desc := false
	if sort_ != nil && sort_.Field != "" {
		var ok bool
		sf, ok = m.fields[sort_.Field]
		if !ok || sf.multi {
			return nil, badQuery("cannot sort by %s", sort_.Field)
		}
		switch sort_.Order {
		case "", "ascending", "asc":
		case "descending", "desc":
			desc = true
		default:
			return nil, badQuery("sort order must be ascending or descending")
		}
	}
	res := &result{version: s.version, desc: desc, at: time.Now()}
	buf := make([]value, 0, 16)
	for slot, st := range states {
		if st != live {
			continue
		}
		r := rec{s: s, slot: slot}
		if !c.eval(&r, m, buf) {
			continue
		}
		res.slots = append(res.slots, int32(slot))
		if sf.get != nil {
			v := sf.get(&r, buf[:0])
			k := sortKey{null: len(v) == 0 || v[0].null}
			if !k.null {
				k.n, k.s = float64(v[0].n), v[0].s
				if sf.kind == kFloat {
					k.n = v[0].f
				}
			}
			res.keys = append(res.keys, k)
		}
	}
	if res.keys != nil {
		idx := make([]int, len(res.slots))
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(a, b int) bool {
			c := res.keys[idx[a]].cmp(res.keys[idx[b]])
			if c == 0 {
				c = int(res.slots[idx[a]] - res.slots[idx[b]])
			}
			if desc {
				return c > 0
			}
			return c < 0
		})
		slots, keys := make([]int32, len(idx)), make([]sortKey, len(idx))
		for i, j := range idx {
			slots[i], keys[i] = res.slots[j], res.keys[j]
		}
		res.slots, res.keys = slots, keys
	}
	s.cache.put(ck, res)
	return res, nil
}

// cursor is the keyset position after the last record of a page.
type cursor struct {
	Slot int     `json:"s"`
	Null bool    `json:"z,omitempty"`
	N    float64 `json:"n,omitempty"`
	S    string  `json:"t,omitempty"`
}

func encodeCursor(c cursor) string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (cursor, error) {
	var c cursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil {
		return c, badQuery("starting_after is not a cursor this API issued")
	}
	return c, nil
}

// page cuts the page after cur (nil: the first page) from res.
func (res *result) page(cur *cursor, perPage int) (slots []int32, next string, pageNo int) {
	start := 0
	if cur != nil {
		ck := sortKey{null: cur.Null, n: cur.N, s: cur.S}
		start = sort.Search(len(res.slots), func(i int) bool {
			c := 0
			if res.keys != nil {
				c = res.keys[i].cmp(ck)
			}
			if c == 0 {
				c = int(res.slots[i]) - cur.Slot
			}
			if res.desc {
				return c < 0
			}
			return c > 0
		})
	}
	end := min(start+perPage, len(res.slots))
	slots = res.slots[start:end]
	if end < len(res.slots) && end > start {
		last := end - 1
		c := cursor{Slot: int(res.slots[last])}
		if res.keys != nil {
			k := res.keys[last]
			c.Null, c.N, c.S = k.null, k.n, k.s
		}
		next = encodeCursor(c)
	}
	return slots, next, start/perPage + 1
}

type searchBody struct {
	Query      json.RawMessage `json:"query"`
	Pagination *struct {
		PerPage       json.Number `json:"per_page"`
		StartingAfter *string     `json:"starting_after"`
	} `json:"pagination"`
	Sort *sortSpec `json:"sort"`
}
