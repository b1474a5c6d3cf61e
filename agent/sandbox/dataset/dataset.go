// Package dataset generates a deterministic Intercom workspace: contacts
// (users and leads), companies, tags, conversations with ratings and
// AI-agent outcomes, and data events. The same (options, seed) always give
// the same workspace, byte for byte.
//
// Records are generated on demand from (seed, index): Contact(i) costs a
// few microseconds and allocates only that contact, so a simulated server
// can serve a million contacts without holding them in memory, and two
// processes can agree on the data without exchanging it.
package dataset

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Contact roles.
const (
	RoleUser = "user"
	RoleLead = "lead"
)

// Conversation states (the 2.11 `state` enum).
const (
	StateOpen    = "open"
	StateClosed  = "closed"
	StateSnoozed = "snoozed"
)

// Options shape a workspace. Zero values take the documented defaults.
type Options struct {
	// Contacts is the number of contacts.
	Contacts int
	// Seed selects the workspace; ids, names and timestamps all follow it.
	Seed uint64
	// Now is the reference instant all timestamps are spread before.
	// Default: DefaultNow, so a dataset does not change from day to day.
	Now time.Time
	// Companies defaults to max(1, Contacts/20).
	Companies int
	// Conversations defaults to Contacts/2.
	Conversations int
	// LeadFraction is the share of leads among contacts (default 0.3).
	LeadFraction float64
	// Years of history the created_at timestamps span (default 3).
	Years int
	// EventsPerContact is the mean number of data events (default 2).
	EventsPerContact int
}

// DefaultNow is the reference instant when Options.Now is zero.
var DefaultNow = time.Date(2026, time.June, 1, 12, 0, 0, 0, time.UTC)

// Contact is one contact as Intercom stores it. Optional strings are empty
// and optional timestamps (Unix seconds) are zero when Intercom would say
// null.
type Contact struct {
	Index          int
	ID             string
	ExternalID     string
	Role           string
	Email          string
	Phone          string
	FormattedPhone string // E.164; empty when Phone is not a valid number
	Name           string
	AvatarURL      string
	OwnerID        int64

	HasHardBounced         bool
	MarkedEmailAsSpam      bool
	UnsubscribedFromEmails bool

	CreatedAt          int64
	UpdatedAt          int64
	SignedUpAt         int64
	LastSeenAt         int64
	LastRepliedAt      int64
	LastContactedAt    int64
	LastEmailOpenedAt  int64
	LastEmailClickedAt int64

	LanguageOverride string
	Browser          string
	BrowserVersion   string
	BrowserLanguage  string
	OS               string

	Country       string
	CountryCode   string
	ContinentCode string
	Region        string
	City          string

	// CustomAttributes hold plan_tier (string), feature_usage (integer)
	// and a few more of mixed types; see ContactAttributes.
	CustomAttributes map[string]any
	// Tags are indices into Dataset.Tags.
	Tags []int
	// Companies are company indices.
	Companies []int

	// Fields real responses carry although the 2.11 schema lacks them.
	SessionCount int
	UTMSource    string
	UTMCampaign  string
	Referrer     string
}

// Company is one company.
type Company struct {
	Index           int
	ID              string
	CompanyID       string
	Name            string
	PlanID          string
	PlanName        string
	Size            int
	Website         string
	Industry        string
	MonthlySpend    int64
	SessionCount    int
	CreatedAt       int64
	UpdatedAt       int64
	RemoteCreatedAt int64
	LastRequestAt   int64
	// CustomAttributes are strings: the 2.11 schema declares company
	// custom attribute values as strings only.
	CustomAttributes map[string]string
	Tags             []int
}

// Tag is a workspace tag.
type Tag struct {
	ID   string
	Name string
}

// Admin is a teammate.
type Admin struct {
	ID    int64
	Name  string
	Email string
}

// Rating is a conversation rating.
type Rating struct {
	Rating    int
	Remark    string
	CreatedAt int64
	AdminID   int64
}

// AIAgent is the Fin outcome of a conversation. Empty strings and a zero
// rating mean null.
type AIAgent struct {
	SourceType      string
	SourceTitle     string
	LastAnswerType  string // ai_answer | custom_answer | ""
	ResolutionState string // assumed_resolution | confirmed_resolution | routed_to_team | abandoned | ""
	Rating          int
	RatingRemark    string
}

