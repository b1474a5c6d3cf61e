package fakeintercom

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/tajo/terraform-provider-tajo/agent/sandbox/dataset"
)

// Record states.
const (
	live uint8 = iota
	archived
	deleted
	merged
)

// workspace is the mutable state over the generated dataset. Records are
// addressed by slot (the dataset index; created records get new slots).
// Unchanged records are generated on demand; a changed one is kept whole
// in an override map. The per-slot arrays are what search and listing
// need for every record, so that a request touches only the records it
// returns.
type workspace struct {
	ds *dataset.Dataset

	// Contacts.
	cState   []uint8
	cCreated []int64
	cUpdated []int64
	cOver    map[int]*dataset.Contact
	cLive    int
	// Lookup of overridden contacts by external id and email (base
	// contacts are found by parsing their generated values).
	extIdx   map[string]int
	emailIdx map[string]int

	// company → contacts: base memberships as CSR, and the slots whose
	// memberships changed (they override the base).
	memberOff []int32
	memberIdx []int32
	dirtyMem  map[int]bool

	// Companies.
	coState []uint8
	coOver  map[int]*dataset.Company

	// Conversations.
	vState   []uint8
	vContact []int32
	vCreated []int64
	vUpdated []int64
	vOver    map[int]*dataset.Conversation

	// Events added through the API, by contact slot.
	events map[int][]dataset.Event

	tags []dataset.Tag
}

func (w *workspace) init(ds *dataset.Dataset) {
	w.ds = ds
	n := ds.NumContacts()
	w.cState = make([]uint8, n)
	w.cCreated = make([]int64, n)
	w.cUpdated = make([]int64, n)
	w.cOver = map[int]*dataset.Contact{}
	w.extIdx = map[string]int{}
	w.emailIdx = map[string]int{}
	w.cLive = n
	nc := ds.NumCompanies()
	counts := make([]int32, nc+1)
	comps := make([][]int, n)
	for i := range n {
		w.cCreated[i], w.cUpdated[i] = ds.ContactTimes(i)
		_, cs := ds.Memberships(i)
		comps[i] = cs
		for _, j := range cs {
			counts[j+1]++
		}
	}
	for j := 1; j <= nc; j++ {
		counts[j] += counts[j-1]
	}
	w.memberOff = counts
	w.memberIdx = make([]int32, counts[nc])
	fill := slices.Clone(counts[:nc])
	for i, cs := range comps {
		for _, j := range cs {
			w.memberIdx[fill[j]] = int32(i)
			fill[j]++
		}
	}
	w.dirtyMem = map[int]bool{}
	w.coState = make([]uint8, nc)
	w.coOver = map[int]*dataset.Company{}

	nv := ds.NumConversations()
	w.vState = make([]uint8, nv)
	w.vContact = make([]int32, nv)
	w.vCreated = make([]int64, nv)
	w.vUpdated = make([]int64, nv)
	w.vOver = map[int]*dataset.Conversation{}
	for k := range nv {
		c, cr, up := ds.ConversationBasics(k)
		w.vContact[k], w.vCreated[k], w.vUpdated[k] = int32(c), cr, up
	}
	w.events = map[int][]dataset.Event{}
	w.tags = slices.Clone(ds.Tags())
}

func (w *workspace) contact(slot int) dataset.Contact {
	if c, ok := w.cOver[slot]; ok {
		return *c
	}
	return w.ds.Contact(slot)
}

func (w *workspace) company(slot int) dataset.Company {
	if c, ok := w.coOver[slot]; ok {
		return *c
	}
	return w.ds.Company(slot)
}

func (w *workspace) conversation(slot int) dataset.Conversation {
	if c, ok := w.vOver[slot]; ok {
		return *c
	}
	return w.ds.Conversation(slot)
}

// contactSlot resolves an id to a slot in any state.
func (w *workspace) contactSlot(id string) (int, bool) {
	i, ok := w.ds.ContactIndex(id)
	return i, ok && i < len(w.cState)
}

func (w *workspace) companySlot(id string) (int, bool) {
	j, ok := w.ds.CompanyIndex(id)
	return j, ok && j < len(w.coState)
}

