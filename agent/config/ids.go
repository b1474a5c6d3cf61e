package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Document kinds, the names under which declarations live in the store.
const (
	KindConnector    = "connector"
	KindFieldMapping = "field_mapping"
	KindList         = "list_assignment"
	KindWebhook      = "webhook_subscription"
)

// JoinID joins a connector id and the part that identifies an object in it.
func JoinID(connectorID, rest string) string { return connectorID + "/" + rest }

// IDFormats documents the import ID of each resource.
var IDFormats = map[string]string{
	KindConnector:    "<name>, e.g. intercom",
	KindFieldMapping: "<connector name>/<TARGET>, e.g. intercom/PLAN_TIER",
	KindList:         "<connector name>/<list id>, e.g. intercom/35",
	KindWebhook:      "<connector name><path>, e.g. intercom/webhooks/intercom",
}

func splitID(kind, id string) (connector, rest string, err error) {
	connector, rest, ok := strings.Cut(id, "/")
	if !ok || connector == "" || rest == "" {
		return "", "", fmt.Errorf("import ID %q has the wrong shape; write %s", id, IDFormats[kind])
	}
	if err := ValidateName(connector); err != nil {
		return "", "", fmt.Errorf("import ID %q: connector name %v", id, err)
	}
	return connector, rest, nil
}

// ParseConnectorID validates a connector import ID.
func ParseConnectorID(id string) (string, error) {
	if err := ValidateName(id); err != nil {
		return "", fmt.Errorf("import ID %q: connector name %v; write %s", id, err, IDFormats[KindConnector])
	}
	return id, nil
}

// ParseFieldMappingID splits "<connector>/<TARGET>".
func ParseFieldMappingID(id string) (connector, target string, err error) {
	connector, target, err = splitID(KindFieldMapping, id)
	if err != nil {
		return "", "", err
	}
	if err := ValidateTarget(target); err != nil {
		return "", "", fmt.Errorf("import ID %q: target %v", id, err)
	}
	return connector, target, nil
}

// ParseListAssignmentID splits "<connector>/<list id>".
func ParseListAssignmentID(id string) (connector string, listID int64, err error) {
	connector, rest, err := splitID(KindList, id)
	if err != nil {
		return "", 0, err
	}
	n, perr := strconv.ParseInt(rest, 10, 64)
	// Only the canonical form: "035" or "+35" would import an object whose
	// id is "…/35", which terraform import then reports as missing.
	if perr != nil || n <= 0 || strconv.FormatInt(n, 10) != rest {
		return "", 0, fmt.Errorf("import ID %q: list id %q is not a positive number; write %s", id, rest, IDFormats[KindList])
	}
	return connector, n, nil
}

// ParseWebhookID splits "<connector><path>".
func ParseWebhookID(id string) (connector, path string, err error) {
	connector, rest, err := splitID(KindWebhook, id)
	if err != nil {
		return "", "", err
	}
	path = "/" + rest
	if err := ValidatePath(path); err != nil {
		return "", "", fmt.Errorf("import ID %q: path %w", id, err)
	}
	return connector, path, nil
}

// ErrUnknownKind is returned for a document kind this version does not know.
var ErrUnknownKind = errors.New("unknown document kind")
