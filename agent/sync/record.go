package sync

import (
	"encoding/json"
	"sort"
	"strings"

	"github.com/tajo/terraform-provider-tajo/agent/config"
	"github.com/tajo/terraform-provider-tajo/agent/intercom"
)

// companyFacts is what the agent keeps of an Intercom company: what contact
// mappings read as company.* and what the Brevo company gets. It is stored
// as the Data of the company's link.
type companyFacts struct {
	ID              string         `json:"id"`
	CompanyID       string         `json:"company_id,omitempty"`
	Name            string         `json:"name,omitempty"`
	Plan            string         `json:"plan,omitempty"`
	Size            int64          `json:"size,omitempty"`
	Website         string         `json:"website,omitempty"`
	Industry        string         `json:"industry,omitempty"`
	MonthlySpend    float64        `json:"monthly_spend,omitempty"`
	SessionCount    int64          `json:"session_count,omitempty"`
	UserCount       int64          `json:"user_count,omitempty"`
	CreatedAt       int64          `json:"created_at,omitempty"`
	RemoteCreatedAt int64          `json:"remote_created_at,omitempty"`
	LastRequestAt   int64          `json:"last_request_at,omitempty"`
	UpdatedAt       int64          `json:"updated_at,omitempty"`
	Custom          map[string]any `json:"custom,omitempty"`
}

func factsOf(c *intercom.Company) companyFacts {
	f := companyFacts{
		ID: c.ID, CompanyID: c.CompanyID, Name: c.Name, Size: c.Size, Website: c.Website, Industry: c.Industry,
		MonthlySpend: c.MonthlySpend, SessionCount: c.SessionCount, UserCount: c.UserCount,
		CreatedAt: int64(c.CreatedAt), RemoteCreatedAt: int64(c.RemoteCreatedAt), LastRequestAt: int64(c.LastRequestAt),
		UpdatedAt: int64(c.UpdatedAt), Custom: c.CustomAttributes,
	}
	if c.Plan != nil {
		f.Plan = c.Plan.Name
	}
	return f
}

// lookup returns the company.* field at key (the path after "company.").
func (f *companyFacts) lookup(key string) (any, bool) {
	if k, ok := strings.CutPrefix(key, "custom_attributes."); ok {
		v, ok := f.Custom[k]
		return v, ok
	}
	switch key {
	case "id":
		return f.ID, true
	case "company_id":
		return nonEmpty(f.CompanyID)
	case "name":
		return nonEmpty(f.Name)
	case "plan":
		return nonEmpty(f.Plan)
	case "size":
		return f.Size, true
	case "website":
		return nonEmpty(f.Website)
	case "industry":
		return nonEmpty(f.Industry)
	case "monthly_spend":
		return f.MonthlySpend, true
	case "session_count":
		return f.SessionCount, true
	case "user_count":
		return f.UserCount, true
	case "created_at":
		return timestamp(f.CreatedAt)
	case "remote_created_at":
		return timestamp(f.RemoteCreatedAt)
	case "last_request_at":
		return timestamp(f.LastRequestAt)
	}
	return nil, false
}

// contactRecord is an Intercom contact as the mappings see it, with its
// primary company and tag names resolved.
type contactRecord struct {
	c       *intercom.Contact
	company *companyFacts
	agg     *aggregates // nil unless conversations are synced
	tags    []string
	extra   map[string]json.RawMessage // fields the client type does not declare, decoded on demand
}

var _ interface {
	Lookup(string) (any, bool)
} = (*contactRecord)(nil)

func nonEmpty(s string) (any, bool) {
	if s == "" {
		return nil, false
	}
	return s, true
}

// timestamp treats 0 (Intercom's null) as absent.
func timestamp(t int64) (any, bool) {
	if t == 0 {
		return nil, false
	}
	return t, true
}