func (w *workspace) conversationSlot(id string) (int, bool) {
	k, ok := w.ds.ConversationIndex(id)
	return k, ok && k < len(w.vState)
}

// findContactBy finds a live or archived contact by external id or email.
func (w *workspace) findContactBy(externalID, email string) (int, bool) {
	if externalID != "" {
		if i, ok := w.extIdx[externalID]; ok && w.cState[i] <= archived && w.contact(i).ExternalID == externalID {
			return i, true
		}
		if n, ok := strings.CutPrefix(externalID, "user-"); ok {
			if i, err := strconv.Atoi(n); err == nil && i < w.ds.NumContacts() && w.cState[i] <= archived {
				if c := w.contact(i); c.ExternalID == externalID {
					return i, true
				}
			}
		}
		return 0, false
	}
	if email == "" {
		return 0, false
	}
	email = strings.ToLower(email)
	if i, ok := w.emailIdx[email]; ok && w.cState[i] <= archived && strings.EqualFold(w.contact(i).Email, email) {
		return i, true
	}
	// Generated emails end in ".<index>@domain".
	at := strings.LastIndexByte(email, '@')
	dot := strings.LastIndexByte(email[:max(at, 0)], '.')
	if at > 0 && dot >= 0 {
		if i, err := strconv.Atoi(email[dot+1 : at]); err == nil && i < w.ds.NumContacts() && w.cState[i] <= archived {
			if c := w.contact(i); strings.EqualFold(c.Email, email) {
				return i, true
			}
		}
	}
	return 0, false
}

// companyMembers lists the live contacts attached to company j.
func (w *workspace) companyMembers(j int) []int {
	var out []int
	if j < len(w.memberOff)-1 {
		for _, i := range w.memberIdx[w.memberOff[j]:w.memberOff[j+1]] {
			if !w.dirtyMem[int(i)] && w.cState[i] == live {
				out = append(out, int(i))
			}
		}
	}
	for i := range w.dirtyMem {
		if w.cState[i] == live && slices.Contains(w.contact(i).Companies, j) {
			out = append(out, i)
		}
	}
	slices.Sort(out)
	return out
}

func (w *workspace) tagIndex(id string) (int, bool) {
	for i, t := range w.tags {
		if t.ID == id {
			return i, true
		}
	}
	return 0, false
}

// Errors of the mutation API.
var (
	ErrNoContact      = errors.New("fakeintercom: no such contact")
	ErrNoCompany      = errors.New("fakeintercom: no such company")
	ErrNoConversation = errors.New("fakeintercom: no such conversation")
)

// mutate bumps the version the search cache is keyed on; callers hold
// s.mu.
func (s *Server) mutated() { s.version++ }

func (s *Server) nowUnix() int64 { return s.Now().Unix() }

// putContact stores c as the override of its slot and indexes it.
func (s *Server) putContact(c *dataset.Contact) {
	w := &s.w
	w.cOver[c.Index] = c
	w.cUpdated[c.Index] = c.UpdatedAt
	w.cCreated[c.Index] = c.CreatedAt
	if c.ExternalID != "" {
		w.extIdx[c.ExternalID] = c.Index
	}
	if c.Email != "" {
		w.emailIdx[strings.ToLower(c.Email)] = c.Index
	}
	s.mutated()
}

// UpdateContact applies fn to a live or archived contact and bumps its
// updated_at to the server clock (unless fn set a later one).
func (s *Server) UpdateContact(id string, fn func(*dataset.Contact)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.updateContactLocked(id, fn)
}

func (s *Server) updateContactLocked(id string, fn func(*dataset.Contact)) error {
	w := &s.w
	i, ok := w.contactSlot(id)
	if !ok || w.cState[i] > archived {
		return fmt.Errorf("%w: %s", ErrNoContact, id)
	}
	c := w.contact(i)
	before := slices.Clone(c.Companies)
	c.CustomAttributes = cloneMap(c.CustomAttributes)
	c.Tags, c.Companies = slices.Clone(c.Tags), slices.Clone(c.Companies)
	prev := c.UpdatedAt
	fn(&c)
	c.Index, c.ID = i, w.ds.ContactID(i)
	if c.UpdatedAt == prev {
		c.UpdatedAt = max(prev, s.nowUnix())
	}
	if !slices.Equal(before, c.Companies) {
		w.dirtyMem[i] = true
	}
	s.putContact(&c)
	return nil
}

