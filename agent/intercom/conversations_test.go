package intercom

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/tajo/terraform-provider-tajo/agent/sandbox/dataset"
)

func TestConversationsListGetSearch(t *testing.T) {
	t.Parallel()
	f, base := newFake(t, unlimited(800)) // 400 conversations
	c := newTestClient(t, base)
	ctx := t.Context()
	var ids []string
	for cv, err := range c.Conversations.All(ctx, ListOptions{PerPage: 60}) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, cv.ID)
		if cv.ConversationParts != nil {
			t.Errorf("a listed conversation carries parts")
		}
	}
	if !slices.Equal(ids, f.ConversationIDs()) {
		t.Fatalf("listed %d conversations, want %d", len(ids), len(f.ConversationIDs()))
	}

	states := map[string]int{}
	resolutions := map[string]int{}
	rated := 0
	for _, id := range ids {
		got, _, err := c.Conversations.Get(ctx, id, nil)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := f.Conversation(id)
		contact, _ := f.Contact(f.Dataset().ContactID(want.Contact))
		if got.State != want.State || got.Open != want.Open() || int64(got.UpdatedAt) != want.UpdatedAt ||
			int64(got.SnoozedUntil) != want.SnoozedUntil || got.AIAgentParticipated != want.AIAgentParticipated ||
			!slices.Equal(got.ContactIDs(), []string{contact.ID}) || got.Statistics == nil ||
			got.Statistics.CountConversationParts != want.Statistics.CountParts ||
			got.ConversationParts == nil || len(got.ConversationParts.ConversationParts) != want.Parts ||
			len(got.Tags.Tags) != len(want.Tags) {
			t.Fatalf("conversation %s = %+v\nwant %+v", id, got, want)
		}
		if (got.ConversationRating != nil) != (want.Rating != nil) {
			t.Fatalf("rating of %s: %+v, want %+v", id, got.ConversationRating, want.Rating)
		}
		if r := got.ConversationRating; r != nil {
			rated++
			if r.Rating != want.Rating.Rating || r.Remark != want.Rating.Remark || r.Contact.ID != contact.ID {
				t.Errorf("rating %+v, want %+v", r, want.Rating)
			}
		}
		if (got.AIAgent != nil) != (want.AIAgent != nil) {
			t.Fatalf("ai_agent of %s: %+v, want %+v", id, got.AIAgent, want.AIAgent)
		}
		if a := got.AIAgent; a != nil {
			w := want.AIAgent
			if a.ResolutionState != w.ResolutionState || a.LastAnswerType != w.LastAnswerType || a.Rating != w.Rating ||
				a.SourceType != w.SourceType || a.RatingRemark != w.RatingRemark {
				t.Errorf("ai_agent %+v, want %+v", a, w)
			}
			resolutions[a.ResolutionState]++
		}
		states[got.State]++
	}
	for _, s := range []string{StateOpen, StateClosed, StateSnoozed} {
		if states[s] == 0 {
			t.Errorf("no %s conversation in the dataset", s)
		}
	}
	for _, r := range []string{ResolutionAssumed, ResolutionConfirmed, ResolutionRouted, ResolutionAbandoned, ""} {
		if resolutions[r] == 0 {
			t.Errorf("no AI agent outcome %q in the dataset", r)
		}
	}
	if rated == 0 {
		t.Error("no rated conversation")
	}

	var snoozed []string
	for cv, err := range c.Conversations.SearchAll(ctx, SearchRequest{Query: Filter("state", OpEquals, StateSnoozed), PerPage: 25}) {
		if err != nil {
			t.Fatal(err)
		}
		if cv.State != StateSnoozed || cv.SnoozedUntil == 0 || !cv.Open {
			t.Errorf("search result %s: state %s, snoozed_until %d, open %v", cv.ID, cv.State, cv.SnoozedUntil, cv.Open)
		}
		snoozed = append(snoozed, cv.ID)
	}
	if len(snoozed) != states[StateSnoozed] {
		t.Errorf("search found %d snoozed, want %d", len(snoozed), states[StateSnoozed])
	}
}

func TestConversationSearchIsSecondPreciseAndInclusive(t *testing.T) {
	t.Parallel()
	f, base := newFake(t, unlimited(100))
	c := newTestClient(t, base)
	at := refNow.Add(-3 * time.Hour).Truncate(time.Second)
	ids := f.ConversationIDs()
	for i, d := range []time.Duration{-time.Second, 0, time.Second} {
		if err := f.UpdateConversation(ids[i], func(cv *dataset.Conversation) { cv.UpdatedAt = at.Add(d).Unix() }); err != nil {
			t.Fatal(err)
		}
	}
	res, _, err := c.Conversations.Search(t.Context(), &SearchRequest{Query: And(ConversationsUpdatedSince(at), Filter("id", OpIn, ids[:3]))})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, cv := range res.Conversations {
		got = append(got, cv.ID)
	}
	if !slices.Equal(got, ids[1:3]) {
		t.Errorf("> t matched %v, want %v (t itself and later, not earlier)", got, ids[1:3])
	}
}

func TestConversationsPlanRestricted(t *testing.T) {
	t.Parallel()
	opts := unlimited(10)
	opts.ConversationsRestricted = true
	_, base := newFake(t, opts)
	c := newTestClient(t, base)
	_, _, err := c.Conversations.List(t.Context(), nil)
	if !errors.Is(err, ErrPlanRestricted) || errors.Is(err, ErrForbidden) {
		t.Errorf("err = %v, want ErrPlanRestricted", err)
	}
	if _, _, err := c.Contacts.List(t.Context(), nil); err != nil {
		t.Errorf("contacts are not restricted: %v", err)
	}
}
