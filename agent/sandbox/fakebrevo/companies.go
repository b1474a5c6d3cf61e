package fakebrevo

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

type companyJSON struct {
	ID                string         `json:"id"`
	Attributes        map[string]any `json:"attributes"`
	LinkedContactsIDs []int64        `json:"linkedContactsIds"`
	LinkedDealsIDs    []string       `json:"linkedDealsIds"`
}

func (c *company) render() companyJSON {
	attrs := cloneMap(c.attrs)
	attrs["number_of_contacts"] = len(c.contacts)
	contacts, deals := c.contacts, c.deals
	if contacts == nil {
		contacts = []int64{}
	}
	if deals == nil {
		deals = []string{}
	}
	return companyJSON{ID: c.id, Attributes: attrs, LinkedContactsIDs: contacts, LinkedDealsIDs: deals}
}

// companyAttrs stores company attributes (under the lock), dropping
// unknown names and mismatched types silently like contact attributes
// (UNVERIFIED for companies).
func (s *Server) companyAttrs(co *company, attrs map[string]any, erase bool) {
	for _, k := range sortedKeys(attrs) {
		v := attrs[k]
		def, ok := s.state.companyAttrs[k]
		if !ok {
			s.drop(0, "company."+k, v, "unknown attribute")
			continue
		}
		if v == nil || v == "" {
			if erase && !def.Required {
				delete(co.attrs, k)
			}
			continue
		}
		if !companyTypeOK(def.Type, v) {
			s.drop(0, "company."+k, v, "type mismatch")
			continue
		}
		co.attrs[k] = v
	}
}

func companyTypeOK(typ string, v any) bool {
	switch typ {
	case "number":
		_, ok := v.(json.Number)
		if !ok {
			_, ok = v.(float64)
		}
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "multi-choice":
		_, ok := v.([]any)
		return ok
	default:
		_, ok := v.(string)
		return ok
	}
}

// linkable checks that contact ids exist; it returns the first unknown.
func (s *Server) linkable(ids []int64) (int64, bool) {
	for _, id := range ids {
		if _, ok := s.state.contacts[id]; !ok {
			return id, false
		}
	}
	return 0, true
}

func (s *Server) newCompany(name string) *company {
	st := s.state
	now := s.cfg.now()
	// 24 hex digits like a MongoDB object id: seconds, then a counter.
	id := fmt.Sprintf("%08x%016x", now.Unix(), st.nextCompany)
	st.nextCompany++
	co := &company{id: id, attrs: map[string]any{"name": name, "created_at": formatTime(now), "last_updated_at": formatTime(now)}, created: now}
	st.companies[id] = co
	st.companyOrder = append(st.companyOrder, id)
	return co
}

type companyBody struct {
	Name              string         `json:"name"`
	Attributes        map[string]any `json:"attributes"`
	CountryCode       int64          `json:"countryCode"`
	LinkedContactsIDs *[]int64       `json:"linkedContactsIds"`
	LinkedDealsIDs    *[]string      `json:"linkedDealsIds"`
}

