package fakeintercom

import (
	"slices"
	"strconv"
	"strings"

	"github.com/tajo/terraform-provider-tajo/agent/sandbox/dataset"
)

// Wire shapes of the 2.11 description. Nullable fields are pointers (nil
// renders null); fields the schema requires are always present. Objects
// the schema declares non-nullable but real responses send as null
// (conversation_rating, ai_agent, statistics …) are omitted instead when
// absent, which both the schema and real clients accept.

type avatar struct {
	Type     string  `json:"type"`
	ImageURL *string `json:"image_url"`
}

type location struct {
	Type          string  `json:"type"`
	Country       *string `json:"country"`
	Region        *string `json:"region"`
	City          *string `json:"city"`
	CountryCode   *string `json:"country_code"`
	ContinentCode *string `json:"continent_code"`
}

type listRef struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	URL  string `json:"url"`
}

type addressableList struct {
	Type       string    `json:"type"`
	Data       []listRef `json:"data"`
	URL        string    `json:"url"`
	TotalCount int       `json:"total_count"`
	HasMore    bool      `json:"has_more"`
}

type socialProfiles struct {
	Type string `json:"type"`
	Data []any  `json:"data"`
}

type contactJSON struct {
	Type                   string          `json:"type"`
	ID                     string          `json:"id"`
	WorkspaceID            string          `json:"workspace_id"`
	ExternalID             *string         `json:"external_id"`
	Role                   string          `json:"role"`
	Email                  string          `json:"email"`
	EmailDomain            string          `json:"email_domain"`
	Phone                  *string         `json:"phone"`
	FormattedPhone         *string         `json:"formatted_phone"`
	Name                   *string         `json:"name"`
	Avatar                 *avatar         `json:"avatar"`
	OwnerID                *int64          `json:"owner_id"`
	SocialProfiles         socialProfiles  `json:"social_profiles"`
	HasHardBounced         bool            `json:"has_hard_bounced"`
	MarkedEmailAsSpam      bool            `json:"marked_email_as_spam"`
	UnsubscribedFromEmails bool            `json:"unsubscribed_from_emails"`
	CreatedAt              int64           `json:"created_at"`
	UpdatedAt              int64           `json:"updated_at"`
	SignedUpAt             *int64          `json:"signed_up_at"`
	LastSeenAt             *int64          `json:"last_seen_at"`
	LastRepliedAt          *int64          `json:"last_replied_at"`
	LastContactedAt        *int64          `json:"last_contacted_at"`
	LastEmailOpenedAt      *int64          `json:"last_email_opened_at"`
	LastEmailClickedAt     *int64          `json:"last_email_clicked_at"`
	LanguageOverride       *string         `json:"language_override"`
	Browser                *string         `json:"browser"`
	BrowserVersion         *string         `json:"browser_version"`
	BrowserLanguage        *string         `json:"browser_language"`
	OS                     *string         `json:"os"`
	Location               location        `json:"location"`
	AndroidAppName         *string         `json:"android_app_name"`
	AndroidAppVersion      *string         `json:"android_app_version"`
	AndroidDevice          *string         `json:"android_device"`
	AndroidOSVersion       *string         `json:"android_os_version"`
	AndroidSDKVersion      *string         `json:"android_sdk_version"`
	AndroidLastSeenAt      *int64          `json:"android_last_seen_at"`
	IOSAppName             *string         `json:"ios_app_name"`
	IOSAppVersion          *string         `json:"ios_app_version"`
	IOSDevice              *string         `json:"ios_device"`
	IOSOSVersion           *string         `json:"ios_os_version"`
	IOSSDKVersion          *string         `json:"ios_sdk_version"`
	IOSLastSeenAt          *int64          `json:"ios_last_seen_at"`
	CustomAttributes       map[string]any  `json:"custom_attributes"`
	Tags                   addressableList `json:"tags"`
	Notes                  addressableList `json:"notes"`
	Companies              addressableList `json:"companies"`
	// Not in the 2.11 schema; real responses carry them.
	OptedOutSubscriptionTypes addressableList `json:"opted_out_subscription_types"`
	OptedInSubscriptionTypes  addressableList `json:"opted_in_subscription_types"`
	UTMCampaign               *string         `json:"utm_campaign"`
	UTMContent                *string         `json:"utm_content"`
	UTMMedium                 *string         `json:"utm_medium"`
	UTMSource                 *string         `json:"utm_source"`
	UTMTerm                   *string         `json:"utm_term"`
	Referrer                  *string         `json:"referrer"`
	SessionCount              int             `json:"session_count"`
}

