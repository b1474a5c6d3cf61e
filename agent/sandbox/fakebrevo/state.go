package fakebrevo

import (
	"encoding/json"
	"errors"
	"slices"
	"sort"
	"strings"
	"time"
)

func errorsAs(err error, target any) bool { return errors.As(err, target) }

// Attribute is a contact attribute definition.
type Attribute struct {
	Name     string `json:"name"`
	Category string `json:"category"`
	// Type: text, date, float, boolean, id, category, multiple-choice,
	// user; empty for calculated and global.
	Type            string      `json:"type,omitempty"`
	Enumeration     []EnumValue `json:"enumeration,omitempty"`
	CalculatedValue string      `json:"calculatedValue,omitempty"`
	// Options of a multiple-choice attribute.
	Options []string `json:"multiCategoryOptions,omitempty"`
}

// EnumValue is one value of a category attribute.
type EnumValue struct {
	Value int64  `json:"value"`
	Label string `json:"label"`
}

// CompanyAttribute is a company attribute definition.
type CompanyAttribute struct {
	InternalName string
	Label        string
	// Type: text, number, date, boolean, user, single-select, multi-choice.
	Type     string
	Required bool
	// ID is the object id POST /crm/attributes answered with; empty for
	// seeded attributes.
	ID string
	// Options are the choices of a single-select or multi-choice
	// attribute (optionsLabels).
	Options     []string
	Description string
}

// Folder is a folder of lists.
type Folder struct {
	ID   int64
	Name string
}

// List is a contact list.
type List struct {
	ID       int64
	Name     string
	FolderID int64
}

// Contact is a contact as tests see it.
type Contact struct {
	ID               int64
	Email            string
	ExtID            string
	SMS              string
	Attributes       map[string]any
	EmailBlacklisted bool
	SMSBlacklisted   bool
	ListIDs          []int64
	CreatedAt        time.Time
	ModifiedAt       time.Time
}

// Company is a company as tests see it.
type Company struct {
	ID                string
	Name              string
	Attributes        map[string]any
	LinkedContactsIDs []int64
	LinkedDealsIDs    []string
	CreatedAt         time.Time
}

// Event is a received custom event.
type Event struct {
	Seq               int
	ReceivedAt        time.Time
	Name              string
	Date              string
	Identifiers       map[string]any
	ContactID         int64
	ContactProperties map[string]any
	EventProperties   map[string]any
	// Batch is true for events that came through POST /events/batch.
	Batch bool
}

// Key is the event's content (name, date, identifiers, properties) in
// canonical JSON: two events with the same key are the same event twice.
func (e Event) Key() string {
	b, _ := json.Marshal([]any{e.Name, e.Date, e.Identifiers, e.ContactProperties, e.EventProperties})
	return string(b)
}

// Webhook is a registered webhook.
type Webhook struct {
	ID          int64
	URL         string
	Description string
	Events      []string
	Type        string
	Channel     string
	Batched     bool
	AuthType    string
	AuthToken   string
	Headers     map[string]string
	CreatedAt   time.Time
}

// Process is a background process.
type Process struct {
	ID     int64
	Name   string
	Status string
	// Rows submitted, contacts created and updated, rows skipped.
	Rows, Created, Updated, Invalid, Duplicates int
	NotifyURL                                   string
	// NotifyStatus is the HTTP status notifyUrl answered, 0 if not called
	// or unreachable (NotifyErr).
	NotifyStatus int
	NotifyErr    string
	CreatedAt    time.Time
	CompletedAt  time.Time
}

// Write kinds.
const (
	WriteContact   = "contact"   // contact data (attributes, identifiers, blacklist) created or changed
	WriteDelete    = "delete"    // contact deleted
	WriteList      = "list"      // list membership changed (ContactIDs, ListID)
	WriteEvent     = "event"     // events recorded (Events)
	WriteCompany   = "company"   // company created, changed, linked or deleted
	WriteWebhook   = "webhook"   // webhook registered or deleted
	WriteAttribute = "attribute" // attribute, list or folder created
)

