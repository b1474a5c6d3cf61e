package brevo

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
)

// AttributesService handles /contacts/attributes.
//
// Brevo API docs: https://developers.brevo.com/reference/create-attribute
type AttributesService service

// AttributeCategory is the category of a contact attribute.
type AttributeCategory string

// Attribute categories.
const (
	CategoryNormal        AttributeCategory = "normal"
	CategoryTransactional AttributeCategory = "transactional"
	CategoryCategory      AttributeCategory = "category"
	CategoryCalculated    AttributeCategory = "calculated"
	CategoryGlobal        AttributeCategory = "global"
)

// AttributeType is the value type of a contact attribute.
type AttributeType string

// Attribute types.
const (
	TypeText           AttributeType = "text"
	TypeDate           AttributeType = "date"
	TypeFloat          AttributeType = "float"
	TypeBoolean        AttributeType = "boolean"
	TypeID             AttributeType = "id"
	TypeCategory       AttributeType = "category"
	TypeMultipleChoice AttributeType = "multiple-choice"
	TypeUser           AttributeType = "user"
)

// Attribute is a contact attribute definition.
type Attribute struct {
	Name     string            `json:"name"`
	Category AttributeCategory `json:"category"`
	// Type is empty for calculated and global attributes.
	Type            AttributeType `json:"type,omitempty"`
	Enumeration     []EnumValue   `json:"enumeration,omitempty"`
	CalculatedValue string        `json:"calculatedValue,omitempty"`
	// MultiCategoryOptions are the options of a multiple-choice attribute
	// (sent by newer API versions; not in the spec's getAttributes).
	MultiCategoryOptions []string `json:"multiCategoryOptions,omitempty"`
}

// EnumValue is one value of a category attribute.
type EnumValue struct {
	Value int64  `json:"value"`
	Label string `json:"label"`
}

// List returns every contact attribute (GET /contacts/attributes).
func (s *AttributesService) List(ctx context.Context) ([]*Attribute, *Response, error) {
	r := s.client.newRequest(http.MethodGet, "/contacts/attributes", "/contacts/attributes")
	r.safe = true
	var out struct {
		Attributes []*Attribute `json:"attributes"`
	}
	r.out = &out
	resp, err := s.client.do(ctx, r)
	if err != nil {
		return nil, resp, err
	}
	return out.Attributes, resp, nil
}

// CreateAttribute is the body of POST
// /contacts/attributes/{category}/{name}.
type CreateAttribute struct {
	// Type: for normal, transactional and category attributes. boolean,
	// multiple-choice and user only for normal; id only for transactional;
	// category only for category.
	Type AttributeType `json:"type,omitempty"`
	// Value and IsRecurring: only calculated and global attributes.
	Value       string `json:"value,omitempty"`
	IsRecurring *bool  `json:"isRecurring,omitempty"`
	// Enumeration: only (and required for) category attributes.
	Enumeration []EnumValue `json:"enumeration,omitempty"`
	// MultiCategoryOptions: only normal multiple-choice attributes.
	MultiCategoryOptions []string `json:"multiCategoryOptions,omitempty"`
}

// attributeNameRE: upper-case letters, digits and underscores, starting
// with a letter — the rule agent/config applies to mapping targets. Brevo
// upper-cases names and documents passing them in capitals; the exact
// server-side rule is not published (UNVERIFIED).
var attributeNameRE = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)

// MaxAttributeNameLen is the longest attribute name accepted.
const MaxAttributeNameLen = 50

// ValidateAttributeName checks an attribute name against Brevo's naming:
// upper-case letters, digits and underscores, starting with a letter, at
// most 50 characters.
func ValidateAttributeName(name string) error {
	if len(name) > MaxAttributeNameLen {
		return invalid("attribute name %q is longer than %d characters", name, MaxAttributeNameLen)
	}
	if !attributeNameRE.MatchString(name) {
		return invalid("attribute name %q: use upper-case letters, digits and underscores, starting with a letter", name)
	}
	return nil
}

// validate applies the spec's category/type rules before a request is spent.
func (a *CreateAttribute) validate(category AttributeCategory) error {
	switch category {
	case CategoryNormal:
		switch a.Type {
		case TypeText, TypeDate, TypeFloat, TypeBoolean, TypeMultipleChoice, TypeUser:
		default:
			return invalid("a normal attribute has type text, date, float, boolean, multiple-choice or user, not %q", a.Type)
		}
		if a.Type == TypeMultipleChoice && len(a.MultiCategoryOptions) == 0 {
			return invalid("a multiple-choice attribute needs options")
		}
	case CategoryTransactional:
		switch a.Type {
		case TypeText, TypeDate, TypeFloat, TypeID:
		default:
			return invalid("a transactional attribute has type text, date, float or id, not %q", a.Type)
		}
	case CategoryCategory:
		if a.Type != "" && a.Type != TypeCategory {
			return invalid("a category attribute has type category, not %q", a.Type)
		}
		if len(a.Enumeration) == 0 {
			return invalid("a category attribute needs an enumeration")
		}
	case CategoryCalculated, CategoryGlobal:
		if a.Value == "" {
			return invalid("a %s attribute needs a value (formula)", category)
		}
		if a.Type != "" {
			return invalid("a %s attribute has no type", category)
		}
	default:
		return invalid("unknown attribute category %q", category)
	}
	if category != CategoryCalculated && category != CategoryGlobal && (a.Value != "" || a.IsRecurring != nil) {
		return invalid("value and isRecurring are only for calculated and global attributes")
	}
	return nil
}

// Create creates a contact attribute
// (POST /contacts/attributes/{category}/{name}). Not retried after an
// ambiguous failure: the repeat would be refused as existing.
func (s *AttributesService) Create(ctx context.Context, category AttributeCategory, name string, body *CreateAttribute) (*Response, error) {
	if err := ValidateAttributeName(name); err != nil {
		return nil, err
	}
	if body == nil {
		body = &CreateAttribute{}
	}
	if err := body.validate(category); err != nil {
		return nil, fmt.Errorf("attribute %s: %w", name, err)
	}
	r := s.client.newRequest(http.MethodPost, "/contacts/attributes/{attributeCategory}/{attributeName}",
		"/contacts/attributes/"+segment(string(category))+"/"+segment(name))
	r.body = body
	return s.client.do(ctx, r)
}
