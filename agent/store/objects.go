package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/tajo/terraform-provider-tajo/agent/config"
)

// Object is a declaration that lives in the store as a document.
type Object interface {
	ID() string
}

// KindOf returns the document kind of a config object.
func KindOf(obj Object) (string, error) {
	switch obj.(type) {
	case config.Connector:
		return config.KindConnector, nil
	case config.FieldMapping:
		return config.KindFieldMapping, nil
	case config.ListAssignment:
		return config.KindList, nil
	case config.WebhookSubscription:
		return config.KindWebhook, nil
	}
	return "", fmt.Errorf("%w: %T", config.ErrUnknownKind, obj)
}

func connectorOf(obj Object) string {
	switch o := obj.(type) {
	case config.Connector:
		return o.ID()
	case config.FieldMapping:
		return o.ConnectorID
	case config.ListAssignment:
		return o.ConnectorID
	case config.WebhookSubscription:
		return o.ConnectorID
	}
	return ""
}

// Save writes a config object as a document.
func Save(ctx context.Context, s Store, obj Object, expectVersion int64) (Document, error) {
	kind, err := KindOf(obj)
	if err != nil {
		return Document{}, err
	}
	body, err := json.Marshal(obj)
	if err != nil {
		return Document{}, fmt.Errorf("encode %s %s: %w", kind, obj.ID(), err)
	}
	return s.PutDocument(ctx, Document{Kind: kind, ID: obj.ID(), ConnectorID: connectorOf(obj), Body: body}, expectVersion)
}

// Decode unmarshals a document into a config object. A body that does not
// decode is reported with the document's kind and id, so a hand-edited store
// gives an actionable error.
func Decode[T any](doc Document) (T, error) {
	var v T
	if err := json.Unmarshal(doc.Body, &v); err != nil {
		return v, fmt.Errorf("%s %q in the store is not valid: %w", doc.Kind, doc.ID, err)
	}
	return v, nil
}

// Load reads one config object.
func Load[T any](ctx context.Context, s Store, kind, id string) (T, Document, error) {
	doc, err := s.GetDocument(ctx, kind, id)
	if err != nil {
		var zero T
		return zero, doc, err
	}
	v, err := Decode[T](doc)
	return v, doc, err
}

// LoadBundles reads every connector with its mappings, lists and webhook
// subscriptions, and the revision they were read at (or later). Documents
// that do not decode are reported together; the bundles that do decode are
// still returned.
func LoadBundles(ctx context.Context, s Store) ([]config.Bundle, int64, error) {
	rev, err := s.Revision(ctx)
	if err != nil {
		return nil, 0, err
	}
	docs, err := s.ListDocuments(ctx, ListOptions{})
	if err != nil {
		return nil, 0, err
	}
	bundles := map[string]*config.Bundle{}
	var order []string
	var errs []error
	get := func(id string) *config.Bundle {
		b, ok := bundles[id]
		if !ok {
			b = &config.Bundle{}
			bundles[id] = b
			order = append(order, id)
		}
		return b
	}
	for _, d := range docs {
		b := get(d.ConnectorID)
		switch d.Kind {
		case config.KindConnector:
			c, err := Decode[config.Connector](d)
			errs = append(errs, err)
			b.Connector = c
		case config.KindFieldMapping:
			m, err := Decode[config.FieldMapping](d)
			errs = append(errs, err)
			b.Mappings = append(b.Mappings, m)
		case config.KindList:
			l, err := Decode[config.ListAssignment](d)
			errs = append(errs, err)
			b.Lists = append(b.Lists, l)
		case config.KindWebhook:
			w, err := Decode[config.WebhookSubscription](d)
			errs = append(errs, err)
			b.Webhooks = append(b.Webhooks, w)
		default:
			errs = append(errs, fmt.Errorf("document %s %q: %w (written by a newer provider?)", d.Kind, d.ID, config.ErrUnknownKind))
		}
	}
	out := make([]config.Bundle, 0, len(order))
	for _, id := range order {
		b := bundles[id]
		if b.Connector.Name == "" {
			// Children whose connector is gone (deleted out of order, or by hand).
			errs = append(errs, fmt.Errorf("connector %q has mappings, lists or webhooks in the store but no connector document", id))
			continue
		}
		out = append(out, *b)
	}
	return out, rev, errors.Join(errs...)
}
