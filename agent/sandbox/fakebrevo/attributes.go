package fakebrevo

import (
	"net/http"
	"regexp"
	"slices"
)

// attributeNameRE is the naming rule the fake enforces (agent/brevo's
// ValidateAttributeName): upper-case letters, digits, underscores,
// starting with a letter, at most 50 characters.
var attributeNameRE = regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,49}$`)

func (s *Server) listAttributes(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := struct {
		Attributes []Attribute `json:"attributes"`
	}{[]Attribute{}}
	for _, n := range s.state.attrOrder {
		a := *s.state.attrs[n]
		if a.Category == "category" {
			// The spec's example lists a category attribute with type
			// "text" (and its enum has no "category").
			a.Type = "text"
		}
		out.Attributes = append(out.Attributes, a)
	}
	writeJSON(w, http.StatusOK, out)
}

var categoryTypes = map[string][]string{
	"normal":        {"text", "date", "float", "boolean", "multiple-choice", "user"},
	"transactional": {"text", "date", "float", "id"},
	"category":      {"", "category"},
	"calculated":    {""},
	"global":        {""},
}

func (s *Server) createAttribute(w http.ResponseWriter, r *http.Request) {
	category, name := r.PathValue("category"), r.PathValue("name")
	var b struct {
		Type                 string      `json:"type"`
		Value                string      `json:"value"`
		IsRecurring          *bool       `json:"isRecurring"`
		Enumeration          []EnumValue `json:"enumeration"`
		MultiCategoryOptions []string    `json:"multiCategoryOptions"`
	}
	if !decode(w, r, 1<<16, &b) {
		return
	}
	types, ok := categoryTypes[category]
	switch {
	case !ok:
		writeError(w, http.StatusBadRequest, "invalid_parameter", "attributeCategory is invalid")
		return
	case !attributeNameRE.MatchString(name):
		writeError(w, http.StatusBadRequest, "invalid_parameter", "attributeName must be upper-case letters, digits and underscores, starting with a letter")
		return
	case !slices.Contains(types, b.Type):
		writeError(w, http.StatusBadRequest, "invalid_parameter", "type "+b.Type+" is not available for "+category+" attributes")
		return
	case category == "category" && len(b.Enumeration) == 0:
		writeError(w, http.StatusBadRequest, "missing_parameter", "enumeration is required for category attributes")
		return
	case (category == "calculated" || category == "global") && b.Value == "":
		writeError(w, http.StatusBadRequest, "missing_parameter", "value is required for "+category+" attributes")
		return
	case b.Type == "multiple-choice" && len(b.MultiCategoryOptions) == 0:
		writeError(w, http.StatusBadRequest, "missing_parameter", "multiCategoryOptions is required for multiple-choice attributes")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, exists := s.state.attrs[name]; exists {
		writeError(w, http.StatusBadRequest, "duplicate_parameter", "Attribute "+name+" already exists")
		return
	}
	a := &Attribute{Name: name, Category: category, Type: b.Type, Enumeration: b.Enumeration, CalculatedValue: b.Value, Options: b.MultiCategoryOptions}
	if category == "category" {
		a.Type = "category"
	}
	s.state.attrs[name] = a
	s.state.attrOrder = append(s.state.attrOrder, name)
	s.log(Write{Kind: WriteAttribute, Route: "POST /contacts/attributes/{attributeCategory}/{attributeName}"})
	w.WriteHeader(http.StatusCreated)
}
