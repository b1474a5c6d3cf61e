package config

import "strconv"

// ListAssignment is a tajo_list_assignment: Brevo list ListID holds exactly
// the contacts that match Rule, kept true in both directions.
type ListAssignment struct {
	ConnectorID string `json:"connector_id"`
	ListID      int64  `json:"list_id"`
	Rule        string `json:"rule"`
}

// ID is "<connector>/<list id>": a list follows one rule per connector.
func (l ListAssignment) ID() string {
	return JoinID(l.ConnectorID, strconv.FormatInt(l.ListID, 10))
}

// Validate reports every problem with l at once.
func (l ListAssignment) Validate() error {
	var p problems
	p.check("connector_id", ValidateName(l.ConnectorID))
	if l.ListID <= 0 {
		p.add("list_id", "%d is not a Brevo list id; list ids are positive numbers (Brevo → Contacts → Lists shows them as #35)", l.ListID)
	}
	_, err := ParseRule(l.Rule)
	p.check("rule", err)
	return p.list.Err()
}
