package sync

import (
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/tajo/terraform-provider-tajo/agent/brevo"
	"github.com/tajo/terraform-provider-tajo/agent/config"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox/dataset"
	"github.com/tajo/terraform-provider-tajo/agent/store"
)

func convEnv(t *testing.T, contacts int) *env {
	e := newEnv(t, contacts)
	e.bundle.Connector.Sync.Conversations = true
	e.bundle.Connector.Sync.AIAgent = true
	e.bundle.Connector.Sync.Events = true
	e.bundle.Lists = append(e.bundle.Lists,
		config.ListAssignment{ConnectorID: "intercom", ListID: 36, Rule: "active_conversations"},
		config.ListAssignment{ConnectorID: "intercom", ListID: 39, Rule: "conversation_tag:billing"})
	e.setup.Conversations, e.setup.AIAgent = true, true
	e.setup.Lists["active_conversations"] = 36
	e.setup.Lists["conversation_tag:billing"] = 39
	return e
}

// brevoEvents returns "name ext_id" of every event Brevo received.
func brevoEvents(e *env) []string {
	var out []string
	for _, ev := range e.sb.Brevo.Events() {
		out = append(out, fmt.Sprintf("%s %v", ev.Name, ev.Identifiers["ext_id"]))
	}
	sort.Strings(out)
	return out
}

func TestConversationsAggregatesListsAndEvents(t *testing.T) {
	t.Parallel()
	e := convEnv(t, 400)
	e.sync(PassOptions{})
	r := e.exact()
	if n, _ := e.st.CountConversations(t.Context(), "intercom"); n == 0 {
		t.Fatal("no conversations stored")
	}
	if ev := brevoEvents(e); len(ev) != 0 {
		t.Fatalf("the first full sync sent %d events; history is not replayed as events: %v", len(ev), ev[:min(5, len(ev))])
	}
	members36, _ := e.sb.Brevo.ListMembers(36)
	t.Logf("full sync: %d contacts, list 36 (active conversations) has %d members", r.Contacts, len(members36))
	if len(members36) == 0 {
		t.Fatal("list 36 is empty: the dataset should have open conversations")
	}

	// A sequence of conversation changes in Intercom.
	ic := e.sb.Intercom
	var open, closed []dataset.Conversation
	for _, id := range ic.ConversationIDs() {
		c, _ := ic.Conversation(id)
		ct, _ := ic.Contact(ic.Dataset().ContactID(c.Contact))
		if ct.Email == "" {
			continue
		}
		if c.State == dataset.StateOpen {
			open = append(open, c)
		} else if c.State == dataset.StateClosed && c.Rating == nil {
			closed = append(closed, c)
		}
	}
	if len(open) < 3 || len(closed) < 1 {
		t.Fatalf("dataset has %d open and %d unrated closed conversations", len(open), len(closed))
	}
	now := ic.Now().Unix()
	contactOf := func(c dataset.Conversation) string { return ic.Dataset().ContactID(c.Contact) }
	want := []string{}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(ic.UpdateConversation(open[0].ID, func(c *dataset.Conversation) {
		c.State, c.Statistics.LastCloseAt = dataset.StateClosed, now
	}))
	want = append(want, EventConversationClosed+" "+contactOf(open[0]))
	must(ic.UpdateConversation(open[1].ID, func(c *dataset.Conversation) { c.State = dataset.StateSnoozed; c.SnoozedUntil = now + 3600 }))
	want = append(want, EventConversationSnoozed+" "+contactOf(open[1]))
	must(ic.UpdateConversation(closed[0].ID, func(c *dataset.Conversation) {
		c.Rating = &dataset.Rating{Rating: 2, Remark: "slow", CreatedAt: now}
	}))
	want = append(want, EventConversationRated+" "+contactOf(closed[0]))
	billing := tagIndex(ic.Tags(), "billing")
	must(ic.UpdateConversation(open[2].ID, func(c *dataset.Conversation) {
		c.AIAgentParticipated = true
		c.AIAgent = &dataset.AIAgent{ResolutionState: "routed_to_team", LastAnswerType: "ai_answer", Rating: 1}
		c.Tags = append(c.Tags, billing)
	}))
	want = append(want, EventAIRoutedToTeam+" "+contactOf(open[2]))
	// A contact without conversations starts one: it joins list 36.
	var quiet string
	byContact := map[int]bool{}
	for _, id := range ic.ConversationIDs() {
		c, _ := ic.Conversation(id)
		byContact[c.Contact] = true
	}
	for _, id := range ic.ContactIDs() {
		c, _ := ic.Contact(id)
		if c.Email != "" && !byContact[c.Index] {
			quiet = id
			break
		}
	}
	slot, _ := ic.ContactSlot(quiet)
	newID := ic.AddConversation(dataset.Conversation{Contact: slot, State: dataset.StateOpen, Title: "Where is my invoice?",
		Source: dataset.Source{Type: "conversation", DeliveredAs: "customer_initiated"}})
	want = append(want, EventConversationCreated+" "+quiet)
	sort.Strings(want)

	e.sync(PassOptions{})
	e.exact()
	got := brevoEvents(e)
	if !slices.Equal(got, want) {
		t.Errorf("events:\n got  %v\n want %v", got, want)
	}
	in36, _ := e.sb.Brevo.ListMembers(36)
	q, _ := e.sb.Brevo.ContactByExtID(quiet)
	if !slices.Contains(in36, q.ID) {
		t.Errorf("contact %s with a new open conversation (%s) is not in list 36", quiet, newID)
	}

	// Seeing the same changes again sends nothing more.
	e.sync(PassOptions{Full: true})
	e.exact()
	if again := brevoEvents(e); !slices.Equal(again, want) {
		t.Errorf("a full pass after the changes sent events again: %v", again)
	}
	if d := e.sb.Brevo.DuplicateEvents(); len(d) != 0 {
		t.Errorf("duplicate events: %v", d)
	}
	st, _ := e.st.GetStatus(t.Context(), "intercom")
	if st.ConversationsSynced == 0 || st.EventsSynced != int64(len(want)) {
		t.Errorf("status: %d conversations, %d events; want events %d", st.ConversationsSynced, st.EventsSynced, len(want))
	}
	if n, _ := e.st.CountEvents(t.Context(), "intercom", store.EventPending); n != 0 {
		t.Errorf("%d events still pending", n)
	}
}

