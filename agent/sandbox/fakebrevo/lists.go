package fakebrevo

import (
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// maxListBatch is the spec's maxItems for list add/remove.
const maxListBatch = 150

type listJSON struct {
	ID                int64  `json:"id"`
	Name              string `json:"name"`
	TotalBlacklisted  int64  `json:"totalBlacklisted"`
	TotalSubscribers  int64  `json:"totalSubscribers"`
	UniqueSubscribers int64  `json:"uniqueSubscribers"`
	FolderID          int64  `json:"folderId"`
	CreatedAt         string `json:"createdAt,omitempty"`
	DynamicList       *bool  `json:"dynamicList,omitempty"`
}

func (s *Server) renderList(l *list, extended bool) listJSON {
	var bl int64
	for id := range l.members {
		if s.state.contacts[id].emailBL {
			bl++
		}
	}
	n := int64(len(l.members))
	out := listJSON{ID: l.id, Name: l.name, TotalBlacklisted: bl, TotalSubscribers: n - bl, UniqueSubscribers: n, FolderID: l.folder}
	if extended {
		f := false
		out.CreatedAt, out.DynamicList = formatTime(l.created), &f
	}
	return out
}

func (s *Server) sortedLists() []*list {
	out := make([]*list, 0, len(s.state.lists))
	for _, l := range s.state.lists {
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

func pathID(w http.ResponseWriter, r *http.Request, name string) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, http.StatusBadRequest, "invalid_parameter", name+" is invalid")
		return 0, false
	}
	return id, true
}

