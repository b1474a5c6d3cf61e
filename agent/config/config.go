// Package config is the one model of a Tajo Intercom → Brevo connector: the
// connector itself, its field mappings, list assignments and webhook
// subscriptions. The Terraform provider writes these declarations to the
// store and the agent reads them back; both validate them here, so that
// `terraform plan` fails with exactly the message the agent would log.
package config

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Values of Connector fields.
const (
	DirectionIntercomToBrevo = "intercom_to_brevo"
	DirectionBidirectional   = "bidirectional"

	ModeRealtime = "realtime"
	ModeBatch    = "batch"
	ModeHybrid   = "hybrid"

	LeadPolicySkip  = "skip"
	LeadPolicyExtID = "ext_id"

	RegionUS = "us"
	RegionEU = "eu"
	RegionAU = "au"

	PlanStarter = "starter"
	PlanPro     = "pro"
	PlanPremium = "premium"
)

// Defaults of optional Connector fields.
const (
	DefaultAPIVersion    = "2.11"
	DefaultRegion        = RegionUS
	DefaultPlan          = PlanStarter
	DefaultDirection     = DirectionIntercomToBrevo
	DefaultMode          = ModeHybrid
	DefaultBatchInterval = "1h"
	DefaultLeadPolicy    = LeadPolicySkip
	DefaultLogLevel      = "info"
	DefaultBrevoBaseURL  = "https://api.brevo.com/v3"
)

// Allowed values, in the order the documentation lists them.
var (
	Directions   = []string{DirectionIntercomToBrevo, DirectionBidirectional}
	Modes        = []string{ModeRealtime, ModeBatch, ModeHybrid}
	LeadPolicies = []string{LeadPolicySkip, LeadPolicyExtID}
	Regions      = []string{RegionUS, RegionEU, RegionAU}
	Plans        = []string{PlanStarter, PlanPro, PlanPremium}
	LogLevels    = []string{"trace", "debug", "info", "warn", "error", "verbose"}
	// APIVersions are the Intercom API versions the agent is built and
	// tested against. Pinning matters: response shapes change between
	// versions (the brief's "API version mismatch" row).
	APIVersions = []string{"2.11"}
)

// IntercomBaseURLs are the regional API hosts.
var IntercomBaseURLs = map[string]string{
	RegionUS: "https://api.intercom.io",
	RegionEU: "https://api.eu.intercom.io",
	RegionAU: "https://api.au.intercom.io",
}

// PlanBudgets are the brief's request budgets per 10 seconds and app.
var PlanBudgets = map[string]int{PlanStarter: 20, PlanPro: 50, PlanPremium: 100}

// Batch interval bounds: shorter passes would spend the search budget on
// nothing; longer ones are better expressed as "since" full syncs.
const (
	MinBatchInterval = time.Minute
	MaxBatchInterval = 7 * 24 * time.Hour
)

// MaxRequestsPer10s bounds an explicit Intercom budget: Intercom's own
// private-app ceiling is 10,000 requests a minute.
const MaxRequestsPer10s = 1667

// Connector is a tajo_connector: one Intercom workspace synced into one
// Brevo account.
type Connector struct {
	Name                  string   `json:"name"`
	Enabled               bool     `json:"enabled"`
	Intercom              Intercom `json:"intercom"`
	Brevo                 Brevo    `json:"brevo"`
	Sync                  Sync     `json:"sync"`
	Direction             string   `json:"direction"`
	Mode                  string   `json:"mode"`
	BatchInterval         string   `json:"batch_interval"`
	Since                 string   `json:"since,omitempty"`
	LeadPolicy            string   `json:"lead_policy"`
	DefaultFieldMappings  bool     `json:"default_field_mappings"`
	DeleteRemovedContacts bool     `json:"delete_removed_contacts"`
	// EventNames limits the Intercom data events sent to Brevo (empty: all).
	EventNames  []string `json:"event_names,omitempty"`
	Debug       bool     `json:"debug"`
	LogLevel    string   `json:"log_level"`
	LogWebhooks bool     `json:"log_webhooks"`
}

// Intercom is the Intercom side of a connector.
type Intercom struct {
	AccessToken    SecretRef `json:"access_token"`
	ClientID       string    `json:"client_id,omitempty"`
	ClientSecret   SecretRef `json:"client_secret,omitempty"`
	APIVersion     string    `json:"api_version"`
	Region         string    `json:"region,omitempty"`
	BaseURL        string    `json:"base_url,omitempty"`
	Plan           string    `json:"plan,omitempty"`
	RequestsPer10s int       `json:"requests_per_10s,omitempty"`
}