func tagIndex(tags []dataset.Tag, name string) int {
	for i, t := range tags {
		if t.Name == name {
			return i
		}
	}
	return -1
}

// TestAggregateLastStateTies: of conversations last updated in the same
// second, the one with the greater id names the last state, whatever the
// order they are read in.
func TestAggregateLastStateTies(t *testing.T) {
	a := store.Conversation{ID: "100000007", UpdatedAt: 50, State: "closed"}
	b := store.Conversation{ID: "100000009", UpdatedAt: 50, State: "snoozed"}
	c := store.Conversation{ID: "100000001", UpdatedAt: 40, State: "open"}
	for _, order := range [][]store.Conversation{{a, b, c}, {b, a, c}, {c, a, b}, {c, b, a}} {
		if got := aggregate(order).lastState; got != "snoozed" {
			t.Errorf("order %v: last state %q, want snoozed (conversation %s)", []string{order[0].ID, order[1].ID, order[2].ID}, got, b.ID)
		}
	}
}

// TestDataEvents: Intercom data events reach Brevo as events — new ones
// with the incremental pass of their contact, filtered by event_names,
// once; history (events before the connector synced) only through a
// backfill, and then only the 90 days Intercom lists.
func TestDataEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 150)
	e.bundle.Connector.Sync.Events = true
	e.bundle.Connector.EventNames = []string{"upgraded_plan", "order-placed"}
	ic := e.sb.Intercom
	users := someUsers(e, 3)
	// History: an event before the connector synced, of a contact that
	// changes later.
	if err := ic.AddEvent(users[0], dataset.Event{Name: "upgraded_plan", CreatedAt: ic.Now().Add(-10 * 24 * time.Hour).Unix()}); err != nil {
		t.Fatal(err)
	}
	e.sync(PassOptions{})
	e.exact()
	if ev := brevoEvents(e); len(ev) != 0 {
		t.Fatalf("the full sync sent %d events: history is not replayed as events", len(ev))
	}
	now := ic.Now().Unix()
	var want []string
	for i, id := range users {
		if err := ic.AddEvent(id, dataset.Event{Name: "order-placed", CreatedAt: now + int64(i), Metadata: map[string]string{"order_id": fmt.Sprint("A", i)}}); err != nil {
			t.Fatal(err)
		}
		if err := ic.AddEvent(id, dataset.Event{Name: "viewed_pricing", CreatedAt: now + int64(i)}); err != nil {
			t.Fatal(err)
		}
		want = append(want, "order-placed "+id)
	}
	sort.Strings(want)
	e.sync(PassOptions{})
	if got := brevoEvents(e); !slices.Equal(got, want) {
		t.Fatalf("events after the incremental pass:\n got  %v\n want %v", got, want)
	}
	for _, ev := range e.sb.Brevo.Events() {
		if ev.EventProperties["order_id"] == nil || ev.EventProperties["tajo_event_id"] == nil {
			t.Errorf("event %s of %v lacks its properties: %v", ev.Name, ev.Identifiers, ev.EventProperties)
		}
	}
	e.sync(PassOptions{})
	if got := brevoEvents(e); !slices.Equal(got, want) {
		t.Fatalf("a second pass sent events again: %v", got)
	}

	// Backfill: the listed history (90 days) of every synced contact.
	horizon := ic.Now().Add(-90 * 24 * time.Hour).Unix()
	history := 0
	for _, id := range ic.ContactIDs() {
		if _, ok := e.sb.Brevo.ContactByExtID(id); !ok {
			continue // not synced (a lead without email)
		}
		for _, ev := range ic.Events(id) {
			if ev.Name == "upgraded_plan" && ev.CreatedAt >= horizon {
				history++
			}
		}
	}
	if history == 0 {
		t.Fatal("the dataset has no upgraded_plan event in the last 90 days: the backfill would prove nothing")
	}
	for range 2 {
		e.sync(PassOptions{Full: true, Resources: []string{ResourceEvents}})
	}
	if n := len(e.sb.Brevo.Events()) - len(want); n != history {
		t.Errorf("backfill sent %d events, want %d upgraded_plan events of the last 90 days", n, history)
	}
	if d := e.sb.Brevo.DuplicateEvents(); len(d) != 0 {
		t.Errorf("duplicate events: %v", d)
	}
	t.Logf("%d new events sent with their contacts' pass (1 filtered out each), %d history events by backfill, none twice", len(want), history)
}