// Write is one applied mutation: an API call, or an import process when
// it is applied.
type Write struct {
	Seq  int
	At   time.Time
	Kind string
	// Route names the call ("PUT /contacts/{identifier}"); process
	// applications read "process 7 (POST /contacts/import)".
	Route string
	// ContactIDs are the contacts the write touched.
	ContactIDs []int64
	// ListID is the list of a membership change.
	ListID int64
	// CompanyIDs are the companies the write touched.
	CompanyIDs []string
	// Events are the Seq of the events it recorded.
	Events []int
}

// DroppedValue is an attribute value the fake ignored, as Brevo does
// silently.
type DroppedValue struct {
	ContactID int64
	Name      string
	Value     any
	// Reason: "unknown attribute", "type mismatch", "read-only".
	Reason string
}

// maxDropped caps the dropped-value record (the count goes on).
const maxDropped = 10000

// attrVal is one attribute value of a contact.
type attrVal struct {
	name string
	v    any
}

type contact struct {
	id               int64
	email, ext, sms  string
	attrs            []attrVal // sorted by name
	emailBL, smsBL   bool
	lists            []int64 // sorted
	created, updated time.Time
}

func (c *contact) get(name string) (any, bool) {
	i, ok := slices.BinarySearchFunc(c.attrs, name, func(a attrVal, n string) int { return strings.Compare(a.name, n) })
	if !ok {
		return nil, false
	}
	return c.attrs[i].v, true
}

func (c *contact) set(name string, v any) {
	i, ok := slices.BinarySearchFunc(c.attrs, name, func(a attrVal, n string) int { return strings.Compare(a.name, n) })
	if ok {
		c.attrs[i].v = v
		return
	}
	c.attrs = slices.Insert(c.attrs, i, attrVal{name, v})
}

func (c *contact) unset(name string) {
	i, ok := slices.BinarySearchFunc(c.attrs, name, func(a attrVal, n string) int { return strings.Compare(a.name, n) })
	if ok {
		c.attrs = slices.Delete(c.attrs, i, i+1)
	}
}

func (c *contact) inList(id int64) bool {
	_, ok := slices.BinarySearch(c.lists, id)
	return ok
}

func (c *contact) addList(id int64) bool {
	i, ok := slices.BinarySearch(c.lists, id)
	if ok {
		return false
	}
	c.lists = slices.Insert(c.lists, i, id)
	return true
}

func (c *contact) removeList(id int64) bool {
	i, ok := slices.BinarySearch(c.lists, id)
	if !ok {
		return false
	}
	c.lists = slices.Delete(c.lists, i, i+1)
	return true
}

func (c *contact) public() Contact {
	attrs := make(map[string]any, len(c.attrs))
	for _, a := range c.attrs {
		attrs[a.name] = a.v
	}
	return Contact{ID: c.id, Email: c.email, ExtID: c.ext, SMS: c.sms, Attributes: attrs,
		EmailBlacklisted: c.emailBL, SMSBlacklisted: c.smsBL, ListIDs: slices.Clone(c.lists),
		CreatedAt: c.created, ModifiedAt: c.updated}
}

type list struct {
	id, folder int64
	name       string
	created    time.Time
	members    map[int64]struct{}
}

type company struct {
	id       string
	attrs    map[string]any
	contacts []int64 // sorted
	deals    []string
	created  time.Time
}

type process struct {
	Process
	apply func(p *Process) // runs under the lock when the process completes
	ready time.Time
	route string
}

// state is everything the fake stores; Server.mu guards it.
type state struct {
	contacts                map[int64]*contact
	order                   []int64 // contact ids in creation order
	byEmail, byExt, bySMS   map[string]int64
	nextContact             int64
	attrs                   map[string]*Attribute
	attrOrder               []string
	lists                   map[int64]*list
	nextList                int64
	folders                 map[int64]*Folder
	nextFolder              int64
	companies               map[string]*company
	companyOrder            []string
	nextCompany             int64
	companyAttrs            map[string]CompanyAttribute
	companyAttrOrder        []string
	nextCompanyAttr         int64
	events                  []Event
	webhooks                map[int64]*Webhook
	nextWebhook             int64
	processes               map[int64]*process
	queue                   []*process
	nextProcess             int64
	writes                  []Write
	dropped                 []DroppedValue
	droppedCount            int
	version                 uint64
	queryKey                string
	queryVersion            uint64
	queryIDs                []int64
	notifications, inFlight int
}

