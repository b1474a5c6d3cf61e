package brevo

import (
	"context"
	"net/http"
)

// AccountService handles /account: the connection test reads it to prove
// the key works without touching contacts.
//
// Brevo API docs: https://developers.brevo.com/reference/get-account
type AccountService service

// Account is the account the API key belongs to (getAccount, abridged).
type Account struct {
	Email       string        `json:"email"`
	FirstName   string        `json:"firstName"`
	LastName    string        `json:"lastName"`
	CompanyName string        `json:"companyName"`
	Plan        []AccountPlan `json:"plan"`
}

// AccountPlan is one plan of the account.
type AccountPlan struct {
	Type        string  `json:"type"`
	CreditsType string  `json:"creditsType"`
	Credits     float64 `json:"credits"`
	StartDate   string  `json:"startDate,omitempty"`
	EndDate     string  `json:"endDate,omitempty"`
}

// Get returns the account (GET /account).
func (s *AccountService) Get(ctx context.Context) (*Account, *Response, error) {
	r := s.client.newRequest(http.MethodGet, "/account", "/account")
	r.safe = true
	a := &Account{}
	r.out = a
	resp, err := s.client.do(ctx, r)
	if err != nil {
		return nil, resp, err
	}
	return a, resp, nil
}