// CreateContact adds a contact and returns its id. Index and ID are
// assigned; zero created_at/updated_at take the server clock.
func (s *Server) CreateContact(c dataset.Contact) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := &s.w
	now := s.nowUnix()
	c.Index = len(w.cState)
	c.ID = w.ds.ContactID(c.Index)
	if c.Role == "" {
		c.Role = dataset.RoleUser
	}
	if c.CreatedAt == 0 {
		c.CreatedAt = now
	}
	if c.UpdatedAt == 0 {
		c.UpdatedAt = max(now, c.CreatedAt)
	}
	if c.CustomAttributes == nil {
		c.CustomAttributes = map[string]any{}
	}
	w.cState = append(w.cState, live)
	w.cCreated = append(w.cCreated, c.CreatedAt)
	w.cUpdated = append(w.cUpdated, c.UpdatedAt)
	w.cLive++
	w.dirtyMem[c.Index] = true
	s.putContact(&c)
	return c.ID
}

func (s *Server) setContactState(id string, from []uint8, to uint8) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := &s.w
	i, ok := w.contactSlot(id)
	if !ok || !slices.Contains(from, w.cState[i]) {
		return fmt.Errorf("%w: %s", ErrNoContact, id)
	}
	if w.cState[i] == live {
		w.cLive--
	}
	if to == live {
		w.cLive++
	}
	w.cState[i] = to
	if to != deleted {
		c := w.contact(i)
		c.UpdatedAt = max(c.UpdatedAt, s.nowUnix())
		c.CustomAttributes = cloneMap(c.CustomAttributes)
		s.putContact(&c)
	}
	s.mutated()
	return nil
}

// ArchiveContact archives a live contact: it leaves list and search but
// GET by id still finds it. Like every mutation but DeleteContact, it moves
// updated_at to the server clock.
func (s *Server) ArchiveContact(id string) error {
	return s.setContactState(id, []uint8{live}, archived)
}

// UnarchiveContact brings an archived contact back.
func (s *Server) UnarchiveContact(id string) error {
	return s.setContactState(id, []uint8{archived}, live)
}

// DeleteContact deletes a contact: every endpoint answers 404 for it.
func (s *Server) DeleteContact(id string) error {
	return s.setContactState(id, []uint8{live, archived}, deleted)
}

// MergeContacts merges lead fromID into user intoID, as POST
// /contacts/merge does: the lead disappears (404, excluded from list and
// search), the user gains its tags, companies and missing fields and its
// updated_at moves to now.
func (s *Server) MergeContacts(fromID, intoID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := &s.w
	fi, ok := w.contactSlot(fromID)
	if !ok || w.cState[fi] != live {
		return fmt.Errorf("%w: %s", ErrNoContact, fromID)
	}
	from := w.contact(fi)
	if from.Role != dataset.RoleLead {
		return errors.New("fakeintercom: merge: from must be a lead")
	}
	ii, ok := w.contactSlot(intoID)
	if !ok || w.cState[ii] != live {
		return fmt.Errorf("%w: %s", ErrNoContact, intoID)
	}
	if w.contact(ii).Role != dataset.RoleUser {
		return errors.New("fakeintercom: merge: into must be a user")
	}
	err := s.updateContactLocked(intoID, func(c *dataset.Contact) {
		for _, t := range from.Tags {
			if !slices.Contains(c.Tags, t) {
				c.Tags = append(c.Tags, t)
			}
		}
		for _, j := range from.Companies {
			if !slices.Contains(c.Companies, j) {
				c.Companies = append(c.Companies, j)
			}
		}
		if c.Phone == "" {
			c.Phone, c.FormattedPhone = from.Phone, from.FormattedPhone
		}
		if c.Name == "" {
			c.Name = from.Name
		}
		for k, v := range from.CustomAttributes {
			if _, ok := c.CustomAttributes[k]; !ok {
				c.CustomAttributes[k] = v
			}
		}
	})
	if err != nil {
		return err
	}
	w.cState[fi] = merged
	w.cLive--
	return nil
}

