package intercom

import (
	"context"
	"fmt"
	"iter"
)

// ListOptions page through a cursor list (GET /contacts, GET
// /conversations).
type ListOptions struct {
	// PerPage defaults to MaxPerPage.
	PerPage int
	// StartingAfter is the cursor of the page to fetch: "" for the first
	// page, else Page.Next (or Response.NextCursor) of the page before.
	StartingAfter string
}

// PageOptions page through a page-numbered list.
type PageOptions struct {
	// Page is 1-based (default 1).
	Page int
	// PerPage defaults to the endpoint's maximum the client uses.
	PerPage int
}

// Page is one page of a list with its position. A sync checkpoints Next
// after it has processed Items and resumes with
// ListOptions{StartingAfter: Next}.
type Page[T any] struct {
	Items []T
	// Cursor is the starting_after this page was fetched with ("" for
	// the first page).
	Cursor string
	// Next is the cursor of the following page; "" after the last page.
	Next string
	// TotalCount is the total the server reported for the whole list.
	TotalCount int
	// Response is the HTTP response of this page.
	Response *Response
}

// fetchPage gets the page after cursor.
type fetchPage[T any] func(ctx context.Context, cursor string) (*Page[T], error)

// cursorPages follows cursors from start until a page without a next one.
func cursorPages[T any](ctx context.Context, start string, fetch fetchPage[T]) iter.Seq2[*Page[T], error] {
	return func(yield func(*Page[T], error) bool) {
		cur := start
		for {
			p, err := fetch(ctx, cur)
			if err != nil {
				yield(nil, err)
				return
			}
			if !yield(p, nil) {
				return
			}
			if p.Next == "" || len(p.Items) == 0 {
				return
			}
			if p.Next == cur {
				// A server repeating a cursor would loop forever.
				yield(nil, fmt.Errorf("intercom: the server returned the same cursor twice"))
				return
			}
			cur = p.Next
		}
	}
}

// numberedPages walks page-numbered lists from page first until
// total_pages.
func numberedPages[T any](ctx context.Context, first int, fetch func(ctx context.Context, page int) ([]T, *Response, error)) iter.Seq2[[]T, error] {
	return func(yield func([]T, error) bool) {
		for page := max(first, 1); ; page++ {
			items, resp, err := fetch(ctx, page)
			if err != nil {
				yield(nil, err)
				return
			}
			if !yield(items, nil) {
				return
			}
			if len(items) == 0 || resp.TotalPages <= page {
				return
			}
		}
	}
}

// flatten yields the items of pages.
func flatten[T any](pages iter.Seq2[*Page[T], error]) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for p, err := range pages {
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, it := range p.Items {
				if !yield(it, nil) {
					return
				}
			}
		}
	}
}

// flattenSlices yields the items of slices.
func flattenSlices[T any](pages iter.Seq2[[]T, error]) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for items, err := range pages {
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
		}
	}
}

func listQuery(opts ListOptions) (map[string][]string, error) {
	pp, err := perPage(opts.PerPage)
	if err != nil {
		return nil, err
	}
	q := map[string][]string{"per_page": {fmt.Sprint(pp)}}
	if opts.StartingAfter != "" {
		q["starting_after"] = []string{opts.StartingAfter}
	}
	return q, nil
}

func pageQuery(opts PageOptions, def int) (map[string][]string, error) {
	if opts.Page < 0 || opts.PerPage < 0 || opts.PerPage > MaxPerPage {
		return nil, fmt.Errorf("intercom: page must be ≥ 1 and per_page between 1 and %d", MaxPerPage)
	}
	page, pp := max(opts.Page, 1), opts.PerPage
	if pp == 0 {
		pp = def
	}
	return map[string][]string{"page": {fmt.Sprint(page)}, "per_page": {fmt.Sprint(pp)}}, nil
}
