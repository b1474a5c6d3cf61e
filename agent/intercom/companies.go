package intercom

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"time"

	"github.com/tajo/terraform-provider-tajo/agent/backoff"
)

// CompaniesService is the companies API
// (https://developers.intercom.com/docs/references/2.11/rest-api/api.intercom.io/companies).
type CompaniesService service

// Company is a company. Raw keeps the JSON as received.
type Company struct {
	Type            string    `json:"type"`
	ID              string    `json:"id"`
	CompanyID       string    `json:"company_id"`
	AppID           string    `json:"app_id"`
	Name            string    `json:"name"`
	Plan            *Plan     `json:"plan"`
	RemoteCreatedAt Timestamp `json:"remote_created_at"`
	CreatedAt       Timestamp `json:"created_at"`
	UpdatedAt       Timestamp `json:"updated_at"`
	LastRequestAt   Timestamp `json:"last_request_at"`
	// Size is the number of employees.
	Size     int64  `json:"size"`
	Website  string `json:"website"`
	Industry string `json:"industry"`
	// MonthlySpend is a number: Intercom documents an integer but stores
	// what it is sent.
	MonthlySpend     float64        `json:"monthly_spend"`
	SessionCount     int64          `json:"session_count"`
	UserCount        int64          `json:"user_count"`
	CustomAttributes map[string]any `json:"custom_attributes"`
	Tags             *TagList       `json:"tags"`
	Segments         *struct {
		Type     string            `json:"type"`
		Segments []json.RawMessage `json:"segments"`
	} `json:"segments"`

	// Raw is the company's JSON as received.
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes leniently (unknown fields are kept in Raw).
func (c *Company) UnmarshalJSON(b []byte) error {
	type plain Company
	raw, err := keepRaw(b, (*plain)(c))
	c.Raw = raw
	return err
}

// Extra returns the fields of Raw this type does not declare.
func (c *Company) Extra() map[string]json.RawMessage { return extra(c.Raw, c) }

// Plan is a company's plan; empty when it has none ("plan": {}).
type Plan struct {
	Type string `json:"type"`
	ID   ID     `json:"id"`
	Name string `json:"name"`
}

// CompanyScroll is one page of a company scroll.
type CompanyScroll struct {
	Type        string     `json:"type"`
	Data        []*Company `json:"data"`
	TotalCount  int        `json:"total_count"`
	ScrollParam string     `json:"scroll_param"`
}

// Scroll fetches one page of the company scroll (GET /companies/scroll):
// scrollParam "" opens a new scroll, otherwise it continues the scroll
// whose scroll_param the previous page returned. Use ScrollAll unless you
// need the pages: it handles the scroll's rules.
func (s *CompaniesService) Scroll(ctx context.Context, scrollParam string) (*CompanyScroll, *Response, error) {
	cl := call{method: http.MethodGet, path: "/companies/scroll", tmpl: "/companies/scroll"}
	if scrollParam == "" {
		// Opening spends the scroll budget. It is repeatable: a failed
		// open that did open a scroll shows up as scroll_exists, which
		// ScrollAll waits out.
		cl.class, cl.idempotent = ClassScroll, true
	} else {
		// A page of an open scroll is not repeated here: whether the
		// server moved on is unknown, and the scroll cannot resume after
		// an error anyway; ScrollAll restarts it.
		cl.query = url.Values{"scroll_param": {scrollParam}}
	}
	var out CompanyScroll
	resp, err := s.c.do(ctx, cl, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// ScrollAll yields every company once, through the scroll API, which
// (unlike POST /companies/list) reaches past 10,000 companies. It follows
// the scroll's rules:
//
//   - one open scroll per app: the client runs one ScrollAll at a time,
//     and when Intercom answers scroll_exists (another process's scroll,
//     or one this client abandoned) it waits — the other scroll expires
//     after a minute unused — and tries again, paced by the scroll-open
//     budget;
//   - the documented 500 "Please restart the scroll operation" (and any
//     other failure of a page: network error, expired scroll_param)
//     cannot be resumed: it starts the scroll over, skipping companies it
//     already yielded, so that none is yielded twice.
//
// Restarts are bounded by the retry policy's Attempts; scroll_exists
// waits by time (WithScrollWait, default two minutes), since the other
// scroll — one whose page this client lost to a timeout, say — stays
// open until Intercom expires it, longer than the retry policy lasts. A
// second ScrollAll on the same client waits for the first to
// end, so do not start one inside the loop of another.
func (s *CompaniesService) ScrollAll(ctx context.Context) iter.Seq2[*Company, error] {
	return func(yield func(*Company, error) bool) {
		c := s.c
		c.scrollMu.Lock()
		defer c.scrollMu.Unlock()
		seen := map[string]struct{}{}
		param := ""
		restarts, waits := 0, 0
		var blocked time.Time // since when scroll_exists is answered
		for {
			page, _, err := s.Scroll(ctx, param)
			switch {
			case err == nil:
			case ctx.Err() != nil:
				yield(nil, err)
				return
			case param == "" && errors.Is(err, ErrScrollExists):
				waits++
				if blocked.IsZero() {
					blocked = c.now()
				}
				if waits >= c.retry.Attempts && c.now().Sub(blocked) >= c.scrollWait {
					yield(nil, fmt.Errorf("intercom: company scroll: still blocked by another open scroll after %s (%d tries): %w",
						c.now().Sub(blocked).Round(time.Second), waits, err))
					return
				}
				d := c.retry.Delay(waits)
				c.log.Warn("another company scroll is open, waiting", "attempt", waits, "delay", d)
				if err := backoff.Sleep(ctx, d); err != nil {
					yield(nil, err)
					return
				}
				continue
			case param != "" && restartable(err):
				restarts++
				if restarts >= c.retry.Attempts {
					yield(nil, fmt.Errorf("intercom: company scroll: gave up after %d restarts: %w", restarts, err))
					return
				}
				c.log.Warn("company scroll failed, restarting it", "restart", restarts, "reason", err.Error(), "seen", len(seen))
				param = ""
				continue
			default:
				yield(nil, err)
				return
			}
			if len(page.Data) == 0 {
				return // the end; the scroll_param has expired
			}
			for _, co := range page.Data {
				if _, dup := seen[co.ID]; dup {
					continue
				}
				seen[co.ID] = struct{}{}
				if !yield(co, nil) {
					return
				}
			}
			if page.ScrollParam == "" {
				yield(nil, errors.New("intercom: company scroll: a page without scroll_param"))
				return
			}
			param = page.ScrollParam
		}
	}
}

// restartable reports failures of a scroll page after which the scroll
// must start over.
func restartable(err error) bool {
	var te *transportError
	switch {
	case errors.Is(err, ErrScrollRestart), errors.Is(err, ErrServer), errors.As(err, &te):
		return true
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrInvalid):
		// An expired or unknown scroll_param.
		return !errors.Is(err, ErrScrollExists)
	}
	return false
}

// CompanyListOptions page through POST /companies/list.
type CompanyListOptions struct {
	PageOptions
	// Order is "asc" or "desc" (default) by last_request_at.
	Order string
}

// CompanyList is a page of companies.
type CompanyList struct {
	Type       string       `json:"type"`
	Data       []*Company   `json:"data"`
	TotalCount int          `json:"total_count"`
	Pages      *CursorPages `json:"pages"`
}

// List fetches a page of companies (POST /companies/list), sorted by
// last_request_at. Intercom leaves out companies without contacts and
// serves at most 10,000; ScrollAll has neither limit.
func (s *CompaniesService) List(ctx context.Context, opts *CompanyListOptions) (*CompanyList, *Response, error) {
	var o CompanyListOptions
	if opts != nil {
		o = *opts
	}
	q, err := pageQuery(o.PageOptions, 50)
	if err != nil {
		return nil, nil, err
	}
	if o.Order != "" {
		if o.Order != "asc" && o.Order != "desc" {
			return nil, nil, fmt.Errorf("intercom: company order must be asc or desc, got %q", o.Order)
		}
		q["order"] = []string{o.Order}
	}
	var out CompanyList
	// POST, but a read: safe to repeat.
	resp, err := s.c.do(ctx, call{method: http.MethodPost, path: "/companies/list", tmpl: "/companies/list", query: q, idempotent: true}, &out)
	if err != nil {
		return nil, resp, err
	}
	if out.Pages != nil {
		resp.Page, resp.TotalPages = out.Pages.Page, out.Pages.TotalPages
	}
	return &out, resp, nil
}

// ListAll yields every company POST /companies/list reaches.
func (s *CompaniesService) ListAll(ctx context.Context, opts CompanyListOptions) iter.Seq2[*Company, error] {
	return flattenSlices(numberedPages(ctx, opts.Page, func(ctx context.Context, page int) ([]*Company, *Response, error) {
		o := opts
		o.Page = page
		l, resp, err := s.List(ctx, &o)
		if err != nil {
			return nil, resp, err
		}
		return l.Data, resp, nil
	}))
}

// Get fetches a company by Intercom id (GET /companies/{id}).
func (s *CompaniesService) Get(ctx context.Context, id string) (*Company, *Response, error) {
	if err := checkID("company", id); err != nil {
		return nil, nil, err
	}
	var out Company
	resp, err := s.c.do(ctx, call{method: http.MethodGet, path: "/companies/" + pathID(id), tmpl: "/companies/{id}", idempotent: true}, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

// ListContacts fetches a page of a company's contacts (GET
// /companies/{id}/contacts).
func (s *CompaniesService) ListContacts(ctx context.Context, id string, opts *PageOptions) (*ContactList, *Response, error) {
	if err := checkID("company", id); err != nil {
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
	var out ContactList
	resp, err := s.c.do(ctx, call{method: http.MethodGet, path: "/companies/" + pathID(id) + "/contacts", tmpl: "/companies/{id}/contacts",
		query: q, idempotent: true}, &out)
	if err != nil {
		return nil, resp, err
	}
	if out.Pages != nil {
		resp.Page, resp.TotalPages = out.Pages.Page, out.Pages.TotalPages
	}
	return &out, resp, nil
}

// AllContacts yields every contact of a company.
func (s *CompaniesService) AllContacts(ctx context.Context, id string) iter.Seq2[*Contact, error] {
	return flattenSlices(numberedPages(ctx, 1, func(ctx context.Context, page int) ([]*Contact, *Response, error) {
		l, resp, err := s.ListContacts(ctx, id, &PageOptions{Page: page})
		if err != nil {
			return nil, resp, err
		}
		return l.Data, resp, nil
	}))
}