// Statistics are a conversation's timing figures (seconds and Unix
// timestamps; zero = not happened).
type Statistics struct {
	TimeToAssignment    int64
	TimeToAdminReply    int64
	TimeToFirstClose    int64
	TimeToLastClose     int64
	MedianTimeToReply   int64
	FirstContactReplyAt int64
	FirstAssignmentAt   int64
	FirstAdminReplyAt   int64
	FirstCloseAt        int64
	LastAssignmentAt    int64
	LastContactReplyAt  int64
	LastAdminReplyAt    int64
	LastCloseAt         int64
	LastClosedByID      int64
	CountReopens        int
	CountAssignments    int
	CountParts          int
}

// Source is the message that started a conversation.
type Source struct {
	Type        string
	ID          string
	DeliveredAs string
	Subject     string
	Body        string
	// AuthorAdmin is set for admin-initiated conversations; otherwise the
	// author is the conversation's contact.
	AuthorAdmin int64
}

// Conversation is one conversation.
type Conversation struct {
	Index        int
	ID           string
	Contact      int // contact index
	Title        string
	CreatedAt    int64
	UpdatedAt    int64
	WaitingSince int64
	SnoozedUntil int64
	State        string
	Read         bool
	Priority     string // priority | not_priority
	AdminID      int64  // assignee, 0 = none
	TeamID       int64  // assignee, 0 = none
	Tags         []int
	Rating       *Rating
	Source       Source
	SLAName      string
	SLAStatus    string

	AIAgentParticipated bool
	AIAgent             *AIAgent
	Statistics          Statistics
	Parts               int
	CustomAttributes    map[string]any
}

// Open reports Intercom's `open` flag: snoozed conversations are open.
func (c *Conversation) Open() bool { return c.State != StateClosed }

// Event is a data event of a contact.
type Event struct {
	Name      string
	CreatedAt int64
	// Metadata values are strings: the 2.11 schema declares them so.
	Metadata map[string]string
}

// Attribute describes a data attribute of a model.
type Attribute struct {
	Name        string
	DataType    string // string | integer | float | boolean | date
	Description string
}

// Dataset is a generated workspace.
type Dataset struct {
	opts    Options
	idTag   uint32
	contPfx string // hex prefix of contact ids
	compPfx string // hex prefix of company ids
	now     int64
	tags    []Tag
	convTag []int // tag indices used on conversations
	admins  []Admin
	teams   []int64
}

// New returns the workspace for opts.
func New(opts Options) *Dataset {
	if opts.Contacts < 0 {
		opts.Contacts = 0
	}
	if opts.Now.IsZero() {
		opts.Now = DefaultNow
	}
	if opts.Companies <= 0 {
		opts.Companies = max(1, opts.Contacts/20)
	}
	if opts.Conversations <= 0 {
		opts.Conversations = opts.Contacts / 2
	}
	if opts.LeadFraction <= 0 {
		opts.LeadFraction = 0.3
	}
	if opts.Years <= 0 {
		opts.Years = 3
	}
	if opts.EventsPerContact <= 0 {
		opts.EventsPerContact = 2
	}
	d := &Dataset{opts: opts, idTag: uint32(mix(opts.Seed) >> 32), now: opts.Now.Unix()}
	d.contPfx = fmt.Sprintf("%08x", d.idTag)
	d.compPfx = fmt.Sprintf("%08x", d.idTag^0xc0c0c0c0)
	// Contact tags first (some contacts carry more than the 10 Intercom
	// embeds), then the conversation tags.
	names := []string{
		"vip", "beta", "churn-risk", "newsletter", "enterprise-trial", "partner",
		"early-adopter", "power-user", "needs-onboarding", "webinar-2025", "nps-promoter",
		"nps-detractor", "gdpr-request", "reseller", "edu", "nonprofit",
		"billing", "bug", "feature-request", "urgent", "refund",
	}
	for i, n := range names {
		d.tags = append(d.tags, Tag{ID: strconv.Itoa(101 + i), Name: n})
		if i >= 16 {
			d.convTag = append(d.convTag, i)
		}
	}
	adminNames := []string{"Ada Support", "Bruno Success", "Chen Billing", "Dana Ops", "Eli Sales", "Fatima Lead"}
	for i, n := range adminNames {
		first := strings.ToLower(strings.Fields(n)[0])
		d.admins = append(d.admins, Admin{ID: int64(991267300 + i), Name: n, Email: first + "@support.example.com"})
	}
	d.teams = []int64{5017691, 5017692, 5017693}
	return d
}