// TagContact tags a contact, creating the tag when no tag has that name.
func (s *Server) TagContact(id, tagName string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tagByNameLocked(tagName, true)
	return s.updateContactLocked(id, func(c *dataset.Contact) {
		if !slices.Contains(c.Tags, t) {
			c.Tags = append(c.Tags, t)
		}
	})
}

// UntagContact removes a tag (by name, case-insensitive) from a contact.
func (s *Server) UntagContact(id, tagName string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tagByNameLocked(tagName, false)
	return s.updateContactLocked(id, func(c *dataset.Contact) {
		c.Tags = slices.DeleteFunc(c.Tags, func(x int) bool { return x == t })
	})
}

func (s *Server) tagByNameLocked(name string, create bool) int {
	for i, t := range s.w.tags {
		if strings.EqualFold(t.Name, name) {
			return i
		}
	}
	if !create {
		return -1
	}
	s.w.tags = append(s.w.tags, dataset.Tag{ID: strconv.Itoa(101 + len(s.w.tags)), Name: name})
	return len(s.w.tags) - 1
}

// AttachCompany attaches a contact to a company.
func (s *Server) AttachCompany(contactID, companyID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.w.companySlot(companyID)
	if !ok || s.w.coState[j] != live {
		return fmt.Errorf("%w: %s", ErrNoCompany, companyID)
	}
	return s.updateContactLocked(contactID, func(c *dataset.Contact) {
		if !slices.Contains(c.Companies, j) {
			c.Companies = append(c.Companies, j)
		}
	})
}

// DetachCompany detaches a contact from a company.
func (s *Server) DetachCompany(contactID, companyID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.w.companySlot(companyID)
	if !ok {
		return fmt.Errorf("%w: %s", ErrNoCompany, companyID)
	}
	return s.updateContactLocked(contactID, func(c *dataset.Contact) {
		c.Companies = slices.DeleteFunc(c.Companies, func(x int) bool { return x == j })
	})
}

// UpdateCompany applies fn to a company and bumps its updated_at.
func (s *Server) UpdateCompany(id string, fn func(*dataset.Company)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := &s.w
	j, ok := w.companySlot(id)
	if !ok || w.coState[j] != live {
		return fmt.Errorf("%w: %s", ErrNoCompany, id)
	}
	c := w.company(j)
	c.CustomAttributes = cloneMap(c.CustomAttributes)
	c.Tags = slices.Clone(c.Tags)
	prev := c.UpdatedAt
	fn(&c)
	c.Index, c.ID = j, w.ds.CompanyID(j)
	if c.UpdatedAt == prev {
		c.UpdatedAt = max(prev, s.nowUnix())
	}
	w.coOver[j] = &c
	s.mutated()
	return nil
}

// CreateCompany adds a company and returns its id.
func (s *Server) CreateCompany(c dataset.Company) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := &s.w
	now := s.nowUnix()
	c.Index = len(w.coState)
	c.ID = w.ds.CompanyID(c.Index)
	if c.CompanyID == "" {
		c.CompanyID = fmt.Sprintf("comp-%06d", c.Index)
	}
	if c.CreatedAt == 0 {
		c.CreatedAt = now
	}
	if c.UpdatedAt == 0 {
		c.UpdatedAt = now
	}
	if c.CustomAttributes == nil {
		c.CustomAttributes = map[string]string{}
	}
	w.coState = append(w.coState, live)
	w.coOver[c.Index] = &c
	s.mutated()
	return c.ID
}

// DeleteCompany deletes a company and detaches its contacts.
func (s *Server) DeleteCompany(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := &s.w
	j, ok := w.companySlot(id)
	if !ok || w.coState[j] != live {
		return fmt.Errorf("%w: %s", ErrNoCompany, id)
	}
	for _, i := range w.companyMembers(j) {
		_ = s.updateContactLocked(w.ds.ContactID(i), func(c *dataset.Contact) {
			c.Companies = slices.DeleteFunc(c.Companies, func(x int) bool { return x == j })
		})
	}
	w.coState[j] = deleted
	s.mutated()
	return nil
}

