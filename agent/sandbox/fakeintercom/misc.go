package fakeintercom

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tajo/terraform-provider-tajo/agent/sandbox/dataset"
)

type appJSON struct {
	Type                 string `json:"type"`
	IDCode               string `json:"id_code"`
	Name                 string `json:"name"`
	CreatedAt            int64  `json:"created_at"`
	Secure               bool   `json:"secure"`
	IdentityVerification bool   `json:"identity_verification"`
	Timezone             string `json:"timezone"`
	Region               string `json:"region"`
}

type adminWithApp struct {
	Type             string  `json:"type"`
	ID               string  `json:"id"`
	Email            string  `json:"email"`
	Name             string  `json:"name"`
	EmailVerified    bool    `json:"email_verified"`
	JobTitle         string  `json:"job_title"`
	AwayModeEnabled  bool    `json:"away_mode_enabled"`
	AwayModeReassign bool    `json:"away_mode_reassign"`
	HasInboxSeat     bool    `json:"has_inbox_seat"`
	TeamIDs          []int64 `json:"team_ids"`
	App              appJSON `json:"app"`
	Avatar           avatar  `json:"avatar"`
}

func (s *Server) getMe(w http.ResponseWriter, r *http.Request) {
	a := s.ds.Admins()[0]
	img := "https://static.intercomassets.com/assets/default-avatars/admins/128.png"
	writeJSON(w, http.StatusOK, adminWithApp{
		Type: "admin", ID: strconv.FormatInt(a.ID, 10), Email: a.Email, Name: a.Name, EmailVerified: true,
		JobTitle: "Support lead", HasInboxSeat: true, TeamIDs: s.ds.Teams()[:1],
		App: appJSON{Type: "app", IDCode: s.appIDCode(), Name: s.opts.AppName, CreatedAt: s.ds.Now() - 4*365*86400,
			Timezone: s.opts.Timezone.String(), Region: s.opts.Region},
		Avatar: avatar{Type: "avatar", ImageURL: &img},
	})
}

func (s *Server) listTags(w http.ResponseWriter, r *http.Request) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := tagList{Type: "list", Data: make([]tagJSON, 0, len(s.w.tags))}
	for _, t := range s.w.tags {
		out.Data = append(out.Data, tagJSON{Type: "tag", ID: t.ID, Name: t.Name})
	}
	writeJSON(w, http.StatusOK, out)
}

type dataAttribute struct {
	Type              string   `json:"type"`
	ID                *int64   `json:"id,omitempty"`
	Model             string   `json:"model"`
	Name              string   `json:"name"`
	FullName          string   `json:"full_name"`
	Label             string   `json:"label"`
	Description       string   `json:"description"`
	DataType          string   `json:"data_type"`
	Options           []string `json:"options,omitempty"`
	APIWritable       bool     `json:"api_writable"`
	MessengerWritable bool     `json:"messenger_writable"`
	UIWritable        bool     `json:"ui_writable"`
	Custom            bool     `json:"custom"`
	Archived          bool     `json:"archived"`
	CreatedAt         int64    `json:"created_at,omitempty"`
	UpdatedAt         int64    `json:"updated_at,omitempty"`
	AdminID           string   `json:"admin_id,omitempty"`
}

type dataAttributeList struct {
	Type string          `json:"type"`
	Data []dataAttribute `json:"data"`
}