// Lookup implements mapping.Record.
func (r *contactRecord) Lookup(path string) (any, bool) {
	c := r.c
	if k, ok := strings.CutPrefix(path, config.CustomPrefix); ok {
		v, ok := c.CustomAttributes[k]
		return v, ok
	}
	if strings.HasPrefix(path, config.ConversationsPrefix) || strings.HasPrefix(path, config.AIAgentPrefix) {
		if r.agg == nil {
			return nil, false
		}
		return r.agg.lookup(path)
	}
	if k, ok := strings.CutPrefix(path, "company."); ok {
		if r.company == nil {
			return nil, false
		}
		return r.company.lookup(k)
	}
	if k, ok := strings.CutPrefix(path, "location."); ok {
		if c.Location == nil {
			return nil, false
		}
		switch k {
		case "country":
			return nonEmpty(c.Location.Country)
		case "region":
			return nonEmpty(c.Location.Region)
		case "city":
			return nonEmpty(c.Location.City)
		case "country_code":
			return nonEmpty(c.Location.CountryCode)
		case "continent_code":
			return nonEmpty(c.Location.ContinentCode)
		}
		return nil, false
	}
	switch path {
	case "id":
		return c.ID, true
	case "external_id":
		return nonEmpty(c.ExternalID)
	case "email":
		return nonEmpty(c.Email)
	case "email_domain":
		return nonEmpty(c.EmailDomain)
	case "name":
		return nonEmpty(c.Name)
	case "phone":
		// Intercom's own E.164 rendering when it has one.
		if c.FormattedPhone != "" {
			return c.FormattedPhone, true
		}
		return nonEmpty(c.Phone)
	case "role":
		return nonEmpty(c.Role)
	case "owner_id":
		if c.OwnerID == "" {
			return nil, false
		}
		return string(c.OwnerID), true
	case "created_at":
		return timestamp(int64(c.CreatedAt))
	case "updated_at":
		return timestamp(int64(c.UpdatedAt))
	case "signed_up_at":
		return timestamp(int64(c.SignedUpAt))
	case "last_seen_at":
		return timestamp(int64(c.LastSeenAt))
	case "last_replied_at":
		return timestamp(int64(c.LastRepliedAt))
	case "last_contacted_at":
		return timestamp(int64(c.LastContactedAt))
	case "last_email_opened_at":
		return timestamp(int64(c.LastEmailOpenedAt))
	case "last_email_clicked_at":
		return timestamp(int64(c.LastEmailClickedAt))
	case "android_last_seen_at":
		return timestamp(int64(c.AndroidLastSeenAt))
	case "ios_last_seen_at":
		return timestamp(int64(c.IOSLastSeenAt))
	case "unsubscribed_from_emails":
		return c.UnsubscribedFromEmails, true
	case "has_hard_bounced":
		return c.HasHardBounced, true
	case "marked_email_as_spam":
		return c.MarkedEmailAsSpam, true
	case "language_override":
		return nonEmpty(c.LanguageOverride)
	case "browser":
		return nonEmpty(c.Browser)
	case "browser_version":
		return nonEmpty(c.BrowserVersion)
	case "browser_language":
		return nonEmpty(c.BrowserLanguage)
	case "os":
		return nonEmpty(c.OS)
	case "android_app_name":
		return nonEmpty(c.AndroidAppName)
	case "android_app_version":
		return nonEmpty(c.AndroidAppVersion)
	case "android_device":
		return nonEmpty(c.AndroidDevice)
	case "android_os_version":
		return nonEmpty(c.AndroidOSVersion)
	case "android_sdk_version":
		return nonEmpty(c.AndroidSDKVersion)
	case "ios_app_name":
		return nonEmpty(c.IOSAppName)
	case "ios_app_version":
		return nonEmpty(c.IOSAppVersion)
	case "ios_device":
		return nonEmpty(c.IOSDevice)
	case "ios_os_version":
		return nonEmpty(c.IOSOSVersion)
	case "ios_sdk_version":
		return nonEmpty(c.IOSSDKVersion)
	case "tags":
		if len(r.tags) == 0 {
			return nil, false
		}
		return strings.Join(r.tags, ","), true
	}
	// Fields real responses carry beyond the 2.11 schema (session_count,
	// utm_*, referrer).
	return r.undeclared(path)
}

func (r *contactRecord) undeclared(path string) (any, bool) {
	if r.extra == nil {
		r.extra = r.c.Extra()
	}
	raw, ok := r.extra[path]
	if !ok {
		return nil, false
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil || v == nil {
		return nil, false
	}
	return v, true
}

// tagNames resolves the contact's tag references to sorted names.
func tagNames(c *intercom.Contact, names map[string]string) []string {
	if c.Tags == nil {
		return nil
	}
	out := make([]string, 0, len(c.Tags.Data))
	for _, ref := range c.Tags.Data {
		n := ref.Name
		if n == "" {
			n = names[string(ref.ID)]
		}
		if n != "" {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// companyIDs lists the contact's companies, the primary (first listed) one
// first.
func companyIDs(c *intercom.Contact) []string {
	if c.Companies == nil {
		return nil
	}
	out := make([]string, 0, len(c.Companies.Data))
	for _, ref := range c.Companies.Data {
		out = append(out, string(ref.ID))
	}
	return out
}