// embedLimit is how many tags, notes or companies a contact embeds.
const embedLimit = 10

func strp(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func intp(n int64) *int64 {
	if n == 0 {
		return nil
	}
	return &n
}

func (s *Server) renderContact(c *dataset.Contact) contactJSON {
	w := &s.w
	out := contactJSON{
		Type:                   "contact",
		ID:                     c.ID,
		WorkspaceID:            s.workspaceID(),
		ExternalID:             strp(c.ExternalID),
		Role:                   c.Role,
		Email:                  c.Email,
		Phone:                  strp(c.Phone),
		FormattedPhone:         strp(c.FormattedPhone),
		Name:                   strp(c.Name),
		OwnerID:                intp(c.OwnerID),
		SocialProfiles:         socialProfiles{Type: "list", Data: []any{}},
		HasHardBounced:         c.HasHardBounced,
		MarkedEmailAsSpam:      c.MarkedEmailAsSpam,
		UnsubscribedFromEmails: c.UnsubscribedFromEmails,
		CreatedAt:              c.CreatedAt,
		UpdatedAt:              c.UpdatedAt,
		SignedUpAt:             intp(c.SignedUpAt),
		LastSeenAt:             intp(c.LastSeenAt),
		LastRepliedAt:          intp(c.LastRepliedAt),
		LastContactedAt:        intp(c.LastContactedAt),
		LastEmailOpenedAt:      intp(c.LastEmailOpenedAt),
		LastEmailClickedAt:     intp(c.LastEmailClickedAt),
		LanguageOverride:       strp(c.LanguageOverride),
		Browser:                strp(c.Browser),
		BrowserVersion:         strp(c.BrowserVersion),
		BrowserLanguage:        strp(c.BrowserLanguage),
		OS:                     strp(c.OS),
		Location: location{Type: "location", Country: strp(c.Country), Region: strp(c.Region), City: strp(c.City),
			CountryCode: strp(c.CountryCode), ContinentCode: strp(c.ContinentCode)},
		CustomAttributes: c.CustomAttributes,
		UTMCampaign:      strp(c.UTMCampaign),
		UTMSource:        strp(c.UTMSource),
		Referrer:         strp(c.Referrer),
		SessionCount:     c.SessionCount,
	}
	if out.CustomAttributes == nil {
		out.CustomAttributes = map[string]any{}
	}
	if at := strings.LastIndexByte(c.Email, '@'); at >= 0 {
		out.EmailDomain = c.Email[at+1:]
	}
	if c.AvatarURL != "" {
		out.Avatar = &avatar{Type: "avatar", ImageURL: strp(c.AvatarURL)}
	}
	base := "/contacts/" + c.ID
	tags := make([]listRef, 0, min(len(c.Tags), embedLimit))
	for _, t := range c.Tags {
		if t >= 0 && t < len(w.tags) && len(tags) < embedLimit {
			tags = append(tags, listRef{Type: "tag", ID: w.tags[t].ID, URL: "/tags/" + w.tags[t].ID})
		}
	}
	out.Tags = addressableList{Type: "list", Data: tags, URL: base + "/tags", TotalCount: len(c.Tags), HasMore: len(c.Tags) > embedLimit}
	comps := make([]listRef, 0, min(len(c.Companies), embedLimit))
	live := 0
	for _, j := range c.Companies {
		if j < len(w.coState) && w.coState[j] == 0 {
			live++
			if len(comps) < embedLimit {
				id := s.ds.CompanyID(j)
				comps = append(comps, listRef{Type: "company", ID: id, URL: "/companies/" + id})
			}
		}
	}
	out.Companies = addressableList{Type: "list", Data: comps, URL: base + "/companies", TotalCount: live, HasMore: live > embedLimit}
	out.Notes = addressableList{Type: "list", Data: []listRef{}, URL: base + "/notes"}
	subs := addressableList{Type: "list", Data: []listRef{}, URL: base + "/subscriptions"}
	out.OptedInSubscriptionTypes, out.OptedOutSubscriptionTypes = subs, subs
	return out
}

func (s *Server) workspaceID() string { return "ws" + s.ds.ContactID(0)[:8] }

type plan struct {
	Type string `json:"type,omitempty"`
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
}

type tagBasic struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Name string `json:"name"`
}

