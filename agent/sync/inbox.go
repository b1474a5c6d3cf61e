package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tajo/terraform-provider-tajo/agent/backoff"
	"github.com/tajo/terraform-provider-tajo/agent/config"
	"github.com/tajo/terraform-provider-tajo/agent/intercom"
	"github.com/tajo/terraform-provider-tajo/agent/store"
	"github.com/tajo/terraform-provider-tajo/agent/webhook"
)

// Inbox processing.
const (
	// inboxLease is how long a worker owns a claimed delivery; a worker
	// that dies releases it when the lease ends.
	inboxLease = 2 * time.Minute
	// MaxDeliveryAttempts before a delivery is dead-lettered with its
	// reason (tajo-agent inbox retry puts it back).
	MaxDeliveryAttempts = 8
	// inboxBatch is how many deliveries a worker claims at once.
	inboxBatch = 20
)

// errPermanent marks a delivery that no retry can fix (a malformed
// payload): it is dead-lettered at once.
var errPermanent = errors.New("permanent")

func permanent(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errPermanent, fmt.Sprintf(format, args...))
}

// WakeInbox tells the inbox workers a delivery was accepted.
func (e *Engine) WakeInbox() {
	select {
	case e.inboxWake <- struct{}{}:
	default:
	}
}

// runInbox processes accepted webhook deliveries until stop is closed.
func (e *Engine) runInbox(ctx context.Context, stop <-chan struct{}) {
	worker := e.opts.Agent + "/" + e.id
	if e.opts.Agent == "" {
		worker = "agent/" + e.id
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	failures := 0
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		case <-e.inboxWake:
		case <-tick.C:
		}
		for {
			select {
			case <-stop:
				return
			default:
			}
			ds, err := e.st.Claim(ctx, e.id, worker, e.opts.Now(), inboxLease, inboxBatch)
			if err != nil {
				if ctx.Err() == nil {
					failures++
					e.log.Error("claim webhook deliveries", "error", err)
					_ = backoff.Sleep(ctx, backoff.Default.Delay(failures))
				}
				break
			}
			failures = 0
			if len(ds) == 0 {
				break
			}
			for _, d := range ds {
				rctx, cancel := graceful(ctx, 30*time.Second)
				e.process(rctx, worker, d)
				cancel()
			}
		}
	}
}

// process handles one delivery and records the outcome: done, retried
// with backoff, or dead-lettered with the reason.
func (e *Engine) process(ctx context.Context, worker string, d store.Delivery) {
	start := e.opts.Now()
	var err error
	if e.bundle.Connector.Mode == config.ModeBatch {
		e.log.Debug("webhook delivery left to the next scheduled pass (mode batch)", "delivery", d.ID, "topic", d.Topic)
	} else {
		err = e.handle(ctx, d)
	}
	if err == nil {
		if ferr := e.st.Finish(ctx, e.id, d.Seq, worker); ferr != nil {
			e.log.Warn("finish webhook delivery", "delivery", d.ID, "error", ferr)
		}
		e.count(func(s *Stats) { s.Deliveries++ })
		e.logDelivery(d, "processed", nil, e.opts.Now().Sub(start))
		return
	}
	attempts := d.Attempts + 1
	dead := errors.Is(err, errPermanent) || attempts >= MaxDeliveryAttempts
	next := e.opts.Now().Add(backoff.Policy{Base: 2 * time.Second, Max: 10 * time.Minute}.Delay(attempts))
	if rerr := e.st.Reschedule(context.WithoutCancel(ctx), e.id, d.Seq, worker, next, err.Error(), dead); rerr != nil {
		e.log.Warn("reschedule webhook delivery", "delivery", d.ID, "error", rerr)
	}
	if dead {
		e.count(func(s *Stats) { s.DeadLetters++ })
		e.log.Error("webhook delivery dead-lettered; tajo-agent inbox retry puts it back", "delivery", d.ID, "topic", d.Topic,
			"record", d.Key, "attempts", attempts, "reason", err)
		return
	}
	e.logDelivery(d, "retry", err, e.opts.Now().Sub(start))
}

func (e *Engine) logDelivery(d store.Delivery, outcome string, err error, took time.Duration) {
	if !e.bundle.Connector.LogWebhooks && err == nil {
		return
	}
	args := []any{"delivery", d.ID, "topic", d.Topic, "record", d.Key, "outcome", outcome, "took", took.Round(time.Millisecond)}
	if err != nil {
		args = append(args, "error", err)
		e.log.Warn("webhook delivery", args...)
		return
	}
	e.log.Info("webhook delivery", args...)
}