// AddConversation adds a conversation and returns its id. Contact is the
// contact's slot; see ContactSlot.
func (s *Server) AddConversation(c dataset.Conversation) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := &s.w
	now := s.nowUnix()
	c.Index = len(w.vState)
	c.ID = w.ds.ConversationID(c.Index)
	if c.CreatedAt == 0 {
		c.CreatedAt = now
	}
	if c.UpdatedAt == 0 {
		c.UpdatedAt = max(now, c.CreatedAt)
	}
	if c.State == "" {
		c.State = dataset.StateOpen
	}
	if c.Priority == "" {
		c.Priority = "not_priority"
	}
	if c.Source.Type == "" {
		c.Source = dataset.Source{Type: "conversation", ID: strconv.Itoa(500000000 + c.Index), DeliveredAs: "customer_initiated", Body: "<p>Hello</p>"}
	}
	if c.CustomAttributes == nil {
		c.CustomAttributes = map[string]any{}
	}
	w.vState = append(w.vState, live)
	w.vContact = append(w.vContact, int32(c.Contact))
	w.vCreated = append(w.vCreated, c.CreatedAt)
	w.vUpdated = append(w.vUpdated, c.UpdatedAt)
	w.vOver[c.Index] = &c
	s.mutated()
	return c.ID
}

// UpdateConversation applies fn to a conversation and bumps updated_at.
func (s *Server) UpdateConversation(id string, fn func(*dataset.Conversation)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := &s.w
	k, ok := w.conversationSlot(id)
	if !ok || w.vState[k] != live {
		return fmt.Errorf("%w: %s", ErrNoConversation, id)
	}
	c := w.conversation(k)
	c.Tags = slices.Clone(c.Tags)
	c.CustomAttributes = cloneMap(c.CustomAttributes)
	if c.Rating != nil {
		r := *c.Rating
		c.Rating = &r
	}
	if c.AIAgent != nil {
		a := *c.AIAgent
		c.AIAgent = &a
	}
	prev := c.UpdatedAt
	fn(&c)
	c.Index, c.ID = k, w.ds.ConversationID(k)
	if c.UpdatedAt == prev {
		c.UpdatedAt = max(prev, s.nowUnix())
	}
	w.vOver[k] = &c
	w.vContact[k] = int32(c.Contact)
	w.vUpdated[k] = c.UpdatedAt
	s.mutated()
	return nil
}

// CloseOpenConversations closes up to n open conversations of contacts
// with an email (their last_close_at the server's now), in id order, and
// returns how many it closed.
func (s *Server) CloseOpenConversations(n int) (int, error) {
	closed := 0
	for _, id := range s.ConversationIDs() {
		if closed == n {
			break
		}
		c, _ := s.Conversation(id)
		ct, _ := s.Contact(s.Dataset().ContactID(c.Contact))
		if c.State != dataset.StateOpen || ct.Email == "" {
			continue
		}
		now := s.Now().Unix()
		if err := s.UpdateConversation(id, func(c *dataset.Conversation) { c.State, c.Statistics.LastCloseAt = dataset.StateClosed, now }); err != nil {
			return closed, err
		}
		closed++
	}
	return closed, nil
}

// AddEvent records a data event for a contact (as POST /events does) and
// moves the contact's updated_at to the server clock.
func (s *Server) AddEvent(contactID string, e dataset.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.w.contactSlot(contactID)
	if !ok || s.w.cState[i] > archived {
		return fmt.Errorf("%w: %s", ErrNoContact, contactID)
	}
	s.addEventLocked(i, e)
	return nil
}

func (s *Server) addEventLocked(i int, e dataset.Event) {
	// Intercom de-duplicates on (contact, name, created_at).
	for _, x := range s.eventsLocked(i) {
		if x.Name == e.Name && x.CreatedAt == e.CreatedAt {
			return
		}
	}
	s.w.events[i] = append(s.w.events[i], e)
	// A tracked event counts as activity: the contact's updated_at moves.
	c := s.w.contact(i)
	c.UpdatedAt = max(c.UpdatedAt, s.nowUnix())
	c.CustomAttributes = cloneMap(c.CustomAttributes)
	s.putContact(&c)
	s.mutated()
}