type companyTags struct {
	Type string     `json:"type"`
	Tags []tagBasic `json:"tags"`
}

type companySegments struct {
	Type     string `json:"type"`
	Segments []any  `json:"segments"`
}

type companyJSON struct {
	Type             string            `json:"type"`
	ID               string            `json:"id"`
	CompanyID        string            `json:"company_id"`
	AppID            string            `json:"app_id"`
	Name             string            `json:"name"`
	RemoteCreatedAt  int64             `json:"remote_created_at"`
	CreatedAt        int64             `json:"created_at"`
	UpdatedAt        int64             `json:"updated_at"`
	LastRequestAt    int64             `json:"last_request_at"`
	Size             int               `json:"size"`
	Website          string            `json:"website"`
	Industry         string            `json:"industry"`
	MonthlySpend     int64             `json:"monthly_spend"`
	SessionCount     int               `json:"session_count"`
	UserCount        int               `json:"user_count"`
	Tags             companyTags       `json:"tags"`
	Segments         companySegments   `json:"segments"`
	Plan             plan              `json:"plan"`
	CustomAttributes map[string]string `json:"custom_attributes"`
}

func (s *Server) renderCompany(c *dataset.Company) companyJSON {
	out := companyJSON{
		Type:             "company",
		ID:               c.ID,
		CompanyID:        c.CompanyID,
		AppID:            s.appIDCode(),
		Name:             c.Name,
		RemoteCreatedAt:  c.RemoteCreatedAt,
		CreatedAt:        c.CreatedAt,
		UpdatedAt:        c.UpdatedAt,
		LastRequestAt:    c.LastRequestAt,
		Size:             c.Size,
		Website:          c.Website,
		Industry:         c.Industry,
		MonthlySpend:     c.MonthlySpend,
		SessionCount:     c.SessionCount,
		UserCount:        len(s.w.companyMembers(c.Index)),
		Tags:             companyTags{Type: "tag.list", Tags: []tagBasic{}},
		Segments:         companySegments{Type: "segment.list", Segments: []any{}},
		CustomAttributes: c.CustomAttributes,
	}
	if out.CustomAttributes == nil {
		out.CustomAttributes = map[string]string{}
	}
	if c.PlanID != "" {
		out.Plan = plan{Type: "plan", ID: c.PlanID, Name: c.PlanName}
	}
	for _, t := range c.Tags {
		if t >= 0 && t < len(s.w.tags) {
			out.Tags.Tags = append(out.Tags.Tags, tagBasic{Type: "tag", ID: s.w.tags[t].ID, Name: s.w.tags[t].Name})
		}
	}
	return out
}

func (s *Server) appIDCode() string { return "sandbox" + s.ds.ContactID(0)[:8] }

type reference struct {
	Type string  `json:"type"`
	ID   *string `json:"id"`
}

type tagJSON struct {
	Type      string     `json:"type"`
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	AppliedAt *int64     `json:"applied_at"`
	AppliedBy *reference `json:"applied_by"`
}

type contactRef struct {
	Type       string  `json:"type"`
	ID         string  `json:"id"`
	ExternalID *string `json:"external_id"`
}

type author struct {
	Type  string  `json:"type"`
	ID    string  `json:"id"`
	Name  *string `json:"name"`
	Email string  `json:"email"`
}

type source struct {
	Type        string  `json:"type"`
	ID          string  `json:"id"`
	DeliveredAs string  `json:"delivered_as"`
	Subject     string  `json:"subject"`
	Body        string  `json:"body"`
	Author      author  `json:"author"`
	Attachments []any   `json:"attachments"`
	URL         *string `json:"url"`
	Redacted    bool    `json:"redacted"`
}

type ratingJSON struct {
	Rating    int        `json:"rating"`
	Remark    string     `json:"remark"`
	CreatedAt int64      `json:"created_at"`
	Contact   contactRef `json:"contact"`
	Teammate  reference  `json:"teammate"`
}

type contentSources struct {
	Type           string `json:"type"`
	TotalCount     int    `json:"total_count"`
	ContentSources []any  `json:"content_sources"`
}

type aiAgentJSON struct {
	SourceType      string         `json:"source_type"`
	SourceTitle     *string        `json:"source_title"`
	LastAnswerType  *string        `json:"last_answer_type"`
	ResolutionState *string        `json:"resolution_state"`
	Rating          *int64         `json:"rating"`
	RatingRemark    *string        `json:"rating_remark"`
	ContentSources  contentSources `json:"content_sources"`
}