// handle applies one delivery.
func (e *Engine) handle(ctx context.Context, d store.Delivery) error {
	if d.Source == config.SourceBrevo {
		return e.handleBrevo(ctx, d)
	}
	n, err := webhook.ParseNotification(d.Body)
	if err != nil {
		return permanent("%v", err)
	}
	item := n.Data.Item
	switch t := n.Topic; {
	case t == "contact.deleted" || t == "contact.archived":
		id, err := itemID(item)
		if err != nil {
			return err
		}
		return e.removeContact(ctx, id)
	case t == "contact.merged":
		var m struct {
			MergedFrom *struct {
				ID string `json:"id"`
			} `json:"merged_from"`
		}
		if err := json.Unmarshal(item, &m); err != nil {
			return permanent("contact.merged item: %v", err)
		}
		// The lead merged away leaves its lists; the user it merged into
		// gets them by its own rules.
		if m.MergedFrom != nil && m.MergedFrom.ID != "" {
			err := e.apply(ctx, store.Batch{Enqueue: []store.Pending{{Kind: store.KindContact, IntercomID: m.MergedFrom.ID,
				Payload: encode(contactState{ExtID: m.MergedFrom.ID, Delete: true, Merged: true})}}})
			if err != nil {
				return err
			}
		}
		return e.refreshContact(ctx, item, true)
	case strings.HasSuffix(t, ".tag.created") || strings.HasSuffix(t, ".tag.deleted") ||
		t == "company.contact.attached" || t == "company.contact.detached":
		var ct struct {
			Contact *struct {
				ID string `json:"id"`
			} `json:"contact"`
		}
		if err := json.Unmarshal(item, &ct); err != nil || ct.Contact == nil || ct.Contact.ID == "" {
			return permanent("%s item names no contact", t)
		}
		return e.refreshContactByID(ctx, ct.Contact.ID)
	case strings.HasPrefix(t, "contact."):
		return e.refreshContact(ctx, item, false)
	case t == "company.deleted":
		id, err := itemID(item)
		if err != nil {
			return err
		}
		b := store.Batch{Unlink: []store.Key{{Kind: kindCompanyData, IntercomID: id}}}
		if e.bundle.Connector.Sync.Companies {
			b.Enqueue = []store.Pending{{Kind: store.KindCompany, IntercomID: id, Payload: encode(companyState{IntercomID: id, Delete: true})}}
		}
		if err := e.apply(ctx, b); err != nil {
			return err
		}
		e.notify()
		return nil
	case strings.HasPrefix(t, "company."):
		var co intercom.Company
		if err := json.Unmarshal(item, &co); err != nil || co.ID == "" {
			return permanent("%s item is not a company", t)
		}
		changed, err := e.planCompanyPage(ctx, []*intercom.Company{&co}, 0)
		if err != nil {
			return err
		}
		if len(changed) > 0 && e.contactsReadCompanies() {
			return e.replanMembers(ctx, changed)
		}
		return nil
	case strings.HasPrefix(t, "conversation"):
		return e.handleConversation(ctx, t, item)
	case t == "event.created":
		return e.handleEvent(ctx, item)
	}
	e.log.Debug("webhook topic without action", "topic", n.Topic)
	return nil
}

func itemID(item json.RawMessage) (string, error) {
	var v struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(item, &v); err != nil || v.ID == "" {
		return "", permanent("item has no id")
	}
	return v.ID, nil
}

// refreshContact plans a contact from a webhook payload when the payload is
// complete and not older than what the agent knows; otherwise from a
// targeted GET (deliveries can arrive late and out of order).
func (e *Engine) refreshContact(ctx context.Context, item json.RawMessage, forceGet bool) error {
	var c intercom.Contact
	if err := json.Unmarshal(item, &c); err != nil || c.ID == "" {
		return permanent("item is not a contact")
	}
	complete := !forceGet && c.Type == "contact" && c.UpdatedAt != 0 && c.Role != ""
	if complete {
		link, err := e.st.GetLinks(ctx, e.id, store.KindContact, []string{c.ID})
		if err != nil {
			return err
		}
		pend, err := e.st.GetPending(ctx, e.id, store.KindContact, []string{c.ID})
		if err != nil {
			return err
		}
		known := link[c.ID].SourceUpdatedAt
		if p, ok := pend[c.ID]; ok {
			if st, err := decodePayload[contactState](p); err == nil {
				known = max(known, st.UpdatedAt)
			}
		}
		// Stale when older than what is known, and possibly stale when as
		// old: updated_at has second granularity, so two versions of one
		// second look alike and the one delivered last may be the older.
		// Either way the contact is read (one GET) rather than trusted.
		if int64(c.UpdatedAt) <= known {
			complete = false
		}
	}
	if !complete {
		return e.refreshContactByID(ctx, c.ID)
	}
	return e.planOne(ctx, &c)
}

