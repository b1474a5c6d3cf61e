package fakeintercom

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/tajo/terraform-provider-tajo/agent/sandbox/dataset"
)

// Page sizes. GET /contacts defaults to 10 (Intercom-OpenAPI PR #639
// corrected the 2.11 text, which says 50); searches default to 50
// (contacts) and 20 (conversations); every cursor list stops at 150.
const (
	maxPerPage                 = 150
	defaultContactsPerPage     = 10
	defaultSearchPerPage       = 50
	defaultConversationPerPage = 20
	defaultPagedPerPage        = 15
)

type nextPage struct {
	Page          int    `json:"page,omitempty"`
	PerPage       int    `json:"per_page"`
	StartingAfter string `json:"starting_after"`
}

type cursorPages struct {
	Type       string    `json:"type"`
	Next       *nextPage `json:"next,omitempty"`
	Page       int       `json:"page"`
	PerPage    int       `json:"per_page"`
	TotalPages int       `json:"total_pages"`
}

type contactList struct {
	Type       string        `json:"type"`
	Data       []contactJSON `json:"data"`
	TotalCount int           `json:"total_count"`
	Pages      cursorPages   `json:"pages"`
}

func totalPages(total, perPage int) int { return (total + perPage - 1) / perPage }

// perPage reads a page size: the default when absent, at most 150. (Values
// above 150 are capped; whether Intercom caps or refuses is not documented.)
func perPage(raw string, def int) (int, bool) {
	if raw == "" {
		return def, true
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 {
		return 0, false
	}
	return min(n, maxPerPage), true
}

func (s *Server) listContacts(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	pp, ok := perPage(q.Get("per_page"), defaultContactsPerPage)
	if !ok {
		s.fail(w, r, http.StatusBadRequest, "parameter_invalid", "per_page must be a positive integer")
		return
	}
	start := 0
	if sa := q.Get("starting_after"); sa != "" {
		c, err := decodeCursor(sa)
		if err != nil {
			s.fail(w, r, http.StatusBadRequest, "parameter_invalid", err.Error())
			return
		}
		start = c.Slot + 1
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	ws := &s.w
	out := contactList{Type: "list", Data: make([]contactJSON, 0, pp), TotalCount: ws.cLive}
	last := -1
	i := max(start, 0)
	for ; i < len(ws.cState) && len(out.Data) < pp; i++ {
		if ws.cState[i] != live {
			continue
		}
		c := ws.contact(i)
		out.Data = append(out.Data, s.renderContact(&c))
		last = i
	}
	// Only promise a next page when there is one.
	for ; i < len(ws.cState); i++ {
		if ws.cState[i] == live {
			break
		}
	}
	out.Pages = cursorPages{Type: "pages", Page: start/pp + 1, PerPage: pp, TotalPages: totalPages(ws.cLive, pp)}
	if i < len(ws.cState) && last >= 0 {
		out.Pages.Next = &nextPage{Page: out.Pages.Page + 1, PerPage: pp, StartingAfter: encodeCursor(cursor{Slot: last})}
	}
	writeJSON(w, http.StatusOK, out)
}

// search answers POST /{model}/search.
func (s *Server) search(w http.ResponseWriter, r *http.Request, m *model, states func() []uint8, def int) (slots []int32, total int, pages cursorPages, ok bool) {
	var body searchBody
	if !s.decodeBody(w, r, &body) {
		return nil, 0, pages, false
	}
	if len(body.Query) == 0 || string(body.Query) == "null" {
		s.fail(w, r, http.StatusBadRequest, "parameter_not_found", "query is required")
		return nil, 0, pages, false
	}
	pp := def
	var cur *cursor
	if p := body.Pagination; p != nil {
		if p.PerPage != "" {
			n, good := perPage(p.PerPage.String(), def)
			if !good {
				s.fail(w, r, http.StatusBadRequest, "parameter_invalid", "per_page must be a positive integer")
				return nil, 0, pages, false
			}
			pp = n
		}
		if p.StartingAfter != nil && *p.StartingAfter != "" {
			c, err := decodeCursor(*p.StartingAfter)
			if err != nil {
				s.fail(w, r, http.StatusBadRequest, "parameter_invalid", err.Error())
				return nil, 0, pages, false
			}
			cur = &c
		}
	}
	c, err := m.compile(body.Query, s.opts.Timezone, 0)
	if err == nil {
		var res *result
		res, err = s.run(m, c, body.Sort, states(), canonical(body.Query))
		if err == nil {
			var next string
			var pageNo int
			slots, next, pageNo = res.page(cur, pp)
			pages = cursorPages{Type: "pages", Page: pageNo, PerPage: pp, TotalPages: totalPages(len(res.slots), pp)}
			if next != "" {
				pages.Next = &nextPage{Page: pageNo + 1, PerPage: pp, StartingAfter: next}
			}
			return slots, len(res.slots), pages, true
		}
	}
	var qe *queryError
	if errors.As(err, &qe) {
		s.fail(w, r, http.StatusBadRequest, qe.code, qe.msg)
	} else {
		s.fail(w, r, http.StatusInternalServerError, "server_error", err.Error())
	}
	return nil, 0, pages, false
}

func canonical(raw json.RawMessage) string {
	var x any
	if json.Unmarshal(raw, &x) != nil {
		return string(raw)
	}
	b, _ := json.Marshal(x) // map keys sorted
	return string(b)
}

func (s *Server) searchContacts(w http.ResponseWriter, r *http.Request) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	slots, total, pages, ok := s.search(w, r, s.cm, func() []uint8 { return s.w.cState }, defaultSearchPerPage)
	if !ok {
		return
	}
	out := contactList{Type: "list", Data: make([]contactJSON, 0, len(slots)), TotalCount: total, Pages: pages}
	for _, i := range slots {
		c := s.w.contact(int(i))
		out.Data = append(out.Data, s.renderContact(&c))
	}
	writeJSON(w, http.StatusOK, out)
}

// liveContact resolves the {id} of a contact path; it writes the 404.
func (s *Server) liveContact(w http.ResponseWriter, r *http.Request) (dataset.Contact, bool) {
	id := r.PathValue("id")
	i, ok := s.w.contactSlot(id)
	if !ok || s.w.cState[i] > archived {
		s.fail(w, r, http.StatusNotFound, "not_found", "User Not Found")
		return dataset.Contact{}, false
	}
	return s.w.contact(i), true
}

func (s *Server) getContact(w http.ResponseWriter, r *http.Request) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, ok := s.liveContact(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, s.renderContact(&c))
}