// Built-in attributes listed by GET /data_attributes (a representative
// subset of Intercom's).
var standardAttributes = map[string][][3]string{
	"contact": {
		{"name", "string", "Name"}, {"email", "string", "Email"}, {"phone", "string", "Phone"},
		{"role", "string", "Role"}, {"external_id", "string", "User ID"}, {"created_at", "date", "Signed up"},
		{"updated_at", "date", "Last updated"}, {"signed_up_at", "date", "Signed up"}, {"last_seen_at", "date", "Last seen"},
		{"unsubscribed_from_emails", "boolean", "Unsubscribed from emails"}, {"owner_id", "integer", "Owner"},
		{"location.country", "string", "Country"}, {"location.city", "string", "City"},
	},
	"company": {
		{"name", "string", "Company name"}, {"company_id", "string", "Company ID"}, {"plan.name", "string", "Plan"},
		{"size", "integer", "Company size"}, {"monthly_spend", "float", "Monthly Spend"}, {"user_count", "integer", "People"},
		{"last_request_at", "date", "Company last seen"}, {"remote_created_at", "date", "Company created at"},
	},
	"conversation": {
		{"state", "string", "State"}, {"priority", "string", "Priority"}, {"created_at", "date", "Started"},
	},
}

func (s *Server) listDataAttributes(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	models := []string{"contact", "company", "conversation"}
	if m := q.Get("model"); m != "" {
		if !slices.Contains(models, m) {
			s.failField(w, r, http.StatusBadRequest, "parameter_invalid", "model must be contact, company or conversation", "model")
			return
		}
		models = []string{m}
	}
	archivedToo := q.Get("include_archived") == "true"
	out := dataAttributeList{Type: "list", Data: []dataAttribute{}}
	created := s.ds.Now() - 2*365*86400
	id := int64(9000)
	for _, m := range models {
		for _, a := range standardAttributes[m] {
			name := a[0]
			if i := strings.LastIndexByte(name, '.'); i >= 0 {
				name = name[i+1:]
			}
			out.Data = append(out.Data, dataAttribute{Type: "data_attribute", Model: m, Name: name, FullName: a[0],
				Label: a[2], Description: a[2], DataType: a[1], APIWritable: a[0] != "created_at" && a[0] != "user_count",
				MessengerWritable: m == "contact", UIWritable: true})
		}
		var custom []dataset.Attribute
		switch m {
		case "contact":
			custom = s.ds.ContactAttributes()
		case "company":
			custom = s.ds.CompanyAttributes()
		case "conversation":
			custom = s.ds.ConversationAttributes()
		}
		for _, a := range custom {
			id++
			aid := id
			out.Data = append(out.Data, dataAttribute{Type: "data_attribute", ID: &aid, Model: m, Name: a.Name,
				FullName: "custom_attributes." + a.Name, Label: a.Name, Description: a.Description, DataType: a.DataType,
				APIWritable: true, UIWritable: true, Custom: true, CreatedAt: created, UpdatedAt: created, AdminID: "991267300"})
		}
		if archivedToo && m == "contact" {
			id++
			aid := id
			out.Data = append(out.Data, dataAttribute{Type: "data_attribute", ID: &aid, Model: m, Name: "legacy_score",
				FullName: "custom_attributes.legacy_score", Label: "legacy_score", Description: "Retired score", DataType: "integer",
				APIWritable: true, UIWritable: true, Custom: true, Archived: true, CreatedAt: created, UpdatedAt: created, AdminID: "991267300"})
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// eventWindow is how far back GET /events lists.
const eventWindow = 90 * 24 * time.Hour

type eventJSON struct {
	Type           string            `json:"type"`
	EventName      string            `json:"event_name"`
	CreatedAt      int64             `json:"created_at"`
	UserID         string            `json:"user_id,omitempty"`
	ID             string            `json:"id"`
	IntercomUserID string            `json:"intercom_user_id"`
	Email          string            `json:"email,omitempty"`
	Metadata       map[string]string `json:"metadata,omitempty"`
}

type eventListPages struct {
	Next  string `json:"next,omitempty"`
	Since string `json:"since,omitempty"`
}

type eventList struct {
	Type   string          `json:"type"`
	Events []eventJSON     `json:"events"`
	Pages  *eventListPages `json:"pages,omitempty"`
}

type summaryItem struct {
	Name  string `json:"name"`
	First string `json:"first"`
	Last  string `json:"last"`
	Count int    `json:"count"`
}

type eventSummary struct {
	Type           string        `json:"type"`
	Email          string        `json:"email"`
	IntercomUserID string        `json:"intercom_user_id"`
	UserID         string        `json:"user_id"`
	Events         []summaryItem `json:"events"`
}

func (s *Server) listEvents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("type") != "user" {
		s.failField(w, r, http.StatusBadRequest, "parameter_invalid", "type must be user", "type")
		return
	}
	pp, ok := perPage(q.Get("per_page"), defaultPagedPerPage)
	if !ok {
		s.fail(w, r, http.StatusBadRequest, "parameter_invalid", "per_page must be a positive integer")
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var slot int
	switch {
	case q.Get("intercom_user_id") != "":
		i, found := s.w.contactSlot(q.Get("intercom_user_id"))
		ok = found && s.w.cState[i] <= archived
		slot = i
	case q.Get("user_id") != "":
		slot, ok = s.w.findContactBy(q.Get("user_id"), "")
	case q.Get("email") != "":
		slot, ok = s.w.findContactBy("", q.Get("email"))
	default:
		s.fail(w, r, http.StatusBadRequest, "parameter_not_found", "one of user_id, intercom_user_id or email is required")
		return
	}
	if !ok {
		s.fail(w, r, http.StatusNotFound, "not_found", "User Not Found")
		return
	}
	c := s.w.contact(slot)
	all := s.eventsLocked(slot)
	if q.Get("summary") == "true" {
		out := eventSummary{Type: "event.summary", Email: c.Email, IntercomUserID: c.ID, UserID: c.ExternalID, Events: []summaryItem{}}
		idx := map[string]int{}
		for _, e := range all {
			at := time.Unix(e.CreatedAt, 0).UTC().Format(time.RFC3339Nano)
			k, seen := idx[e.Name]
			if !seen {
				idx[e.Name] = len(out.Events)
				out.Events = append(out.Events, summaryItem{Name: e.Name, First: at, Last: at})
				k = len(out.Events) - 1
			}
			out.Events[k].Count++
			out.Events[k].Last = at
		}
		writeJSON(w, http.StatusOK, out)
		return
	}
	// Newest first, only the last 90 days, paged by offset.
	cutoff := s.Now().Add(-eventWindow).Unix()
	offset := 0
	if o := q.Get("offset"); o != "" {
		n, err := strconv.Atoi(o)
		if err != nil || n < 0 {
			s.fail(w, r, http.StatusBadRequest, "parameter_invalid", "offset must be a non-negative integer")
			return
		}
		offset = n
	}
	out := eventList{Type: "event.list", Events: []eventJSON{}}
	seen := 0
	more := false
	for k := len(all) - 1; k >= 0; k-- {
		e := all[k]
		if e.CreatedAt < cutoff {
			continue
		}
		seen++
		if seen <= offset {
			continue
		}
		if len(out.Events) == pp {
			more = true
			break
		}
		out.Events = append(out.Events, eventJSON{Type: "event", EventName: e.Name, CreatedAt: e.CreatedAt, UserID: c.ExternalID,
			ID: fmt.Sprintf("%s-%d-%d", c.ID, e.CreatedAt, k), IntercomUserID: c.ID, Email: c.Email, Metadata: e.Metadata})
	}
	if more {
		nq := url.Values{}
		for k, v := range q {
			nq[k] = v
		}
		nq.Set("offset", strconv.Itoa(offset+pp))
		path := r.RequestURI
		if i := strings.IndexByte(path, '?'); i >= 0 {
			path = path[:i]
		}
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		out.Pages = &eventListPages{Next: scheme + "://" + r.Host + path + "?" + nq.Encode()}
	}
	writeJSON(w, http.StatusOK, out)
}

// maxEventMetadata is how many metadata keys Intercom keeps (the first
// ones sent).
const maxEventMetadata = 10

func (s *Server) submitEvent(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, "parameter_invalid", "Invalid JSON in request body")
		return
	}
	var ev struct {
		EventName string          `json:"event_name"`
		CreatedAt json.Number     `json:"created_at"`
		UserID    string          `json:"user_id"`
		ID        string          `json:"id"`
		Email     string          `json:"email"`
		Metadata  json.RawMessage `json:"metadata"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&ev); err != nil {
		s.fail(w, r, http.StatusBadRequest, "parameter_invalid", "Invalid JSON in request body")
		return
	}
	at, err := ev.CreatedAt.Int64()
	if ev.EventName == "" || err != nil {
		s.fail(w, r, http.StatusBadRequest, "parameter_not_found", "event_name and created_at are required")
		return
	}
	meta, err := orderedMetadata(ev.Metadata)
	if err != nil {
		s.failField(w, r, http.StatusBadRequest, "parameter_invalid", err.Error(), "metadata")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var slot int
	var ok bool
	switch {
	case ev.ID != "":
		slot, ok = s.w.contactSlot(ev.ID)
		ok = ok && s.w.cState[slot] <= archived
	case ev.UserID != "":
		slot, ok = s.w.findContactBy(ev.UserID, "")
	case ev.Email != "":
		slot, ok = s.w.findContactBy("", ev.Email)
	default:
		s.fail(w, r, http.StatusBadRequest, "parameter_not_found", "one of id, user_id or email is required")
		return
	}
	if !ok {
		s.fail(w, r, http.StatusNotFound, "not_found", "User Not Found")
		return
	}
	s.addEventLocked(slot, dataset.Event{Name: ev.EventName, CreatedAt: at, Metadata: meta})
	w.WriteHeader(http.StatusAccepted)
}

// orderedMetadata keeps the first 10 keys in the order sent, rendering
// numbers and objects (rich links, amounts) as their JSON text.
func orderedMetadata(raw json.RawMessage) (map[string]string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("metadata must be an object")
	}
	out := map[string]string{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("metadata must be an object")
		}
		key, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("metadata must be an object")
		}
		if len(out) >= maxEventMetadata {
			continue
		}
		var sv string
		if json.Unmarshal(v, &sv) != nil {
			sv = string(v)
		}
		out[key] = sv
	}
	return out, nil
}

// IssueOAuthCode makes an authorization code, as Intercom's consent
// screen would redirect with; it is valid for 5 minutes and once.
func (s *Server) IssueOAuthCode() string {
	var b [12]byte
	rand.Read(b[:])
	code := hex.EncodeToString(b[:])
	s.mu.Lock()
	defer s.mu.Unlock()
	s.codes[code] = s.Now().Add(5 * time.Minute)
	return code
}

type tokenResponse struct {
	Token       string `json:"token"`
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
}

func (s *Server) postToken(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Code         string `json:"code"`
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "application/json" {
		if !s.decodeBody(w, r, &in) {
			return
		}
	} else {
		if err := r.ParseForm(); err != nil {
			s.fail(w, r, http.StatusBadRequest, "parameter_invalid", "invalid form body")
			return
		}
		in.Code, in.ClientID, in.ClientSecret = r.PostForm.Get("code"), r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if in.Code == "" || in.ClientID == "" || in.ClientSecret == "" {
		s.fail(w, r, http.StatusBadRequest, "parameter_not_found", "code, client_id and client_secret are required")
		return
	}
	if in.ClientID != s.opts.ClientID || in.ClientSecret != s.opts.ClientSecret {
		s.fail(w, r, http.StatusUnauthorized, "unauthorized", "Client authentication failed")
		return
	}
	s.mu.Lock()
	exp, ok := s.codes[in.Code]
	delete(s.codes, in.Code)
	s.mu.Unlock()
	if !ok || s.Now().After(exp) {
		s.fail(w, r, http.StatusBadRequest, "parameter_invalid", "The authorization code is invalid or has expired")
		return
	}
	var b [24]byte
	rand.Read(b[:])
	tok := "dG9r:" + hex.EncodeToString(b[:])
	s.AddToken(tok)
	writeJSON(w, http.StatusOK, tokenResponse{Token: tok, AccessToken: tok, TokenType: "Bearer"})
}