type statistics struct {
	Type                       string `json:"type"`
	TimeToAssignment           *int64 `json:"time_to_assignment,omitempty"`
	TimeToAdminReply           *int64 `json:"time_to_admin_reply,omitempty"`
	TimeToFirstClose           *int64 `json:"time_to_first_close,omitempty"`
	TimeToLastClose            *int64 `json:"time_to_last_close,omitempty"`
	MedianTimeToReply          *int64 `json:"median_time_to_reply,omitempty"`
	FirstContactReplyAt        *int64 `json:"first_contact_reply_at,omitempty"`
	FirstAssignmentAt          *int64 `json:"first_assignment_at,omitempty"`
	FirstAdminReplyAt          *int64 `json:"first_admin_reply_at,omitempty"`
	FirstCloseAt               *int64 `json:"first_close_at,omitempty"`
	LastAssignmentAt           *int64 `json:"last_assignment_at,omitempty"`
	LastAssignmentAdminReplyAt *int64 `json:"last_assignment_admin_reply_at,omitempty"`
	LastContactReplyAt         *int64 `json:"last_contact_reply_at,omitempty"`
	LastAdminReplyAt           *int64 `json:"last_admin_reply_at,omitempty"`
	LastCloseAt                *int64 `json:"last_close_at,omitempty"`
	LastClosedByID             string `json:"last_closed_by_id,omitempty"`
	CountReopens               int    `json:"count_reopens"`
	CountAssignments           int    `json:"count_assignments"`
	CountConversationParts     int    `json:"count_conversation_parts"`
}

type conversationTags struct {
	Type string    `json:"type"`
	Tags []tagJSON `json:"tags"`
}

type conversationContacts struct {
	Type     string       `json:"type"`
	Contacts []contactRef `json:"contacts"`
}

type teammates struct {
	Type      string      `json:"type"`
	Teammates []reference `json:"teammates"`
}

type slaApplied struct {
	Type      string `json:"type"`
	SLAName   string `json:"sla_name"`
	SLAStatus string `json:"sla_status"`
}

type firstContactReply struct {
	CreatedAt int64   `json:"created_at"`
	Type      string  `json:"type"`
	URL       *string `json:"url"`
}

type linkedObjects struct {
	Type       string `json:"type"`
	TotalCount int    `json:"total_count"`
	HasMore    bool   `json:"has_more"`
	Data       []any  `json:"data"`
}

type topics struct {
	Type       string `json:"type"`
	Topics     []any  `json:"topics"`
	TotalCount int    `json:"total_count"`
}

type part struct {
	Type        string     `json:"type"`
	ID          string     `json:"id"`
	PartType    string     `json:"part_type"`
	Body        *string    `json:"body"`
	CreatedAt   int64      `json:"created_at"`
	UpdatedAt   int64      `json:"updated_at"`
	NotifiedAt  int64      `json:"notified_at"`
	AssignedTo  *reference `json:"assigned_to,omitempty"`
	Author      author     `json:"author"`
	Attachments []any      `json:"attachments"`
	ExternalID  *string    `json:"external_id"`
	Redacted    bool       `json:"redacted"`
}

type parts struct {
	Type              string `json:"type"`
	ConversationParts []part `json:"conversation_parts"`
	TotalCount        int    `json:"total_count"`
}

type conversationJSON struct {
	Type                string               `json:"type"`
	ID                  string               `json:"id"`
	Title               *string              `json:"title"`
	CreatedAt           int64                `json:"created_at"`
	UpdatedAt           int64                `json:"updated_at"`
	WaitingSince        *int64               `json:"waiting_since"`
	SnoozedUntil        *int64               `json:"snoozed_until"`
	Open                bool                 `json:"open"`
	State               string               `json:"state"`
	Read                bool                 `json:"read"`
	Priority            string               `json:"priority"`
	AdminAssigneeID     *int64               `json:"admin_assignee_id"`
	TeamAssigneeID      *int64               `json:"team_assignee_id"`
	Tags                conversationTags     `json:"tags"`
	ConversationRating  *ratingJSON          `json:"conversation_rating,omitempty"`
	Source              source               `json:"source"`
	Contacts            conversationContacts `json:"contacts"`
	Teammates           teammates            `json:"teammates"`
	CustomAttributes    map[string]any       `json:"custom_attributes"`
	Topics              topics               `json:"topics"`
	FirstContactReply   *firstContactReply   `json:"first_contact_reply,omitempty"`
	SLAApplied          *slaApplied          `json:"sla_applied,omitempty"`
	Statistics          *statistics          `json:"statistics,omitempty"`
	ConversationParts   *parts               `json:"conversation_parts,omitempty"`
	LinkedObjects       linkedObjects        `json:"linked_objects"`
	AIAgentParticipated bool                 `json:"ai_agent_participated"`
	AIAgent             *aiAgentJSON         `json:"ai_agent,omitempty"`
}

