package brevo

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"net/http"
)

// MaxImportBytes is Brevo's documented ceiling for a JSON import body
// ("10MB"; read as decimal megabytes, the stricter reading).
const MaxImportBytes = 10_000_000

// DefaultImportMaxBytes is the default body budget of one import request:
// Brevo recommends "a safe limit of around 8 MB" because the body grows
// while it is parsed.
const DefaultImportMaxBytes = 8_000_000

// ImportContact is one row of a JSON import. The spec's jsonBody item has
// only email and attributes, and its example carries SMS, WHATSAPP and
// LANDLINE_NUMBER inside attributes; ExtID and SMS are therefore sent as
// attributes.EXT_ID and attributes.SMS. That Brevo matches existing
// contacts by an EXT_ID attribute in an import is UNVERIFIED.
type ImportContact struct {
	Email      string
	ExtID      string
	SMS        string
	Attributes map[string]any
}

type importItem struct {
	Email      string         `json:"email,omitempty"`
	Attributes map[string]any `json:"attributes,omitempty"`
}

// MarshalJSON implements json.Marshaler: {"email", "attributes"} with
// EXT_ID and SMS folded into the attributes.
func (c ImportContact) MarshalJSON() ([]byte, error) {
	attrs := c.Attributes
	if c.ExtID != "" || c.SMS != "" {
		attrs = make(map[string]any, len(c.Attributes)+2)
		maps.Copy(attrs, c.Attributes)
		if c.ExtID != "" {
			attrs[AttributeExtID] = c.ExtID
		}
		if c.SMS != "" {
			attrs[AttributeSMS] = c.SMS
		}
	}
	return json.Marshal(importItem{Email: c.Email, Attributes: attrs})
}

// NewList asks an import to create the list it fills.
type NewList struct {
	ListName string `json:"listName"`
	FolderID int64  `json:"folderId,omitempty"`
}

// ImportRequest is a contact import (POST /contacts/import with jsonBody),
// split by the client into as many requests as the byte budget needs.
type ImportRequest struct {
	Contacts []ImportContact
	// ListIDs the contacts are added to; required unless NewList is set.
	ListIDs []int64
	// NewList creates a list for the import. Only possible when the import
	// fits one request: later requests could not name the new list.
	NewList *NewList
	// NotifyURL is called by Brevo when each import process finishes
	// (prefer it to polling: processes share the 100/hour budget).
	NotifyURL string
	// UpdateExistingContacts defaults to true at Brevo (nil leaves it).
	UpdateExistingContacts *bool
	// EmptyContactsAttributes: empty values erase existing ones (only with
	// UpdateExistingContacts).
	EmptyContactsAttributes bool
	EmailBlacklist          bool
	SMSBlacklist            bool
	DisableNotification     bool
}

// importEnvelope is the request body without jsonBody.
type importEnvelope struct {
	ListIDs                 []int64  `json:"listIds,omitempty"`
	NewList                 *NewList `json:"newList,omitempty"`
	NotifyURL               string   `json:"notifyUrl,omitempty"`
	EmailBlacklist          bool     `json:"emailBlacklist,omitempty"`
	SMSBlacklist            bool     `json:"smsBlacklist,omitempty"`
	DisableNotification     bool     `json:"disableNotification,omitempty"`
	UpdateExistingContacts  *bool    `json:"updateExistingContacts,omitempty"`
	EmptyContactsAttributes bool     `json:"emptyContactsAttributes,omitempty"`
}

// ImportResult reports the requests an import took.
type ImportResult struct {
	// ProcessIDs has one process per accepted request, in order.
	ProcessIDs []int64
	// Submitted is how many contacts the accepted requests carried: on
	// error, Contacts[:Submitted] were handed to Brevo.
	Submitted int
	// BodyBytes is the size of each request body sent.
	BodyBytes []int
}