func newState(cfg *config) *state {
	st := &state{
		contacts: map[int64]*contact{}, byEmail: map[string]int64{}, byExt: map[string]int64{}, bySMS: map[string]int64{},
		attrs: map[string]*Attribute{}, lists: map[int64]*list{}, folders: map[int64]*Folder{},
		companies: map[string]*company{}, companyAttrs: map[string]CompanyAttribute{},
		webhooks: map[int64]*Webhook{}, processes: map[int64]*process{},
		nextContact: 1, nextList: 1, nextFolder: 1, nextCompany: 1, nextCompanyAttr: 1, nextWebhook: 1, nextProcess: 1,
	}
	for _, a := range cfg.attributes {
		a := a
		st.attrs[a.Name] = &a
		st.attrOrder = append(st.attrOrder, a.Name)
	}
	for _, a := range cfg.companyAttrs {
		st.companyAttrs[a.InternalName] = a
		st.companyAttrOrder = append(st.companyAttrOrder, a.InternalName)
	}
	now := cfg.now()
	for _, f := range cfg.folders {
		f := f
		st.folders[f.ID] = &f
		st.nextFolder = max(st.nextFolder, f.ID+1)
	}
	for _, l := range cfg.lists {
		if l.FolderID == 0 {
			l.FolderID = 1
		}
		if _, ok := st.folders[l.FolderID]; !ok {
			st.folders[l.FolderID] = &Folder{ID: l.FolderID, Name: "Folder " + itoa(l.FolderID)}
			st.nextFolder = max(st.nextFolder, l.FolderID+1)
		}
		st.lists[l.ID] = &list{id: l.ID, folder: l.FolderID, name: l.Name, created: now, members: map[int64]struct{}{}}
		st.nextList = max(st.nextList, l.ID+1)
	}
	return st
}

// log appends a write (under the lock).
func (s *Server) log(w Write) {
	st := s.state
	w.Seq = len(st.writes) + 1
	if w.At.IsZero() {
		w.At = s.cfg.now()
	}
	st.writes = append(st.writes, w)
	st.version++
}

func (s *Server) drop(id int64, name string, v any, reason string) {
	st := s.state
	st.droppedCount++
	if len(st.dropped) < maxDropped {
		st.dropped = append(st.dropped, DroppedValue{ContactID: id, Name: name, Value: v, Reason: reason})
	}
}

// ---- read API for tests ----

// ContactByExtID returns the contact with an ext_id.
func (s *Server) ContactByExtID(ext string) (Contact, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.publicContact(s.state.byExt[ext])
}

// ContactByEmail returns the contact with an email (case-insensitive).
func (s *Server) ContactByEmail(email string) (Contact, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.publicContact(s.state.byEmail[strings.ToLower(email)])
}

// ContactByID returns the contact with a Brevo id.
func (s *Server) ContactByID(id int64) (Contact, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.publicContact(id)
}

func (s *Server) publicContact(id int64) (Contact, bool) {
	c, ok := s.state.contacts[id]
	if !ok {
		return Contact{}, false
	}
	return c.public(), true
}

// Contacts returns every contact in creation order.
func (s *Server) Contacts() []Contact {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Contact, 0, len(s.state.order))
	for _, id := range s.state.order {
		out = append(out, s.state.contacts[id].public())
	}
	return out
}

// ContactCount returns the number of contacts.
func (s *Server) ContactCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.state.contacts)
}

// ListMembers returns the contact ids of a list, ascending; false when the
// list does not exist.
func (s *Server) ListMembers(listID int64) ([]int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.state.lists[listID]
	if !ok {
		return nil, false
	}
	out := make([]int64, 0, len(l.members))
	for id := range l.members {
		out = append(out, id)
	}
	slices.Sort(out)
	return out, true
}

