package brevo

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"strconv"
)

// ListsService handles /contacts/lists and /contacts/folders: lists,
// folders and list membership.
//
// Brevo API docs: https://developers.brevo.com/reference/add-contact-to-list
type ListsService service

// MaxListBatch is the most identifiers one add/remove call takes
// (addContactToListBy*: maxItems 150).
const MaxListBatch = 150

// MaxListsPage is the largest page of lists and folders.
const MaxListsPage = 50

// MaxListContactsPage is the largest page of GET /contacts/lists/{id}/contacts.
const MaxListContactsPage = 500

// List is a contact list (getList / getExtendedList).
type List struct {
	ID                int64  `json:"id"`
	Name              string `json:"name"`
	FolderID          int64  `json:"folderId,omitempty"`
	TotalBlacklisted  int64  `json:"totalBlacklisted"`
	TotalSubscribers  int64  `json:"totalSubscribers"`
	UniqueSubscribers int64  `json:"uniqueSubscribers"`
	// CreatedAt and DynamicList come with Get only.
	CreatedAt   Time `json:"createdAt,omitzero"`
	DynamicList bool `json:"dynamicList,omitempty"`
}

// ListsPage is one page of lists.
type ListsPage struct {
	Lists []*List `json:"lists"`
	Count int64   `json:"count"`
}

// ListPage returns one page of lists (GET /contacts/lists; Limit ≤ 50).
func (s *ListsService) ListPage(ctx context.Context, p *Page) (*ListsPage, *Response, error) {
	return getPage[ListsPage](ctx, s.client, "/contacts/lists", "/contacts/lists", p, MaxListsPage)
}

// All iterates over every list.
func (s *ListsService) All(ctx context.Context, p *Page) iter.Seq2[*List, error] {
	return paginate(ctx, pageOrZero(p), MaxListsPage, func(ctx context.Context, p Page) ([]*List, int64, error) {
		page, _, err := s.ListPage(ctx, &p)
		if err != nil {
			return nil, 0, err
		}
		return page.Lists, page.Count, nil
	})
}

// Get returns one list (GET /contacts/lists/{listId}).
func (s *ListsService) Get(ctx context.Context, id int64) (*List, *Response, error) {
	r := s.client.newRequest(http.MethodGet, "/contacts/lists/{listId}", "/contacts/lists/"+strconv.FormatInt(id, 10))
	r.safe = true
	l := &List{}
	r.out = l
	resp, err := s.client.do(ctx, r)
	if err != nil {
		return nil, resp, err
	}
	return l, resp, nil
}

// CreateList is the body of POST /contacts/lists; both fields are required.
type CreateList struct {
	Name     string `json:"name"`
	FolderID int64  `json:"folderId"`
}

// Create creates a list and returns its id (POST /contacts/lists). Not
// retried after an ambiguous failure: a repeat would create a second list.
func (s *ListsService) Create(ctx context.Context, body *CreateList) (int64, *Response, error) {
	if body == nil || body.Name == "" || body.FolderID <= 0 {
		return 0, nil, invalid("a list needs a name and a folder id")
	}
	return create(ctx, s.client, "/contacts/lists", body)
}

// Members iterates over the contacts of a list
// (GET /contacts/lists/{listId}/contacts, 500 a page).
func (s *ListsService) Members(ctx context.Context, listID int64, p *Page) iter.Seq2[*Contact, error] {
	path := "/contacts/lists/" + strconv.FormatInt(listID, 10) + "/contacts"
	return paginate(ctx, pageOrZero(p), MaxListContactsPage, func(ctx context.Context, p Page) ([]*Contact, int64, error) {
		page, _, err := getPage[ContactsPage](ctx, s.client, "/contacts/lists/{listId}/contacts", path, &p, MaxListContactsPage)
		if err != nil {
			return nil, 0, err
		}
		return page.Contacts, page.Count, nil
	})
}

// Folder is a folder of lists (getFolder).
type Folder struct {
	ID                int64  `json:"id"`
	Name              string `json:"name"`
	TotalBlacklisted  int64  `json:"totalBlacklisted"`
	TotalSubscribers  int64  `json:"totalSubscribers"`
	UniqueSubscribers int64  `json:"uniqueSubscribers"`
}

// FoldersPage is one page of folders.
type FoldersPage struct {
	Folders []*Folder `json:"folders"`
	Count   int64     `json:"count"`
}

// FoldersPage returns one page of folders (GET /contacts/folders; Limit ≤ 50).
func (s *ListsService) FoldersPage(ctx context.Context, p *Page) (*FoldersPage, *Response, error) {
	return getPage[FoldersPage](ctx, s.client, "/contacts/folders", "/contacts/folders", p, MaxListsPage)
}

// Folders iterates over every folder.
func (s *ListsService) Folders(ctx context.Context, p *Page) iter.Seq2[*Folder, error] {
	return paginate(ctx, pageOrZero(p), MaxListsPage, func(ctx context.Context, p Page) ([]*Folder, int64, error) {
		page, _, err := s.FoldersPage(ctx, &p)
		if err != nil {
			return nil, 0, err
		}
		return page.Folders, page.Count, nil
	})
}

// CreateFolder creates a folder and returns its id (POST /contacts/folders).
func (s *ListsService) CreateFolder(ctx context.Context, name string) (int64, *Response, error) {
	if name == "" {
		return 0, nil, invalid("a folder needs a name")
	}
	return create(ctx, s.client, "/contacts/folders", struct {
		Name string `json:"name"`
	}{name})
}