func (s *Server) eventsLocked(i int) []dataset.Event {
	var out []dataset.Event
	if i < s.ds.NumContacts() {
		out = s.ds.Events(i)
	}
	out = append(out, s.w.events[i]...)
	slices.SortStableFunc(out, func(a, b dataset.Event) int { return int(a.CreatedAt - b.CreatedAt) })
	return out
}

// Contact returns a contact by id with whether it exists (live or
// archived).
func (s *Server) Contact(id string) (dataset.Contact, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	i, ok := s.w.contactSlot(id)
	if !ok || s.w.cState[i] > archived {
		return dataset.Contact{}, false
	}
	// A copy: the caller may change it freely.
	c := s.w.contact(i)
	c.Tags, c.Companies, c.CustomAttributes = slices.Clone(c.Tags), slices.Clone(c.Companies), cloneMap(c.CustomAttributes)
	return c, true
}

// ContactSlot returns the slot (dataset index) of a contact id, e.g. for
// Conversation.Contact.
func (s *Server) ContactSlot(id string) (int, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.w.contactSlot(id)
}

// ContactIDs returns the ids of the contacts list and search can return
// (live: not archived, deleted or merged), in list order.
func (s *Server) ContactIDs() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]string, 0, s.w.cLive)
	for i, st := range s.w.cState {
		if st == live {
			out = append(out, s.ds.ContactID(i))
		}
	}
	return out
}

// Company returns a company by id.
func (s *Server) Company(id string) (dataset.Company, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	j, ok := s.w.companySlot(id)
	if !ok || s.w.coState[j] != live {
		return dataset.Company{}, false
	}
	c := s.w.company(j)
	c.Tags, c.CustomAttributes = slices.Clone(c.Tags), cloneMap(c.CustomAttributes)
	return c, true
}

// CompanyIDs returns the ids of all live companies in scroll order.
func (s *Server) CompanyIDs() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []string
	for j, st := range s.w.coState {
		if st == live {
			out = append(out, s.ds.CompanyID(j))
		}
	}
	return out
}

// Conversation returns a conversation by id.
func (s *Server) Conversation(id string) (dataset.Conversation, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	k, ok := s.w.conversationSlot(id)
	if !ok || s.w.vState[k] != live {
		return dataset.Conversation{}, false
	}
	c := s.w.conversation(k)
	c.Tags, c.CustomAttributes = slices.Clone(c.Tags), cloneMap(c.CustomAttributes)
	if c.Rating != nil {
		r := *c.Rating
		c.Rating = &r
	}
	if c.AIAgent != nil {
		a := *c.AIAgent
		c.AIAgent = &a
	}
	return c, true
}

// ConversationIDs returns the ids of all conversations in list order.
func (s *Server) ConversationIDs() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []string
	for k, st := range s.w.vState {
		if st == live {
			out = append(out, s.ds.ConversationID(k))
		}
	}
	return out
}

// Events returns all data events of a contact, oldest first (including
// those older than the 90 days GET /events lists).
func (s *Server) Events(contactID string) []dataset.Event {
	s.mu.RLock()
	defer s.mu.RUnlock()
	i, ok := s.w.contactSlot(contactID)
	if !ok {
		return nil
	}
	return s.eventsLocked(i)
}

// Tags returns the workspace tags.
func (s *Server) Tags() []dataset.Tag {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Clone(s.w.tags)
}

// Counts are the sizes of the workspace.
type Counts struct {
	Contacts      int // live (listable) contacts
	Companies     int
	Conversations int
}

// Counts returns the sizes of the workspace.
func (s *Server) Counts() Counts {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var c Counts
	c.Contacts = s.w.cLive
	for _, st := range s.w.coState {
		if st == live {
			c.Companies++
		}
	}
	for _, st := range s.w.vState {
		if st == live {
			c.Conversations++
		}
	}
	return c
}

func cloneMap[K comparable, V any](m map[K]V) map[K]V {
	out := make(map[K]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
