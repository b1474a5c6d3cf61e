package fakebrevo

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Identifier attributes: stored as contact fields, not attribute values.
const (
	attrEmail = "EMAIL"
	attrSMS   = "SMS"
	attrExtID = "EXT_ID"
)

// timeLayout is how Brevo writes contact timestamps.
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// contactJSON is getContactDetails (+ statistics for a single contact).
type contactJSON struct {
	Email            string         `json:"email,omitempty"`
	ID               int64          `json:"id"`
	EmailBlacklisted bool           `json:"emailBlacklisted"`
	SMSBlacklisted   bool           `json:"smsBlacklisted"`
	CreatedAt        string         `json:"createdAt"`
	ModifiedAt       string         `json:"modifiedAt"`
	ListIDs          []int64        `json:"listIds"`
	Attributes       map[string]any `json:"attributes"`
	Statistics       *struct{}      `json:"statistics,omitempty"`
}

// render shows a contact the way the API does. The ext_id appears as the
// EXT_ID attribute: the spec's contact has no ext_id field and documents
// identifierType=ext_id as "the EXT_ID attribute" (UNVERIFIED).
func (c *contact) render(stats bool) contactJSON {
	attrs := make(map[string]any, len(c.attrs)+2)
	for _, a := range c.attrs {
		attrs[a.name] = a.v
	}
	if c.ext != "" {
		attrs[attrExtID] = c.ext
	}
	if c.sms != "" {
		attrs[attrSMS] = c.sms
	}
	lists := c.lists
	if lists == nil {
		lists = []int64{}
	}
	out := contactJSON{Email: c.email, ID: c.id, EmailBlacklisted: c.emailBL, SMSBlacklisted: c.smsBL,
		CreatedAt: formatTime(c.created), ModifiedAt: formatTime(c.updated), ListIDs: lists, Attributes: attrs}
	if stats {
		out.Statistics = &struct{}{}
	}
	return out
}

func normEmail(e string) string { return strings.ToLower(strings.TrimSpace(e)) }

func validEmail(e string) bool {
	local, domain, ok := strings.Cut(e, "@")
	return ok && local != "" && strings.Contains(domain, ".") && !strings.ContainsAny(domain, "@ ") &&
		!strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".")
}