// Options returns the options with defaults filled in.
func (d *Dataset) Options() Options { return d.opts }

// Now is the reference instant as Unix seconds.
func (d *Dataset) Now() int64 { return d.now }

// NumContacts is the number of contacts.
func (d *Dataset) NumContacts() int { return d.opts.Contacts }

// NumCompanies is the number of companies.
func (d *Dataset) NumCompanies() int { return d.opts.Companies }

// NumConversations is the number of conversations.
func (d *Dataset) NumConversations() int { return d.opts.Conversations }

// Tags are the workspace's tags, the first 16 used on contacts and
// companies, the rest on conversations.
func (d *Dataset) Tags() []Tag { return d.tags }

// Admins are the workspace's teammates.
func (d *Dataset) Admins() []Admin { return d.admins }

// Teams are the workspace's team ids.
func (d *Dataset) Teams() []int64 { return d.teams }

// ContactID is the Intercom id of contact i: 24 hex digits, like real ids,
// with the dataset's tag in front so that workspaces of different seeds
// never share ids.
func (d *Dataset) ContactID(i int) string { return d.contPfx + hex16(i) }

// CompanyID is the Intercom id of company j.
func (d *Dataset) CompanyID(j int) string { return d.compPfx + hex16(j) }

// ConversationID is the Intercom id of conversation k (numeric, as real
// conversation ids are).
func (d *Dataset) ConversationID(k int) string { return strconv.Itoa(100000000 + k) }

// ContactIndex parses an id made by ContactID.
func (d *Dataset) ContactIndex(id string) (int, bool) { return parseID(id, d.contPfx) }

// CompanyIndex parses an id made by CompanyID.
func (d *Dataset) CompanyIndex(id string) (int, bool) { return parseID(id, d.compPfx) }

// ConversationIndex parses an id made by ConversationID.
func (d *Dataset) ConversationIndex(id string) (int, bool) {
	n, err := strconv.Atoi(id)
	if err != nil || n < 100000000 || strconv.Itoa(n) != id {
		return 0, false
	}
	return n - 100000000, true
}

func hex16(i int) string {
	const digits = "0123456789abcdef"
	var b [16]byte
	u := uint64(i)
	for k := 15; k >= 0; k-- {
		b[k] = digits[u&15]
		u >>= 4
	}
	return string(b[:])
}

func parseID(id, prefix string) (int, bool) {
	if len(id) != 24 || id[:8] != prefix {
		return 0, false
	}
	n, err := strconv.ParseUint(id[8:], 16, 40)
	if err != nil || hex16(int(n)) != id[8:] {
		return 0, false
	}
	return int(n), true
}

const day = 24 * 60 * 60