type contactUpdate struct {
	Role                   *string        `json:"role"`
	ExternalID             *string        `json:"external_id"`
	Email                  *string        `json:"email"`
	Phone                  *string        `json:"phone"`
	Name                   *string        `json:"name"`
	Avatar                 *string        `json:"avatar"`
	SignedUpAt             *json.Number   `json:"signed_up_at"`
	LastSeenAt             *json.Number   `json:"last_seen_at"`
	OwnerID                *json.Number   `json:"owner_id"`
	UnsubscribedFromEmails *bool          `json:"unsubscribed_from_emails"`
	CustomAttributes       map[string]any `json:"custom_attributes"`
}

func (s *Server) updateContact(w http.ResponseWriter, r *http.Request) {
	var u contactUpdate
	if !s.decodeBody(w, r, &u) {
		return
	}
	if u.Role != nil && *u.Role != dataset.RoleUser && *u.Role != dataset.RoleLead {
		s.failField(w, r, http.StatusBadRequest, "parameter_invalid", "role must be user or lead", "role")
		return
	}
	for k := range u.CustomAttributes {
		if _, known := s.cm.custom[k]; !known {
			// Intercom refuses attributes that were never created.
			s.failField(w, r, http.StatusBadRequest, "parameter_not_found", "Custom attribute '"+k+"' does not exist", "custom_attributes")
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := r.PathValue("id")
	err := s.updateContactLocked(id, func(c *dataset.Contact) {
		setS := func(dst *string, v *string) {
			if v != nil {
				*dst = *v
			}
		}
		setN := func(dst *int64, v *json.Number) {
			if v != nil {
				n, _ := v.Int64()
				*dst = n
			}
		}
		setS(&c.Role, u.Role)
		setS(&c.ExternalID, u.ExternalID)
		setS(&c.Email, u.Email)
		if u.Phone != nil {
			c.Phone, c.FormattedPhone = *u.Phone, ""
			if strings.HasPrefix(*u.Phone, "+") && !strings.ContainsAny(*u.Phone, " ()-") {
				c.FormattedPhone = *u.Phone
			}
		}
		setS(&c.Name, u.Name)
		setS(&c.AvatarURL, u.Avatar)
		setN(&c.SignedUpAt, u.SignedUpAt)
		setN(&c.LastSeenAt, u.LastSeenAt)
		setN(&c.OwnerID, u.OwnerID)
		if u.UnsubscribedFromEmails != nil {
			c.UnsubscribedFromEmails = *u.UnsubscribedFromEmails
		}
		for k, v := range u.CustomAttributes {
			if n, isNum := v.(json.Number); isNum {
				if i, err := n.Int64(); err == nil {
					v = i
				} else {
					v, _ = n.Float64()
				}
			}
			c.CustomAttributes[k] = v
		}
	})
	if errors.Is(err, ErrNoContact) {
		s.fail(w, r, http.StatusNotFound, "not_found", "User Not Found")
		return
	}
	i, _ := s.w.contactSlot(id)
	c := s.w.contact(i)
	writeJSON(w, http.StatusOK, s.renderContact(&c))
}

type tagList struct {
	Type string    `json:"type"`
	Data []tagJSON `json:"data"`
}

func (s *Server) contactTags(w http.ResponseWriter, r *http.Request) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, ok := s.liveContact(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, tagList{Type: "list", Data: s.tagsOf(&c)})
}

type pagesLink struct {
	Type       string  `json:"type"`
	Page       int     `json:"page"`
	Next       *string `json:"next"`
	PerPage    int     `json:"per_page"`
	TotalPages int     `json:"total_pages"`
}

// contactCompanyList is what GET /contacts/{id}/companies returns. The
// companies are under "data", as in the description's own example and in
// real responses; the description's schema (contact_attached_companies)
// names the array "companies" instead.
type contactCompanyList struct {
	Type       string        `json:"type"`
	Data       []companyJSON `json:"data"`
	TotalCount int           `json:"total_count"`
	Pages      pagesLink     `json:"pages"`
}

func pageParams(r *http.Request, def int) (page, pp int, ok bool) {
	q := r.URL.Query()
	pp, ok = perPage(q.Get("per_page"), def)
	if !ok {
		return 0, 0, false
	}
	page = 1
	if p := q.Get("page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 {
			return 0, 0, false
		}
		page = n
	}
	return page, pp, true
}