// TestConversationCosts measures what conversations cost: the Intercom
// and Brevo requests a full sync spends on them (the same workspace
// synced with and without sync.conversations), the requests of an
// incremental pass after changes to conversations, and events per Brevo
// events request. The bounds are the design's: conversations are read
// 150 per search page, their aggregates ride on the contacts' own bulk
// writes, events go in batches.
func TestConversationCosts(t *testing.T) {
	t.Parallel()
	const contacts = 3000
	without := newEnv(t, contacts)
	base := without.sync(PassOptions{}).Stats()
	e := convEnv(t, contacts)
	full := e.sync(PassOptions{}).Stats()
	e.exact()
	convs := e.sb.Intercom.Dataset().NumConversations()
	per1000 := func(n int64, of int) float64 { return float64(n) * 1000 / float64(of) }
	icFull, bvFull := full.IntercomRequests-base.IntercomRequests, full.BrevoRequests-base.BrevoRequests
	t.Logf("full sync, %d conversations: %d more Intercom requests (%.1f per 1000 conversations), %d more Brevo requests (%.1f per 1000)",
		convs, icFull, per1000(icFull, convs), bvFull, per1000(bvFull, convs))
	if floor := int64((convs + 149) / 150); icFull > floor+5 {
		t.Errorf("full sync: %d Intercom requests for %d conversations; want at most %d (one per 150, plus 5)", icFull, convs, floor+5)
	}
	// The aggregates are contact attributes, carried by the bulk imports;
	// the conversation lists split the imports into more list sets (one
	// import and one check per set). A call per conversation would be
	// 1000 per 1000.
	if bvFull*10 > int64(convs) {
		t.Errorf("full sync: conversations cost %d Brevo requests for %d conversations; want under one per 10", bvFull, convs)
	}

	// Close or snooze 200 open conversations, rate 100 closed ones.
	ic := e.sb.Intercom
	now := ic.Now().Unix()
	changed := 0
	for _, id := range ic.ConversationIDs() {
		c, _ := ic.Conversation(id)
		var err error
		switch {
		case changed < 200 && c.State == dataset.StateOpen:
			err = ic.UpdateConversation(id, func(c *dataset.Conversation) {
				if changed%2 == 0 {
					c.State, c.Statistics.LastCloseAt = dataset.StateClosed, now
				} else {
					c.State, c.SnoozedUntil = dataset.StateSnoozed, now+3600
				}
			})
		case changed >= 200 && changed < 300 && c.State == dataset.StateClosed && c.Rating == nil:
			err = ic.UpdateConversation(id, func(c *dataset.Conversation) { c.Rating = &dataset.Rating{Rating: 4, CreatedAt: now} })
		default:
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if changed++; changed == 300 {
			break
		}
	}
	if changed < 300 {
		t.Fatalf("dataset has too few open or unrated closed conversations: changed %d", changed)
	}
	inc := e.sync(PassOptions{}).Stats()
	e.exact()
	var eventRequests int64
	for k, n := range inc.Requests {
		if k.API == "brevo" && k.Class == string(brevo.ClassEvents) {
			eventRequests += n
		}
	}
	sent := len(e.sb.Brevo.Events())
	t.Logf("incremental pass after %d conversation changes: %d Intercom requests (%.1f per 1000 changed), %d Brevo requests (%.1f per 1000); %d events in %d Brevo events requests (%.1f per request)",
		changed, inc.IntercomRequests, per1000(inc.IntercomRequests, changed), inc.BrevoRequests, per1000(inc.BrevoRequests, changed),
		sent, eventRequests, float64(sent)/float64(max(eventRequests, 1)))
	// Contacts already in Brevo are updated in bulk (imports), not one
	// call per changed conversation.
	if inc.BrevoRequests*5 > int64(changed) {
		t.Errorf("incremental pass: %d Brevo requests for %d changed conversations; want under one per 5", inc.BrevoRequests, changed)
	}
	if sent < changed {
		t.Errorf("%d events for %d conversation changes", sent, changed)
	}
	if want := int64((sent + brevo.DefaultEventBatchSize - 1) / brevo.DefaultEventBatchSize); eventRequests != want {
		t.Errorf("%d events took %d Brevo requests; want %d (batches of %d)", sent, eventRequests, want, brevo.DefaultEventBatchSize)
	}
	if d := e.sb.Brevo.DuplicateEvents(); len(d) != 0 {
		t.Errorf("duplicate events: %v", d)
	}
}