func (s *Server) createCompany(w http.ResponseWriter, r *http.Request) {
	var b companyBody
	if !decode(w, r, 1<<20, &b) {
		return
	}
	if strings.TrimSpace(b.Name) == "" {
		writeError(w, http.StatusBadRequest, "missing_parameter", "name is required")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var links []int64
	if b.LinkedContactsIDs != nil {
		links = *b.LinkedContactsIDs
	}
	if id, ok := s.linkable(links); !ok {
		// UNVERIFIED: whether Brevo refuses or ignores unknown contacts.
		writeError(w, http.StatusBadRequest, "invalid_parameter", "contact "+strconv.FormatInt(id, 10)+" does not exist")
		return
	}
	co := s.newCompany(b.Name)
	s.companyAttrs(co, b.Attributes, false)
	co.contacts = sortedUnique(links)
	if b.LinkedDealsIDs != nil {
		co.deals = slices.Clone(*b.LinkedDealsIDs)
	}
	s.log(Write{Kind: WriteCompany, Route: "POST /companies", CompanyIDs: []string{co.id}, ContactIDs: co.contacts})
	writeJSON(w, http.StatusOK, map[string]string{"id": co.id})
}

func sortedUnique(ids []int64) []int64 {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}

func (s *Server) pathCompany(w http.ResponseWriter, r *http.Request) (*company, bool) {
	co, ok := s.state.companies[r.PathValue("id")]
	if !ok {
		writeError(w, http.StatusNotFound, "document_not_found", "Document not found")
	}
	return co, ok
}

func (s *Server) getCompany(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if co, ok := s.pathCompany(w, r); ok {
		writeJSON(w, http.StatusOK, co.render())
	}
}

// updateCompany is PATCH /companies/{id}: linkedContactsIds and
// linkedDealsIds, when present, replace the lists ("omitted ids will be
// removed").
func (s *Server) updateCompany(w http.ResponseWriter, r *http.Request) {
	var b companyBody
	if !decode(w, r, 1<<20, &b) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	co, ok := s.pathCompany(w, r)
	if !ok {
		return
	}
	if b.LinkedContactsIDs != nil {
		if id, ok := s.linkable(*b.LinkedContactsIDs); !ok {
			writeError(w, http.StatusBadRequest, "invalid_parameter", "contact "+strconv.FormatInt(id, 10)+" does not exist")
			return
		}
	}
	if b.Name != "" {
		co.attrs["name"] = b.Name
	}
	s.companyAttrs(co, b.Attributes, true)
	touched := slices.Clone(co.contacts)
	if b.LinkedContactsIDs != nil {
		co.contacts = sortedUnique(*b.LinkedContactsIDs)
		touched = sortedUnique(append(touched, co.contacts...))
	}
	if b.LinkedDealsIDs != nil {
		co.deals = slices.Clone(*b.LinkedDealsIDs)
	}
	co.attrs["last_updated_at"] = formatTime(s.cfg.now())
	s.log(Write{Kind: WriteCompany, Route: "PATCH /companies/{id}", CompanyIDs: []string{co.id}, ContactIDs: touched})
	writeJSON(w, http.StatusOK, co.render())
}

func (s *Server) deleteCompany(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	co, ok := s.pathCompany(w, r)
	if !ok {
		return
	}
	delete(s.state.companies, co.id)
	if i := slices.Index(s.state.companyOrder, co.id); i >= 0 {
		s.state.companyOrder = slices.Delete(s.state.companyOrder, i, i+1)
	}
	s.log(Write{Kind: WriteCompany, Route: "DELETE /companies/{id}", CompanyIDs: []string{co.id}})
	w.WriteHeader(http.StatusNoContent)
}

// linkCompany is PATCH /companies/link-unlink/{id}. The spec declares only
// 204 and 400, so an unknown company is a 400 here.
func (s *Server) linkCompany(w http.ResponseWriter, r *http.Request) {
	var b struct {
		LinkContactIDs   []int64  `json:"linkContactIds"`
		UnlinkContactIDs []int64  `json:"unlinkContactIds"`
		LinkDealsIDs     []string `json:"linkDealsIds"`
		UnlinkDealsIDs   []string `json:"unlinkDealsIds"`
	}
	if !decode(w, r, 1<<20, &b) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	co, ok := s.state.companies[r.PathValue("id")]
	if !ok {
		writeError(w, http.StatusBadRequest, "invalid_parameter", "Company not found")
		return
	}
	if id, ok := s.linkable(b.LinkContactIDs); !ok {
		writeError(w, http.StatusBadRequest, "invalid_parameter", "contact "+strconv.FormatInt(id, 10)+" does not exist")
		return
	}
	co.contacts = sortedUnique(append(co.contacts, b.LinkContactIDs...))
	co.contacts = slices.DeleteFunc(co.contacts, func(id int64) bool { return slices.Contains(b.UnlinkContactIDs, id) })
	for _, d := range b.LinkDealsIDs {
		if !slices.Contains(co.deals, d) {
			co.deals = append(co.deals, d)
		}
	}
	co.deals = slices.DeleteFunc(co.deals, func(d string) bool { return slices.Contains(b.UnlinkDealsIDs, d) })
	s.log(Write{Kind: WriteCompany, Route: "PATCH /companies/link-unlink/{id}", CompanyIDs: []string{co.id},
		ContactIDs: sortedUnique(append(slices.Clone(b.LinkContactIDs), b.UnlinkContactIDs...))})
	w.WriteHeader(http.StatusNoContent)
}

// listCompanyAttributes is GET /companies/attributes. Options appear as
// {key, value} (the spec's example); the key is derived from the option's
// label like an attribute's internal name (UNVERIFIED).
func (s *Server) listCompanyAttributes(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []map[string]any{}
	for _, n := range s.state.companyAttrOrder {
		a := s.state.companyAttrs[n]
		opts := make([]map[string]string, 0, len(a.Options))
		for _, o := range a.Options {
			opts = append(opts, map[string]string{"key": internalName(o), "value": o})
		}
		out = append(out, map[string]any{"internalName": a.InternalName, "label": a.Label,
			"attributeTypeName": a.Type, "attributeOptions": opts, "isRequired": a.Required})
	}
	writeJSON(w, http.StatusOK, out)
}

// Paging of GET /companies. Brevo documents neither a default nor a
// maximum page size; these are assumptions (UNVERIFIED), and a limit above
// maxCompaniesPage is refused with the spec's 400 errorModel so that a
// client asking for more learns it here rather than in production.
const (
	defaultCompaniesPage = 50
	maxCompaniesPage     = 100
)

// companyFilter is one equality condition of the filters parameter.
type companyFilter struct {
	attr  string
	value any
}

// parseCompanyFilters reads the filters parameter: a JSON object whose keys
// are "attributes.<internal name>" or "name" (taken as attributes.name)
// and whose values are strings, numbers or booleans, all of which must
// match. Brevo's spec shows only {"attributes.owner": "<id>"}; other keys
// and operators are refused rather than guessed at.
func parseCompanyFilters(raw string) ([]companyFilter, string) {
	if raw == "" {
		return nil, ""
	}
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, "filters must be a JSON object, e.g. {\"attributes.owner\":\"<id>\"}"
	}
	out := make([]companyFilter, 0, len(m))
	for _, k := range sortedKeys(m) {
		attr, ok := strings.CutPrefix(k, "attributes.")
		switch {
		case k == "name":
			attr = "name"
		case !ok || attr == "":
			return nil, "filters: unsupported key " + strconv.Quote(k) + " (use attributes.<name>)"
		}
		switch m[k].(type) {
		case string, json.Number, bool:
		default:
			return nil, "filters: the value of " + strconv.Quote(k) + " must be a string, number or boolean"
		}
		out = append(out, companyFilter{attr: attr, value: m[k]})
	}
	return out, ""
}

