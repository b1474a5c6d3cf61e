package brevo

import (
	"context"
	"encoding/json"
	"errors"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// ContactsService handles /contacts: single contacts, batch updates,
// listing and imports (import.go).
//
// Brevo API docs: https://developers.brevo.com/reference/create-contact
type ContactsService service

// IdentifierType says how the identifier in /contacts/{identifier} is to
// be read.
type IdentifierType string

// Identifier types (the identifierType query parameter).
const (
	IdentifierEmail     IdentifierType = "email_id"
	IdentifierContactID IdentifierType = "contact_id"
	IdentifierExtID     IdentifierType = "ext_id"
	IdentifierPhone     IdentifierType = "phone_id"
	IdentifierWhatsApp  IdentifierType = "whatsapp_id"
	IdentifierLandline  IdentifierType = "landline_number_id"
)

// Identifier addresses one contact. The client always sends its type:
// without identifierType Brevo guesses only email, phone and contact id
// (GET) or email and contact id (PUT, DELETE), so an ext id would be taken
// for something else.
type Identifier struct {
	Type  IdentifierType
	Value string
}

// ByEmail addresses a contact by email.
func ByEmail(email string) Identifier { return Identifier{IdentifierEmail, email} }

// ByExtID addresses a contact by its ext_id (the Intercom contact id).
func ByExtID(extID string) Identifier { return Identifier{IdentifierExtID, extID} }

// ByID addresses a contact by its Brevo id.
func ByID(id int64) Identifier {
	return Identifier{IdentifierContactID, strconv.FormatInt(id, 10)}
}

// ByPhone addresses a contact by its SMS attribute (with country code).
func ByPhone(phone string) Identifier { return Identifier{IdentifierPhone, phone} }

func (i Identifier) validate() error {
	if i.Value == "" || i.Type == "" {
		return invalid("contact identifier needs a type and a value")
	}
	return nil
}

func (i Identifier) query() url.Values { return url.Values{"identifierType": {string(i.Type)}} }

// Contact is a Brevo contact (getContactDetails).
type Contact struct {
	ID    int64  `json:"id"`
	Email string `json:"email,omitempty"`
	// ExtID is the contact's ext_id. The spec's contact shape has no ext_id
	// field; identifierType=ext_id is documented as "the EXT_ID attribute",
	// so the client reads attributes.EXT_ID (and a top-level ext_id, should
	// Brevo add one). UNVERIFIED against a live account.
	ExtID            string         `json:"ext_id,omitempty"`
	EmailBlacklisted bool           `json:"emailBlacklisted"`
	SMSBlacklisted   bool           `json:"smsBlacklisted"`
	CreatedAt        Time           `json:"createdAt"`
	ModifiedAt       Time           `json:"modifiedAt"`
	ListIDs          []int64        `json:"listIds"`
	ListUnsubscribed []int64        `json:"listUnsubscribed,omitempty"`
	Attributes       map[string]any `json:"attributes"`
}

// AttributeExtID is the attribute that holds a contact's ext_id.
const AttributeExtID = "EXT_ID"

// AttributeSMS is the attribute that holds a contact's phone number.
const AttributeSMS = "SMS"

// AttributeEmail changes a contact's email in an update.
const AttributeEmail = "EMAIL"

// UnmarshalJSON implements json.Unmarshaler, filling ExtID from the
// EXT_ID attribute when the top level has none.
func (c *Contact) UnmarshalJSON(b []byte) error {
	type plain Contact
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	if p.ExtID == "" {
		if s, ok := stringValue(p.Attributes[AttributeExtID]); ok {
			p.ExtID = s
		}
	}
	*c = Contact(p)
	return nil
}

// CreateContact is the body of POST /contacts. One of Email, ExtID or
// Attributes["SMS"] is required.
type CreateContact struct {
	Email string `json:"email,omitempty"`
	ExtID string `json:"ext_id,omitempty"`
	// Attributes maps UPPER_CASE attribute names to values (number, string,
	// boolean or []string). Brevo silently ignores values whose type does
	// not match the attribute's and names that do not exist.
	Attributes       map[string]any `json:"attributes,omitempty"`
	EmailBlacklisted *bool          `json:"emailBlacklisted,omitempty"`
	SMSBlacklisted   *bool          `json:"smsBlacklisted,omitempty"`
	ListIDs          []int64        `json:"listIds,omitempty"`
	// UpdateEnabled turns the create into an upsert: an existing contact
	// with the same identifier is updated (204) instead of refused.
	UpdateEnabled       bool     `json:"updateEnabled,omitempty"`
	SMTPBlacklistSender []string `json:"smtpBlacklistSender,omitempty"`
}

// ContactResult is the outcome of a create or upsert.
type ContactResult struct {
	// ID is the new contact's id; 0 when an existing contact was updated
	// (Brevo answers 204 without a body then).
	ID int64 `json:"id"`
	// Created is true for 201, false for 204.
	Created bool `json:"-"`
}

// Create creates a contact (POST /contacts). With UpdateEnabled it is an
// upsert and safe to retry; a plain create is not retried after an
// ambiguous failure, because a repeat would be refused as a duplicate of
// the contact the first attempt created.
func (s *ContactsService) Create(ctx context.Context, body *CreateContact) (*ContactResult, *Response, error) {
	if body == nil || (body.Email == "" && body.ExtID == "" && body.Attributes[AttributeSMS] == nil) {
		return nil, nil, invalid("a contact needs an email, an ext_id or an SMS attribute")
	}
	r := s.client.newRequest(http.MethodPost, "/contacts", "/contacts")
	r.body = body
	r.safe = body.UpdateEnabled
	res := &ContactResult{}
	r.out = res
	resp, err := s.client.do(ctx, r)
	if err != nil {
		return nil, resp, err
	}
	res.Created = resp.StatusCode == http.StatusCreated
	return res, resp, nil
}

// Upsert creates the contact or updates the existing one with the same
// email / ext_id / SMS (POST /contacts with updateEnabled=true).
func (s *ContactsService) Upsert(ctx context.Context, body *CreateContact) (*ContactResult, *Response, error) {
	if body == nil {
		return nil, nil, invalid("nil contact")
	}
	b := *body
	b.UpdateEnabled = true
	return s.Create(ctx, &b)
}

// Get returns one contact (GET /contacts/{identifier}).
func (s *ContactsService) Get(ctx context.Context, id Identifier) (*Contact, *Response, error) {
	if err := id.validate(); err != nil {
		return nil, nil, err
	}
	r := s.client.newRequest(http.MethodGet, "/contacts/{identifier}", "/contacts/"+segment(id.Value))
	r.query = id.query()
	r.safe = true
	c := &Contact{}
	r.out = c
	resp, err := s.client.do(ctx, r)
	if err != nil {
		return nil, resp, err
	}
	return c, resp, nil
}

// UpdateContact is the body of PUT /contacts/{identifier}.
type UpdateContact struct {
	// Attributes to set; pass EMAIL to change the email, SMS the phone.
	Attributes map[string]any `json:"attributes,omitempty"`
	// ExtID sets the contact's ext_id.
	ExtID            string `json:"ext_id,omitempty"`
	EmailBlacklisted *bool  `json:"emailBlacklisted,omitempty"`
	SMSBlacklisted   *bool  `json:"smsBlacklisted,omitempty"`
	// ListIDs adds the contact to lists; UnlinkListIDs removes it.
	ListIDs             []int64  `json:"listIds,omitempty"`
	UnlinkListIDs       []int64  `json:"unlinkListIds,omitempty"`
	SMTPBlacklistSender []string `json:"smtpBlacklistSender,omitempty"`
}

// Update changes a contact (PUT /contacts/{identifier}); safe to retry,
// the same body sets the same state.
func (s *ContactsService) Update(ctx context.Context, id Identifier, body *UpdateContact) (*Response, error) {
	if err := id.validate(); err != nil {
		return nil, err
	}
	if body == nil {
		return nil, invalid("nil update")
	}
	r := s.client.newRequest(http.MethodPut, "/contacts/{identifier}", "/contacts/"+segment(id.Value))
	r.query = id.query()
	r.body = body
	r.safe = true
	return s.client.do(ctx, r)
}

// Delete deletes a contact (DELETE /contacts/{identifier}). A 404 on a
// retry counts as success: the first attempt deleted it.
func (s *ContactsService) Delete(ctx context.Context, id Identifier) (*Response, error) {
	if err := id.validate(); err != nil {
		return nil, err
	}
	r := s.client.newRequest(http.MethodDelete, "/contacts/{identifier}", "/contacts/"+segment(id.Value))
	r.query = id.query()
	r.safe = true
	resp, err := s.client.do(ctx, r)
	if err != nil && resp != nil && resp.Attempts > 1 && errors.Is(err, ErrNotFound) {
		return resp, nil
	}
	return resp, err
}

// BatchContact is one item of POST /contacts/batch: exactly one of Email,
// ID or SMS identifies the contact (the batch endpoint cannot address a
// contact by ext_id; ExtID sets it).
type BatchContact struct {
	Email               string         `json:"email,omitempty"`
	ID                  int64          `json:"id,omitempty"`
	SMS                 string         `json:"sms,omitempty"`
	ExtID               string         `json:"ext_id,omitempty"`
	Attributes          map[string]any `json:"attributes,omitempty"`
	EmailBlacklisted    *bool          `json:"emailBlacklisted,omitempty"`
	SMSBlacklisted      *bool          `json:"smsBlacklisted,omitempty"`
	ListIDs             []int64        `json:"listIds,omitempty"`
	UnlinkListIDs       []int64        `json:"unlinkListIds,omitempty"`
	SMTPBlacklistSender []string       `json:"smtpBlacklistSender,omitempty"`
}

// DefaultContactBatchSize is how many contacts one POST /contacts/batch
// carries. Brevo documents no maximum; 100 is the figure commonly cited
// (UNVERIFIED) and keeps a refused batch cheap to redo.
const DefaultContactBatchSize = 100

// BatchResult counts the requests of a chunked call.
type BatchResult struct {
	// Requests sent and accepted.
	Requests int
	// Done is how many items the accepted requests carried, in input
	// order: on error, items[:Done] were applied.
	Done int
}

// UpdateBatch updates existing contacts (POST /contacts/batch) in chunks
// of WithContactBatchSize. It does not create contacts. Safe to retry: the
// same batch sets the same state.
func (s *ContactsService) UpdateBatch(ctx context.Context, contacts []BatchContact) (*BatchResult, *Response, error) {
	for i, c := range contacts {
		n := 0
		if c.Email != "" {
			n++
		}
		if c.ID != 0 {
			n++
		}
		if c.SMS != "" {
			n++
		}
		if n != 1 {
			return nil, nil, invalid("batch contact %d: exactly one of email, id or sms must identify it", i)
		}
	}
	res := &BatchResult{}
	var resp *Response
	for _, part := range chunks(contacts, s.client.batchSize) {
		r := s.client.newRequest(http.MethodPost, "/contacts/batch", "/contacts/batch")
		r.body = struct {
			Contacts []BatchContact `json:"contacts"`
		}{part}
		r.safe = true
		var err error
		if resp, err = s.client.do(ctx, r); err != nil {
			return res, resp, err
		}
		res.Requests++
		res.Done += len(part)
	}
	return res, resp, nil
}

// ListContactsOptions filters GET /contacts.
type ListContactsOptions struct {
	// Page: Limit at most 1,000 (the iterator uses 1,000).
	Page
	// ModifiedSince and CreatedSince filter by time (zero: no filter).
	ModifiedSince time.Time
	CreatedSince  time.Time
	// ListIDs or SegmentID restrict to lists or a segment (not both).
	ListIDs   []int64
	SegmentID int64
	// Filter is Brevo's attribute filter, e.g. `equals(FIRSTNAME,"Ann")`.
	Filter string
}

// MaxContactsPage is the largest page of GET /contacts.
const MaxContactsPage = 1000

// ContactsPage is one page of contacts.
type ContactsPage struct {
	Contacts []*Contact `json:"contacts"`
	// Count is the total number of matching contacts.
	Count int64 `json:"count"`
}

// ListPage returns one page of contacts (GET /contacts).
func (s *ContactsService) ListPage(ctx context.Context, opts *ListContactsOptions) (*ContactsPage, *Response, error) {
	if opts == nil {
		opts = &ListContactsOptions{}
	}
	if opts.Limit > MaxContactsPage {
		return nil, nil, invalid("limit %d exceeds %d", opts.Limit, MaxContactsPage)
	}
	q := url.Values{}
	opts.Page.query(q)
	if !opts.ModifiedSince.IsZero() {
		q.Set("modifiedSince", formatTime(opts.ModifiedSince))
	}
	if !opts.CreatedSince.IsZero() {
		q.Set("createdSince", formatTime(opts.CreatedSince))
	}
	for _, id := range opts.ListIDs {
		q.Add("listIds", strconv.FormatInt(id, 10))
	}
	if opts.SegmentID != 0 {
		q.Set("segmentId", strconv.FormatInt(opts.SegmentID, 10))
	}
	if opts.Filter != "" {
		q.Set("filter", opts.Filter)
	}
	r := s.client.newRequest(http.MethodGet, "/contacts", "/contacts")
	r.query = q
	r.safe = true
	page := &ContactsPage{}
	r.out = page
	resp, err := s.client.do(ctx, r)
	if err != nil {
		return nil, resp, err
	}
	return page, resp, nil
}

// All iterates over every matching contact, 1,000 a page. Use SortAsc when
// contacts are being created meanwhile: new ones then land on later pages
// instead of shifting the ones not yet read.
func (s *ContactsService) All(ctx context.Context, opts *ListContactsOptions) iter.Seq2[*Contact, error] {
	o := ListContactsOptions{}
	if opts != nil {
		o = *opts
	}
	return paginate(ctx, o.Page, MaxContactsPage, func(ctx context.Context, p Page) ([]*Contact, int64, error) {
		o.Page = p
		page, _, err := s.ListPage(ctx, &o)
		if err != nil {
			return nil, 0, err
		}
		return page.Contacts, page.Count, nil
	})
}

// MapExtIDs returns ext_id → Brevo contact id for every contact that has
// an ext_id (after an import, to learn the ids company links need). It
// reads GET /contacts 1,000 at a time in creation order: 100,000 contacts
// cost 100 requests, ten seconds of the contacts budget. Narrow it with
// opts.ModifiedSince (e.g. the import's start).
func (s *ContactsService) MapExtIDs(ctx context.Context, opts *ListContactsOptions) (map[string]int64, error) {
	o := ListContactsOptions{}
	if opts != nil {
		o = *opts
	}
	o.Limit = MaxContactsPage
	if o.Sort == "" {
		o.Sort = SortAsc
	}
	out := map[string]int64{}
	for c, err := range s.All(ctx, &o) {
		if err != nil {
			return out, err
		}
		if c.ExtID != "" {
			out[c.ExtID] = c.ID
		}
	}
	return out, nil
}