// Contact generates contact i (0 ≤ i; indices past NumContacts are valid
// too, for contacts a simulation creates later).
func (d *Dataset) Contact(i int) Contact {
	r := newRNG(d.opts.Seed, kindContact, i)
	c := Contact{Index: i, ID: d.ContactID(i), Role: RoleUser}
	if d.isLead(r) {
		c.Role = RoleLead
	}
	c.CreatedAt, c.UpdatedAt = d.contactTimes(r)

	// Name: mostly Latin first + last, some other scripts, some single
	// words, some none (leads that never said).
	switch f := r.float(); {
	case f < 0.06:
		c.Name = ""
	case f < 0.11:
		c.Name = pick(r, singleNames)
	case f < 0.23:
		c.Name = pick(r, scriptNames)
	default:
		c.Name = pick(r, firstNames) + " " + pick(r, lastNames)
	}
	hasEmail := c.Role == RoleUser || r.chance(0.5)
	if hasEmail {
		local := emailLocal(c.Name, r)
		c.Email = fmt.Sprintf("%s.%d@%s", local, i, pick(r, emailDomains))
	}
	if c.Role == RoleUser {
		c.ExternalID = fmt.Sprintf("user-%07d", i)
		c.SignedUpAt = min(c.UpdatedAt, c.CreatedAt+r.between(0, 2*day))
	}
	ctry := pick(r, countries)
	if r.chance(0.85) {
		c.Country, c.CountryCode, c.ContinentCode, c.Region, c.City = ctry.Name, ctry.Code, ctry.Continent, ctry.Region, ctry.City
	}
	if r.chance(0.6) {
		if r.chance(0.1) {
			c.Phone = pick(r, invalidPhones)
		} else {
			num := ctry.Prefix
			for range ctry.Digits {
				num += strconv.Itoa(r.intn(10))
			}
			c.FormattedPhone = num
			c.Phone = num
			if r.chance(0.5) {
				// As typed: spaces after the country code.
				c.Phone = num[:3] + " " + num[3:6] + " " + num[6:]
			}
		}
	}
	if r.chance(0.3) {
		c.AvatarURL = fmt.Sprintf("https://static.example.com/avatars/%d.png", i)
	}
	if r.chance(0.5) {
		c.OwnerID = pick(r, d.admins).ID
	}
	c.UnsubscribedFromEmails = r.chance(0.08)
	c.HasHardBounced = hasEmail && r.chance(0.02)
	c.MarkedEmailAsSpam = hasEmail && r.chance(0.01)
	if r.chance(0.85) {
		c.LastSeenAt = r.between(c.CreatedAt, c.UpdatedAt)
		c.Browser = pick(r, browsers)
		c.BrowserVersion = fmt.Sprintf("%d.0.%d", 100+r.intn(30), r.intn(9999))
		c.BrowserLanguage = pick(r, languages)
		c.OS = pick(r, oses)
		c.SessionCount = 1 + r.intn(400)
	}
	if r.chance(0.1) {
		c.LanguageOverride = pick(r, languages)
	}
	if r.chance(0.4) {
		c.LastContactedAt = r.between(c.CreatedAt, c.UpdatedAt)
		if r.chance(0.6) {
			c.LastEmailOpenedAt = r.between(c.LastContactedAt, c.UpdatedAt)
			if r.chance(0.4) {
				c.LastEmailClickedAt = r.between(c.LastEmailOpenedAt, c.UpdatedAt)
			}
		}
	}
	if r.chance(0.3) {
		c.LastRepliedAt = r.between(c.CreatedAt, c.UpdatedAt)
	}
	if r.chance(0.3) {
		c.UTMSource, c.UTMCampaign = pick(r, utmSources), pick(r, utmCampaign)
		c.Referrer = "https://" + pick(r, emailDomains) + "/pricing"
	}

	ca := map[string]any{}
	if c.Role == RoleUser {
		ca["plan_tier"] = pick(r, planTiers)
		ca["feature_usage"] = r.intn(1000)
	} else if r.chance(0.3) {
		ca["plan_tier"] = "trial"
	}
	if r.chance(0.5) {
		ca["signup_source"] = pick(r, signupFrom)
	}
	if r.chance(0.3) {
		ca["onboarding_complete"] = r.chance(0.5)
	}
	if r.chance(0.2) {
		ca["nps_score"] = r.intn(11)
	}
	if r.chance(0.25) {
		ca["last_order_at"] = r.between(c.CreatedAt, c.UpdatedAt)
	}
	if r.chance(0.15) {
		ca["lifetime_value"] = math.Round(r.float()*500000) / 100
	}
	c.CustomAttributes = ca

	c.Tags, c.Companies = d.Memberships(i)
	return c
}

// isLead and contactTimes are the first draws of a contact; ContactTimes
// replays them without generating the rest.
func (d *Dataset) isLead(r *rng) bool { return r.chance(d.opts.LeadFraction) }