// filterMatches compares a stored attribute value with a filter value:
// strings and booleans exactly, numbers numerically, and a multi-choice
// value matches when one of its choices does. An attribute the company
// lacks (or that does not exist) matches nothing (UNVERIFIED: Brevo may
// answer 400 for an unknown attribute).
func filterMatches(stored, want any) bool {
	switch w := want.(type) {
	case string:
		switch v := stored.(type) {
		case string:
			return v == w
		case []any:
			return slices.Contains(v, any(w))
		}
	case bool:
		v, ok := stored.(bool)
		return ok && v == w
	case json.Number:
		wf, err1 := w.Float64()
		vf, ok := number(stored)
		return err1 == nil && ok && vf == wf
	}
	return false
}

func number(v any) (float64, bool) {
	switch t := v.(type) {
	case json.Number:
		f, err := t.Float64()
		return f, err == nil
	case float64:
		return t, true
	case int:
		return float64(t), true
	case int64:
		return float64(t), true
	}
	return 0, false
}

// compareValues orders two attribute values for sortBy: numbers
// numerically, everything else by its text; a missing value sorts after
// any present one.
func compareValues(a, b any) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return 1
	case b == nil:
		return -1
	}
	if x, ok := number(a); ok {
		if y, ok := number(b); ok {
			switch {
			case x < y:
				return -1
			case x > y:
				return 1
			}
			return 0
		}
	}
	return strings.Compare(fmt.Sprint(a), fmt.Sprint(b))
}