// ListResult aggregates the answers of the add/remove calls one operation
// took. Failure holds identifiers Brevo did not add or remove: already in
// (or not in) the list, or no such contact.
type ListResult[T string | int64] struct {
	Success []T
	Failure []T
	// Requests is how many calls were made.
	Requests int
	// Done is how many input identifiers the answered calls carried: on
	// error, ids[:Done] were processed.
	Done int
}

// AddExtIDs adds contacts to a list by ext_id, 150 per call.
func (s *ListsService) AddExtIDs(ctx context.Context, listID int64, extIDs []string) (*ListResult[string], *Response, error) {
	return membership(ctx, s.client, "add", listID, "extIds", extIDs)
}

// AddEmails adds contacts to a list by email, 150 per call.
func (s *ListsService) AddEmails(ctx context.Context, listID int64, emails []string) (*ListResult[string], *Response, error) {
	return membership(ctx, s.client, "add", listID, "emails", emails)
}

// AddIDs adds contacts to a list by Brevo id, 150 per call.
func (s *ListsService) AddIDs(ctx context.Context, listID int64, ids []int64) (*ListResult[int64], *Response, error) {
	return membership(ctx, s.client, "add", listID, "ids", ids)
}

// RemoveExtIDs removes contacts from a list by ext_id, 150 per call.
func (s *ListsService) RemoveExtIDs(ctx context.Context, listID int64, extIDs []string) (*ListResult[string], *Response, error) {
	return membership(ctx, s.client, "remove", listID, "extIds", extIDs)
}

// RemoveEmails removes contacts from a list by email, 150 per call.
func (s *ListsService) RemoveEmails(ctx context.Context, listID int64, emails []string) (*ListResult[string], *Response, error) {
	return membership(ctx, s.client, "remove", listID, "emails", emails)
}

// RemoveIDs removes contacts from a list by Brevo id, 150 per call.
func (s *ListsService) RemoveIDs(ctx context.Context, listID int64, ids []int64) (*ListResult[int64], *Response, error) {
	return membership(ctx, s.client, "remove", listID, "ids", ids)
}

// RemoveAllResult is the answer to removing every contact of a list.
type RemoveAllResult struct {
	// ProcessID is the background process doing it.
	ProcessID int64 `json:"processId"`
	// Total is how many contacts it removes.
	Total int64 `json:"total"`
}

// RemoveAll removes every contact from a list (asynchronously, as a
// process).
func (s *ListsService) RemoveAll(ctx context.Context, listID int64) (*RemoveAllResult, *Response, error) {
	r := s.client.newRequest(http.MethodPost, "/contacts/lists/{listId}/contacts/remove",
		"/contacts/lists/"+strconv.FormatInt(listID, 10)+"/contacts/remove")
	r.body = struct {
		All bool `json:"all"`
	}{true}
	r.safe = true
	var out struct {
		Contacts RemoveAllResult `json:"contacts"`
	}
	r.out = &out
	resp, err := s.client.do(ctx, r)
	if err != nil {
		return nil, resp, err
	}
	return &out.Contacts, resp, nil
}

// membership adds or removes ids in chunks of MaxListBatch. Adding and
// removing are idempotent, so each call is retried after ambiguous
// failures; an id a retried call had already handled then shows in
// Failure ("already in list") rather than Success. Duplicates in the input
// are sent once.
func membership[T string | int64](ctx context.Context, c *Client, op string, listID int64, key string, ids []T) (*ListResult[T], *Response, error) {
	if len(ids) == 0 {
		return nil, nil, invalid("no contacts to %s", op)
	}
	ids = dedupe(ids)
	tmpl := "/contacts/lists/{listId}/contacts/" + op
	path := "/contacts/lists/" + strconv.FormatInt(listID, 10) + "/contacts/" + op
	res := &ListResult[T]{}
	var resp *Response
	for _, part := range chunks(ids, MaxListBatch) {
		r := c.newRequest(http.MethodPost, tmpl, path)
		r.body = map[string][]T{key: part}
		r.safe = true
		var out struct {
			Contacts struct {
				Success []T `json:"success"`
				Failure []T `json:"failure"`
			} `json:"contacts"`
		}
		r.out = &out
		var err error
		if resp, err = c.do(ctx, r); err != nil {
			return res, resp, err
		}
		res.Requests++
		res.Done += len(part)
		res.Success = append(res.Success, out.Contacts.Success...)
		res.Failure = append(res.Failure, out.Contacts.Failure...)
	}
	return res, resp, nil
}

func pageOrZero(p *Page) Page {
	if p == nil {
		return Page{}
	}
	return *p
}

// getPage GETs one page of an offset-paginated endpoint into a T.
func getPage[T any](ctx context.Context, c *Client, tmpl, path string, p *Page, maxLimit int) (*T, *Response, error) {
	q := url.Values{}
	if p != nil {
		if p.Limit > maxLimit {
			return nil, nil, invalid("limit %d exceeds %d", p.Limit, maxLimit)
		}
		p.query(q)
	}
	r := c.newRequest(http.MethodGet, tmpl, path)
	r.query = q
	r.safe = true
	out := new(T)
	r.out = out
	resp, err := c.do(ctx, r)
	if err != nil {
		return nil, resp, err
	}
	return out, resp, nil
}

// create POSTs body and returns the {"id": n} of the answer.
func create(ctx context.Context, c *Client, path string, body any) (int64, *Response, error) {
	r := c.newRequest(http.MethodPost, path, path)
	r.body = body
	var out struct {
		ID int64 `json:"id"`
	}
	r.out = &out
	resp, err := c.do(ctx, r)
	if err != nil {
		return 0, resp, err
	}
	return out.ID, resp, nil
}