func (s *Server) adminAuthor(id int64) author {
	for _, a := range s.ds.Admins() {
		if a.ID == id {
			return author{Type: "admin", ID: strconv.FormatInt(id, 10), Name: strp(a.Name), Email: a.Email}
		}
	}
	return author{Type: "admin", ID: strconv.FormatInt(id, 10), Email: "teammate@support.example.com"}
}

func ref(typ string, id int64) reference {
	s := strconv.FormatInt(id, 10)
	return reference{Type: typ, ID: &s}
}

// renderConversation renders a conversation; withParts adds the parts
// (GET /conversations/{id} only).
func (s *Server) renderConversation(c *dataset.Conversation, withParts bool) conversationJSON {
	w := &s.w
	ct := w.contact(c.Contact)
	cref := contactRef{Type: "contact", ID: ct.ID, ExternalID: strp(ct.ExternalID)}
	contactAuthor := author{Type: ct.Role, ID: ct.ID, Name: strp(ct.Name), Email: ct.Email}
	out := conversationJSON{
		Type:             "conversation",
		ID:               c.ID,
		Title:            strp(c.Title),
		CreatedAt:        c.CreatedAt,
		UpdatedAt:        c.UpdatedAt,
		WaitingSince:     intp(c.WaitingSince),
		SnoozedUntil:     intp(c.SnoozedUntil),
		Open:             c.Open(),
		State:            c.State,
		Read:             c.Read,
		Priority:         c.Priority,
		AdminAssigneeID:  intp(c.AdminID),
		TeamAssigneeID:   intp(c.TeamID),
		Tags:             conversationTags{Type: "tag.list", Tags: []tagJSON{}},
		Contacts:         conversationContacts{Type: "contact.list", Contacts: []contactRef{cref}},
		Teammates:        teammates{Type: "admin.list", Teammates: []reference{}},
		CustomAttributes: c.CustomAttributes,
		Topics:           topics{Type: "topic.list", Topics: []any{}},
		LinkedObjects:    linkedObjects{Type: "list", Data: []any{}},
		FirstContactReply: &firstContactReply{CreatedAt: c.Statistics.FirstContactReplyAt, Type: c.Source.Type,
			URL: nil},
		AIAgentParticipated: c.AIAgentParticipated,
	}
	if out.CustomAttributes == nil {
		out.CustomAttributes = map[string]any{}
	}
	if c.Statistics.FirstContactReplyAt == 0 {
		out.FirstContactReply = nil
	}
	src := source{Type: c.Source.Type, ID: c.Source.ID, DeliveredAs: c.Source.DeliveredAs, Subject: c.Source.Subject,
		Body: c.Source.Body, Author: contactAuthor, Attachments: []any{}}
	if c.Source.AuthorAdmin != 0 {
		src.Author = s.adminAuthor(c.Source.AuthorAdmin)
	}
	out.Source = src
	if c.AdminID != 0 {
		out.Teammates.Teammates = append(out.Teammates.Teammates, ref("admin", c.AdminID))
	}
	for _, t := range c.Tags {
		if t >= 0 && t < len(w.tags) {
			at := c.CreatedAt
			by := ref("admin", c.AdminID)
			if c.AdminID == 0 {
				by = reference{Type: "admin"}
			}
			out.Tags.Tags = append(out.Tags.Tags, tagJSON{Type: "tag", ID: w.tags[t].ID, Name: w.tags[t].Name, AppliedAt: &at, AppliedBy: &by})
		}
	}
	if r := c.Rating; r != nil {
		out.ConversationRating = &ratingJSON{Rating: r.Rating, Remark: r.Remark, CreatedAt: r.CreatedAt, Contact: cref, Teammate: ref("admin", r.AdminID)}
	}
	if c.SLAName != "" {
		out.SLAApplied = &slaApplied{Type: "conversation_sla_summary", SLAName: c.SLAName, SLAStatus: c.SLAStatus}
	}
	st := c.Statistics
	stats := &statistics{
		Type:                   "conversation_statistics",
		TimeToAssignment:       intp(st.TimeToAssignment),
		TimeToAdminReply:       intp(st.TimeToAdminReply),
		TimeToFirstClose:       intp(st.TimeToFirstClose),
		TimeToLastClose:        intp(st.TimeToLastClose),
		MedianTimeToReply:      intp(st.MedianTimeToReply),
		FirstContactReplyAt:    intp(st.FirstContactReplyAt),
		FirstAssignmentAt:      intp(st.FirstAssignmentAt),
		FirstAdminReplyAt:      intp(st.FirstAdminReplyAt),
		FirstCloseAt:           intp(st.FirstCloseAt),
		LastAssignmentAt:       intp(st.LastAssignmentAt),
		LastContactReplyAt:     intp(st.LastContactReplyAt),
		LastAdminReplyAt:       intp(st.LastAdminReplyAt),
		LastCloseAt:            intp(st.LastCloseAt),
		CountReopens:           st.CountReopens,
		CountAssignments:       st.CountAssignments,
		CountConversationParts: st.CountParts,
	}
	if st.LastAssignmentAt != 0 && st.LastAdminReplyAt != 0 {
		stats.LastAssignmentAdminReplyAt = intp(st.LastAdminReplyAt)
	}
	if st.LastClosedByID != 0 {
		stats.LastClosedByID = strconv.FormatInt(st.LastClosedByID, 10)
	}
	out.Statistics = stats
	if a := c.AIAgent; a != nil {
		aj := &aiAgentJSON{SourceType: a.SourceType, SourceTitle: strp(a.SourceTitle), LastAnswerType: strp(a.LastAnswerType),
			ResolutionState: strp(a.ResolutionState), RatingRemark: strp(a.RatingRemark),
			ContentSources: contentSources{Type: "content_source.list", ContentSources: []any{}}}
		if a.Rating != 0 {
			aj.Rating = intp(int64(a.Rating))
		}
		out.AIAgent = aj
	}
	if withParts {
		out.ConversationParts = s.renderParts(c, contactAuthor)
	}
	return out
}