func (s *Server) listLists(w http.ResponseWriter, r *http.Request) {
	limit, offset, desc, ok := pageParams(w, r, 10, 50)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	all := s.sortedLists()
	ids := make([]int64, len(all))
	byID := map[int64]*list{}
	for i, l := range all {
		ids[i], byID[l.id] = l.id, l
	}
	out := struct {
		Lists []listJSON `json:"lists"`
		Count int        `json:"count"`
	}{[]listJSON{}, len(all)}
	for _, id := range window(ids, limit, offset, desc) {
		out.Lists = append(out.Lists, s.renderList(byID[id], false))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getList(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "listId")
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.state.lists[id]
	if !ok {
		writeError(w, http.StatusNotFound, "document_not_found", "List ID not found")
		return
	}
	writeJSON(w, http.StatusOK, s.renderList(l, true))
}

func (s *Server) createList(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Name     string `json:"name"`
		FolderID int64  `json:"folderId"`
	}
	if !decode(w, r, 1<<16, &b) {
		return
	}
	if strings.TrimSpace(b.Name) == "" || b.FolderID == 0 {
		writeError(w, http.StatusBadRequest, "missing_parameter", "name and folderId are required")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.state
	if _, ok := st.folders[b.FolderID]; !ok {
		writeError(w, http.StatusBadRequest, "invalid_parameter", "folderId does not exist")
		return
	}
	l := &list{id: st.nextList, folder: b.FolderID, name: b.Name, created: s.cfg.now(), members: map[int64]struct{}{}}
	st.nextList++
	st.lists[l.id] = l
	s.log(Write{Kind: WriteAttribute, Route: "POST /contacts/lists", ListID: l.id})
	writeJSON(w, http.StatusCreated, map[string]int64{"id": l.id})
}

func (s *Server) listMembers(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "listId")
	if !ok {
		return
	}
	limit, offset, desc, ok := pageParams(w, r, 50, 500)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.state.lists[id]
	if !ok {
		writeError(w, http.StatusNotFound, "document_not_found", "List ID not found")
		return
	}
	ids := make([]int64, 0, len(l.members))
	for id := range l.members {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	out := struct {
		Contacts []contactJSON `json:"contacts"`
		Count    int           `json:"count"`
	}{[]contactJSON{}, len(ids)}
	for _, cid := range window(ids, limit, offset, desc) {
		out.Contacts = append(out.Contacts, s.state.contacts[cid].render(false))
	}
	writeJSON(w, http.StatusOK, out)
}

// membershipBody is one of {"emails"}, {"ids"}, {"extIds"} (remove also
// {"all": true}).
type membershipBody struct {
	Emails []string      `json:"emails"`
	IDs    []json.Number `json:"ids"`
	ExtIDs []string      `json:"extIds"`
	All    *bool         `json:"all"`
}

func (s *Server) listAdd(w http.ResponseWriter, r *http.Request) { s.membership(w, r, true) }

func (s *Server) listRemove(w http.ResponseWriter, r *http.Request) { s.membership(w, r, false) }

// membership adds or removes contacts. Identifiers that are already
// members (add), not members (remove) or no contact at all go to failure.
// Empty success/failure arrays are omitted: the spec's oneOf of a string
// array and an integer array cannot tell which an empty array is.
func (s *Server) membership(w http.ResponseWriter, r *http.Request, add bool) {
	id, ok := pathID(w, r, "listId")
	if !ok {
		return
	}
	var b membershipBody
	if !decode(w, r, 1<<20, &b) {
		return
	}
	kinds := 0
	for _, n := range []int{len(b.Emails), len(b.IDs), len(b.ExtIDs)} {
		if n > 0 {
			kinds++
		}
	}
	all := !add && b.All != nil && *b.All
	if all {
		kinds++
	}
	if kinds != 1 {
		writeError(w, http.StatusBadRequest, "invalid_parameter", "pass exactly one of emails, ids or extIds")
		return
	}
	if len(b.Emails) > maxListBatch || len(b.IDs) > maxListBatch || len(b.ExtIDs) > maxListBatch {
		writeError(w, http.StatusBadRequest, "out_of_range", "at most 150 contacts per request")
		return
	}
	route := "POST /contacts/lists/{listId}/contacts/add"
	if !add {
		route = "POST /contacts/lists/{listId}/contacts/remove"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.state
	l, ok := st.lists[id]
	if !ok {
		writeError(w, http.StatusNotFound, "document_not_found", "List ID not found")
		return
	}
	if all {
		total := int64(len(l.members))
		p := s.enqueue("REMOVE_LIST_CONTACTS", route, "", int(total), func(p *Process) {
			var ids []int64
			for cid := range l.members {
				ids = append(ids, cid)
			}
			slices.Sort(ids)
			for _, cid := range ids {
				s.removeFromList(st.contacts[cid], l)
			}
			s.log(Write{Kind: WriteList, Route: "process " + itoa(p.ID) + " (" + route + ")", ListID: l.id, ContactIDs: ids})
		})
		writeJSON(w, http.StatusCreated, map[string]any{"contacts": map[string]any{"total": total, "processId": p.ID}})
		return
	}
	var success, failure []any
	var touched []int64
	apply := func(c *contact, found bool, key any) {
		changed := false
		if found {
			if add {
				changed = s.addToList(c, l)
			} else {
				changed = s.removeFromList(c, l)
			}
		}
		if !changed {
			failure = append(failure, key)
			return
		}
		success = append(success, key)
		touched = append(touched, c.id)
		c.updated = s.cfg.now()
	}
	for _, e := range b.Emails {
		c, found := s.resolve(e, "email_id", false)
		apply(c, found, e)
	}
	for _, n := range b.IDs {
		c, found := s.resolve(n.String(), "contact_id", false)
		v, err := n.Int64()
		if err != nil {
			writeError(w, http.StatusBadRequest, "invalid_parameter", "ids must be integers")
			return
		}
		apply(c, found, v)
	}
	for _, e := range b.ExtIDs {
		c, found := s.resolve(e, "ext_id", false)
		apply(c, found, e)
	}
	if len(touched) > 0 {
		s.log(Write{Kind: WriteList, Route: route, ListID: l.id, ContactIDs: touched})
	}
	res := map[string]any{}
	if len(success) > 0 {
		res["success"] = success
	}
	if len(failure) > 0 {
		res["failure"] = failure
	}
	writeJSON(w, http.StatusCreated, map[string]any{"contacts": res})
}

type folderJSON struct {
	ID                int64  `json:"id"`
	Name              string `json:"name"`
	TotalBlacklisted  int64  `json:"totalBlacklisted"`
	TotalSubscribers  int64  `json:"totalSubscribers"`
	UniqueSubscribers int64  `json:"uniqueSubscribers"`
}

func (s *Server) listFolders(w http.ResponseWriter, r *http.Request) {
	limit, offset, desc, ok := pageParams(w, r, 10, 50)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.state
	ids := make([]int64, 0, len(st.folders))
	for id := range st.folders {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	out := struct {
		Folders []folderJSON `json:"folders"`
		Count   int          `json:"count"`
	}{[]folderJSON{}, len(ids)}
	for _, id := range window(ids, limit, offset, desc) {
		f := st.folders[id]
		unique := map[int64]struct{}{}
		var total, bl int64
		for _, l := range st.lists {
			if l.folder != id {
				continue
			}
			for cid := range l.members {
				unique[cid] = struct{}{}
				if st.contacts[cid].emailBL {
					bl++
				} else {
					total++
				}
			}
		}
		out.Folders = append(out.Folders, folderJSON{ID: f.ID, Name: f.Name, TotalBlacklisted: bl, TotalSubscribers: total, UniqueSubscribers: int64(len(unique))})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) createFolder(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Name string `json:"name"`
	}
	if !decode(w, r, 1<<16, &b) {
		return
	}
	if strings.TrimSpace(b.Name) == "" {
		writeError(w, http.StatusBadRequest, "missing_parameter", "name is required")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.state
	f := &Folder{ID: st.nextFolder, Name: b.Name}
	st.nextFolder++
	st.folders[f.ID] = f
	s.log(Write{Kind: WriteAttribute, Route: "POST /contacts/folders"})
	writeJSON(w, http.StatusCreated, map[string]int64{"id": f.ID})
}
