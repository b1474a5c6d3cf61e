// Package expect computes, independently of the sync engine, what Brevo
// must hold after a sync of the sandbox's Intercom workspace, and reports
// every difference from what the simulated Brevo actually holds. It knows
// the brief's default field mappings, the quickstart's custom ones and the
// list rules by heart, so a bug in agent/mapping or agent/sync cannot hide
// behind shared code.
package expect

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/tajo/terraform-provider-tajo/agent/sandbox"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox/dataset"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox/fakebrevo"
)

// Setup describes the configuration the sync ran with, in the terms this
// package understands.
type Setup struct {
	// LeadsWithoutEmail are synced by ext_id (lead_policy = "ext_id").
	LeadsWithoutEmail bool
	// Custom: the quickstart's PLAN_TIER and FEATURE_USAGE mappings.
	Custom bool
	// Lists by rule: "all_users", "leads", "all_contacts", "tag:<name>",
	// "company_plan:<plan>" → list id.
	Lists map[string]int64
	// Companies: companies are synced and contacts linked to them.
	Companies bool
	// DeleteRemoved: delete_removed_contacts is on, so contacts gone from
	// Intercom must be gone from Brevo; otherwise they may stay, in no
	// managed list.
	DeleteRemoved bool
	// Conversations and AIAgent: the default aggregate and AI-agent
	// attributes are written (sync.conversations, sync.ai_agent); list
	// rules "active_conversations" and "conversation_tag:<name>" may be
	// used in Lists.
	Conversations, AIAgent bool
}

// convFacts are a contact's conversations, computed here from the
// sandbox's workspace.
type convFacts struct {
	count, open                int
	lastAt, lastClosed         int64
	lastID                     string
	lastState                  string
	rating, ratings, ratingSum int
	ratingAt                   int64
	ratingID                   string
	remark                     bool
	tags                       map[string]bool
	ai                         bool
	aiAt, aiRatingAt           int64
	aiID, aiRatingID           string
	aiResolution, aiAnswer     string
	aiRating                   int
}

// later orders occurrences by time, then id (the engine's tie-break).
func later(t int64, id string, thanT int64, thanID string) bool {
	return t > thanT || (t == thanT && id > thanID)
}

func conversationsByContact(sb *sandbox.Sandbox) map[int]*convFacts {
	ic := sb.Intercom
	tags := ic.Tags()
	out := map[int]*convFacts{}
	for _, id := range ic.ConversationIDs() {
		c, ok := ic.Conversation(id)
		if !ok {
			continue
		}
		f := out[c.Contact]
		if f == nil {
			f = &convFacts{tags: map[string]bool{}}
			out[c.Contact] = f
		}
		f.count++
		if c.State != dataset.StateClosed {
			f.open++
		}
		if later(c.UpdatedAt, c.ID, f.lastAt, f.lastID) {
			f.lastAt, f.lastID, f.lastState = c.UpdatedAt, c.ID, c.State
		}
		closed := c.Statistics.LastCloseAt
		if c.State == dataset.StateClosed && closed == 0 {
			closed = c.UpdatedAt
		}
		f.lastClosed = max(f.lastClosed, closed)
		if c.Rating != nil && c.Rating.Rating > 0 {
			f.ratings++
			f.ratingSum += c.Rating.Rating
			if later(c.Rating.CreatedAt, c.ID, f.ratingAt, f.ratingID) || f.rating == 0 {
				f.rating, f.ratingAt, f.ratingID, f.remark = c.Rating.Rating, c.Rating.CreatedAt, c.ID, c.Rating.Remark != ""
			}
		}
		for _, t := range c.Tags {
			f.tags[tags[t].Name] = true
		}
		if c.AIAgentParticipated {
			f.ai = true
			res, rating, answer := "", 0, ""
			if c.AIAgent != nil {
				res, rating, answer = c.AIAgent.ResolutionState, c.AIAgent.Rating, c.AIAgent.LastAnswerType
			}
			if later(c.UpdatedAt, c.ID, f.aiAt, f.aiID) {
				f.aiAt, f.aiID, f.aiResolution, f.aiAnswer = c.UpdatedAt, c.ID, res, answer
			}
			if rating > 0 && later(c.UpdatedAt, c.ID, f.aiRatingAt, f.aiRatingID) {
				f.aiRating, f.aiRatingAt, f.aiRatingID = rating, c.UpdatedAt, c.ID
			}
		}
	}
	return out
}