// renderParts makes the parts after the source message: replies back and
// forth, then the state change that put the conversation where it is.
func (s *Server) renderParts(c *dataset.Conversation, contact author) *parts {
	n := max(c.Parts, 1)
	ps := make([]part, 0, n)
	step := max((c.UpdatedAt-c.CreatedAt)/int64(n+1), 1)
	admin := c.AdminID
	if admin == 0 {
		admin = s.ds.Admins()[0].ID
	}
	for i := range n {
		at := c.CreatedAt + step*int64(i+1)
		p := part{Type: "conversation_part", ID: c.ID + "-" + strconv.Itoa(i+1), CreatedAt: at, UpdatedAt: at, NotifiedAt: at,
			Attachments: []any{}}
		switch {
		case i == n-1 && c.State == dataset.StateClosed:
			p.PartType, p.Author = "close", s.adminAuthor(admin)
		case i == n-1 && c.State == dataset.StateSnoozed:
			p.PartType, p.Author = "snoozed", s.adminAuthor(admin)
		case i%2 == 0:
			p.PartType, p.Author, p.Body = "comment", s.adminAuthor(admin), strp("<p>Thanks for reaching out!</p>")
		default:
			p.PartType, p.Author, p.Body = "comment", contact, strp("<p>Thank you</p>")
		}
		ps = append(ps, p)
	}
	return &parts{Type: "conversation_part.list", ConversationParts: ps, TotalCount: len(ps)}
}

// tagsOf renders a contact's tags in full (GET /contacts/{id}/tags).
func (s *Server) tagsOf(c *dataset.Contact) []tagJSON {
	out := make([]tagJSON, 0, len(c.Tags))
	admin := s.ds.Admins()[0].ID
	for k, t := range c.Tags {
		if t < 0 || t >= len(s.w.tags) {
			continue
		}
		at := c.CreatedAt + int64(k)*3600
		by := ref("admin", admin)
		out = append(out, tagJSON{Type: "tag", ID: s.w.tags[t].ID, Name: s.w.tags[t].Name, AppliedAt: &at, AppliedBy: &by})
	}
	slices.SortStableFunc(out, func(a, b tagJSON) int { return strings.Compare(a.Name, b.Name) })
	return out
}
