package intercom

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tajo/terraform-provider-tajo/agent/sandbox/dataset"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox/fakeintercom"
)

func TestTagsAndDataAttributes(t *testing.T) {
	t.Parallel()
	f, base := newFake(t, unlimited(10))
	c := newTestClient(t, base)
	ctx := t.Context()
	tags, _, err := c.Tags.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got, want []string
	for _, tg := range tags {
		got = append(got, string(tg.ID)+"="+tg.Name)
	}
	for _, tg := range f.Tags() {
		want = append(want, tg.ID+"="+tg.Name)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("tags (-want +got):\n%s", d)
	}

	for _, tc := range []struct {
		model  string
		custom []dataset.Attribute
	}{
		{ModelContact, f.Dataset().ContactAttributes()},
		{ModelCompany, f.Dataset().CompanyAttributes()},
		{ModelConversation, f.Dataset().ConversationAttributes()},
	} {
		attrs, _, err := c.DataAttributes.List(ctx, &DataAttributeListOptions{Model: tc.model})
		if err != nil {
			t.Fatal(err)
		}
		custom := map[string]string{}
		for _, a := range attrs {
			if a.Model != tc.model {
				t.Errorf("%s attribute of model %s", a.Name, a.Model)
			}
			if a.Custom {
				custom[a.Name] = a.DataType
				if a.ID == "" || a.FullName != "custom_attributes."+a.Name {
					t.Errorf("custom attribute %+v", a)
				}
			}
		}
		for _, a := range tc.custom {
			if custom[a.Name] != a.DataType {
				t.Errorf("%s: custom attribute %s has type %q, want %q", tc.model, a.Name, custom[a.Name], a.DataType)
			}
		}
	}
	all, _, err := c.DataAttributes.List(ctx, &DataAttributeListOptions{IncludeArchived: true})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(all, func(a *DataAttribute) bool { return a.Archived }) {
		t.Error("include_archived listed no archived attribute")
	}
	if _, _, err := c.DataAttributes.List(ctx, &DataAttributeListOptions{Model: "ticket"}); err == nil {
		t.Error("unknown model accepted")
	}
}

func TestEvents(t *testing.T) {
	t.Parallel()
	f, base := newFake(t, unlimited(200))
	f.SetClock(func() time.Time { return refNow })
	c := newTestClient(t, base)
	ctx := t.Context()
	// A contact with several listable events and some too old to list.
	cutoff := refNow.Add(-90 * 24 * time.Hour).Unix()
	var id string
	var want []string
	for _, cid := range f.ContactIDs() {
		var recent []string
		old := 0
		for _, e := range f.Events(cid) {
			if e.CreatedAt >= cutoff {
				recent = append(recent, e.Name)
			} else {
				old++
			}
		}
		if len(recent) >= 3 && old > 0 {
			id, want = cid, recent
			break
		}
	}
	if id == "" {
		t.Fatal("no contact with recent and old events")
	}
	slices.Reverse(want) // newest first
	var got []string
	for e, err := range c.Events.All(ctx, EventListOptions{IntercomUserID: id, PerPage: 2}) {
		if err != nil {
			t.Fatal(err)
		}
		if e.IntercomUserID != id || e.CreatedAt == 0 {
			t.Errorf("event %+v", e)
		}
		got = append(got, e.EventName)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("listed events (-want +got):\n%s", d)
	}
	sum, _, err := c.Events.Summary(ctx, EventListOptions{IntercomUserID: id})
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, e := range sum.Events {
		total += e.Count
	}
	if total != len(f.Events(id)) {
		t.Errorf("summary counts %d events, the contact has %d (old ones included)", total, len(f.Events(id)))
	}

	// Submit by id, by external id and by email; a duplicate is accepted
	// and ignored.
	ct, _ := f.Contact(id)
	before := len(f.Events(id))
	subs := []EventSubmission{
		{EventName: "synced-to-brevo", CreatedAt: refNow.Unix(), ID: id, Metadata: map[string]any{"list": "35", "count": 3, "link": map[string]any{"url": "https://x", "value": "x"}}},
		{EventName: "synced-to-brevo", CreatedAt: refNow.Unix(), ID: id},
	}
	if ct.ExternalID != "" {
		subs = append(subs, EventSubmission{EventName: "by-user-id", CreatedAt: refNow.Unix() + 1, UserID: ct.ExternalID})
	}
	if ct.Email != "" {
		subs = append(subs, EventSubmission{EventName: "by-email", CreatedAt: refNow.Unix() + 2, Email: strings.ToUpper(ct.Email)})
	}
	for _, s := range subs {
		resp, err := c.Events.Submit(ctx, &s)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusAccepted {
			t.Errorf("status %d, want 202", resp.StatusCode)
		}
	}
	if after := len(f.Events(id)); after != before+len(subs)-1 {
		t.Errorf("%d events after %d submissions (one duplicate), had %d", after, len(subs), before)
	}
	_, err = c.Events.Submit(ctx, &EventSubmission{EventName: "x", CreatedAt: 1, Email: "nobody@nowhere.test"})
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown contact: %v", err)
	}
	many := map[string]any{}
	for i := range 11 {
		many[string(rune('a'+i))] = i
	}
	for _, bad := range []*EventSubmission{
		{CreatedAt: 1, ID: id},
		{EventName: "x", ID: id},
		{EventName: "x", CreatedAt: 1},
		{EventName: "x", CreatedAt: 1, ID: id, Metadata: many},
		{EventName: "x", CreatedAt: 1, ID: id, Metadata: map[string]any{"l": []any{1}}},
	} {
		if _, err := c.Events.Submit(ctx, bad); err == nil {
			t.Errorf("invalid event %+v accepted", bad)
		}
	}
	if _, _, err := c.Events.List(ctx, EventListOptions{IntercomUserID: id, Email: "x"}); err == nil {
		t.Error("two identifiers accepted")
	}
}

