package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tajo/terraform-provider-tajo/agent/config"
	"github.com/tajo/terraform-provider-tajo/agent/intercom"
	"github.com/tajo/terraform-provider-tajo/agent/mapping"
	"github.com/tajo/terraform-provider-tajo/agent/store"
)

// aggregates are what a contact's conversations add to it: mapping
// sources conversations.* and ai_agent.*, and list rule facts. They are
// computed from the stored conversations of the contact, so they stay exact
// as conversations change one by one.
type aggregates struct {
	count, open, snoozed int
	lastAt               int64
	lastState            string
	lastID               string // of the conversation that names lastState
	lastRating           int
	lastRatingAt         int64
	lastRemark           bool
	ratings, ratingSum   int
	lastClosedAt         int64
	tags                 []string
	aiParticipated       bool
	aiAt                 int64
	aiResolution         string
	aiRating             int
	aiRatingAt           int64
	aiAnswerType         string
}

func aggregate(cs []store.Conversation) *aggregates {
	a := &aggregates{}
	tags := map[string]bool{}
	for _, c := range cs {
		a.count++
		switch c.State {
		case intercom.StateOpen:
			a.open++
		case intercom.StateSnoozed:
			a.open++
			a.snoozed++
		}
		// The most recently active conversation names the last state; ties
		// break on the id, so the result does not depend on order.
		if c.UpdatedAt > a.lastAt || (c.UpdatedAt == a.lastAt && c.ID > a.lastID) {
			a.lastAt, a.lastID, a.lastState = c.UpdatedAt, c.ID, c.State
		}
		if c.Rating > 0 {
			a.ratings++
			a.ratingSum += c.Rating
			if c.RatingAt >= a.lastRatingAt {
				a.lastRating, a.lastRatingAt, a.lastRemark = c.Rating, c.RatingAt, c.Remark
			}
		}
		a.lastClosedAt = max(a.lastClosedAt, c.LastClosedAt)
		for _, t := range c.Tags {
			tags[t] = true
		}
		if c.AIParticipated {
			a.aiParticipated = true
			if c.UpdatedAt >= a.aiAt {
				a.aiAt, a.aiResolution, a.aiAnswerType = c.UpdatedAt, c.AIResolution, c.AIAnswerType
			}
			if c.AIRating > 0 && c.UpdatedAt >= a.aiRatingAt {
				a.aiRating, a.aiRatingAt = c.AIRating, c.UpdatedAt
			}
		}
	}
	for t := range tags {
		a.tags = append(a.tags, t)
	}
	sort.Strings(a.tags)
	return a
}

// lookup serves the conversations.* and ai_agent.* mapping sources.
func (a *aggregates) lookup(path string) (any, bool) {
	switch path {
	case "conversations.count":
		return int64(a.count), true
	case "conversations.open_count":
		return int64(a.open), true
	case "conversations.snoozed_count":
		return int64(a.snoozed), true
	case "conversations.last_at":
		return timestamp(a.lastAt)
	case "conversations.last_state":
		return nonEmpty(a.lastState)
	case "conversations.last_rating":
		if a.lastRating == 0 {
			return nil, false
		}
		return int64(a.lastRating), true
	case "conversations.last_rating_has_remark":
		if a.lastRating == 0 {
			return nil, false
		}
		return a.lastRemark, true
	case "conversations.average_rating":
		if a.ratings == 0 {
			return nil, false
		}
		return float64(a.ratingSum) / float64(a.ratings), true
	case "conversations.last_closed_at":
		return timestamp(a.lastClosedAt)
	case "conversations.tags":
		if len(a.tags) == 0 {
			return nil, false
		}
		return strings.Join(a.tags, ","), true
	case "ai_agent.participated":
		return a.aiParticipated, true
	case "ai_agent.resolution_state":
		return nonEmpty(a.aiResolution)
	case "ai_agent.rating":
		if a.aiRating == 0 {
			return nil, false
		}
		return int64(a.aiRating), true
	case "ai_agent.last_answer_type":
		return nonEmpty(a.aiAnswerType)
	}
	return nil, false
}

