package intercom

import (
	"context"
	"net/http"
)

// TagsService is the tags API
// (https://developers.intercom.com/docs/references/2.11/rest-api/api.intercom.io/tags).
type TagsService service

// List fetches all tags of the workspace (GET /tags).
func (s *TagsService) List(ctx context.Context) ([]*Tag, *Response, error) {
	var out struct {
		Data []*Tag `json:"data"`
	}
	resp, err := s.c.do(ctx, call{method: http.MethodGet, path: "/tags", tmpl: "/tags", idempotent: true}, &out)
	if err != nil {
		return nil, resp, err
	}
	return out.Data, resp, nil
}