func (f *convFacts) attributes(want map[string]any, s Setup) {
	if f == nil {
		f = &convFacts{tags: map[string]bool{}}
	}
	if s.Conversations {
		want["CONVERSATIONS"] = float64(f.count)
		want["OPEN_CONVERSATIONS"] = float64(f.open)
		if f.lastAt != 0 {
			want["LAST_CONVERSATION_AT"] = date(f.lastAt)
			want["LAST_CONVERSATION_STATE"] = f.lastState
		}
		if f.rating > 0 {
			want["LAST_RATING"] = float64(f.rating)
			want["LAST_RATING_REMARK"] = f.remark
			want["AVERAGE_RATING"] = float64(f.ratingSum) / float64(f.ratings)
		}
		if f.lastClosed != 0 {
			want["LAST_CLOSED_AT"] = date(f.lastClosed)
		}
		if len(f.tags) > 0 {
			names := make([]string, 0, len(f.tags))
			for t := range f.tags {
				names = append(names, t)
			}
			sort.Strings(names)
			want["CONVERSATION_TAGS"] = strings.Join(names, ",")
		}
	}
	if s.AIAgent {
		want["AI_AGENT_PARTICIPATED"] = f.ai
		if f.aiResolution != "" {
			want["AI_RESOLUTION_STATE"] = f.aiResolution
		}
		if f.aiRating > 0 {
			want["AI_RATING"] = float64(f.aiRating)
		}
		if f.aiAnswer != "" {
			want["AI_LAST_ANSWER_TYPE"] = f.aiAnswer
		}
	}
}

// Report is the outcome of a comparison.
type Report struct {
	// Contacts expected in Brevo; Skipped are leads without email left out.
	Contacts, Skipped int
	// Companies expected in Brevo.
	Companies int
	// Problems list every difference (empty when Brevo is exact).
	Problems []string
}

func (r *Report) add(format string, args ...any) {
	r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
}

// Err summarises the problems (nil when none), showing the first ten.
func (r Report) Err() error {
	if len(r.Problems) == 0 {
		return nil
	}
	shown := r.Problems
	if len(shown) > 10 {
		shown = append(slices.Clone(shown[:10]), fmt.Sprintf("… and %d more", len(r.Problems)-10))
	}
	return fmt.Errorf("%d differences between Brevo and the Intercom workspace:\n  %s", len(r.Problems), strings.Join(shown, "\n  "))
}

func date(ts int64) string { return time.Unix(ts, 0).UTC().Format("2006-01-02") }

// Attributes returns the Brevo attributes a contact must have.
func Attributes(c dataset.Contact, companies map[string]dataset.Company, s Setup) map[string]any {
	want := map[string]any{}
	if c.Name != "" {
		want["FULLNAME"] = c.Name
		words := strings.Fields(c.Name)
		want["FIRSTNAME"] = words[0]
		want["LASTNAME"] = strings.Join(words[1:], " ")
	}
	if c.FormattedPhone != "" {
		want["SMS"] = c.FormattedPhone
	}
	want["CONTACT_TYPE"] = c.Role
	if len(c.Companies) > 0 {
		if co, ok := companies[companyKey(c.Companies[0])]; ok {
			if co.Name != "" {
				want["COMPANY_NAME"] = co.Name
			}
			if co.PlanName != "" {
				want["COMPANY_PLAN"] = co.PlanName
			}
			want["COMPANY_SIZE"] = float64(co.Size)
		}
	}
	if c.SignedUpAt != 0 {
		want["SIGNUP_DATE"] = date(c.SignedUpAt)
	}
	if c.LastSeenAt != 0 {
		want["LAST_ACTIVE"] = date(c.LastSeenAt)
	}
	want["SESSION_COUNT"] = float64(c.SessionCount)
	want["UNSUBSCRIBED"] = c.UnsubscribedFromEmails
	if s.Custom {
		if v, ok := c.CustomAttributes["plan_tier"]; ok && v != nil {
			want["PLAN_TIER"] = fmt.Sprint(v)
		}
		if v, ok := c.CustomAttributes["feature_usage"]; ok && v != nil {
			want["FEATURE_USAGE"] = toFloat(v)
		}
	}
	return want
}

func toFloat(v any) any {
	switch x := v.(type) {
	case int:
		return float64(x)
	case int64:
		return float64(x)
	case float64:
		return x
	}
	return v
}

// companies are keyed by index as a string to stay independent of ids.
func companyKey(i int) string { return fmt.Sprint(i) }