// aggRecord exposes only the aggregates, for re-applying the
// conversation-derived mappings to a stored contact state.
type aggRecord struct{ a *aggregates }

func (r aggRecord) Lookup(path string) (any, bool) { return r.a.lookup(path) }

func conversationSource(source string) bool {
	return strings.HasPrefix(source, config.ConversationsPrefix) || strings.HasPrefix(source, config.AIAgentPrefix)
}

// rowOf is what the agent keeps of a conversation.
func rowOf(c *intercom.Conversation) (store.Conversation, bool) {
	if c.Contacts == nil || len(c.Contacts.Contacts) == 0 {
		return store.Conversation{}, false // no contact to credit it to
	}
	r := store.Conversation{
		ID: c.ID, ContactID: string(c.Contacts.Contacts[0].ID), State: c.State,
		CreatedAt: int64(c.CreatedAt), UpdatedAt: int64(c.UpdatedAt), AIParticipated: c.AIAgentParticipated,
	}
	if r.State == "" {
		r.State = intercom.StateOpen
		if !c.Open {
			r.State = intercom.StateClosed
		}
	}
	if c.Statistics != nil {
		r.LastClosedAt = int64(c.Statistics.LastCloseAt)
	}
	if r.State == intercom.StateClosed && r.LastClosedAt == 0 {
		r.LastClosedAt = r.UpdatedAt
	}
	if c.ConversationRating != nil && c.ConversationRating.Rating > 0 {
		r.Rating, r.RatingAt, r.Remark = c.ConversationRating.Rating, int64(c.ConversationRating.CreatedAt), c.ConversationRating.Remark != ""
	}
	if c.Tags != nil {
		for _, t := range c.Tags.Tags {
			if t.Name != "" {
				r.Tags = append(r.Tags, t.Name)
			}
		}
		sort.Strings(r.Tags)
	}
	if a := c.AIAgent; a != nil {
		r.AIResolution, r.AIRating, r.AIAnswerType = a.ResolutionState, a.Rating, a.LastAnswerType
	}
	return r, true
}

// Checkpoint names of the conversation passes.
const (
	cpConversations = "conversations"
	// cpConvBaseline is set once every conversation has been read: from
	// then on, changes are events (history is not replayed as events).
	cpConvBaseline = "conversations.baseline"
)

type conversationCheckpoint struct {
	// Cursor of an unfinished full read.
	Gen    int64  `json:"gen,omitempty"`
	Cursor string `json:"cursor,omitempty"`
	// Since is the updated_at up to which conversations were read.
	Since int64 `json:"since,omitempty"`
}

// planConversationsFull reads every conversation (150 per page),
// checkpointing the cursor with each page.
func (e *Engine) planConversationsFull(ctx context.Context, gen int64) error {
	var cp conversationCheckpoint
	if _, err := e.loadCheckpoint(ctx, cpConversations, &cp); err != nil {
		return err
	}
	if cp.Gen != gen {
		cp = conversationCheckpoint{Gen: gen, Since: cp.Since}
	}
	started := e.opts.Now().Unix()
	var done int64
	start := e.opts.Now()
	for page, err := range e.ic.Conversations.Pages(ctx, intercom.ListOptions{StartingAfter: cp.Cursor}) {
		if err != nil {
			return fmt.Errorf("list Intercom conversations: %w", err)
		}
		next := cp
		next.Cursor = page.Next
		if err := e.planConversationPage(ctx, page.Items, next); err != nil {
			return err
		}
		cp = next
		done += int64(len(page.Items))
		e.setProgressRate("conversations", done, int64(page.TotalCount), start)
	}
	cp.Cursor, cp.Since = "", max(cp.Since, started)
	b := store.Batch{Checkpoints: map[string][]byte{cpConversations: encode(cp), cpConvBaseline: []byte("1")}}
	return e.apply(ctx, b)
}

