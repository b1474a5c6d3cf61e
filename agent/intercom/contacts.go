package intercom

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
)

// ContactsService is the contacts API
// (https://developers.intercom.com/docs/references/2.11/rest-api/api.intercom.io/contacts).
type ContactsService service

// Contact roles.
const (
	RoleUser = "user"
	RoleLead = "lead"
)

// Contact is a user or lead. Nullable strings decode to "", nullable
// timestamps to 0. Raw keeps the JSON as received; Extra returns what this
// type does not declare.
type Contact struct {
	Type                   string           `json:"type"`
	ID                     string           `json:"id"`
	WorkspaceID            string           `json:"workspace_id"`
	ExternalID             string           `json:"external_id"`
	Role                   string           `json:"role"`
	Email                  string           `json:"email"`
	EmailDomain            string           `json:"email_domain"`
	Phone                  string           `json:"phone"`
	FormattedPhone         string           `json:"formatted_phone"`
	Name                   string           `json:"name"`
	Avatar                 *Avatar          `json:"avatar"`
	OwnerID                ID               `json:"owner_id"`
	SocialProfiles         *SocialProfiles  `json:"social_profiles"`
	HasHardBounced         bool             `json:"has_hard_bounced"`
	MarkedEmailAsSpam      bool             `json:"marked_email_as_spam"`
	UnsubscribedFromEmails bool             `json:"unsubscribed_from_emails"`
	CreatedAt              Timestamp        `json:"created_at"`
	UpdatedAt              Timestamp        `json:"updated_at"`
	SignedUpAt             Timestamp        `json:"signed_up_at"`
	LastSeenAt             Timestamp        `json:"last_seen_at"`
	LastRepliedAt          Timestamp        `json:"last_replied_at"`
	LastContactedAt        Timestamp        `json:"last_contacted_at"`
	LastEmailOpenedAt      Timestamp        `json:"last_email_opened_at"`
	LastEmailClickedAt     Timestamp        `json:"last_email_clicked_at"`
	LanguageOverride       string           `json:"language_override"`
	Browser                string           `json:"browser"`
	BrowserVersion         string           `json:"browser_version"`
	BrowserLanguage        string           `json:"browser_language"`
	OS                     string           `json:"os"`
	AndroidAppName         string           `json:"android_app_name"`
	AndroidAppVersion      string           `json:"android_app_version"`
	AndroidDevice          string           `json:"android_device"`
	AndroidOSVersion       string           `json:"android_os_version"`
	AndroidSDKVersion      string           `json:"android_sdk_version"`
	AndroidLastSeenAt      Timestamp        `json:"android_last_seen_at"`
	IOSAppName             string           `json:"ios_app_name"`
	IOSAppVersion          string           `json:"ios_app_version"`
	IOSDevice              string           `json:"ios_device"`
	IOSOSVersion           string           `json:"ios_os_version"`
	IOSSDKVersion          string           `json:"ios_sdk_version"`
	IOSLastSeenAt          Timestamp        `json:"ios_last_seen_at"`
	Location               *Location        `json:"location"`
	CustomAttributes       map[string]any   `json:"custom_attributes"`
	Tags                   *AddressableList `json:"tags"`
	Notes                  *AddressableList `json:"notes"`
	Companies              *AddressableList `json:"companies"`

	// Raw is the contact's JSON as received.
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes leniently (unknown fields are kept in Raw).
func (c *Contact) UnmarshalJSON(b []byte) error {
	type plain Contact
	raw, err := keepRaw(b, (*plain)(c))
	c.Raw = raw
	return err
}

// Extra returns the fields of Raw this type does not declare, such as
// utm_source, referrer or session_count.
func (c *Contact) Extra() map[string]json.RawMessage { return extra(c.Raw, c) }

// Avatar is a contact's picture.
type Avatar struct {
	Type     string `json:"type"`
	ImageURL string `json:"image_url"`
}

// Location is where a contact was last seen.
type Location struct {
	Type          string `json:"type"`
	Country       string `json:"country"`
	Region        string `json:"region"`
	City          string `json:"city"`
	CountryCode   string `json:"country_code"`
	ContinentCode string `json:"continent_code"`
}

// SocialProfiles of a contact.
type SocialProfiles struct {
	Type string `json:"type"`
	Data []struct {
		Type string `json:"type"`
		Name string `json:"name"`
		URL  string `json:"url"`
	} `json:"data"`
}

// AddressableList is an embedded list (tags, notes, companies of a
// contact): at most 10 references; HasMore says URL lists the rest.
// ContactsService.Expand completes it.
type AddressableList struct {
	Type       string     `json:"type"`
	Data       []*ListRef `json:"data"`
	URL        string     `json:"url"`
	TotalCount int        `json:"total_count"`
	HasMore    bool       `json:"has_more"`
}

// ListRef is one reference of an addressable list. Name is filled for
// tags and companies by ContactsService.Expand.
type ListRef struct {
	Type string `json:"type"`
	ID   ID     `json:"id"`
	URL  string `json:"url"`
	Name string `json:"name,omitempty"`
}

// ContactList is a page of contacts.
type ContactList struct {
	Type       string       `json:"type"`
	Data       []*Contact   `json:"data"`
	TotalCount int          `json:"total_count"`
	Pages      *CursorPages `json:"pages"`
}

// List fetches one page of contacts (GET /contacts). Merged contacts are
// not listed.
func (s *ContactsService) List(ctx context.Context, opts *ListOptions) (*ContactList, *Response, error) {
	var o ListOptions
	if opts != nil {
		o = *opts
	}
	q, err := listQuery(o)
	if err != nil {
		return nil, nil, err
	}
	var out ContactList
	resp, err := s.c.do(ctx, call{method: http.MethodGet, path: "/contacts", tmpl: "/contacts", query: q, idempotent: true}, &out)
	if err != nil {
		return nil, resp, err
	}
	resp.NextCursor = out.Pages.cursor()
	return &out, resp, nil
}

// Pages walks the contact list page by page from opts.StartingAfter.
func (s *ContactsService) Pages(ctx context.Context, opts ListOptions) iter.Seq2[*Page[*Contact], error] {
	return cursorPages(ctx, opts.StartingAfter, func(ctx context.Context, cursor string) (*Page[*Contact], error) {
		o := opts
		o.StartingAfter = cursor
		l, resp, err := s.List(ctx, &o)
		if err != nil {
			return nil, err
		}
		return &Page[*Contact]{Items: l.Data, Cursor: cursor, Next: resp.NextCursor, TotalCount: l.TotalCount, Response: resp}, nil
	})
}

// All yields every contact from opts.StartingAfter on.
func (s *ContactsService) All(ctx context.Context, opts ListOptions) iter.Seq2[*Contact, error] {
	return flatten(s.Pages(ctx, opts))
}

// Search fetches one page of a contact search (POST /contacts/search).
// Dates match by calendar day in 2.11; see UpdatedSince.
func (s *ContactsService) Search(ctx context.Context, req *SearchRequest) (*ContactList, *Response, error) {
	if req == nil {
		return nil, nil, fmt.Errorf("%w: nil search request", ErrInvalidQuery)
	}
	if err := req.Query.validateContactDates(); err != nil {
		return nil, nil, err
	}
	body, err := req.body()
	if err != nil {
		return nil, nil, err
	}
	var out ContactList
	// A search reads: repeating it is safe.
	resp, err := s.c.do(ctx, call{method: http.MethodPost, path: "/contacts/search", tmpl: "/contacts/search", body: body,
		class: ClassSearch, idempotent: true}, &out)
	if err != nil {
		return nil, resp, err
	}
	resp.NextCursor = out.Pages.cursor()
	return &out, resp, nil
}

// SearchPages walks a contact search page by page from req.StartingAfter.
func (s *ContactsService) SearchPages(ctx context.Context, req SearchRequest) iter.Seq2[*Page[*Contact], error] {
	return cursorPages(ctx, req.StartingAfter, func(ctx context.Context, cursor string) (*Page[*Contact], error) {
		r := req
		r.StartingAfter = cursor
		l, resp, err := s.Search(ctx, &r)
		if err != nil {
			return nil, err
		}
		return &Page[*Contact]{Items: l.Data, Cursor: cursor, Next: resp.NextCursor, TotalCount: l.TotalCount, Response: resp}, nil
	})
}

// SearchAll yields every contact a search matches.
func (s *ContactsService) SearchAll(ctx context.Context, req SearchRequest) iter.Seq2[*Contact, error] {
	return flatten(s.SearchPages(ctx, req))
}

// Get fetches a contact by Intercom id (GET /contacts/{id}). A contact
// merged into another answers ErrNotFound.
func (s *ContactsService) Get(ctx context.Context, id string) (*Contact, *Response, error) {
	if err := checkID("contact", id); err != nil {
		return nil, nil, err
	}
	var out Contact
	resp, err := s.c.do(ctx, call{method: http.MethodGet, path: "/contacts/" + pathID(id), tmpl: "/contacts/{id}", idempotent: true}, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// ContactUpdate is the body of PUT /contacts/{id}; nil fields are left
// unchanged.
type ContactUpdate struct {
	Role                   *string        `json:"role,omitempty"`
	ExternalID             *string        `json:"external_id,omitempty"`
	Email                  *string        `json:"email,omitempty"`
	Phone                  *string        `json:"phone,omitempty"`
	Name                   *string        `json:"name,omitempty"`
	Avatar                 *string        `json:"avatar,omitempty"`
	SignedUpAt             *int64         `json:"signed_up_at,omitempty"`
	LastSeenAt             *int64         `json:"last_seen_at,omitempty"`
	OwnerID                *int64         `json:"owner_id,omitempty"`
	UnsubscribedFromEmails *bool          `json:"unsubscribed_from_emails,omitempty"`
	CustomAttributes       map[string]any `json:"custom_attributes,omitempty"`
}

// Update changes a contact (PUT /contacts/{id}), e.g. to mirror a Brevo
// unsubscribe with UnsubscribedFromEmails. The same body sent twice gives
// the same contact, so the call is retried like a read.
func (s *ContactsService) Update(ctx context.Context, id string, u *ContactUpdate) (*Contact, *Response, error) {
	if err := checkID("contact", id); err != nil {
		return nil, nil, err
	}
	if u == nil {
		return nil, nil, fmt.Errorf("intercom: nil contact update")
	}
	var out Contact
	resp, err := s.c.do(ctx, call{method: http.MethodPut, path: "/contacts/" + pathID(id), tmpl: "/contacts/{id}", body: u, idempotent: true}, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// ListTags fetches all tags of a contact (GET /contacts/{id}/tags), the
// complete list behind an embedded tags list with has_more.
func (s *ContactsService) ListTags(ctx context.Context, id string) ([]*Tag, *Response, error) {
	if err := checkID("contact", id); err != nil {
		return nil, nil, err
	}
	var out struct {
		Data []*Tag `json:"data"`
	}
	resp, err := s.c.do(ctx, call{method: http.MethodGet, path: "/contacts/" + pathID(id) + "/tags", tmpl: "/contacts/{id}/tags", idempotent: true}, &out)
	if err != nil {
		return nil, resp, err
	}
	return out.Data, resp, nil
}

// ContactCompanyList is a page of a contact's companies.
type ContactCompanyList struct {
	Type       string     `json:"type"`
	Data       []*Company `json:"data"`
	TotalCount int        `json:"total_count"`
	Pages      *PagesLink `json:"pages"`
}

// PagesLink is the "pages" object of page-numbered lists.
type PagesLink struct {
	Type       string `json:"type"`
	Page       int    `json:"page"`
	PerPage    int    `json:"per_page"`
	TotalPages int    `json:"total_pages"`
}

// ListCompanies fetches a page of a contact's companies (GET
// /contacts/{id}/companies).
func (s *ContactsService) ListCompanies(ctx context.Context, id string, opts *PageOptions) (*ContactCompanyList, *Response, error) {
	if err := checkID("contact", id); err != nil {
		return nil, nil, err
	}
	var o PageOptions
	if opts != nil {
		o = *opts
	}
	q, err := pageQuery(o, 50)
	if err != nil {
		return nil, nil, err
	}
	var out struct {
		ContactCompanyList
		// The 2.11 schema (contact_attached_companies) names the array
		// "companies"; the documented example and real responses use
		// "data". Accept both.
		Companies []*Company `json:"companies"`
	}
	resp, err := s.c.do(ctx, call{method: http.MethodGet, path: "/contacts/" + pathID(id) + "/companies", tmpl: "/contacts/{id}/companies",
		query: q, idempotent: true}, &out)
	if err != nil {
		return nil, resp, err
	}
	l := out.ContactCompanyList
	if l.Data == nil {
		l.Data = out.Companies
	}
	if l.Pages != nil {
		resp.Page, resp.TotalPages = l.Pages.Page, l.Pages.TotalPages
	}
	return &l, resp, nil
}

// AllCompanies yields every company of a contact.
func (s *ContactsService) AllCompanies(ctx context.Context, id string) iter.Seq2[*Company, error] {
	return flattenSlices(numberedPages(ctx, 1, func(ctx context.Context, page int) ([]*Company, *Response, error) {
		l, resp, err := s.ListCompanies(ctx, id, &PageOptions{Page: page})
		if err != nil {
			return nil, resp, err
		}
		return l.Data, resp, nil
	}))
}

// Expand completes a contact's embedded tags and companies: Intercom
// embeds at most 10 of each and sets has_more when there are others. It
// fetches the full lists only when has_more is set, and fills ListRef.Name
// for what it fetched.
func (s *ContactsService) Expand(ctx context.Context, c *Contact) error {
	if c.Tags != nil && c.Tags.HasMore {
		tags, _, err := s.ListTags(ctx, c.ID)
		if err != nil {
			return err
		}
		refs := make([]*ListRef, 0, len(tags))
		for _, t := range tags {
			refs = append(refs, &ListRef{Type: "tag", ID: t.ID, URL: "/tags/" + string(t.ID), Name: t.Name})
		}
		c.Tags.Data, c.Tags.HasMore, c.Tags.TotalCount = refs, false, len(refs)
	}
	if c.Companies != nil && c.Companies.HasMore {
		var refs []*ListRef
		for co, err := range s.AllCompanies(ctx, c.ID) {
			if err != nil {
				return err
			}
			refs = append(refs, &ListRef{Type: "company", ID: ID(co.ID), URL: "/companies/" + co.ID, Name: co.Name})
		}
		c.Companies.Data, c.Companies.HasMore, c.Companies.TotalCount = refs, false, len(refs)
	}
	return nil
}
