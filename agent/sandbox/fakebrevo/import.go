package fakebrevo

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

type importRow struct {
	Email      string         `json:"email"`
	Attributes map[string]any `json:"attributes"`
}

type importBody struct {
	FileURL  string      `json:"fileUrl"`
	FileBody string      `json:"fileBody"`
	JSONBody []importRow `json:"jsonBody"`
	ListIDs  []int64     `json:"listIds"`
	NewList  *struct {
		ListName string `json:"listName"`
		FolderID int64  `json:"folderId"`
	} `json:"newList"`
	NotifyURL               string `json:"notifyUrl"`
	EmailBlacklist          bool   `json:"emailBlacklist"`
	SMSBlacklist            bool   `json:"smsBlacklist"`
	DisableNotification     bool   `json:"disableNotification"`
	UpdateExistingContacts  *bool  `json:"updateExistingContacts"`
	EmptyContactsAttributes bool   `json:"emptyContactsAttributes"`
}

// importContacts accepts POST /contacts/import and queues a process. Rows
// carry email and attributes; EXT_ID and SMS inside attributes identify
// contacts too (the spec's jsonBody item has no ext_id; UNVERIFIED that
// Brevo matches on an EXT_ID attribute). Attributes that do not exist are
// ignored, as documented.
func (s *Server) importContacts(w http.ResponseWriter, r *http.Request) {
	var b importBody
	if !decode(w, r, MaxImportBody, &b) {
		return
	}
	sources := 0
	for _, set := range []bool{b.FileURL != "", b.FileBody != "", b.JSONBody != nil} {
		if set {
			sources++
		}
	}
	if sources != 1 {
		writeError(w, http.StatusBadRequest, "invalid_parameter", "pass exactly one of fileUrl, fileBody or jsonBody")
		return
	}
	if b.FileURL != "" {
		writeError(w, http.StatusBadRequest, "invalid_parameter", "fileUrl imports are not supported by the sandbox")
		return
	}
	if len(b.ListIDs) == 0 && b.NewList == nil {
		writeError(w, http.StatusBadRequest, "missing_parameter", "listIds or newList is required")
		return
	}
	rows := b.JSONBody
	if b.FileBody != "" {
		var err error
		if rows, err = parseCSVImport(b.FileBody); err != nil {
			writeError(w, http.StatusBadRequest, "invalid_parameter", "fileBody: "+err.Error())
			return
		}
	}
	if len(rows) == 0 {
		writeError(w, http.StatusBadRequest, "missing_parameter", "the import has no contacts")
		return
	}
	updateExisting := b.UpdateExistingContacts == nil || *b.UpdateExistingContacts
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.state
	lists, ok := s.lookupLists(b.ListIDs)
	if !ok {
		writeError(w, http.StatusBadRequest, "invalid_parameter", "Invalid listIds: list not found")
		return
	}
	if b.NewList != nil {
		folder := b.NewList.FolderID
		if folder == 0 {
			folder = 1
		}
		if _, ok := st.folders[folder]; !ok || strings.TrimSpace(b.NewList.ListName) == "" {
			writeError(w, http.StatusBadRequest, "invalid_parameter", "newList needs a listName and an existing folderId")
			return
		}
		l := &list{id: st.nextList, folder: folder, name: b.NewList.ListName, created: s.cfg.now(), members: map[int64]struct{}{}}
		st.nextList++
		st.lists[l.id] = l
		lists = append(lists, l)
	}
	const route = "POST /contacts/import"
	p := s.enqueue("IMPORTUSER", route, b.NotifyURL, len(rows), func(p *Process) {
		s.applyImport(p, rows, lists, updateExisting, b.EmptyContactsAttributes, b.EmailBlacklist, b.SMSBlacklist)
	})
	writeJSON(w, http.StatusAccepted, map[string]int64{"processId": p.ID})
}

