package sync

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tajo/terraform-provider-tajo/agent/brevo"
	"github.com/tajo/terraform-provider-tajo/agent/store"
)

// eventsBatch is how many events one writer round sends (the client splits
// them into batch requests).
const eventsBatch = 1000

// writeEvents sends pending events with Brevo's batch endpoint. An event is
// marked "sending" before the request and "sent" after it, in the store; a
// request whose outcome is unknown (the answer was lost) is not repeated:
// Brevo events carry no idempotency key, so a repeat could duplicate them.
// Such events are recorded as "unknown" (and counted in the status), each
// with a tajo_event_id property for downstream de-duplication.
func (e *Engine) writeEvents(ctx context.Context) (int, error) {
	ready, err := e.st.ReadyEvents(ctx, e.id, e.opts.Now(), eventsBatch)
	if err != nil || len(ready) == 0 {
		return 0, err
	}
	keys := make([]string, 0, len(ready))
	var batch []*brevo.Event
	var sendKeys []string
	var failed []string
	for _, r := range ready {
		keys = append(keys, r.Key)
		p, err := decodeEvent(r)
		if err != nil {
			failed = append(failed, r.Key)
			continue
		}
		ev := &brevo.Event{Name: p.Name, Identifiers: brevo.EventIdentifiers{ExtID: p.ContactID, EmailID: p.Email},
			EventProperties: p.Properties}
		if p.Date > 0 {
			ev.Date = time.Unix(p.Date, 0).UTC()
		}
		batch = append(batch, ev)
		sendKeys = append(sendKeys, r.Key)
	}
	mark := store.Batch{EventUpdates: []store.EventUpdate{{Keys: sendKeys, State: store.EventSending}}}
	if len(failed) > 0 {
		mark.EventUpdates = append(mark.EventUpdates, store.EventUpdate{Keys: failed, State: store.EventFailed, Error: "payload not readable"})
	}
	if err := e.apply(ctx, mark); err != nil {
		return 0, err
	}
	res, _, err := e.bc.Events.CreateBatch(ctx, batch)
	sent := 0
	if res != nil {
		sent = res.Sent
	}
	var upd store.Batch
	if sent > 0 {
		upd.EventUpdates = append(upd.EventUpdates, store.EventUpdate{Keys: sendKeys[:sent], State: store.EventSent, Attempt: true})
	}
	rest := sendKeys[sent:]
	switch {
	case len(rest) == 0:
	case errors.Is(err, brevo.ErrOutcomeUnknown):
		// The request in flight (one batch) may have been applied: not
		// repeated. Those after it were never sent.
		n := min(len(rest), max(1, e.bc.EventBatchSize()))
		upd.EventUpdates = append(upd.EventUpdates, store.EventUpdate{Keys: rest[:n], State: store.EventUnknown, Error: err.Error(), Attempt: true})
		if n < len(rest) {
			upd.EventUpdates = append(upd.EventUpdates, store.EventUpdate{Keys: rest[n:], State: store.EventPending})
		}
		e.log.Warn("brevo events may or may not have been recorded; not sent again to avoid duplicates", "events", n, "error", err)
	case errors.Is(err, context.Canceled):
		// Never sent: back to pending.
		upd.EventUpdates = append(upd.EventUpdates, store.EventUpdate{Keys: rest, State: store.EventPending})
	default:
		next := e.opts.Now().Add(e.opts.RetryBase)
		upd.EventUpdates = append(upd.EventUpdates, store.EventUpdate{Keys: rest, State: store.EventPending, NotBefore: next,
			Error: fmt.Sprint(err), Attempt: true})
		e.log.Warn("brevo events will be retried", "events", len(rest), "error", err)
	}
	if err := e.apply(context.WithoutCancel(ctx), upd); err != nil {
		return 0, err
	}
	e.count(func(s *Stats) { s.record(ResourceEvents, OutcomeWritten, int64(sent)) })
	return len(ready), nil
}

func decodeEvent(r store.Event) (eventPayload, error) {
	return decodePayload[eventPayload](store.Pending{Kind: "event", IntercomID: r.Key, Payload: r.Payload})
}