func TestMe(t *testing.T) {
	t.Parallel()
	opts := unlimited(1)
	opts.AppName, opts.Region = "Acme EU", "EU"
	_, base := newFake(t, opts)
	c := newTestClient(t, base)
	me, _, err := c.Admins.Me(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if me.App == nil || me.App.Name != "Acme EU" || me.App.Region != "EU" || me.App.IDCode == "" || me.Email == "" {
		t.Errorf("me = %+v app %+v", me, me.App)
	}
}

func TestOAuthExchange(t *testing.T) {
	t.Parallel()
	f, base := newFake(t, unlimited(5))
	creds := OAuthCredentials{ClientID: fakeintercom.DefaultClientID, ClientSecret: fakeintercom.DefaultClientSecret}
	code := f.IssueOAuthCode()
	tok, _, err := ExchangeCode(t.Context(), creds, code, WithBaseURL(base))
	if err != nil {
		t.Fatal(err)
	}
	if s := tok.String() + " " + tok.GoString(); strings.Contains(s, tok.AccessToken) {
		t.Error("the token prints")
	}
	c, _ := NewClient(tok.AccessToken, WithBaseURL(base))
	if _, _, err := c.Admins.Me(t.Context()); err != nil {
		t.Errorf("the issued token does not work: %v", err)
	}
	// Codes are single-use.
	if _, _, err := ExchangeCode(t.Context(), creds, code, WithBaseURL(base)); !errors.Is(err, ErrInvalid) {
		t.Errorf("second use of a code: %v", err)
	}
	if _, _, err := ExchangeCode(t.Context(), OAuthCredentials{ClientID: "x", ClientSecret: "y"}, f.IssueOAuthCode(), WithBaseURL(base)); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("wrong client: %v", err)
	}

	// Either field name decodes, the form is what the docs ask for.
	for _, body := range []string{`{"token":"t1"}`, `{"access_token":"t1","token_type":"Bearer"}`} {
		h, base := serve(t, reply(200, body))
		tok, _, err := ExchangeCode(t.Context(), OAuthCredentials{ClientID: "id", ClientSecret: "sec"}, "c0de", WithBaseURL(base))
		if err != nil || tok.AccessToken != "t1" {
			t.Errorf("%s: %v %v", body, tok, err)
		}
		h.mu.Lock()
		r, b := h.requests[0], string(h.bodies[0])
		h.mu.Unlock()
		form, _ := url.ParseQuery(b)
		if r.URL.Path != "/auth/eagle/token" || r.Header.Get("Authorization") != "" ||
			r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" ||
			form.Get("client_id") != "id" || form.Get("client_secret") != "sec" || form.Get("code") != "c0de" {
			t.Errorf("exchange request %s %v %q", r.URL.Path, r.Header, b)
		}
	}
	_, base2 := serve(t, reply(200, `{}`))
	if _, _, err := ExchangeCode(t.Context(), OAuthCredentials{ClientID: "id", ClientSecret: "sec"}, "c", WithBaseURL(base2)); err == nil {
		t.Error("an answer without a token was accepted")
	}
	h, base3 := serve(t, reply(500, errBody("server_error", "x")))
	ExchangeCode(t.Context(), OAuthCredentials{ClientID: "id", ClientSecret: "sec"}, "c", WithBaseURL(base3), WithRetry(fastRetry))
	if h.count() != 1 {
		t.Errorf("the single-use code was sent %d times", h.count())
	}
}

func TestAuthorizeURL(t *testing.T) {
	t.Parallel()
	got := AuthorizeURL("cid", "st&te", "https://example.com/cb")
	u, err := url.Parse(got)
	if err != nil || u.Host != "app.intercom.com" || u.Path != "/oauth" {
		t.Fatalf("%s: %v", got, err)
	}
	q := u.Query()
	if q.Get("client_id") != "cid" || q.Get("state") != "st&te" || q.Get("redirect_uri") != "https://example.com/cb" {
		t.Errorf("query %v", q)
	}
}