// applyImport writes the rows of an import process (under the lock). A row
// is keyed by its email, attributes.EXT_ID and attributes.SMS, any of which
// suffices (a row without an email is fine): it updates the one existing
// contact they name, creates a contact when they name none, and is skipped
// as a duplicate when they name different contacts.
func (s *Server) applyImport(p *Process, rows []importRow, lists []*list, updateExisting, erase, emailBL, smsBL bool) {
	st := s.state
	now := s.cfg.now()
	touched := make([]int64, 0, len(rows))
	seen := make(map[int64]struct{}, len(rows))
	for _, row := range rows {
		email := normEmail(row.Email)
		ext, _ := attrString(row.Attributes[attrExtID])
		sms, _ := attrString(row.Attributes[attrSMS])
		sms = strings.ReplaceAll(sms, " ", "")
		if (email == "" && ext == "" && sms == "") || (email != "" && !validEmail(email)) {
			p.Invalid++
			continue
		}
		var ids []int64
		for _, m := range []struct {
			key string
			idx map[string]int64
		}{{email, st.byEmail}, {ext, st.byExt}, {sms, st.bySMS}} {
			if id, ok := m.idx[m.key]; ok && m.key != "" {
				ids = append(ids, id)
			}
		}
		conflict := false
		for _, id := range ids {
			conflict = conflict || id != ids[0]
		}
		if conflict {
			p.Duplicates++
			continue
		}
		var c *contact
		if len(ids) > 0 {
			c = st.contacts[ids[0]]
			if _, again := seen[c.id]; again {
				p.Duplicates++
			}
			if updateExisting {
				if email != "" {
					s.setEmail(c, email)
				}
				if ext != "" {
					s.setExt(c, ext)
				}
				if sms != "" {
					s.setSMS(c, sms)
				}
				s.applyAttrs(c, row.Attributes, erase)
				p.Updated++
			}
		} else {
			c = s.newContact(email, ext, sms)
			s.applyAttrs(c, row.Attributes, false)
			p.Created++
		}
		if emailBL {
			c.emailBL = true
		}
		if smsBL {
			c.smsBL = true
		}
		for _, l := range lists {
			s.addToList(c, l)
		}
		c.updated = now
		if _, again := seen[c.id]; !again {
			seen[c.id] = struct{}{}
			touched = append(touched, c.id)
		}
	}
	s.log(Write{Kind: WriteContact, Route: "process " + itoa(p.ID) + " (POST /contacts/import)", ContactIDs: touched})
}

func attrString(v any) (string, bool) {
	switch t := v.(type) {
	case string:
		return t, t != ""
	case json.Number:
		return t.String(), true
	}
	return "", false
}