// listCompanies is GET /companies: filters (see parseCompanyFilters),
// linkedContactsIds and linkedDealsIds (one id each, as the spec types
// them), page (1-based page number: the spec's "Index of the first
// document of the page" is read as the page's index, UNVERIFIED), limit
// (see maxCompaniesPage), sort (asc|desc, default desc) and sortBy (an
// attribute's internal name, default creation). The answer is
// CompaniesList: {"items": […]}, without a total, as in every source.
func (s *Server) listCompanies(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, page := defaultCompaniesPage, 1
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxCompaniesPage {
			writeError(w, http.StatusBadRequest, "out_of_range", fmt.Sprintf("limit must be between 1 and %d", maxCompaniesPage))
			return
		}
		limit = n
	}
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, "out_of_range", "page must be a positive integer")
			return
		}
		page = n
	}
	desc := true
	switch q.Get("sort") {
	case "", "desc":
	case "asc":
		desc = false
	default:
		writeError(w, http.StatusBadRequest, "invalid_parameter", "sort must be asc or desc")
		return
	}
	var contactID int64
	if v := q.Get("linkedContactsIds"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			writeError(w, http.StatusBadRequest, "invalid_parameter", "linkedContactsIds is invalid")
			return
		}
		contactID = n
	}
	dealID := q.Get("linkedDealsIds")
	filters, msg := parseCompanyFilters(q.Get("filters"))
	if msg != "" {
		writeError(w, http.StatusBadRequest, "invalid_parameter", msg)
		return
	}
	sortBy := q.Get("sortBy")
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.state
	if _, ok := st.companyAttrs[sortBy]; !ok && !slices.Contains([]string{"", "created_at", "last_updated_at", "number_of_contacts"}, sortBy) {
		writeError(w, http.StatusBadRequest, "invalid_parameter", "sortBy: unknown field "+strconv.Quote(sortBy))
		return
	}
	var items []companyJSON
	for _, id := range st.companyOrder {
		co := st.companies[id]
		if contactID != 0 && !slices.Contains(co.contacts, contactID) {
			continue
		}
		if dealID != "" && !slices.Contains(co.deals, dealID) {
			continue
		}
		c := co.render()
		if !slices.ContainsFunc(filters, func(f companyFilter) bool { return !filterMatches(c.Attributes[f.attr], f.value) }) {
			items = append(items, c)
		}
	}
	if sortBy != "" && sortBy != "created_at" {
		slices.SortStableFunc(items, func(a, b companyJSON) int { return compareValues(a.Attributes[sortBy], b.Attributes[sortBy]) })
	}
	if desc {
		slices.Reverse(items)
	}
	out := struct {
		Items []companyJSON `json:"items"`
	}{[]companyJSON{}}
	if start := (page - 1) * limit; start < len(items) {
		out.Items = items[start:min(start+limit, len(items))]
	}
	writeJSON(w, http.StatusOK, out)
}

// internalName derives a company attribute's internal name from its
// label: lower-cased, every character other than a-z and 0-9 replaced by
// "_" ("Intercom ID" → "intercom_id"). UNVERIFIED: Brevo answers POST
// /crm/attributes with an id only; agent/brevo's CompanyAttributeName
// makes the same assumption.
func internalName(label string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(label) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			continue
		}
		b.WriteByte('_')
	}
	return b.String()
}

var companyAttributeTypes = []string{"text", "user", "number", "single-select", "date", "boolean", "multi-choice"}

// createCRMAttribute is POST /crm/attributes (not in the spec file; see
// contract.Undocumented): it creates a company attribute whose internal
// name is derived from the label (internalName) and answers 200 {"id"}.
// Deal attributes are refused: the sandbox has no deals. Options are
// required for single-select and multi-choice attributes (UNVERIFIED) and
// ignored otherwise; a label whose internal name exists is a 400
// duplicate_parameter.
func (s *Server) createCRMAttribute(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Label         string   `json:"label"`
		AttributeType string   `json:"attributeType"`
		Description   string   `json:"description"`
		OptionsLabels []string `json:"optionsLabels"`
		ObjectType    string   `json:"objectType"`
	}
	if !decode(w, r, 1<<16, &b) {
		return
	}
	selectType := b.AttributeType == "single-select" || b.AttributeType == "multi-choice"
	switch {
	case strings.TrimSpace(b.Label) == "":
		writeError(w, http.StatusBadRequest, "missing_parameter", "label is required")
		return
	case utf8.RuneCountInString(b.Label) > 50:
		writeError(w, http.StatusBadRequest, "out_of_range", "label must be at most 50 characters")
		return
	case !slices.Contains(companyAttributeTypes, b.AttributeType):
		writeError(w, http.StatusBadRequest, "invalid_parameter", "attributeType must be one of "+strings.Join(companyAttributeTypes, ", "))
		return
	case b.ObjectType == "":
		writeError(w, http.StatusBadRequest, "missing_parameter", "objectType is required")
		return
	case b.ObjectType == "deals":
		writeError(w, http.StatusBadRequest, "invalid_parameter", "deal attributes are not supported by the sandbox")
		return
	case b.ObjectType != "companies":
		writeError(w, http.StatusBadRequest, "invalid_parameter", "objectType must be companies or deals")
		return
	case selectType && len(b.OptionsLabels) == 0:
		writeError(w, http.StatusBadRequest, "missing_parameter", "optionsLabels is required for "+b.AttributeType+" attributes")
		return
	}
	name := internalName(b.Label)
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.state
	if _, exists := st.companyAttrs[name]; exists {
		writeError(w, http.StatusBadRequest, "duplicate_parameter", "Attribute "+name+" already exists")
		return
	}
	a := CompanyAttribute{ID: fmt.Sprintf("%08x%016x", s.cfg.now().Unix(), st.nextCompanyAttr), InternalName: name,
		Label: b.Label, Type: b.AttributeType, Description: b.Description}
	if selectType {
		a.Options = slices.Clone(b.OptionsLabels)
	}
	st.nextCompanyAttr++
	st.companyAttrs[name] = a
	st.companyAttrOrder = append(st.companyAttrOrder, name)
	s.log(Write{Kind: WriteAttribute, Route: "POST /crm/attributes"})
	writeJSON(w, http.StatusOK, map[string]string{"id": a.ID})
}