// Lists returns every list, by id.
func (s *Server) Lists() []List {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []List
	for _, l := range s.state.lists {
		out = append(out, List{ID: l.id, Name: l.name, FolderID: l.folder})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// AddList creates a list with a fixed id (test setup; not in the write
// log).
func (s *Server) AddList(l List) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.state
	if l.FolderID == 0 {
		l.FolderID = 1
	}
	if _, ok := st.folders[l.FolderID]; !ok {
		st.folders[l.FolderID] = &Folder{ID: l.FolderID, Name: "Folder " + itoa(l.FolderID)}
		st.nextFolder = max(st.nextFolder, l.FolderID+1)
	}
	if old, ok := st.lists[l.ID]; ok {
		old.name, old.folder = l.Name, l.FolderID
		return
	}
	st.lists[l.ID] = &list{id: l.ID, folder: l.FolderID, name: l.Name, created: s.cfg.now(), members: map[int64]struct{}{}}
	st.nextList = max(st.nextList, l.ID+1)
	st.version++
}

// AddAttribute defines a contact attribute (test setup; not logged).
func (s *Server) AddAttribute(a Attribute) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.state.attrs[a.Name]; !ok {
		s.state.attrOrder = append(s.state.attrOrder, a.Name)
	}
	s.state.attrs[a.Name] = &a
}

// Attributes returns the contact attribute definitions.
func (s *Server) Attributes() []Attribute {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Attribute, 0, len(s.state.attrOrder))
	for _, n := range s.state.attrOrder {
		out = append(out, *s.state.attrs[n])
	}
	return out
}

// Companies returns every company in creation order.
func (s *Server) Companies() []Company {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Company, 0, len(s.state.companyOrder))
	for _, id := range s.state.companyOrder {
		out = append(out, s.state.companies[id].public())
	}
	return out
}

// CompanyByID returns one company.
func (s *Server) CompanyByID(id string) (Company, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.state.companies[id]
	if !ok {
		return Company{}, false
	}
	return c.public(), true
}

// CompanyByName returns the first company with a name.
func (s *Server) CompanyByName(name string) (Company, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range s.state.companyOrder {
		c := s.state.companies[id]
		if c.attrs["name"] == name {
			return c.public(), true
		}
	}
	return Company{}, false
}

// CompanyAttributes returns the company attribute definitions, seeded
// ones first, then in creation order.
func (s *Server) CompanyAttributes() []CompanyAttribute {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]CompanyAttribute, 0, len(s.state.companyAttrOrder))
	for _, n := range s.state.companyAttrOrder {
		a := s.state.companyAttrs[n]
		a.Options = slices.Clone(a.Options)
		out = append(out, a)
	}
	return out
}

func (c *company) public() Company {
	name, _ := c.attrs["name"].(string)
	return Company{ID: c.id, Name: name, Attributes: cloneMap(c.attrs), LinkedContactsIDs: slices.Clone(c.contacts),
		LinkedDealsIDs: slices.Clone(c.deals), CreatedAt: c.created}
}

// Events returns the events received, in order.
func (s *Server) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.state.events)
}

// DuplicateEvents returns the keys of events received more than once and
// how often.
func (s *Server) DuplicateEvents() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := map[string]int{}
	for _, e := range s.state.events {
		n[e.Key()]++
	}
	for k, v := range n {
		if v < 2 {
			delete(n, k)
		}
	}
	return n
}

// Webhooks returns the registered webhooks, by id.
func (s *Server) Webhooks() []Webhook {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Webhook
	for _, w := range s.state.webhooks {
		out = append(out, *w)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Processes returns every process, by id.
func (s *Server) Processes() []Process {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Process
	for _, p := range s.state.processes {
		out = append(out, p.Process)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// ProcessByID returns one process.
func (s *Server) ProcessByID(id int64) (Process, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.state.processes[id]
	if !ok {
		return Process{}, false
	}
	return p.Process, true
}

// Writes returns the write log.
func (s *Server) Writes() []Write {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.state.writes)
}

// ContactWrites counts, per contact id, the writes of contact data
// (WriteContact): a sync that writes every contact once shows 1 for each.
func (s *Server) ContactWrites() map[int64]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := map[int64]int{}
	for _, w := range s.state.writes {
		if w.Kind != WriteContact {
			continue
		}
		for _, id := range w.ContactIDs {
			n[id]++
		}
	}
	return n
}

// DroppedValues returns the attribute values the fake ignored (the first
// 10,000) and how many there were in all.
func (s *Server) DroppedValues() ([]DroppedValue, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.state.dropped), s.state.droppedCount
}

// Reset forgets the write log, events, and dropped values (not the
// contacts): a test's baseline after its setup.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state.writes = nil
	s.state.events = nil
	s.state.dropped = nil
	s.state.droppedCount = 0
}

func cloneMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