// planConversationsIncremental reads conversations updated since the
// last read.
func (e *Engine) planConversationsIncremental(ctx context.Context) error {
	var cp conversationCheckpoint
	if _, err := e.loadCheckpoint(ctx, cpConversations, &cp); err != nil {
		return err
	}
	req := intercom.SearchRequest{
		Query: intercom.ConversationsUpdatedSince(time.Unix(cp.Since, 0)),
		Sort:  &intercom.Sort{Field: "updated_at", Order: intercom.SortAscending},
	}
	for page, err := range e.ic.Conversations.SearchPages(ctx, req) {
		if err != nil {
			return fmt.Errorf("search Intercom conversations: %w", err)
		}
		next := cp
		for _, c := range page.Items {
			next.Since = max(next.Since, int64(c.UpdatedAt))
		}
		if err := e.planConversationPage(ctx, page.Items, next); err != nil {
			return err
		}
		cp = next
	}
	return nil
}

// planConversationPage stores a page of conversations with its checkpoint
// and the events their changes imply, then re-plans the contacts whose
// aggregates changed.
func (e *Engine) planConversationPage(ctx context.Context, cs []*intercom.Conversation, cp conversationCheckpoint) error {
	ids := make([]string, 0, len(cs))
	for _, c := range cs {
		ids = append(ids, c.ID)
	}
	old, err := e.st.ConversationsByID(ctx, e.id, ids)
	if err != nil {
		return err
	}
	baseline, err := e.hasBaseline(ctx)
	if err != nil {
		return err
	}
	b := store.Batch{Checkpoints: map[string][]byte{cpConversations: encode(cp)}}
	affected := map[string]bool{}
	for _, c := range cs {
		row, ok := rowOf(c)
		if !ok {
			continue
		}
		prev, had := old[row.ID]
		if had && prev.UpdatedAt > row.UpdatedAt {
			continue // an older version (late webhook, overlapping search)
		}
		if had && equalConversation(prev, row) {
			continue
		}
		b.Conversations = append(b.Conversations, row)
		affected[row.ContactID] = true
		if had && prev.ContactID != row.ContactID {
			affected[prev.ContactID] = true
		}
		if baseline {
			var p *store.Conversation
			if had {
				p = &prev
			}
			b.Events = append(b.Events, e.conversationEvents(ctx, p, row)...)
		}
	}
	e.count(func(s *Stats) {
		s.record(ResourceConversations, OutcomeRead, int64(len(cs)))
		s.record(ResourceConversations, OutcomeUnchanged, int64(len(cs)-len(b.Conversations)))
	})
	if err := e.apply(ctx, b); err != nil {
		return err
	}
	if len(b.Events) > 0 {
		e.notify()
	}
	return e.replanFromState(ctx, keys(affected))
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func equalConversation(a, b store.Conversation) bool {
	return a.ContactID == b.ContactID && a.State == b.State && a.CreatedAt == b.CreatedAt && a.UpdatedAt == b.UpdatedAt &&
		a.LastClosedAt == b.LastClosedAt && a.Rating == b.Rating && a.RatingAt == b.RatingAt && a.Remark == b.Remark &&
		slices.Equal(a.Tags, b.Tags) && a.AIParticipated == b.AIParticipated && a.AIResolution == b.AIResolution &&
		a.AIRating == b.AIRating && a.AIAnswerType == b.AIAnswerType
}

func (e *Engine) hasBaseline(ctx context.Context) (bool, error) {
	_, err := e.st.GetCheckpoint(ctx, e.id, cpConvBaseline)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// Brevo event names the agent sends.
const (
	EventConversationCreated = "conversation_created"
	EventConversationClosed  = "conversation_closed"
	EventConversationSnoozed = "conversation_snoozed"
	EventConversationRated   = "conversation_rated"
	EventAIResolved          = "ai_agent_resolved"
	EventAIRoutedToTeam      = "ai_agent_routed_to_team"
	EventAIAbandoned         = "ai_agent_abandoned"
)

// eventPayload is what the events outbox holds for one Brevo event.
type eventPayload struct {
	Name       string         `json:"event_name"`
	Date       int64          `json:"date"`
	ContactID  string         `json:"contact_id"`
	Email      string         `json:"email,omitempty"`
	Properties map[string]any `json:"properties,omitempty"`
}

// conversationEvents returns the events a conversation change implies:
// created, closed, snoozed, rated, and the AI agent's outcome. Each has a
// key naming the occurrence, so seeing the change again adds nothing.
func (e *Engine) conversationEvents(ctx context.Context, prev *store.Conversation, row store.Conversation) []store.Event {
	if !e.bundle.Connector.Sync.Events {
		return nil
	}
	props := map[string]any{"conversation_id": row.ID, "state": row.State}
	if len(row.Tags) > 0 {
		props["tags"] = strings.Join(row.Tags, ",")
	}
	var out []store.Event
	add := func(name string, at int64, key string, extra map[string]any) {
		p := map[string]any{}
		for k, v := range props {
			p[k] = v
		}
		for k, v := range extra {
			p[k] = v
		}
		k := "conversation:" + row.ID + ":" + key
		p["tajo_event_id"] = k
		out = append(out, store.Event{Key: k, Payload: encode(eventPayload{Name: name, Date: at, ContactID: row.ContactID, Properties: p})})
	}
	if prev == nil {
		add(EventConversationCreated, row.CreatedAt, "created", nil)
	}
	if row.State == intercom.StateClosed && (prev == nil || prev.State != intercom.StateClosed || prev.LastClosedAt != row.LastClosedAt) {
		add(EventConversationClosed, row.LastClosedAt, "closed:"+strconv.FormatInt(row.LastClosedAt, 10), nil)
	}
	if row.State == intercom.StateSnoozed && (prev == nil || prev.State != intercom.StateSnoozed) {
		add(EventConversationSnoozed, row.UpdatedAt, "snoozed:"+strconv.FormatInt(row.UpdatedAt, 10), nil)
	}
	if row.Rating > 0 && (prev == nil || prev.RatingAt != row.RatingAt || prev.Rating != row.Rating) {
		add(EventConversationRated, row.RatingAt, "rated:"+strconv.FormatInt(row.RatingAt, 10),
			map[string]any{"rating": row.Rating, "remark_present": row.Remark})
	}
	if e.bundle.Connector.Sync.AIAgent && row.AIResolution != "" && (prev == nil || prev.AIResolution != row.AIResolution) {
		name := ""
		switch row.AIResolution {
		case "assumed_resolution", "confirmed_resolution":
			name = EventAIResolved
		case "routed_to_team":
			name = EventAIRoutedToTeam
		case "abandoned":
			name = EventAIAbandoned
		}
		if name != "" {
			extra := map[string]any{"resolution_state": row.AIResolution}
			if row.AIRating > 0 {
				extra["ai_rating"] = row.AIRating
			}
			if row.AIAnswerType != "" {
				extra["last_answer_type"] = row.AIAnswerType
			}
			add(name, row.UpdatedAt, "ai:"+row.AIResolution, extra)
		}
	}
	return out
}

// replanFromState re-plans contacts whose conversations changed from the
// state last planned for them (the pending write, else the last written
// one), with their aggregates recomputed: no Intercom call. Contacts not
// written yet get their aggregates when they are planned.
func (e *Engine) replanFromState(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	links, err := e.st.GetLinks(ctx, e.id, store.KindContact, ids)
	if err != nil {
		return err
	}
	pend, err := e.st.GetPending(ctx, e.id, store.KindContact, ids)
	if err != nil {
		return err
	}
	convs, err := e.st.ConversationsOf(ctx, e.id, ids)
	if err != nil {
		return err
	}
	drop := map[string]bool{}
	for _, t := range e.mapper.TargetsWhere(conversationSource) {
		drop[t] = true
	}
	var b store.Batch
	var refetch []string
	for _, id := range ids {
		link, linked := links[id]
		var base contactState
		switch p, queued := pend[id]; {
		case queued:
			st, err := decodePayload[contactState](p)
			if err != nil || st.Delete {
				continue
			}
			base = st
		case linked && len(link.Data) > 0:
			base = decodeData[contactState](link.Data)
		default:
			continue // not written yet: planned with its aggregates later
		}
		if base.ExtID == "" || base.Facts == nil {
			refetch = append(refetch, id) // written before states were kept
			continue
		}
		a := aggregate(convs[id])
		attrs := map[string]any{}
		for k, v := range base.Attributes {
			if !drop[k] {
				attrs[k] = v
			}
		}
		for k, v := range e.mapper.MapWhere(aggRecord{a}, conversationSource).Attributes {
			attrs[k] = v
		}
		st := base
		if len(attrs) == 0 {
			attrs = nil
		}
		st.Attributes = attrs
		facts := *base.Facts
		facts.ActiveConversation, facts.ConversationTags = a.open > 0, a.tags
		st.Facts = &facts
		st.Lists = e.lists.For(facts)
		st.seal()
		if _, queued := pend[id]; !queued && linked && link.Hash == st.Hash && slices.Equal(link.Lists, st.Lists) {
			continue
		}
		b.Enqueue = append(b.Enqueue, store.Pending{Kind: store.KindContact, IntercomID: id, Payload: encode(st)})
	}
	if len(b.Enqueue) > 0 {
		if err := e.apply(ctx, b); err != nil {
			return err
		}
		e.notify()
	}
	for _, id := range refetch {
		if err := e.refreshContactByID(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// handleConversation applies a conversation.* delivery: the payload when it
// carries the conversation, else the conversation read from Intercom.
func (e *Engine) handleConversation(ctx context.Context, topic string, item json.RawMessage) error {
	if !e.bundle.Connector.Sync.Conversations {
		return nil
	}
	var c intercom.Conversation
	if err := json.Unmarshal(item, &c); err != nil || c.ID == "" {
		return permanent("%s item is not a conversation", topic)
	}
	if topic == "conversation.deleted" {
		return nil // a deleted conversation leaves the aggregates at the next full read
	}
	if c.Type != "conversation" || c.UpdatedAt == 0 || c.Contacts == nil || c.State == "" {
		got, _, err := e.ic.Conversations.Get(ctx, c.ID, nil)
		if errors.Is(err, intercom.ErrNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("get Intercom conversation %s: %w", c.ID, err)
		}
		c = *got
	}
	var cp conversationCheckpoint
	if _, err := e.loadCheckpoint(ctx, cpConversations, &cp); err != nil {
		return err
	}
	return e.planConversationPage(ctx, []*intercom.Conversation{&c}, cp)
}

// brevoEventName maps an Intercom event name onto Brevo's rule (letters,
// digits, '-' and '_', at most 255 characters).
var brevoEventRE = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

func brevoEventName(name string) string {
	n := strings.Trim(brevoEventRE.ReplaceAllString(name, "_"), "_")
	if len(n) > 255 {
		n = n[:255]
	}
	return n
}

// dataEvent turns an Intercom data event into a Brevo event, keyed by
// Intercom's own identity of an event (contact, name, time): Intercom
// itself treats a repeat as the same event.
func (e *Engine) dataEvent(ev *intercom.Event, contactID string) (store.Event, bool) {
	if ev.EventName == "" || ev.CreatedAt == 0 || contactID == "" {
		return store.Event{}, false
	}
	if names := e.bundle.Connector.EventNames; len(names) > 0 && !slices.Contains(names, ev.EventName) {
		return store.Event{}, false
	}
	key := "data:" + contactID + ":" + ev.EventName + ":" + strconv.FormatInt(int64(ev.CreatedAt), 10)
	props := map[string]any{"intercom_event": ev.EventName, "tajo_event_id": key}
	for k, v := range ev.Metadata {
		props[k] = v
	}
	return store.Event{Key: key, Payload: encode(eventPayload{Name: brevoEventName(ev.EventName), Date: int64(ev.CreatedAt),
		ContactID: contactID, Email: ev.Email, Properties: props})}, true
}

// handleEvent applies an event.created delivery.
func (e *Engine) handleEvent(ctx context.Context, item json.RawMessage) error {
	if !e.bundle.Connector.Sync.Events {
		return nil
	}
	var ev intercom.Event
	if err := json.Unmarshal(item, &ev); err != nil {
		return permanent("event.created item: %v", err)
	}
	contact := ev.IntercomUserID
	if contact == "" {
		contact = ev.ID
	}
	se, ok := e.dataEvent(&ev, contact)
	if !ok {
		return nil
	}
	if err := e.apply(ctx, store.Batch{Events: []store.Event{se}}); err != nil {
		return err
	}
	e.notify()
	return nil
}

// cpEventsBaseline holds the unix time from which Intercom data events are
// sent as they come: the start of the first full pass with sync.events on.
// Older ones (history) are sent only by a backfill.
const cpEventsBaseline = "events.baseline"

// markEventsBaseline sets the data events baseline to started when events
// are synced and no baseline exists, and forgets it when they are not (so
// turning them on again does not replay what happened meanwhile).
func (e *Engine) markEventsBaseline(ctx context.Context, started int64) error {
	_, err := e.st.GetCheckpoint(ctx, e.id, cpEventsBaseline)
	switch {
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return err
	case e.bundle.Connector.Sync.Events && err != nil:
		return e.apply(ctx, store.Batch{Checkpoints: map[string][]byte{cpEventsBaseline: []byte(strconv.FormatInt(started, 10))}})
	case !e.bundle.Connector.Sync.Events && err == nil:
		return e.apply(ctx, store.Batch{Checkpoints: map[string][]byte{cpEventsBaseline: nil}})
	}
	return nil
}

// eventsBaseline returns the data events baseline (0 when none is set).
func (e *Engine) eventsBaseline(ctx context.Context) (int64, error) {
	b, err := e.st.GetCheckpoint(ctx, e.id, cpEventsBaseline)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("checkpoint %s of connector %s is not a unix time (%q): run tajo-agent reset %s", cpEventsBaseline, e.id, b, e.id)
	}
	return n, nil
}

// planDataEvents reads the data events of contacts (Intercom lists only the
// last 90 days of a contact's events) and queues those created since since
// and not sent yet.
func (e *Engine) planDataEvents(ctx context.Context, ids []string, since int64) error {
	if !e.bundle.Connector.Sync.Events {
		return nil
	}
	for _, id := range ids {
		var b store.Batch
		for ev, err := range e.ic.Events.All(ctx, intercom.EventListOptions{IntercomUserID: id}) {
			if errors.Is(err, intercom.ErrNotFound) {
				break
			}
			if err != nil {
				return fmt.Errorf("list Intercom events of %s: %w", id, err)
			}
			if int64(ev.CreatedAt) < since {
				continue // history: sent by a backfill only
			}
			if se, ok := e.dataEvent(ev, id); ok {
				b.Events = append(b.Events, se)
			}
		}
		if len(b.Events) == 0 {
			continue
		}
		if err := e.apply(ctx, b); err != nil {
			return err
		}
		e.notify()
	}
	return nil
}

var _ mapping.Record = aggRecord{}