// Brevo is the Brevo side of a connector.
type Brevo struct {
	APIKey  SecretRef `json:"api_key"`
	BaseURL string    `json:"base_url,omitempty"`
}

// Sync switches the synced resources on and off.
type Sync struct {
	Contacts      bool `json:"contacts"`
	Conversations bool `json:"conversations"`
	Companies     bool `json:"companies"`
	Events        bool `json:"events"`
	Tags          bool `json:"tags"`
	Messenger     bool `json:"messenger"`
	AIAgent       bool `json:"ai_agent"`
}

// NewConnector returns a connector with every optional field at its default.
func NewConnector(name string) Connector {
	return Connector{
		Name:                 name,
		Enabled:              true,
		Intercom:             Intercom{APIVersion: DefaultAPIVersion},
		Sync:                 Sync{Contacts: true, Companies: true, Tags: true},
		Direction:            DefaultDirection,
		Mode:                 DefaultMode,
		BatchInterval:        DefaultBatchInterval,
		LeadPolicy:           DefaultLeadPolicy,
		DefaultFieldMappings: true,
		LogLevel:             DefaultLogLevel,
	}
}

// ID is the connector's identifier in the store and in Terraform: its name.
func (c Connector) ID() string { return c.Name }

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)

// eventNameRE accepts Intercom data event names (the agent maps them onto
// Brevo's event name rule when sending).
var eventNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 ._-]{0,254}$`)

const maxNameLen = 63

// ValidateName reports whether s is a valid connector name.
func ValidateName(s string) error {
	switch {
	case s == "":
		return fmt.Errorf(`is required, e.g. "intercom"`)
	case len(s) > maxNameLen:
		return fmt.Errorf("%q is longer than %d characters", s, maxNameLen)
	case !nameRE.MatchString(s):
		return fmt.Errorf("%q: use lower-case letters, digits, '-' and '_', starting with a letter, e.g. %q", s, "intercom")
	}
	return nil
}

// Validate reports every problem with c at once.
func (c Connector) Validate() error {
	var p problems
	p.check("name", ValidateName(c.Name))

	in := c.Intercom
	p.check("intercom.access_token", in.AccessToken.Validate())
	if in.ClientSecret != "" {
		p.check("intercom.client_secret", in.ClientSecret.Validate())
	}
	if in.APIVersion != "" {
		if err := oneOf(in.APIVersion, APIVersions...); err != nil {
			p.add("intercom.api_version", "Intercom API version %q is not supported by this agent; pin one of %s "+
				"(response shapes change between versions)", in.APIVersion, quoteList(APIVersions))
		}
	}
	if in.Region != "" {
		p.check("intercom.region", oneOf(in.Region, Regions...))
	}
	if in.BaseURL != "" {
		p.check("intercom.base_url", ValidateBaseURL(in.BaseURL))
		if in.Region != "" {
			p.add("intercom.base_url", "set either region or base_url, not both")
		}
	}
	if in.Plan != "" {
		p.check("intercom.plan", oneOf(in.Plan, Plans...))
	}
	if in.RequestsPer10s != 0 {
		if in.RequestsPer10s < 1 || in.RequestsPer10s > MaxRequestsPer10s {
			p.add("intercom.requests_per_10s", "%d is out of range; use 1 to %d requests per 10 seconds", in.RequestsPer10s, MaxRequestsPer10s)
		}
		if in.Plan != "" {
			p.add("intercom.requests_per_10s", "set either plan or requests_per_10s, not both")
		}
	}

	p.check("brevo.api_key", c.Brevo.APIKey.Validate())
	if c.Brevo.BaseURL != "" {
		p.check("brevo.base_url", ValidateBaseURL(c.Brevo.BaseURL))
	}

	if c.Direction != "" {
		p.check("direction", oneOf(c.Direction, Directions...))
	}
	if c.Mode != "" {
		p.check("mode", oneOf(c.Mode, Modes...))
	}
	if c.BatchInterval != "" {
		if _, err := ParseInterval(c.BatchInterval); err != nil {
			p.check("batch_interval", err)
		}
	}
	if c.Since != "" {
		if _, err := ParseSince(c.Since); err != nil {
			p.check("since", err)
		}
	}
	if c.LeadPolicy != "" {
		p.check("lead_policy", oneOf(c.LeadPolicy, LeadPolicies...))
	}
	if c.LogLevel != "" {
		p.check("log_level", oneOf(c.LogLevel, LogLevels...))
	}
	seenNames := map[string]bool{}
	for i, n := range c.EventNames {
		path := fmt.Sprintf("event_names[%d]", i)
		switch {
		case seenNames[n]:
			p.add(path, "%q is listed twice", n)
		case !eventNameRE.MatchString(n):
			p.add(path, "%q is not an event name: use letters, digits, '-', '_', '.' and spaces, at most 255 characters", n)
		}
		seenNames[n] = true
	}
	if len(c.EventNames) > 0 && !c.Sync.Events {
		p.add("event_names", "filters the data events sent to Brevo, which are off: set sync.events = true or remove event_names")
	}
	if c.Sync.AIAgent && !c.Sync.Conversations {
		p.add("sync.ai_agent", "AI-agent outcomes are read from conversations: set sync.conversations = true too")
	}
	if !c.Sync.Contacts && (c.Sync.Conversations || c.Sync.Tags || c.Sync.Messenger || c.Sync.AIAgent) {
		p.add("sync.contacts", "conversations, tags, messenger and ai_agent data are written onto Brevo contacts; enable contacts too")
	}
	return p.list.Err()
}

// ValidateBaseURL accepts absolute https URLs, and plain http only for
// loopback hosts (a local sandbox): all API traffic to a real service is TLS.
func ValidateBaseURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("%q is not an absolute http(s) URL, e.g. %q", s, "https://api.eu.intercom.io")
	}
	if u.User != nil {
		return fmt.Errorf("the URL must not carry credentials; use the secret reference attributes")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%q: a base URL has no query or fragment", s)
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return fmt.Errorf("%q: use https; plain http is accepted only for loopback addresses such as a local sandbox", s)
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ParseInterval parses a batch interval: a Go duration ("30m", "1h",
// "24h") or "hourly" / "daily".
func ParseInterval(s string) (time.Duration, error) {
	switch s {
	case "hourly":
		return time.Hour, nil
	case "daily":
		return 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration; write e.g. \"15m\", \"1h\", \"24h\", \"hourly\" or \"daily\"", s)
	}
	if d < MinBatchInterval || d > MaxBatchInterval {
		return 0, fmt.Errorf("%q is out of range; use %s to %s", s, MinBatchInterval, "168h")
	}
	return d, nil
}

// ParseSince parses the start date of a full sync: "2023-01-01" or an
// RFC 3339 timestamp.
func ParseSince(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is not a date; write \"2023-01-01\" or \"2023-01-01T00:00:00Z\"", s)
}

// IntercomBaseURL is the API host the agent talks to.
func (c Connector) IntercomBaseURL() string {
	if c.Intercom.BaseURL != "" {
		return strings.TrimRight(c.Intercom.BaseURL, "/")
	}
	r := c.Intercom.Region
	if r == "" {
		r = DefaultRegion
	}
	return IntercomBaseURLs[r]
}

// BrevoBaseURL is the Brevo API base the agent talks to.
func (c Connector) BrevoBaseURL() string {
	if c.Brevo.BaseURL != "" {
		return strings.TrimRight(c.Brevo.BaseURL, "/")
	}
	return DefaultBrevoBaseURL
}

// IntercomBudget is the Intercom request budget per 10 seconds.
func (c Connector) IntercomBudget() int {
	if c.Intercom.RequestsPer10s > 0 {
		return c.Intercom.RequestsPer10s
	}
	if b, ok := PlanBudgets[c.Intercom.Plan]; ok {
		return b
	}
	return PlanBudgets[DefaultPlan]
}

// APIVersion is the pinned Intercom-Version header value.
func (c Connector) APIVersion() string {
	if c.Intercom.APIVersion != "" {
		return c.Intercom.APIVersion
	}
	return DefaultAPIVersion
}

// Interval is the parsed batch interval (the default when unset or invalid).
func (c Connector) Interval() time.Duration {
	if d, err := ParseInterval(c.BatchInterval); err == nil {
		return d
	}
	d, _ := ParseInterval(DefaultBatchInterval)
	return d
}
