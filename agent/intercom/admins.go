package intercom

import (
	"context"
	"net/http"
)

// AdminsService is the admins API
// (https://developers.intercom.com/docs/references/2.11/rest-api/api.intercom.io/admins).
type AdminsService service

// Admin is the admin a token belongs to, with its workspace.
type Admin struct {
	Type          string `json:"type"`
	ID            ID     `json:"id"`
	Name          string `json:"name"`
	Email         string `json:"email"`
	EmailVerified bool   `json:"email_verified"`
	JobTitle      string `json:"job_title"`
	HasInboxSeat  bool   `json:"has_inbox_seat"`
	TeamIDs       []ID   `json:"team_ids"`
	App           *App   `json:"app"`
	Avatar        *struct {
		Type     string `json:"type"`
		ImageURL string `json:"image_url"`
	} `json:"avatar"`
}

// App is a workspace ("app" in Intercom's older terms).
type App struct {
	Type   string `json:"type"`
	IDCode string `json:"id_code"`
	Name   string `json:"name"`
	// Region is "US", "EU" or "AU": the regional host to use.
	Region               string    `json:"region"`
	Timezone             string    `json:"timezone"`
	CreatedAt            Timestamp `json:"created_at"`
	IdentityVerification bool      `json:"identity_verification"`
	Secure               bool      `json:"secure"`
}

// Me fetches the admin the token belongs to and its workspace (GET /me):
// the connection test, and the way to learn a token's region.
func (s *AdminsService) Me(ctx context.Context) (*Admin, *Response, error) {
	var out Admin
	resp, err := s.c.do(ctx, call{method: http.MethodGet, path: "/me", tmpl: "/me", idempotent: true}, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}
