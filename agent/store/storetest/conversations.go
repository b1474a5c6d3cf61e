package storetest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tajo/terraform-provider-tajo/agent/store"
)

func conversationTests() map[string]func(*testing.T, Backend) {
	return map[string]func(*testing.T, Backend){
		"Conversations": testConversations,
		"EventsOnce":    testEventsOnce,
	}
}

func testConversations(t *testing.T, b Backend) {
	ctx := t.Context()
	s, _ := Open(t, b)
	v1 := store.Conversation{ID: "9", ContactID: "u1", State: "open", CreatedAt: 10, UpdatedAt: 20, Tags: []string{"billing", "vip"}}
	v2 := store.Conversation{ID: "8", ContactID: "u1", State: "closed", CreatedAt: 5, UpdatedAt: 30, LastClosedAt: 30, Rating: 4, RatingAt: 31,
		Remark: true, AIParticipated: true, AIResolution: "routed_to_team", AIRating: 2, AIAnswerType: "ai_answer"}
	v3 := store.Conversation{ID: "7", ContactID: "u2", State: "snoozed", CreatedAt: 1, UpdatedAt: 2}
	if err := s.Apply(ctx, "c", store.Batch{Conversations: []store.Conversation{v1, v2, v3}}); err != nil {
		t.Fatal(err)
	}
	of, err := s.ConversationsOf(ctx, "c", []string{"u1", "u3"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string][]store.Conversation{"u1": {v2, v1}}, of); diff != "" {
		t.Errorf("ConversationsOf (-want +got):\n%s", diff)
	}
	// A conversation moves to another contact with its next version.
	v3.ContactID, v3.State, v3.UpdatedAt = "u1", "closed", 40
	if err := s.Apply(ctx, "c", store.Batch{Conversations: []store.Conversation{v3}}); err != nil {
		t.Fatal(err)
	}
	by, _ := s.ConversationsByID(ctx, "c", []string{"7", "nope"})
	if diff := cmp.Diff(map[string]store.Conversation{"7": v3}, by); diff != "" {
		t.Errorf("ConversationsByID (-want +got):\n%s", diff)
	}
	if n, _ := s.CountConversations(ctx, "c"); n != 3 {
		t.Errorf("CountConversations = %d", n)
	}
}

func testEventsOnce(t *testing.T, b Backend) {
	ctx := t.Context()
	s, _ := Open(t, b)
	ev := func(k string) store.Event {
		return store.Event{Key: k, Payload: json.RawMessage(`{"event_name":"x"}`)}
	}
	if err := s.Apply(ctx, "c", store.Batch{Events: []store.Event{ev("a"), ev("b")}}); err != nil {
		t.Fatal(err)
	}
	// Planned again (a re-read, a redelivered webhook): not a second event.
	if err := s.Apply(ctx, "c", store.Batch{Events: []store.Event{ev("a")}}); err != nil {
		t.Fatal(err)
	}
	ready, err := s.ReadyEvents(ctx, "c", time.Now(), 10)
	if err != nil || len(ready) != 2 {
		t.Fatalf("ReadyEvents = %+v, %v", ready, err)
	}
	if err := s.Apply(ctx, "c", store.Batch{EventUpdates: []store.EventUpdate{{Keys: []string{"a"}, State: store.EventSent},
		{Keys: []string{"b"}, State: store.EventPending, NotBefore: time.Now().Add(time.Hour), Error: "503", Attempt: true}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Apply(ctx, "c", store.Batch{Events: []store.Event{ev("a")}}); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.ReadyEvents(ctx, "c", time.Now(), 10); len(r) != 0 {
		t.Errorf("after sending: ready %+v", r)
	}
	later, _ := s.ReadyEvents(ctx, "c", time.Now().Add(2*time.Hour), 10)
	if len(later) != 1 || later[0].Key != "b" || later[0].Attempts != 1 || later[0].LastError != "503" {
		t.Errorf("retry = %+v", later)
	}
	if n, _ := s.CountEvents(ctx, "c", store.EventSent); n != 1 {
		t.Errorf("sent = %d", n)
	}
	// All events in one state move at once (a restart after a crash).
	if err := s.Apply(ctx, "c", store.Batch{EventUpdates: []store.EventUpdate{{From: store.EventPending, State: store.EventUnknown, Error: "x"}}}); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.CountEvents(ctx, "c", store.EventUnknown); n != 1 {
		t.Errorf("unknown = %d", n)
	}
}