func (d *Dataset) contactTimes(r *rng) (created, updated int64) {
	created = d.now - r.between(0, int64(d.opts.Years)*365*day)
	// Most contacts were touched recently, a long tail long ago: an
	// exponential age with a 60-day mean, never before creation.
	age := int64(-math.Log(1-r.float()) * 60 * day)
	return created, max(created, d.now-age)
}

// ContactTimes returns created_at and updated_at of contact i for a
// fraction of the cost of Contact(i) (a server indexes them at start).
func (d *Dataset) ContactTimes(i int) (created, updated int64) {
	r := newRNG(d.opts.Seed, kindContact, i)
	d.isLead(r)
	return d.contactTimes(r)
}

// Memberships returns the tag indices and company indices of contact i,
// drawn from their own stream so that a server can build its
// company → contacts index without generating every contact.
func (d *Dataset) Memberships(i int) (tags, companies []int) {
	r := newRNG(d.opts.Seed, kindMembership, i)
	var nTags int
	switch f := r.float(); {
	case f < 0.55:
	case f < 0.85:
		nTags = 1 + r.intn(3)
	case f < 0.98:
		nTags = 4 + r.intn(6)
	default:
		nTags = 11 + r.intn(5) // more than Intercom embeds: has_more
	}
	tags = r.distinct(nTags, 16)
	var nComp int
	switch f := r.float(); {
	case f < 0.4:
	case f < 0.8:
		nComp = 1
	case f < 0.95:
		nComp = 2
	default:
		nComp = 3
	}
	return tags, r.distinct(nComp, d.opts.Companies)
}

// emailLocal makes an ASCII mailbox name from a display name.
func emailLocal(name string, r *rng) string {
	var b strings.Builder
	for _, ch := range strings.ToLower(name) {
		switch {
		case ch >= 'a' && ch <= 'z', ch >= '0' && ch <= '9':
			b.WriteRune(ch)
		case ch == ' ' || ch == '\'':
			if b.Len() > 0 {
				b.WriteByte('.')
			}
		default:
			if a, ok := fold[ch]; ok {
				b.WriteString(a)
			}
		}
	}
	s := strings.Trim(b.String(), ".")
	if s == "" {
		s = []string{"contact", "user", "hello", "info"}[r.intn(4)]
	}
	return s
}

var fold = map[rune]string{
	'é': "e", 'è': "e", 'ë': "e", 'à': "a", 'á': "a", 'ä': "ae", 'ã': "a", 'ç': "c", 'ğ': "g",
	'í': "i", 'ı': "i", 'ñ': "n", 'ó': "o", 'ö': "oe", 'ø': "o", 'ú': "u", 'ü': "ue",
	'ß': "ss", 'ł': "l", 'ż': "z", 'ř': "r", 'ě': "e", 'đ': "d", 'ð': "d", 'ễ': "e", 'å': "a",
}

// Company generates company j.
func (d *Dataset) Company(j int) Company {
	r := newRNG(d.opts.Seed, kindCompany, j)
	name := pick(r, companyWords) + " " + pick(r, companySuffix)
	if r.chance(0.5) {
		name += " " + strconv.Itoa(j)
	}
	planIdx := r.intn(len(companyPlans))
	span := int64(d.opts.Years) * 365 * day
	c := Company{
		Index:     j,
		ID:        d.CompanyID(j),
		CompanyID: fmt.Sprintf("comp-%06d", j),
		Name:      name,
		PlanID:    strconv.Itoa(700 + planIdx),
		PlanName:  companyPlans[planIdx],
		Size:      []int{1, 5, 12, 40, 120, 600, 2500, 12000}[r.intn(8)],
		Industry:  pick(r, industries),
		CreatedAt: d.now - r.between(0, span),
	}
	if r.chance(0.1) {
		c.PlanID, c.PlanName = "", "" // no plan: Intercom answers plan: {}
	}
	c.Website = "https://www." + strings.ToLower(strings.ReplaceAll(strings.Fields(name)[0], "&", "")) + ".example.com"
	c.RemoteCreatedAt = c.CreatedAt - r.between(0, 400*day)
	c.UpdatedAt = max(c.CreatedAt, d.now-int64(-math.Log(1-r.float())*90*day))
	c.LastRequestAt = r.between(c.CreatedAt, c.UpdatedAt)
	c.MonthlySpend = int64(planIdx) * int64(r.between(0, 5000))
	c.SessionCount = r.intn(20000)
	c.CustomAttributes = map[string]string{
		"account_tier": []string{"bronze", "silver", "gold", "platinum"}[planIdx],
		"sales_region": pick(r, regionsSales),
	}
	if r.chance(0.6) {
		c.CustomAttributes["crm_id"] = fmt.Sprintf("0015g%09d", j)
	}
	if r.chance(0.2) {
		c.Tags = r.distinct(1+r.intn(2), 16)
	}
	return c
}

