package fakeintercom

import (
	"net/http"
)

type conversationList struct {
	Type          string             `json:"type"`
	Conversations []conversationJSON `json:"conversations"`
	TotalCount    int                `json:"total_count"`
	Pages         cursorPages        `json:"pages"`
}

// restricted answers 403 api_plan_restricted when the workspace's plan
// lacks the conversations API.
func (s *Server) restricted(w http.ResponseWriter, r *http.Request) bool {
	if s.opts.ConversationsRestricted {
		s.fail(w, r, http.StatusForbidden, "api_plan_restricted", "Active subscription needed.")
		return true
	}
	return false
}

func (s *Server) listConversations(w http.ResponseWriter, r *http.Request) {
	if s.restricted(w, r) {
		return
	}
	q := r.URL.Query()
	pp, ok := perPage(q.Get("per_page"), defaultConversationPerPage)
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
	total := 0
	for _, st := range ws.vState {
		if st == live {
			total++
		}
	}
	out := conversationList{Type: "conversation.list", Conversations: make([]conversationJSON, 0, pp), TotalCount: total}
	last := -1
	k := max(start, 0)
	for ; k < len(ws.vState) && len(out.Conversations) < pp; k++ {
		if ws.vState[k] != live {
			continue
		}
		c := ws.conversation(k)
		out.Conversations = append(out.Conversations, s.renderConversation(&c, false))
		last = k
	}
	for ; k < len(ws.vState) && ws.vState[k] != live; k++ {
	}
	out.Pages = cursorPages{Type: "pages", Page: start/pp + 1, PerPage: pp, TotalPages: totalPages(total, pp)}
	if k < len(ws.vState) && last >= 0 {
		out.Pages.Next = &nextPage{Page: out.Pages.Page + 1, PerPage: pp, StartingAfter: encodeCursor(cursor{Slot: last})}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) searchConversations(w http.ResponseWriter, r *http.Request) {
	if s.restricted(w, r) {
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	slots, total, pages, ok := s.search(w, r, s.vm, func() []uint8 { return s.w.vState }, defaultConversationPerPage)
	if !ok {
		return
	}
	out := conversationList{Type: "conversation.list", Conversations: make([]conversationJSON, 0, len(slots)), TotalCount: total, Pages: pages}
	for _, k := range slots {
		c := s.w.conversation(int(k))
		out.Conversations = append(out.Conversations, s.renderConversation(&c, false))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getConversation(w http.ResponseWriter, r *http.Request) {
	if s.restricted(w, r) {
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	k, ok := s.w.conversationSlot(r.PathValue("id"))
	if !ok || s.w.vState[k] != live {
		s.fail(w, r, http.StatusNotFound, "not_found", "Resource Not Found")
		return
	}
	c := s.w.conversation(k)
	writeJSON(w, http.StatusOK, s.renderConversation(&c, true))
}