// Lists returns the lists a contact must be in.
func Lists(c dataset.Contact, tags []dataset.Tag, companies map[string]dataset.Company, conv *convFacts, s Setup) []int64 {
	var out []int64
	for rule, list := range s.Lists {
		kind, arg, _ := strings.Cut(rule, ":")
		match := false
		switch kind {
		case "all_users":
			match = c.Role == "user"
		case "leads":
			match = c.Role == "lead"
		case "all_contacts":
			match = true
		case "tag":
			for _, t := range c.Tags {
				if strings.EqualFold(tags[t].Name, arg) {
					match = true
				}
			}
		case "company_plan":
			if len(c.Companies) > 0 {
				co := companies[companyKey(c.Companies[0])]
				match = co.PlanName != "" && strings.EqualFold(co.PlanName, arg)
			}
		case "active_conversations":
			match = conv != nil && conv.open > 0
		case "conversation_tag":
			if conv != nil {
				for t := range conv.tags {
					if strings.EqualFold(t, arg) {
						match = true
					}
				}
			}
		}
		if match {
			out = append(out, list)
		}
	}
	slices.Sort(out)
	return out
}

// Compare checks the simulated Brevo against the simulated Intercom.
func Compare(sb *sandbox.Sandbox, s Setup) Report {
	var r Report
	ic, br := sb.Intercom, sb.Brevo
	tags := ic.Tags()
	companies := map[string]dataset.Company{}
	companyIndex := map[string]int{}
	for _, id := range ic.CompanyIDs() {
		co, ok := ic.Company(id)
		if !ok {
			continue
		}
		companies[companyKey(co.Index)] = co
		companyIndex[co.ID] = co.Index
	}
	// Managed lists hold exactly the expected members.
	members := map[int64]map[int64]bool{}
	for _, list := range s.Lists {
		ids, _ := br.ListMembers(list)
		members[list] = map[int64]bool{}
		for _, id := range ids {
			members[list][id] = true
		}
	}
	expectedIn := map[int64]map[int64]bool{}
	for _, l := range s.Lists {
		expectedIn[l] = map[int64]bool{}
	}
	wantLinks := map[int]map[int64]bool{} // company index → Brevo contact ids
	var convs map[int]*convFacts
	if s.Conversations || s.AIAgent || needsConversations(s) {
		convs = conversationsByContact(sb)
	}
	// A phone number is a Brevo identifier: of the synced contacts that
	// share one, the contact with the lowest Intercom id holds it, the
	// others are written without SMS.
	smsHolder := map[string]string{}
	for _, id := range ic.ContactIDs() {
		c, ok := ic.Contact(id)
		if !ok || c.FormattedPhone == "" || (c.Email == "" && !s.LeadsWithoutEmail) {
			continue
		}
		if h, ok := smsHolder[c.FormattedPhone]; !ok || id < h {
			smsHolder[c.FormattedPhone] = id
		}
	}
	seenExt := map[string]bool{}
	for _, id := range ic.ContactIDs() {
		c, ok := ic.Contact(id)
		if !ok {
			continue
		}
		got, found := br.ContactByExtID(id)
		if c.Email == "" && !s.LeadsWithoutEmail {
			r.Skipped++
			if found {
				r.add("contact %s: a lead without email is in Brevo although the lead policy is skip", id)
			}
			continue
		}
		r.Contacts++
		seenExt[id] = true
		if !found {
			r.add("contact %s (%s): missing in Brevo", id, c.Role)
			continue
		}
		if !strings.EqualFold(got.Email, c.Email) {
			r.add("contact %s: email %q, want %q", id, got.Email, c.Email)
		}
		if got.EmailBlacklisted != c.UnsubscribedFromEmails && c.UnsubscribedFromEmails {
			r.add("contact %s: emailBlacklisted %v, want %v", id, got.EmailBlacklisted, c.UnsubscribedFromEmails)
		}
		want := Attributes(c, companies, s)
		if smsHolder[c.FormattedPhone] != id {
			delete(want, "SMS")
			if got.SMS == c.FormattedPhone && c.FormattedPhone != "" {
				r.add("contact %s: holds SMS %s, which contact %s holds", id, c.FormattedPhone, smsHolder[c.FormattedPhone])
			}
		}
		if s.Conversations || s.AIAgent {
			convs[c.Index].attributes(want, s)
		}
		for k, v := range want {
			g, ok := got.Attributes[k]
			if k == "SMS" && !ok {
				g, ok = got.SMS, got.SMS != ""
			}
			if !ok {
				if v == "" {
					continue // an empty value clears; absent is the same
				}
				r.add("contact %s: attribute %s missing, want %v", id, k, v)
				continue
			}
			if !equal(g, v) {
				r.add("contact %s: attribute %s = %v (%T), want %v (%T)", id, k, g, g, v, v)
			}
		}
		wantLists := Lists(c, tags, companies, convs[c.Index], s)
		for _, l := range wantLists {
			expectedIn[l][got.ID] = true
		}
		if s.Companies && c.Email != "" {
			for _, ci := range c.Companies {
				if wantLinks[ci] == nil {
					wantLinks[ci] = map[int64]bool{}
				}
				wantLinks[ci][got.ID] = true
			}
		}
	}
	for _, list := range s.Lists {
		for id := range expectedIn[list] {
			if !members[list][id] {
				r.add("list %d: contact #%d missing", list, id)
			}
		}
		for id := range members[list] {
			if !expectedIn[list][id] {
				c, _ := br.ContactByID(id)
				r.add("list %d: contact #%d (ext_id %s) should not be in it", list, id, c.ExtID)
			}
		}
	}
	// No duplicates: one Brevo contact per synced Intercom contact.
	byExt := map[string]int{}
	for _, bc := range br.Contacts() {
		if bc.ExtID == "" {
			r.add("brevo contact #%d has no ext_id", bc.ID)
			continue
		}
		byExt[bc.ExtID]++
		if !seenExt[bc.ExtID] {
			_, live := ic.Contact(bc.ExtID)
			switch {
			case live || s.DeleteRemoved:
				r.add("brevo contact #%d (ext_id %s) matches no synced Intercom contact", bc.ID, bc.ExtID)
			default:
				for _, list := range s.Lists {
					if members[list][bc.ID] {
						r.add("brevo contact #%d (ext_id %s) is gone from Intercom but still in list %d", bc.ID, bc.ExtID, list)
					}
				}
			}
		}
	}
	for ext, n := range byExt {
		if n > 1 {
			r.add("%d brevo contacts share ext_id %s", n, ext)
		}
	}
	if s.Companies {
		compareCompanies(&r, br, companies, companyIndex, wantLinks)
	}
	sort.Strings(r.Problems)
	return r
}