// refreshContactByID plans a contact read from Intercom now; a contact
// Intercom no longer has is removed.
func (e *Engine) refreshContactByID(ctx context.Context, id string) error {
	c, _, err := e.ic.Contacts.Get(ctx, id)
	if errors.Is(err, intercom.ErrNotFound) {
		return e.removeContact(ctx, id)
	}
	if err != nil {
		return fmt.Errorf("get Intercom contact %s: %w", id, err)
	}
	return e.planOne(ctx, c)
}

func (e *Engine) planOne(ctx context.Context, c *intercom.Contact) error {
	tags, err := e.cachedTagNames(ctx, c)
	if err != nil {
		return err
	}
	return e.planContacts(ctx, []*intercom.Contact{c}, tags, 0, nil)
}

// removeContact enqueues the removal of a contact gone from Intercom.
func (e *Engine) removeContact(ctx context.Context, id string) error {
	err := e.apply(ctx, store.Batch{Enqueue: []store.Pending{{Kind: store.KindContact, IntercomID: id,
		Payload: encode(contactState{ExtID: id, Delete: true})}}})
	if err == nil {
		e.notify()
	}
	return err
}

// tagCacheTTL bounds how long tag names are reused between GET /tags.
const tagCacheTTL = 10 * time.Minute

// cachedTagNames returns tag names, refreshing them when stale or when the
// contact carries a tag the cache does not know.
func (e *Engine) cachedTagNames(ctx context.Context, c *intercom.Contact) (map[string]string, error) {
	e.mu.Lock()
	names, at := e.tags, e.tagsAt
	e.mu.Unlock()
	fresh := names != nil && e.opts.Now().Sub(at) < tagCacheTTL
	if fresh && c != nil && c.Tags != nil {
		for _, r := range c.Tags.Data {
			if r.Name == "" && names[string(r.ID)] == "" {
				fresh = false
			}
		}
	}
	if fresh {
		return names, nil
	}
	names, err := e.tagNames(ctx)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	e.tags, e.tagsAt = names, e.opts.Now()
	e.mu.Unlock()
	return names, nil
}

// handleBrevo applies a Brevo marketing event: an unsubscribe (or hard
// bounce, spam complaint, or update that blacklists the email) sets
// unsubscribed_from_emails in Intercom; a deletion makes the agent forget
// the contact, so a later full pass writes it again while Intercom has it.
func (e *Engine) handleBrevo(ctx context.Context, d store.Delivery) error {
	var ev struct {
		Event            string `json:"event"`
		Email            string `json:"email"`
		EmailBlacklisted *bool  `json:"emailBlacklisted"`
	}
	if err := json.Unmarshal(d.Body, &ev); err != nil {
		return permanent("brevo event: %v", err)
	}
	if ev.Email == "" {
		return permanent("brevo %s event without email", d.Topic)
	}
	links, err := e.st.LinksByEmail(ctx, e.id, store.KindContact, ev.Email)
	if err != nil {
		return err
	}
	switch d.Topic {
	case "contactDeleted":
		var b store.Batch
		for _, l := range links {
			b.Unlink = append(b.Unlink, store.Key{Kind: store.KindContact, IntercomID: l.IntercomID})
		}
		return e.apply(ctx, b)
	case "contactUpdated":
		if ev.EmailBlacklisted == nil || !*ev.EmailBlacklisted {
			return nil // only a blacklisting travels back to Intercom
		}
	}
	if e.bundle.Connector.Direction != config.DirectionBidirectional {
		return nil
	}
	if len(links) == 0 {
		e.log.Debug("brevo event for a contact the connector did not write", "event", d.Topic)
		return nil
	}
	for _, l := range links {
		if err := e.unsubscribeInIntercom(ctx, l.IntercomID); err != nil {
			return err
		}
	}
	return nil
}

// unsubscribeInIntercom sets unsubscribed_from_emails unless it is set
// already — so the change Intercom then reports (contact.unsubscribed,
// contact.*.updated, the next pass) finds nothing to write back: no
// ping-pong. The contact is re-planned from Intercom's answer, which brings
// Brevo's UNSUBSCRIBED attribute in line at once.
func (e *Engine) unsubscribeInIntercom(ctx context.Context, id string) error {
	c, _, err := e.ic.Contacts.Get(ctx, id)
	if errors.Is(err, intercom.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("get Intercom contact %s: %w", id, err)
	}
	if c.UnsubscribedFromEmails {
		return nil
	}
	t := true
	updated, _, err := e.ic.Contacts.Update(ctx, id, &intercom.ContactUpdate{UnsubscribedFromEmails: &t})
	if err != nil {
		return fmt.Errorf("unsubscribe Intercom contact %s: %w", id, err)
	}
	e.count(func(s *Stats) { s.IntercomUpdates++ })
	e.log.Info("brevo unsubscribe applied in Intercom", "contact", id)
	return e.planOne(ctx, updated)
}
