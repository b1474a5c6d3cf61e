package fakeintercom

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"slices"
	"time"
)

// scrollState is the app's one open company scroll.
type scrollState struct {
	param    string
	next     int // next company slot to return
	lastUsed time.Time
}

type companyScroll struct {
	Type string        `json:"type"`
	Data []companyJSON `json:"data"`
	// pages is null in the description's example, but its schema does
	// not allow null; it is left out.
	Pages       *cursorPages `json:"pages,omitempty"`
	TotalCount  *int         `json:"total_count"`
	ScrollParam string       `json:"scroll_param"`
}

// FailScroll makes the company scroll fail after serving afterPages more
// pages of an open scroll, with the documented HTTP 500 "Please restart
// the scroll operation"; the failure closes the scroll, as a scroll
// cannot be resumed. A negative value cancels.
func (s *Server) FailScroll(afterPages int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failScr = afterPages
}

// ScrollOpen reports whether a company scroll is open (not expired).
func (s *Server) ScrollOpen() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.scroll != nil && s.Now().Sub(s.scroll.lastUsed) < s.opts.ScrollExpiry
}

func newParam() string {
	var b [16]byte
	rand.Read(b[:])
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func (s *Server) scrollCompanies(w http.ResponseWriter, r *http.Request) {
	param := r.URL.Query().Get("scroll_param")
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.Now()
	open := s.scroll != nil && now.Sub(s.scroll.lastUsed) < s.opts.ScrollExpiry
	if !open {
		s.scroll = nil
	}
	switch {
	case param == "" && open:
		// Error code as Intercom's own client libraries map it
		// (intercom-ruby ScrollAlreadyExistsError); HTTP 400 as peers
		// observe.
		s.fail(w, r, http.StatusBadRequest, "scroll_exists", "scroll already exists for this workspace")
		return
	case param == "":
		s.scroll = &scrollState{param: newParam()}
	case !open || param != s.scroll.param:
		s.fail(w, r, http.StatusNotFound, "not_found", "scroll_param is invalid or has expired")
		return
	default:
		if s.failScr == 0 {
			s.failScr = -1
			s.scroll = nil
			s.fail(w, r, http.StatusInternalServerError, "server_error", ScrollRestartMessage)
			return
		}
		if s.failScr > 0 {
			s.failScr--
		}
	}
	sc := s.scroll
	sc.lastUsed = now
	out := companyScroll{Type: "list", Data: []companyJSON{}, ScrollParam: sc.param}
	i := sc.next
	for ; i < len(s.w.coState) && len(out.Data) < s.opts.ScrollPageSize; i++ {
		if s.w.coState[i] != live {
			continue
		}
		c := s.w.company(i)
		out.Data = append(out.Data, s.renderCompany(&c))
	}
	sc.next = i
	if len(out.Data) == 0 {
		// The end: the scroll parameter expires.
		s.scroll = nil
	}
	writeJSON(w, http.StatusOK, out)
}

type companyList struct {
	Type       string        `json:"type"`
	Data       []companyJSON `json:"data"`
	TotalCount int           `json:"total_count"`
	Pages      cursorPages   `json:"pages"`
}

// maxListedCompanies is how deep POST /companies/list can page; beyond it
// Intercom points to the scroll API.
const maxListedCompanies = 10000

func (s *Server) listCompanies(w http.ResponseWriter, r *http.Request) {
	page, pp, ok := pageParams(r, defaultPagedPerPage)
	if !ok {
		s.fail(w, r, http.StatusBadRequest, "parameter_invalid", "page and per_page must be positive integers")
		return
	}
	order := r.URL.Query().Get("order")
	if order == "" {
		order = "desc"
	}
	if order != "asc" && order != "desc" {
		s.fail(w, r, http.StatusBadRequest, "parameter_invalid", "order must be asc or desc")
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	// Sorted by last_request_at; companies without users are left out.
	type entry struct {
		slot int
		at   int64
	}
	var all []entry
	for j, st := range s.w.coState {
		if st != live || len(s.w.companyMembers(j)) == 0 {
			continue
		}
		c := s.w.company(j)
		all = append(all, entry{j, c.LastRequestAt})
	}
	slices.SortStableFunc(all, func(a, b entry) int {
		if a.at != b.at {
			if (a.at < b.at) == (order == "asc") {
				return -1
			}
			return 1
		}
		return a.slot - b.slot
	})
	total := len(all)
	reachable := all[:min(len(all), maxListedCompanies)]
	out := companyList{Type: "list", Data: []companyJSON{}, TotalCount: total,
		Pages: cursorPages{Type: "pages", Page: page, PerPage: pp, TotalPages: totalPages(len(reachable), pp)}}
	for _, e := range window(reachable, page, pp) {
		c := s.w.company(e.slot)
		out.Data = append(out.Data, s.renderCompany(&c))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) liveCompany(w http.ResponseWriter, r *http.Request) (int, bool) {
	j, ok := s.w.companySlot(r.PathValue("id"))
	if !ok || s.w.coState[j] != live {
		s.fail(w, r, http.StatusNotFound, "company_not_found", "Company Not Found")
		return 0, false
	}
	return j, true
}

func (s *Server) getCompany(w http.ResponseWriter, r *http.Request) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	j, ok := s.liveCompany(w, r)
	if !ok {
		return
	}
	c := s.w.company(j)
	writeJSON(w, http.StatusOK, s.renderCompany(&c))
}

type companyContacts struct {
	Type       string        `json:"type"`
	Data       []contactJSON `json:"data"`
	TotalCount int           `json:"total_count"`
	Pages      cursorPages   `json:"pages"`
}

func (s *Server) companyContacts(w http.ResponseWriter, r *http.Request) {
	page, pp, ok := pageParams(r, defaultPagedPerPage)
	if !ok {
		s.fail(w, r, http.StatusBadRequest, "parameter_invalid", "page and per_page must be positive integers")
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	j, ok := s.liveCompany(w, r)
	if !ok {
		return
	}
	members := s.w.companyMembers(j)
	out := companyContacts{Type: "list", Data: []contactJSON{}, TotalCount: len(members),
		Pages: cursorPages{Type: "pages", Page: page, PerPage: pp, TotalPages: totalPages(len(members), pp)}}
	for _, i := range window(members, page, pp) {
		c := s.w.contact(i)
		out.Data = append(out.Data, s.renderContact(&c))
	}
	writeJSON(w, http.StatusOK, out)
}