func (s *Server) contactCompanies(w http.ResponseWriter, r *http.Request) {
	page, pp, ok := pageParams(r, defaultPagedPerPage)
	if !ok {
		s.fail(w, r, http.StatusBadRequest, "parameter_invalid", "page and per_page must be positive integers")
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, ok := s.liveContact(w, r)
	if !ok {
		return
	}
	var all []int
	for _, j := range c.Companies {
		if j < len(s.w.coState) && s.w.coState[j] == live {
			all = append(all, j)
		}
	}
	out := contactCompanyList{Type: "list", Data: []companyJSON{}, TotalCount: len(all),
		Pages: pagesLink{Type: "pages", Page: page, PerPage: pp, TotalPages: totalPages(len(all), pp)}}
	for _, j := range window(all, page, pp) {
		co := s.w.company(j)
		out.Data = append(out.Data, s.renderCompany(&co))
	}
	if page < out.Pages.TotalPages {
		next := nextURL(r, page+1, pp)
		out.Pages.Next = &next
	}
	writeJSON(w, http.StatusOK, out)
}

// window returns page (1-based) of xs.
func window[T any](xs []T, page, pp int) []T {
	lo := (page - 1) * pp
	if lo >= len(xs) {
		return nil
	}
	return xs[lo:min(lo+pp, len(xs))]
}

// nextURL is the absolute URL of another page of the same request, on the
// host and path the client used (the server may be mounted under a
// prefix).
func nextURL(r *http.Request, page, pp int) string {
	path := r.RequestURI
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	q := r.URL.Query()
	q.Set("page", strconv.Itoa(page))
	q.Set("per_page", strconv.Itoa(pp))
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + path + "?" + q.Encode()
}