// coerce checks a value against an attribute's declared type; false means
// Brevo would ignore it. Stored values are normalised (dates to
// YYYY-MM-DD, category values to their label).
func coerce(a *Attribute, v any) (any, bool) {
	switch a.Category {
	case "calculated", "global":
		return nil, false
	case "category":
		for _, e := range a.Enumeration {
			switch t := v.(type) {
			case json.Number:
				if n, err := t.Int64(); err == nil && n == e.Value {
					return e.Label, true
				}
			case float64:
				if int64(t) == e.Value && float64(int64(t)) == t {
					return e.Label, true
				}
			case string:
				if t == e.Label {
					return e.Label, true
				}
			}
		}
		return nil, false
	}
	switch a.Type {
	case "text", "user", "":
		s, ok := v.(string)
		return s, ok
	case "float":
		switch t := v.(type) {
		case json.Number:
			if _, err := t.Float64(); err == nil {
				return t, true
			}
		case float64, int, int64:
			return t, true
		}
		return nil, false
	case "boolean":
		b, ok := v.(bool)
		return b, ok
	case "date":
		s, ok := v.(string)
		if !ok {
			return nil, false
		}
		for _, l := range []string{time.DateOnly, time.RFC3339Nano} {
			if t, err := time.Parse(l, s); err == nil {
				return t.Format(time.DateOnly), true
			}
		}
		return nil, false
	case "id":
		switch t := v.(type) {
		case string, json.Number, float64:
			return t, true
		}
		return nil, false
	case "multiple-choice":
		raw, ok := v.([]any)
		if !ok {
			return nil, false
		}
		out := make([]string, 0, len(raw))
		for _, x := range raw {
			s, ok := x.(string)
			if !ok || (len(a.Options) > 0 && !slices.Contains(a.Options, s)) {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	return nil, false
}

// applyAttrs stores attribute values on c, dropping unknown attributes and
// mismatched types silently. Identifier attributes (EMAIL, SMS, EXT_ID)
// must have been taken out by the caller. empty says what an empty string
// or null does: erase the value, or nothing. It reports whether anything
// changed.
func (s *Server) applyAttrs(c *contact, attrs map[string]any, erase bool) bool {
	changed := false
	names := make([]string, 0, len(attrs))
	for n := range attrs {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, name := range names {
		v := attrs[name]
		if name == attrEmail || name == attrSMS || name == attrExtID {
			continue
		}
		a, ok := s.state.attrs[name]
		if !ok {
			// "These attributes must be present in your Brevo account":
			// the spec does not say a create fails, and imports document
			// that unknown attributes are ignored; the fake ignores them
			// everywhere.
			s.drop(c.id, name, v, "unknown attribute")
			continue
		}
		if v == nil || v == "" {
			if erase {
				if _, had := c.get(name); had {
					c.unset(name)
					changed = true
				}
			}
			continue
		}
		val, ok := coerce(a, v)
		if !ok {
			reason := "type mismatch"
			if a.Category == "calculated" || a.Category == "global" {
				reason = "read-only"
			}
			s.drop(c.id, name, v, reason)
			continue
		}
		c.set(a.Name, val)
		changed = true
	}
	return changed
}

// newContact creates and indexes a contact (under the lock).
func (s *Server) newContact(email, ext, sms string) *contact {
	st := s.state
	now := s.cfg.now()
	c := &contact{id: st.nextContact, email: email, ext: ext, sms: sms, created: now, updated: now}
	st.nextContact++
	st.contacts[c.id] = c
	st.order = append(st.order, c.id)
	if email != "" {
		st.byEmail[email] = c.id
	}
	if ext != "" {
		st.byExt[ext] = c.id
	}
	if sms != "" {
		st.bySMS[sms] = c.id
	}
	return c
}

func (s *Server) setEmail(c *contact, email string) {
	if c.email == email {
		return
	}
	if c.email != "" {
		delete(s.state.byEmail, c.email)
	}
	c.email = email
	if email != "" {
		s.state.byEmail[email] = c.id
	}
}

func (s *Server) setExt(c *contact, ext string) {
	if c.ext == ext {
		return
	}
	if c.ext != "" {
		delete(s.state.byExt, c.ext)
	}
	c.ext = ext
	if ext != "" {
		s.state.byExt[ext] = c.id
	}
}

func (s *Server) setSMS(c *contact, sms string) {
	if c.sms == sms {
		return
	}
	if c.sms != "" {
		delete(s.state.bySMS, c.sms)
	}
	c.sms = sms
	if sms != "" {
		s.state.bySMS[sms] = c.id
	}
}

// addToList adds c to a list (under the lock); false if already a member.
func (s *Server) addToList(c *contact, l *list) bool {
	if !c.addList(l.id) {
		return false
	}
	l.members[c.id] = struct{}{}
	return true
}

func (s *Server) removeFromList(c *contact, l *list) bool {
	if !c.removeList(l.id) {
		return false
	}
	delete(l.members, c.id)
	return true
}

// resolve finds a contact from a path identifier and identifierType.
// Without a type, GET guesses email, phone and contact id; PUT and DELETE
// only email and contact id (as the spec describes).
func (s *Server) resolve(value, idType string, allowPhone bool) (*contact, bool) {
	st := s.state
	var id int64
	switch idType {
	case "email_id":
		id = st.byEmail[normEmail(value)]
	case "ext_id":
		id = st.byExt[value]
	case "phone_id":
		id = st.bySMS[value]
	case "contact_id":
		id, _ = strconv.ParseInt(value, 10, 64)
	case "whatsapp_id", "landline_number_id":
		return nil, false
	case "":
		switch {
		case strings.Contains(value, "@"):
			id = st.byEmail[normEmail(value)]
		case allowPhone && strings.HasPrefix(value, "+"):
			id = st.bySMS[value]
		default:
			n, err := strconv.ParseInt(value, 10, 64)
			if err != nil {
				return nil, false
			}
			id = n
			if _, ok := st.contacts[id]; !ok && allowPhone {
				id = st.bySMS[value]
			}
		}
	}
	c, ok := st.contacts[id]
	return c, ok
}

var identifierTypes = []string{"", "email_id", "contact_id", "ext_id", "phone_id", "whatsapp_id", "landline_number_id"}

// pathContact resolves /contacts/{identifier}; it answers 400/404 itself.
func (s *Server) pathContact(w http.ResponseWriter, r *http.Request, allowPhone, contactModel bool) (*contact, bool) {
	idType := r.URL.Query().Get("identifierType")
	if !slices.Contains(identifierTypes, idType) {
		writeError(w, http.StatusBadRequest, "invalid_parameter", "identifierType is invalid")
		return nil, false
	}
	c, ok := s.resolve(r.PathValue("identifier"), idType, allowPhone)
	if !ok {
		if contactModel {
			writeJSON(w, http.StatusNotFound, errorModel{Code: "document_not_found", Message: "Contact does not exist"})
		} else {
			writeError(w, http.StatusNotFound, "document_not_found", "Contact does not exist")
		}
		return nil, false
	}
	return c, true
}

type createContactBody struct {
	Email               string         `json:"email"`
	ExtID               string         `json:"ext_id"`
	Attributes          map[string]any `json:"attributes"`
	EmailBlacklisted    *bool          `json:"emailBlacklisted"`
	SMSBlacklisted      *bool          `json:"smsBlacklisted"`
	ListIDs             []int64        `json:"listIds"`
	UpdateEnabled       bool           `json:"updateEnabled"`
	SMTPBlacklistSender []string       `json:"smtpBlacklistSender"`
}

// identifiers pulls email, ext_id and SMS out of a body.
func identifiers(email, ext string, attrs map[string]any) (string, string, string) {
	email = normEmail(email)
	if ext == "" {
		ext, _ = attrs[attrExtID].(string)
	}
	sms, _ := attrs[attrSMS].(string)
	return email, ext, strings.ReplaceAll(sms, " ", "")
}

func (s *Server) lookupLists(ids []int64) ([]*list, bool) {
	out := make([]*list, 0, len(ids))
	for _, id := range ids {
		l, ok := s.state.lists[id]
		if !ok {
			return nil, false
		}
		out = append(out, l)
	}
	return out, true
}

func (s *Server) createContact(w http.ResponseWriter, r *http.Request) {
	var b createContactBody
	if !decode(w, r, 1<<20, &b) {
		return
	}
	email, ext, sms := identifiers(b.Email, b.ExtID, b.Attributes)
	if email == "" && ext == "" && sms == "" {
		writeError(w, http.StatusBadRequest, "missing_parameter", "email, ext_id or SMS is required")
		return
	}
	if email != "" && !validEmail(email) {
		writeError(w, http.StatusBadRequest, "invalid_parameter", "Invalid email address")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.state
	lists, ok := s.lookupLists(b.ListIDs)
	if !ok {
		writeError(w, http.StatusBadRequest, "invalid_parameter", "Invalid listIds: list not found")
		return
	}
	// Which existing contacts do the identifiers name?
	matches := map[string]int64{}
	if id, ok := st.byEmail[email]; ok && email != "" {
		matches["email"] = id
	}
	if id, ok := st.byExt[ext]; ok && ext != "" {
		matches["ext_id"] = id
	}
	if id, ok := st.bySMS[sms]; ok && sms != "" {
		matches["SMS"] = id
	}
	var target *contact
	if len(matches) > 0 {
		if !b.UpdateEnabled {
			writeDuplicate(w, sortedKeys(matches), "Unable to create contact, "+strings.Join(sortedKeys(matches), ", ")+" is already associated with another Contact")
			return
		}
		// The primary identifier decides which contact is updated; other
		// identifiers naming a different contact are a conflict.
		primary := int64(0)
		for _, k := range []string{"email", "ext_id", "SMS"} {
			if id, ok := matches[k]; ok {
				primary = id
				break
			}
		}
		var conflict []string
		for _, k := range sortedKeys(matches) {
			if matches[k] != primary {
				conflict = append(conflict, k)
			}
		}
		if len(conflict) > 0 {
			writeDuplicate(w, conflict, strings.Join(conflict, ", ")+" is already associated with another Contact")
			return
		}
		target = st.contacts[primary]
	}
	created := target == nil
	if created {
		target = s.newContact(email, ext, sms)
	} else {
		if email != "" {
			s.setEmail(target, email)
		}
		if ext != "" {
			s.setExt(target, ext)
		}
		if sms != "" {
			s.setSMS(target, sms)
		}
	}
	s.applyAttrs(target, b.Attributes, !created)
	if b.EmailBlacklisted != nil {
		target.emailBL = *b.EmailBlacklisted
	}
	if b.SMSBlacklisted != nil {
		target.smsBL = *b.SMSBlacklisted
	}
	for _, l := range lists {
		s.addToList(target, l)
	}
	target.updated = s.cfg.now()
	s.log(Write{Kind: WriteContact, Route: "POST /contacts", ContactIDs: []int64{target.id}})
	if created {
		writeJSON(w, http.StatusCreated, map[string]int64{"id": target.id})
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func (s *Server) getContact(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.pathContact(w, r, true, false)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, c.render(true))
}

type updateContactBody struct {
	Attributes          map[string]any `json:"attributes"`
	ExtID               string         `json:"ext_id"`
	EmailBlacklisted    *bool          `json:"emailBlacklisted"`
	SMSBlacklisted      *bool          `json:"smsBlacklisted"`
	ListIDs             []int64        `json:"listIds"`
	UnlinkListIDs       []int64        `json:"unlinkListIds"`
	SMTPBlacklistSender []string       `json:"smtpBlacklistSender"`
}

// update applies an update body to c (under the lock); it returns the
// duplicate identifiers that refused it, or an error message.
func (s *Server) update(c *contact, email string, b *updateContactBody) (dups []string, msg string) {
	st := s.state
	ext := b.ExtID
	if ext == "" {
		ext, _ = b.Attributes[attrExtID].(string)
	}
	sms, _ := b.Attributes[attrSMS].(string)
	sms = strings.ReplaceAll(sms, " ", "")
	if email == "" {
		e, _ := b.Attributes[attrEmail].(string)
		email = normEmail(e)
	}
	if email != "" && !validEmail(email) {
		return nil, "Invalid email address"
	}
	if id, ok := st.byEmail[email]; ok && email != "" && id != c.id {
		dups = append(dups, "email")
	}
	if id, ok := st.byExt[ext]; ok && ext != "" && id != c.id {
		dups = append(dups, "ext_id")
	}
	if id, ok := st.bySMS[sms]; ok && sms != "" && id != c.id {
		dups = append(dups, "SMS")
	}
	if len(dups) > 0 {
		return dups, ""
	}
	add, ok := s.lookupLists(b.ListIDs)
	if !ok {
		return nil, "Invalid listIds: list not found"
	}
	remove, ok := s.lookupLists(b.UnlinkListIDs)
	if !ok {
		return nil, "Invalid unlinkListIds: list not found"
	}
	if email != "" {
		s.setEmail(c, email)
	}
	if ext != "" {
		s.setExt(c, ext)
	}
	if sms != "" {
		s.setSMS(c, sms)
	}
	s.applyAttrs(c, b.Attributes, true)
	if b.EmailBlacklisted != nil {
		c.emailBL = *b.EmailBlacklisted
	}
	if b.SMSBlacklisted != nil {
		c.smsBL = *b.SMSBlacklisted
	}
	for _, l := range add {
		s.addToList(c, l)
	}
	for _, l := range remove {
		s.removeFromList(c, l)
	}
	c.updated = s.cfg.now()
	return nil, ""
}

func (s *Server) updateContact(w http.ResponseWriter, r *http.Request) {
	var b updateContactBody
	if !decode(w, r, 1<<20, &b) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.pathContact(w, r, false, true)
	if !ok {
		return
	}
	dups, msg := s.update(c, "", &b)
	switch {
	case len(dups) > 0:
		writeDuplicate(w, dups, strings.Join(dups, ", ")+" is already associated with another Contact")
		return
	case msg != "":
		writeError(w, http.StatusBadRequest, "invalid_parameter", msg)
		return
	}
	s.log(Write{Kind: WriteContact, Route: "PUT /contacts/{identifier}", ContactIDs: []int64{c.id}})
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) deleteContact(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.pathContact(w, r, false, false)
	if !ok {
		return
	}
	s.removeContact(c)
	s.log(Write{Kind: WriteDelete, Route: "DELETE /contacts/{identifier}", ContactIDs: []int64{c.id}})
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) removeContact(c *contact) {
	st := s.state
	s.setEmail(c, "")
	s.setExt(c, "")
	s.setSMS(c, "")
	for _, id := range c.lists {
		delete(st.lists[id].members, c.id)
	}
	for _, co := range st.companies {
		if i, ok := slices.BinarySearch(co.contacts, c.id); ok {
			co.contacts = slices.Delete(co.contacts, i, i+1)
		}
	}
	delete(st.contacts, c.id)
	if i, ok := slices.BinarySearch(st.order, c.id); ok {
		st.order = slices.Delete(st.order, i, i+1)
	}
}

type batchItem struct {
	Email string      `json:"email"`
	ID    json.Number `json:"id"`
	SMS   string      `json:"sms"`
	updateContactBody
}

func (s *Server) batchContacts(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Contacts []batchItem `json:"contacts"`
	}
	if !decode(w, r, 8<<20, &b) {
		return
	}
	if len(b.Contacts) == 0 {
		writeError(w, http.StatusBadRequest, "missing_parameter", "contacts is required")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// All or nothing (UNVERIFIED: the spec only says 204 "All contacts
	// updated"): resolve every item first.
	targets := make([]*contact, len(b.Contacts))
	for i, it := range b.Contacts {
		n := 0
		var c *contact
		var ok bool
		if it.Email != "" {
			n++
			c, ok = s.resolve(it.Email, "email_id", false)
		}
		if it.ID != "" {
			n++
			c, ok = s.resolve(it.ID.String(), "contact_id", false)
		}
		if it.SMS != "" {
			n++
			c, ok = s.resolve(it.SMS, "phone_id", false)
		}
		if n != 1 {
			writeError(w, http.StatusBadRequest, "invalid_parameter", fmt.Sprintf("contacts[%d]: pass exactly one of email, id or sms", i))
			return
		}
		if !ok {
			writeError(w, http.StatusBadRequest, "document_not_found", fmt.Sprintf("contacts[%d]: contact does not exist", i))
			return
		}
		targets[i] = c
	}
	ids := make([]int64, 0, len(targets))
	for i, c := range targets {
		item := b.Contacts[i].updateContactBody
		if dups, msg := s.update(c, "", &item); len(dups) > 0 || msg != "" {
			if msg == "" {
				msg = strings.Join(dups, ", ") + " is already associated with another Contact"
			}
			// Items before i stay applied: a partial batch is what a
			// real server would most likely leave, too (UNVERIFIED).
			s.log(Write{Kind: WriteContact, Route: "POST /contacts/batch", ContactIDs: ids})
			writeError(w, http.StatusBadRequest, "invalid_parameter", fmt.Sprintf("contacts[%d]: %s", i, msg))
			return
		}
		ids = append(ids, c.id)
	}
	s.log(Write{Kind: WriteContact, Route: "POST /contacts/batch", ContactIDs: ids})
	w.WriteHeader(http.StatusNoContent)
}

var filterRE = regexp.MustCompile(`^equals\(\s*([A-Za-z0-9_]+)\s*,\s*"?(.*?)"?\s*\)$`)

func parseQueryTime(v string) (time.Time, bool) {
	for _, l := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000Z0700", time.DateOnly} {
		if t, err := time.Parse(l, v); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// pageParams reads limit/offset/sort with an endpoint's maximum.
func pageParams(w http.ResponseWriter, r *http.Request, def, maxLimit int) (limit, offset int, desc bool, ok bool) {
	q := r.URL.Query()
	limit, offset = def, 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > maxLimit {
			writeError(w, http.StatusBadRequest, "out_of_range", fmt.Sprintf("limit must be between 0 and %d", maxLimit))
			return 0, 0, false, false
		}
		limit = n
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, "invalid_parameter", "offset is invalid")
			return 0, 0, false, false
		}
		offset = n
	}
	switch q.Get("sort") {
	case "", "desc":
		desc = true
	case "asc":
	default:
		writeError(w, http.StatusBadRequest, "invalid_parameter", "sort must be asc or desc")
		return 0, 0, false, false
	}
	return limit, offset, desc, true
}

// window returns the page of ids (ascending creation order) for offset and
// limit, reading from the end when desc.
func window(ids []int64, limit, offset int, desc bool) []int64 {
	n := len(ids)
	if offset >= n || limit == 0 {
		return nil
	}
	end := min(offset+limit, n)
	if !desc {
		return ids[offset:end]
	}
	out := make([]int64, 0, end-offset)
	for i := n - 1 - offset; i >= n-end; i-- {
		out = append(out, ids[i])
	}
	return out
}

func (s *Server) listContacts(w http.ResponseWriter, r *http.Request) {
	limit, offset, desc, ok := pageParams(w, r, 50, 1000)
	if !ok {
		return
	}
	q := r.URL.Query()
	var modSince, creSince time.Time
	if v := q.Get("modifiedSince"); v != "" {
		if modSince, ok = parseQueryTime(v); !ok {
			writeError(w, http.StatusBadRequest, "invalid_parameter", "modifiedSince is not a valid date-time")
			return
		}
	}
	if v := q.Get("createdSince"); v != "" {
		if creSince, ok = parseQueryTime(v); !ok {
			writeError(w, http.StatusBadRequest, "invalid_parameter", "createdSince is not a valid date-time")
			return
		}
	}
	var listIDs []int64
	for _, v := range q["listIds"] {
		for _, p := range strings.Split(v, ",") {
			id, err := strconv.ParseInt(strings.TrimSpace(p), 10, 64)
			if err != nil {
				writeError(w, http.StatusBadRequest, "invalid_parameter", "listIds is invalid")
				return
			}
			listIDs = append(listIDs, id)
		}
	}
	var fName, fValue string
	if f := q.Get("filter"); f != "" {
		m := filterRE.FindStringSubmatch(f)
		if m == nil {
			writeError(w, http.StatusBadRequest, "invalid_parameter", "filter: only equals(ATTRIBUTE,\"value\") is supported")
			return
		}
		fName, fValue = strings.ToUpper(m[1]), m[2]
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.state
	key := fmt.Sprint(modSince.UnixNano(), creSince.UnixNano(), listIDs, fName, fValue)
	if st.queryKey != key || st.queryVersion != st.version || st.queryIDs == nil {
		ids := make([]int64, 0, len(st.order))
		for _, id := range st.order {
			c := st.contacts[id]
			if !modSince.IsZero() && !c.updated.After(modSince) {
				continue
			}
			if !creSince.IsZero() && !c.created.After(creSince) {
				continue
			}
			if len(listIDs) > 0 && !slices.ContainsFunc(listIDs, c.inList) {
				continue
			}
			if fName != "" && !matchFilter(c, fName, fValue) {
				continue
			}
			ids = append(ids, id)
		}
		st.queryKey, st.queryVersion, st.queryIDs = key, st.version, ids
	}
	page := window(st.queryIDs, limit, offset, desc)
	out := struct {
		Contacts []contactJSON `json:"contacts"`
		Count    int           `json:"count"`
	}{make([]contactJSON, 0, len(page)), len(st.queryIDs)}
	for _, id := range page {
		out.Contacts = append(out.Contacts, st.contacts[id].render(false))
	}
	writeJSON(w, http.StatusOK, out)
}

func matchFilter(c *contact, name, value string) bool {
	switch name {
	case attrEmail:
		return c.email == normEmail(value)
	case attrExtID:
		return c.ext == value
	case attrSMS:
		return c.sms == value
	}
	v, ok := c.get(name)
	if !ok {
		return false
	}
	return fmt.Sprint(v) == value
}
