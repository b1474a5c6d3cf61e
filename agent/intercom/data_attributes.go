package intercom

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
)

// DataAttributesService is the data attributes API
// (https://developers.intercom.com/docs/references/2.11/rest-api/api.intercom.io/data-attributes).
type DataAttributesService service

// Data attribute models.
const (
	ModelContact      = "contact"
	ModelCompany      = "company"
	ModelConversation = "conversation"
)

// DataAttribute describes a standard or custom attribute of a model.
type DataAttribute struct {
	Type string `json:"type"`
	// ID is set for custom attributes only.
	ID                ID        `json:"id"`
	Model             string    `json:"model"`
	Name              string    `json:"name"`
	FullName          string    `json:"full_name"`
	Label             string    `json:"label"`
	Description       string    `json:"description"`
	DataType          string    `json:"data_type"`
	Options           []string  `json:"options"`
	APIWritable       bool      `json:"api_writable"`
	MessengerWritable bool      `json:"messenger_writable"`
	UIWritable        bool      `json:"ui_writable"`
	Custom            bool      `json:"custom"`
	Archived          bool      `json:"archived"`
	CreatedAt         Timestamp `json:"created_at"`
	UpdatedAt         Timestamp `json:"updated_at"`
	AdminID           ID        `json:"admin_id"`
}

// DataAttributeListOptions filter GET /data_attributes.
type DataAttributeListOptions struct {
	// Model is ModelContact, ModelCompany, ModelConversation or "" (all).
	Model string
	// IncludeArchived lists archived attributes too.
	IncludeArchived bool
}

// List fetches data attributes (GET /data_attributes).
func (s *DataAttributesService) List(ctx context.Context, opts *DataAttributeListOptions) ([]*DataAttribute, *Response, error) {
	q := url.Values{}
	if opts != nil {
		switch opts.Model {
		case "":
		case ModelContact, ModelCompany, ModelConversation:
			q.Set("model", opts.Model)
		default:
			return nil, nil, fmt.Errorf("intercom: data attribute model must be contact, company or conversation, got %q", opts.Model)
		}
		if opts.IncludeArchived {
			q.Set("include_archived", "true")
		}
	}
	var out struct {
		Data []*DataAttribute `json:"data"`
	}
	resp, err := s.c.do(ctx, call{method: http.MethodGet, path: "/data_attributes", tmpl: "/data_attributes", query: q, idempotent: true}, &out)
	if err != nil {
		return nil, resp, err
	}
	return out.Data, resp, nil
}