// Import imports contacts (POST /contacts/import), as many requests as the
// byte budget (WithImportMaxBytes) requires, one after another, and
// returns the process ids. The processes run asynchronously: wait with
// NotifyURL or Processes.Wait.
//
// An import request is not retried after an ambiguous failure (timeout,
// dropped connection, 5xx): a second run would write the same contacts
// again. The error then wraps ErrOutcomeUnknown and the result says which
// contacts were accepted before it.
func (s *ContactsService) Import(ctx context.Context, req *ImportRequest) (*ImportResult, *Response, error) {
	if req == nil || len(req.Contacts) == 0 {
		return nil, nil, invalid("import needs contacts")
	}
	if len(req.ListIDs) == 0 && req.NewList == nil {
		return nil, nil, invalid("import needs listIds or newList")
	}
	if req.EmptyContactsAttributes && req.UpdateExistingContacts != nil && !*req.UpdateExistingContacts {
		return nil, nil, invalid("emptyContactsAttributes needs updateExistingContacts")
	}
	env := importEnvelope{
		ListIDs: req.ListIDs, NewList: req.NewList, NotifyURL: req.NotifyURL,
		EmailBlacklist: req.EmailBlacklist, SMSBlacklist: req.SMSBlacklist, DisableNotification: req.DisableNotification,
		UpdateExistingContacts: req.UpdateExistingContacts, EmptyContactsAttributes: req.EmptyContactsAttributes,
	}
	ch, err := newImportChunker(env, s.client.importMaxBytes)
	if err != nil {
		return nil, nil, err
	}
	if req.NewList != nil {
		bodies, err := ch.plan(req.Contacts)
		if err != nil {
			return nil, nil, err
		}
		if bodies > 1 {
			return nil, nil, invalid("newList needs the import to fit one request (%d needed): create the list first and pass listIds", bodies)
		}
	}
	res := &ImportResult{}
	var resp *Response
	send := func(body []byte, n int) error {
		r := s.client.newRequest(http.MethodPost, "/contacts/import", "/contacts/import")
		r.raw, r.contentType = body, "application/json"
		var out struct {
			ProcessID int64 `json:"processId"`
		}
		r.out = &out
		var err error
		if resp, err = s.client.do(ctx, r); err != nil {
			return err
		}
		res.ProcessIDs = append(res.ProcessIDs, out.ProcessID)
		res.Submitted += n
		res.BodyBytes = append(res.BodyBytes, len(body))
		return nil
	}
	for i, c := range req.Contacts {
		item, err := json.Marshal(c)
		if err != nil {
			return res, resp, invalid("contact %d: %v", i, err)
		}
		full, n, err := ch.add(item)
		if err != nil {
			return res, resp, invalid("contact %d: %v", i, err)
		}
		if full != nil {
			if err := send(full, n); err != nil {
				return res, resp, err
			}
		}
	}
	if body, n := ch.flush(); body != nil {
		if err := send(body, n); err != nil {
			return res, resp, err
		}
	}
	return res, resp, nil
}

// importChunker packs marshalled contacts into request bodies of at most
// max bytes: {"jsonBody":[item,item,…],<envelope fields>}. Sizes are exact,
// so a body never exceeds the budget and is as full as it can be.
type importChunker struct {
	prefix, suffix []byte
	max            int
	items          bytes.Buffer
	n              int
}

func newImportChunker(env importEnvelope, max int) (*importChunker, error) {
	e, err := json.Marshal(env)
	if err != nil {
		return nil, err
	}
	ch := &importChunker{prefix: []byte(`{"jsonBody":[`), max: max}
	if string(e) == "{}" {
		ch.suffix = []byte(`]}`)
	} else {
		ch.suffix = append([]byte(`],`), e[1:]...)
	}
	if ch.overhead()+2 > max {
		return nil, invalid("import body budget %d is smaller than the request envelope (%d bytes)", max, ch.overhead())
	}
	return ch, nil
}

func (ch *importChunker) overhead() int { return len(ch.prefix) + len(ch.suffix) }

// add appends one item; when it does not fit, it returns the full body
// built so far (and its item count) and starts the next body with it.
func (ch *importChunker) add(item []byte) (full []byte, n int, err error) {
	if ch.overhead()+len(item) > ch.max {
		return nil, 0, invalid("one contact serialises to %d bytes, more than the %d byte budget", len(item)+ch.overhead(), ch.max)
	}
	sep := 0
	if ch.n > 0 {
		sep = 1
	}
	if ch.overhead()+ch.items.Len()+sep+len(item) > ch.max {
		full, n = ch.flush()
		sep = 0
	}
	if sep == 1 {
		ch.items.WriteByte(',')
	}
	ch.items.Write(item)
	ch.n++
	return full, n, nil
}

// flush returns the pending body, nil when empty.
func (ch *importChunker) flush() ([]byte, int) {
	if ch.n == 0 {
		return nil, 0
	}
	body := make([]byte, 0, ch.overhead()+ch.items.Len())
	body = append(body, ch.prefix...)
	body = append(body, ch.items.Bytes()...)
	body = append(body, ch.suffix...)
	n := ch.n
	ch.items.Reset()
	ch.n = 0
	return body, n
}

// plan counts the bodies contacts would take, without keeping them.
func (ch *importChunker) plan(contacts []ImportContact) (int, error) {
	size, bodies := 0, 0
	for i, c := range contacts {
		item, err := json.Marshal(c)
		if err != nil {
			return 0, invalid("contact %d: %v", i, err)
		}
		if ch.overhead()+len(item) > ch.max {
			return 0, invalid("contact %d serialises to %d bytes, more than the %d byte budget", i, len(item)+ch.overhead(), ch.max)
		}
		switch {
		case size == 0:
			bodies++
			size = ch.overhead() + len(item)
		case size+1+len(item) > ch.max:
			bodies++
			size = ch.overhead() + len(item)
		default:
			size += 1 + len(item)
		}
	}
	return bodies, nil
}