func needsConversations(s Setup) bool {
	for rule := range s.Lists {
		if rule == "active_conversations" || strings.HasPrefix(rule, "conversation_tag:") {
			return true
		}
	}
	return false
}

func compareCompanies(r *Report, br *fakebrevo.Server, companies map[string]dataset.Company, index map[string]int, wantLinks map[int]map[int64]bool) {
	got := map[string]fakebrevo.Company{}
	for _, bc := range br.Companies() {
		iid, _ := bc.Attributes["intercom_id"].(string)
		if iid == "" {
			r.add("brevo company %s has no intercom_id", bc.ID)
			continue
		}
		if _, dup := got[iid]; dup {
			r.add("two brevo companies for intercom company %s", iid)
		}
		got[iid] = bc
	}
	for _, co := range companies {
		r.Companies++
		bc, ok := got[co.ID]
		if !ok {
			r.add("company %s: missing in Brevo", co.ID)
			continue
		}
		wantName := co.Name
		if wantName == "" {
			wantName = "Intercom company " + co.ID
		}
		if bc.Name != wantName {
			r.add("company %s: name %q, want %q", co.ID, bc.Name, wantName)
		}
		if co.PlanName != "" && bc.Attributes["plan"] != co.PlanName {
			r.add("company %s: plan %v, want %q", co.ID, bc.Attributes["plan"], co.PlanName)
		}
		want := wantLinks[co.Index]
		linked := map[int64]bool{}
		for _, id := range bc.LinkedContactsIDs {
			linked[id] = true
			if !want[id] {
				r.add("company %s: contact #%d linked but not a member", co.ID, id)
			}
		}
		for id := range want {
			if !linked[id] {
				r.add("company %s: member contact #%d not linked", co.ID, id)
			}
		}
	}
	for iid := range got {
		if _, ok := index[iid]; !ok {
			r.add("brevo company for intercom company %s, which does not exist", iid)
		}
	}
}

func equal(a, b any) bool {
	fa, aok := num(a)
	fb, bok := num(b)
	if aok && bok {
		return math.Abs(fa-fb) < 1e-9
	}
	return fmt.Sprint(a) == fmt.Sprint(b)
}

func num(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case interface{ Float64() (float64, error) }:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}