// Conversation generates conversation k.
func (d *Dataset) Conversation(k int) Conversation {
	r := newRNG(d.opts.Seed, kindConversation, k)
	c := Conversation{Index: k, ID: d.ConversationID(k), Priority: "not_priority"}
	c.Contact, c.CreatedAt, c.UpdatedAt = d.conversationBasics(r)
	if r.chance(0.5) {
		c.Title = pick(r, convSubjects)
	}
	switch f := r.float(); {
	case f < 0.25:
		c.State = StateOpen
		c.WaitingSince = r.between(c.CreatedAt, c.UpdatedAt)
	case f < 0.4:
		c.State = StateSnoozed
		c.SnoozedUntil = d.now + r.between(3600, 7*day)
	default:
		c.State = StateClosed
	}
	c.Read = r.chance(0.7)
	if r.chance(0.1) {
		c.Priority = "priority"
	}
	if r.chance(0.7) {
		c.AdminID = pick(r, d.admins).ID
	}
	if r.chance(0.6) {
		c.TeamID = pick(r, d.teams)
	}
	if r.chance(0.4) {
		c.Tags = r.distinct(1+r.intn(2), len(d.convTag))
		for i, t := range c.Tags {
			c.Tags[i] = d.convTag[t]
		}
	}
	c.Source = Source{
		Type:        pick(r, sourceTypes),
		ID:          strconv.Itoa(400000000 + k),
		DeliveredAs: pick(r, deliveredAs),
		Subject:     "",
		Body:        "<p>" + pick(r, convSubjects) + "</p>",
	}
	if c.Source.Type == "email" {
		c.Source.Subject = pick(r, convSubjects)
	}
	if c.Source.DeliveredAs != "customer_initiated" {
		c.Source.AuthorAdmin = pick(r, d.admins).ID
	}
	if r.chance(0.15) {
		c.SLAName = pick(r, slaNames)
		c.SLAStatus = []string{"hit", "missed", "cancelled", "active"}[r.intn(4)]
	}
	if c.State == StateClosed && r.chance(0.45) {
		c.Rating = &Rating{Rating: 1 + r.intn(5), CreatedAt: c.UpdatedAt, AdminID: c.AdminID}
		if r.chance(0.5) {
			c.Rating.Remark = pick(r, ratingRemarks)
		}
		if c.Rating.AdminID == 0 {
			c.Rating.AdminID = pick(r, d.admins).ID
		}
	}
	if r.chance(0.35) {
		c.AIAgentParticipated = true
		a := &AIAgent{SourceType: pick(r, finSources), SourceTitle: pick(r, finTitles)}
		// Every resolution state, null included (no answer delivered).
		switch r.intn(5) {
		case 0:
			a.ResolutionState = "assumed_resolution"
		case 1:
			a.ResolutionState = "confirmed_resolution"
		case 2:
			a.ResolutionState = "routed_to_team"
		case 3:
			a.ResolutionState = "abandoned"
		}
		if a.ResolutionState != "" {
			a.LastAnswerType = []string{"ai_answer", "custom_answer"}[r.intn(2)]
			if r.chance(0.4) {
				a.Rating = 1 + r.intn(5)
				if r.chance(0.5) {
					a.RatingRemark = pick(r, ratingRemarks)
				}
			}
		}
		c.AIAgent = a
	}
	s := &c.Statistics
	s.CountParts = 1 + r.intn(12)
	c.Parts = s.CountParts
	if c.AdminID != 0 {
		s.TimeToAssignment = r.between(0, 3600)
		s.FirstAssignmentAt = c.CreatedAt + s.TimeToAssignment
		s.LastAssignmentAt = s.FirstAssignmentAt
		s.CountAssignments = 1 + r.intn(3)
		s.TimeToAdminReply = r.between(30, 8*3600)
		s.FirstAdminReplyAt = min(c.UpdatedAt, c.CreatedAt+s.TimeToAdminReply)
		s.LastAdminReplyAt = r.between(s.FirstAdminReplyAt, c.UpdatedAt)
		s.MedianTimeToReply = r.between(30, 3600)
	}
	s.FirstContactReplyAt = c.CreatedAt
	s.LastContactReplyAt = r.between(c.CreatedAt, c.UpdatedAt)
	if c.State == StateClosed {
		s.TimeToFirstClose = c.UpdatedAt - c.CreatedAt
		s.TimeToLastClose = s.TimeToFirstClose
		s.FirstCloseAt = c.UpdatedAt
		s.LastCloseAt = c.UpdatedAt
		s.LastClosedByID = c.AdminID
		s.CountReopens = r.intn(2)
	}
	c.CustomAttributes = map[string]any{}
	if r.chance(0.5) {
		c.CustomAttributes["issue_type"] = []string{"billing", "bug", "how-to", "account"}[r.intn(4)]
	}
	return c
}