// parseCSVImport reads a fileBody: semicolon-separated, header row of
// attribute names, EMAIL for the email.
func parseCSVImport(body string) ([]importRow, error) {
	cr := csv.NewReader(strings.NewReader(body))
	cr.Comma = ';'
	recs, err := cr.ReadAll()
	if err != nil {
		return nil, err
	}
	if len(recs) < 2 {
		return nil, nil
	}
	header := recs[0]
	var rows []importRow
	for _, rec := range recs[1:] {
		row := importRow{Attributes: map[string]any{}}
		for i, cell := range rec {
			name := strings.ToUpper(strings.TrimSpace(header[i]))
			if name == attrEmail {
				row.Email = cell
				continue
			}
			row.Attributes[name] = csvValue(cell)
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// csvValue gives a CSV cell the JSON type it spells.
func csvValue(s string) any {
	switch strings.ToLower(s) {
	case "true":
		return true
	case "false":
		return false
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return json.Number(s)
	}
	return s
}

// ---- processes ----

// enqueue creates a process (under the lock); the worker applies it after
// the process delay and then calls notifyURL.
func (s *Server) enqueue(name, route, notifyURL string, rows int, apply func(*Process)) *Process {
	st := s.state
	p := &process{Process: Process{ID: st.nextProcess, Name: name, Status: "queued", Rows: rows, NotifyURL: notifyURL,
		CreatedAt: s.cfg.now()}, apply: apply, ready: time.Now(), route: route}
	st.nextProcess++
	st.processes[p.ID] = p
	st.queue = append(st.queue, p)
	select {
	case s.work <- struct{}{}:
	default:
	}
	return &p.Process
}

// worker applies processes in submission order.
func (s *Server) worker() {
	defer s.wg.Done()
	for {
		s.mu.Lock()
		var p *process
		if len(s.state.queue) > 0 {
			p = s.state.queue[0]
			s.state.queue = s.state.queue[1:]
			s.state.inFlight++
		}
		s.mu.Unlock()
		if p == nil {
			select {
			case <-s.work:
				continue
			case <-s.done:
				return
			}
		}
		half := s.cfg.processDelay / 2
		if !s.sleepUntil(p.ready.Add(half)) {
			return
		}
		s.mu.Lock()
		p.Status = "in_process"
		s.mu.Unlock()
		if !s.sleepUntil(p.ready.Add(s.cfg.processDelay)) {
			return
		}
		s.mu.Lock()
		if s.failing(p.Name) {
			// Brevo reports an import it could not run as failed; none of
			// its rows is applied.
			p.Status = "failed"
		} else {
			p.apply(&p.Process)
			p.Status = "completed"
		}
		p.CompletedAt = s.cfg.now()
		s.mu.Unlock()
		if p.NotifyURL != "" {
			s.notify(p)
		}
		s.mu.Lock()
		s.state.inFlight--
		s.mu.Unlock()
	}
}

func (s *Server) sleepUntil(t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return true
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-s.done:
		return false
	}
}

// notify POSTs {"processId", "name", "status"} to the process's notifyUrl.
// The payload Brevo sends is not documented (UNVERIFIED); receivers should
// treat the call as "process finished" and read the process.
func (s *Server) notify(p *process) {
	s.mu.Lock()
	final := p.Status
	s.mu.Unlock()
	body, _ := json.Marshal(map[string]any{"processId": p.ID, "name": p.Name, "status": final})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	status, errText := 0, ""
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.NotifyURL, bytes.NewReader(body))
	if err == nil {
		req.Header.Set("Content-Type", "application/json")
		var resp *http.Response
		if resp, err = s.cfg.notifyClient.Do(req); err == nil {
			status = resp.StatusCode
			resp.Body.Close()
		}
	}
	if err != nil {
		errText = err.Error()
	}
	s.mu.Lock()
	p.NotifyStatus, p.NotifyErr = status, errText
	s.state.notifications++
	s.mu.Unlock()
}

// FailProcesses makes the next n processes named name ("" for any;
// contact imports are "IMPORTUSER", company imports "IMPORT_COMPANIES")
// end with status "failed" without applying any of their rows, as Brevo
// reports an import it could not run. A later call replaces the count.
func (s *Server) FailProcesses(name string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failName, s.failCount = name, n
}

// failing reports (under the lock) whether a process named name is to
// fail, spending one of the failures FailProcesses asked for.
func (s *Server) failing(name string) bool {
	if s.failCount <= 0 || (s.failName != "" && s.failName != name) {
		return false
	}
	s.failCount--
	return true
}

// WaitIdle blocks until every queued process has completed (and its
// notifyUrl was called), or ctx ends.
func (s *Server) WaitIdle(ctx context.Context) error {
	t := time.NewTicker(2 * time.Millisecond)
	defer t.Stop()
	for {
		s.mu.Lock()
		idle := len(s.state.queue) == 0 && s.state.inFlight == 0
		s.mu.Unlock()
		if idle {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

func (s *Server) getProcess(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("processId"), 10, 64)
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.state.processes[id]
	if err != nil || !ok {
		writeError(w, http.StatusNotFound, "invalid_parameter", "processId is invalid")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": p.ID, "name": p.Name, "status": p.Status})
}
