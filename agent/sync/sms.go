package sync

import (
	"context"
	"maps"
	"slices"
	"sort"

	"github.com/tajo/terraform-provider-tajo/agent/config"
	"github.com/tajo/terraform-provider-tajo/agent/store"
)

// Brevo identifies a contact by its email, its ext_id and its SMS: a
// number can belong to one Brevo contact only. Two Intercom contacts may
// share a phone number (a family, a switchboard), and a bulk import whose
// row carries a number another contact holds does not fail: Brevo takes
// the number as the row's identity, so the row updates, or is dropped in
// favour of, the other contact. The engine therefore decides who holds a
// number before it writes: the contact that holds it already, else the
// one with the lowest Intercom id. The others are written without SMS
// (counted in SMSConflicts) and get it when they change after the holder
// let it go.
//
// kindSMS links record the holders: IntercomID is the number, Data the
// Intercom id of the contact whose Brevo contact carries it.
const kindSMS = "sms"

func smsOf(attrs map[string]any) string {
	s, _ := attrs[config.TargetSMS].(string)
	return s
}

// claimSMS removes the SMS of the items whose number another contact
// holds, or that another item of the round takes. Contacts the round
// deletes (a lead merged away) hold nothing. Items whose data is not
// written (only their lists change) are included, so that what the round
// records of them (their state, the numbers they hold) is what Brevo has.
func (e *Engine) claimSMS(ctx context.Context, items, deletes []*contactItem) error {
	byNumber := map[string][]*contactItem{}
	byID := map[string]*contactItem{}
	deleted := map[string]bool{}
	for _, it := range deletes {
		deleted[it.p.IntercomID] = true
	}
	for _, it := range items {
		byID[it.p.IntercomID] = it
		if n := smsOf(it.st.Attributes); n != "" {
			byNumber[n] = append(byNumber[n], it)
		}
	}
	if len(byNumber) == 0 {
		return nil
	}
	holders, err := e.st.GetLinks(ctx, e.id, kindSMS, slices.Collect(maps.Keys(byNumber)))
	if err != nil {
		return err
	}
	// A holder outside the round keeps the number while its contact is
	// linked; one inside the round keeps it if its new state still has it.
	var outside []string
	for _, l := range holders {
		if _, in := byID[string(l.Data)]; !in && !deleted[string(l.Data)] {
			outside = append(outside, string(l.Data))
		}
	}
	linked, err := e.st.GetLinks(ctx, e.id, store.KindContact, outside)
	if err != nil {
		return err
	}
	for number, its := range byNumber {
		holder := ""
		if l, ok := holders[number]; ok {
			h := string(l.Data)
			it, in := byID[h]
			link, out := linked[h]
			switch {
			case deleted[h]: // lets it go in this round
			case in && smsOf(it.st.Attributes) == number:
				holder = h
			case !in && out && smsOf(decodeData[contactState](link.Data).Attributes) == number:
				holder = h
			}
		}
		if holder == "" {
			sort.Slice(its, func(i, j int) bool { return its[i].p.IntercomID < its[j].p.IntercomID })
			holder = its[0].p.IntercomID
		}
		for _, it := range its {
			if it.p.IntercomID == holder {
				continue
			}
			it.st.Attributes = withoutSMS(it.st.Attributes)
			e.count(func(s *Stats) { s.SMSConflicts++ })
			// Counted in the pass line (sms_conflicts); one line each only
			// at debug level: families and switchboards are common.
			e.log.Debug("SMS belongs to another contact in Brevo; written without it", "contact", it.p.IntercomID, "holder", holder)
		}
	}
	return nil
}

// recordSMS notes, in the round's batch, the number a written contact
// holds now and the one it let go.
func recordSMS(o *outcome, it *contactItem, deleted bool) {
	old := ""
	if it.linked {
		old = smsOf(decodeData[contactState](it.link.Data).Attributes)
	}
	now := ""
	if !deleted {
		now = smsOf(it.st.Attributes)
	}
	if now != "" {
		o.batch.Links = append(o.batch.Links, store.Link{Kind: kindSMS, IntercomID: now, Data: []byte(it.p.IntercomID)})
	}
	if old != "" && old != now {
		o.released = append(o.released, old)
	}
}

// releaseSMS unlinks the numbers let go in the round, unless another
// contact of the round took them.
func releaseSMS(o *outcome) {
	taken := map[string]bool{}
	for _, l := range o.batch.Links {
		if l.Kind == kindSMS {
			taken[l.IntercomID] = true
		}
	}
	for _, n := range o.released {
		if !taken[n] {
			o.batch.Unlink = append(o.batch.Unlink, store.Key{Kind: kindSMS, IntercomID: n})
		}
	}
}