func (d *Dataset) conversationBasics(r *rng) (contact int, created, updated int64) {
	// Conversations happen while the contact exists: its creation bounds
	// them.
	start := d.now - int64(d.opts.Years)*365*day
	if d.opts.Contacts > 0 {
		contact = r.intn(d.opts.Contacts)
		start, _ = d.ContactTimes(contact)
	}
	created = r.between(start, d.now-3600)
	updated = min(d.now, created+r.between(60, 10*day))
	return contact, created, updated
}

// ConversationBasics returns the contact index, created_at and updated_at
// of conversation k without generating the rest.
func (d *Dataset) ConversationBasics(k int) (contact int, created, updated int64) {
	return d.conversationBasics(newRNG(d.opts.Seed, kindConversation, k))
}

// Events generates the data events of contact i, oldest first. Some are
// older than the 90 days Intercom lets you list.
func (d *Dataset) Events(i int) []Event {
	r := newRNG(d.opts.Seed, kindEvents, i)
	n := r.intn(2*d.opts.EventsPerContact + 1)
	if n == 0 {
		return nil
	}
	out := make([]Event, n)
	for k := range out {
		e := Event{Name: pick(r, eventNames), CreatedAt: d.now - r.between(60, 120*day)}
		if m := r.intn(4); m > 0 {
			e.Metadata = make(map[string]string, m)
			for _, idx := range r.distinct(m, len(eventMetaKeys)) {
				e.Metadata[eventMetaKeys[idx]] = pick(r, eventMetaValue)
			}
		}
		out[k] = e
	}
	// Insertion sort: n is tiny.
	for a := 1; a < len(out); a++ {
		for b := a; b > 0 && out[b].CreatedAt < out[b-1].CreatedAt; b-- {
			out[b], out[b-1] = out[b-1], out[b]
		}
	}
	return out
}

// ContactAttributes are the custom data attributes of contacts.
func (d *Dataset) ContactAttributes() []Attribute {
	return []Attribute{
		{"plan_tier", "string", "Subscription tier of the user"},
		{"feature_usage", "integer", "Feature usage score"},
		{"signup_source", "string", "Where the contact signed up"},
		{"onboarding_complete", "boolean", "Finished onboarding"},
		{"nps_score", "integer", "Last NPS answer (0-10)"},
		{"last_order_at", "date", "Last order date"},
		{"lifetime_value", "float", "Lifetime value in EUR"},
	}
}

// CompanyAttributes are the custom data attributes of companies.
func (d *Dataset) CompanyAttributes() []Attribute {
	return []Attribute{
		{"account_tier", "string", "Account tier"},
		{"sales_region", "string", "Sales region"},
		{"crm_id", "string", "CRM account id"},
	}
}

// ConversationAttributes are the custom data attributes of conversations.
func (d *Dataset) ConversationAttributes() []Attribute {
	return []Attribute{{"issue_type", "string", "Issue category"}}
}