type companyMapping struct {
	LinkEntities          bool `json:"link_entities"`
	UnlinkEntities        bool `json:"unlink_entities"`
	UpdateExistingRecords bool `json:"update_existing_records"`
	UnsetEmptyAttributes  bool `json:"unset_empty_attributes"`
}

// importCompanies is POST /companies/import: multipart with a CSV file
// (header row of attribute internal names plus company_id,
// associated_contact, associated_deal) and a JSON mapping. Cells of
// associated_contact hold Brevo contact ids or emails separated by ';' or
// ',' (UNVERIFIED: the format is not documented). Comma- or
// semicolon-separated files are both read.
func (s *Server) importCompanies(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseMultipartForm(16 << 20); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"code": "invalid_parameter", "message": "Bad request : " + err.Error()})
		return
	}
	f, _, err := r.FormFile("file")
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"code": "missing_parameter", "message": "Bad request : file is required"})
		return
	}
	raw, _ := io.ReadAll(f)
	f.Close()
	var m companyMapping
	if v := r.FormValue("mapping"); v != "" {
		if err := json.Unmarshal([]byte(v), &m); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"code": "invalid_parameter", "message": "Bad request : mapping is not JSON"})
			return
		}
	}
	cr := csv.NewReader(bytes.NewReader(raw))
	if first, _, _ := bytes.Cut(raw, []byte("\n")); bytes.Count(first, []byte(";")) > bytes.Count(first, []byte(",")) {
		cr.Comma = ';'
	}
	recs, err := cr.ReadAll()
	if err != nil || len(recs) < 2 {
		writeJSON(w, http.StatusBadRequest, map[string]string{"code": "invalid_parameter", "message": "Bad request : the file needs a header row and at least one row"})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.enqueue("IMPORT_COMPANIES", "POST /companies/import", "", len(recs)-1, func(p *Process) {
		s.applyCompanyImport(p, recs[0], recs[1:], m)
	})
	writeJSON(w, http.StatusOK, map[string]int64{"processId": p.ID})
}

func (s *Server) applyCompanyImport(p *Process, header []string, rows [][]string, m companyMapping) {
	st := s.state
	var ids []string
	var contacts []int64
	for _, row := range rows {
		var co *company
		attrs := map[string]any{}
		var assoc []int64
		name := ""
		for i, cell := range row {
			col := strings.TrimSpace(header[i])
			switch col {
			case "company_id":
				if m.UpdateExistingRecords && cell != "" {
					co = st.companies[cell]
				}
			case "associated_contact":
				for _, ref := range strings.FieldsFunc(cell, func(r rune) bool { return r == ';' || r == ',' || r == '|' }) {
					ref = strings.TrimSpace(ref)
					if id, err := strconv.ParseInt(ref, 10, 64); err == nil {
						if _, ok := st.contacts[id]; ok {
							assoc = append(assoc, id)
						}
					} else if id, ok := st.byEmail[normEmail(ref)]; ok {
						assoc = append(assoc, id)
					}
				}
			case "associated_deal":
			case "name":
				name = cell
			default:
				if def, ok := st.companyAttrs[col]; ok && def.Type == "number" {
					if _, err := strconv.ParseFloat(cell, 64); err == nil {
						attrs[col] = json.Number(cell)
						continue
					}
				}
				attrs[col] = cell
			}
		}
		switch {
		case co != nil:
			if name != "" {
				co.attrs["name"] = name
			}
			p.Updated++
		case name == "":
			p.Invalid++
			continue
		default:
			co = s.newCompany(name)
			p.Created++
		}
		s.companyAttrs(co, attrs, m.UnsetEmptyAttributes)
		switch {
		case m.LinkEntities:
			co.contacts = sortedUnique(append(co.contacts, assoc...))
		case m.UnlinkEntities:
			co.contacts = slices.DeleteFunc(co.contacts, func(id int64) bool { return slices.Contains(assoc, id) })
		}
		co.attrs["last_updated_at"] = formatTime(s.cfg.now())
		ids = append(ids, co.id)
		contacts = append(contacts, assoc...)
	}
	s.log(Write{Kind: WriteCompany, Route: "process " + itoa(p.ID) + " (POST /companies/import)", CompanyIDs: ids, ContactIDs: sortedUnique(contacts)})
}
