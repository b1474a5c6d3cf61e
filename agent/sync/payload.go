package sync

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/tajo/terraform-provider-tajo/agent/mapping"
	"github.com/tajo/terraform-provider-tajo/agent/store"
)

// Link kinds beyond store.KindContact / store.KindCompany: the cached
// Intercom company (what contact mappings read as company.*) is kept apart
// from the Brevo company written from it.
const kindCompanyData = "company_data"

// contactState is the desired Brevo state of one contact: the payload of a
// pending contact write.
type contactState struct {
	// ExtID is the Intercom contact id, Brevo's ext_id.
	ExtID string `json:"ext_id"`
	Email string `json:"email,omitempty"`
	// Attributes exclude EMAIL (an identifier) and absent sources.
	Attributes map[string]any `json:"attributes,omitempty"`
	// Blacklist sets emailBlacklisted. It is never cleared by the sync: a
	// contact who unsubscribed in Brevo stays unsubscribed (consent).
	Blacklist bool `json:"blacklist,omitempty"`
	// Lists are the managed lists the contact belongs in.
	Lists []int64 `json:"lists,omitempty"`
	// Companies are the contact's Intercom company ids.
	Companies []string `json:"companies,omitempty"`
	// Hash digests ExtID, Email, Attributes and Blacklist.
	Hash      string `json:"hash"`
	UpdatedAt int64  `json:"updated_at,omitempty"`
	Gen       int64  `json:"gen,omitempty"`
	// Delete: the contact is gone from Intercom (deleted, archived,
	// merged away, or no longer synced by the lead policy).
	Delete bool `json:"delete,omitempty"`
	// Merged: it was merged into another contact; its Brevo contact is a
	// duplicate of that one's and is deleted, whatever
	// delete_removed_contacts says (its identifiers are the survivor's now).
	Merged bool `json:"merged,omitempty"`
	// Facts are what the list rules saw; with Attributes they let the
	// engine re-plan the contact when only its conversations change. The
	// state last written is kept as the contact link's Data.
	Facts *Facts `json:"facts,omitempty"`
}

func (s *contactState) seal() {
	s.Hash = mapping.Hash(s.ExtID, s.Email, s.Attributes, s.Blacklist)
}

// contactData is the Data of a contact link.
type contactData struct {
	Companies []string `json:"companies,omitempty"`
}

// companyState is the desired Brevo state of one company.
type companyState struct {
	IntercomID string `json:"intercom_id"`
	Name       string `json:"name"`
	// Attributes are Brevo company attributes by internal name, as text
	// (they travel in a CSV import).
	Attributes map[string]string `json:"attributes,omitempty"`
	Hash       string            `json:"hash"`
	Delete     bool              `json:"delete,omitempty"`
}

// companyLinkData is the Data of a company link: what was written.
type companyLinkData struct {
	// Members are the emails associated last time.
	Members []string `json:"members,omitempty"`
	// Process is the import that created the company, while its Brevo id
	// is not known yet.
	Process int64 `json:"process,omitempty"`
	// Sent is when an import that may have created the company was sent
	// without an answer (a timeout, a crash; Unix ms): Brevo may still
	// apply it, so the company is not created again before
	// Engine.unsentWait has passed.
	Sent int64 `json:"sent,omitempty"`
}

// Brevo company attributes the agent writes. intercom_id and plan are
// created by the agent when missing; the others are Brevo defaults.
const (
	companyAttrIntercomID = "intercom_id"
	companyAttrPlan       = "plan"
)

func companyStateOf(f companyFacts) companyState {
	attrs := map[string]string{companyAttrIntercomID: f.ID}
	if f.Plan != "" {
		attrs[companyAttrPlan] = f.Plan
	}
	if d := domainOf(f.Website); d != "" {
		attrs["domain"] = d
	}
	if f.Industry != "" {
		attrs["industry"] = f.Industry
	}
	if f.Size > 0 {
		attrs["number_of_employees"] = strconv.FormatInt(f.Size, 10)
	}
	name := f.Name
	if name == "" {
		// Brevo requires a name; Intercom does not.
		name = "Intercom company " + f.ID
	}
	s := companyState{IntercomID: f.ID, Name: name, Attributes: attrs}
	s.Hash = mapping.Hash(s.Name, s.Attributes)
	return s
}

// domainOf extracts the host of a website ("https://www.acme.com/x" →
// "www.acme.com"); a bare host is returned as is.
func domainOf(website string) string {
	w := strings.TrimSpace(website)
	if w == "" {
		return ""
	}
	if !strings.Contains(w, "://") {
		w = "https://" + w
	}
	u, err := url.Parse(w)
	if err != nil {
		return ""
	}
	return strings.ToLower(u.Hostname())
}

func encode(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("encode %T: %v", v, err)) // our own types always encode
	}
	return b
}

func decodePayload[T any](p store.Pending) (T, error) {
	var v T
	if err := json.Unmarshal(p.Payload, &v); err != nil {
		return v, fmt.Errorf("pending %s %s in the store is not valid: %w", p.Kind, p.IntercomID, err)
	}
	return v, nil
}

func decodeData[T any](raw json.RawMessage) T {
	var v T
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &v) // unreadable data is treated as none
	}
	return v
}

func sameStrings(a, b []string) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}
