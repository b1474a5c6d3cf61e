package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/tajo/terraform-provider-tajo/agent/store"
)

// statusJSON is one connector's status with the brief's field names
// (connected, lastSync, contactsSynced, conversationsSynced,
// companiesSynced) plus the agent's own.
type statusJSON struct {
	Connector           string     `json:"connector"`
	Enabled             bool       `json:"enabled"`
	State               string     `json:"state"`
	Connected           bool       `json:"connected"`
	LastSync            *time.Time `json:"lastSync"`
	ContactsSynced      int64      `json:"contactsSynced"`
	ConversationsSynced int64      `json:"conversationsSynced"`
	CompaniesSynced     int64      `json:"companiesSynced"`
	EventsSynced        int64      `json:"eventsSynced"`
	// EventsUnknown are Brevo events whose request's answer was lost:
	// not sent again (no duplicates), so they may be missing in Brevo.
	EventsUnknown int64           `json:"eventsUnknown"`
	PendingWrites int64           `json:"pendingWrites"`
	FailedRecords int64           `json:"failedRecords"`
	LagSeconds    *float64        `json:"lagSeconds"`
	LastError     string          `json:"lastError,omitempty"`
	Errors        []string        `json:"errors,omitempty"`
	Progress      *store.Progress `json:"progress,omitempty"`
	Agent         string          `json:"agent,omitempty"`
	// Leader is the agent holding the connector's lease (running its
	// passes and Brevo writes); empty when none runs it.
	Leader    string     `json:"leader,omitempty"`
	UpdatedAt *time.Time `json:"updatedAt"`
}

func cmdStatus(ctx context.Context, e *env, args []string) int {
	fs := e.flags("status")
	storeURL := e.storeFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON: an object for one named connector, else an array")
	if ok, code := parse(fs, args); !ok {
		return code
	}
	st, err := e.openStore(ctx, *storeURL)
	if err != nil {
		return e.errorf("%v", err)
	}
	defer st.Close()
	bundles := loadBundles(ctx, e, st, fs.Args())
	if len(bundles) == 0 {
		return e.errorf("no connector in %s: declare a tajo_connector and run terraform apply", store.Redact(*storeURL))
	}
	var out []statusJSON
	for _, b := range bundles {
		id := b.Connector.ID()
		s, err := st.GetStatus(ctx, id)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return e.errorf("%v", err)
		}
		pending, err := st.CountPending(ctx, id, "")
		if err != nil {
			return e.errorf("%v", err)
		}
		failed, err := st.CountFailures(ctx, id)
		if err != nil {
			return e.errorf("%v", err)
		}
		unknown, err := st.CountEvents(ctx, id, store.EventUnknown)
		if err != nil {
			return e.errorf("%v", err)
		}
		j := statusJSON{
			Connector: id, Enabled: b.Connector.Enabled, State: s.State, Connected: s.Connected,
			ContactsSynced: s.ContactsSynced, ConversationsSynced: s.ConversationsSynced, CompaniesSynced: s.CompaniesSynced,
			EventsSynced: s.EventsSynced, PendingWrites: pending, FailedRecords: failed, LastError: s.LastError, Errors: s.Errors,
			Progress: s.Progress, Agent: s.Agent, EventsUnknown: unknown,
		}
		if j.State == "" {
			j.State = "never_run"
		}
		if holder, held, err := st.LeaseHolder(ctx, id); err != nil {
			return e.errorf("%v", err)
		} else if held {
			j.Leader = holder
		}
		if !s.LastSync.IsZero() {
			t := s.LastSync.UTC()
			j.LastSync = &t
			lag := time.Since(t).Seconds()
			j.LagSeconds = &lag
		}
		if !s.UpdatedAt.IsZero() {
			t := s.UpdatedAt.UTC()
			j.UpdatedAt = &t
		}
		out = append(out, j)
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		var v any = out
		if fs.NArg() == 1 && len(out) == 1 {
			v = out[0]
		}
		if err := enc.Encode(v); err != nil {
			return e.errorf("%v", err)
		}
		return exitOK
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "CONNECTOR\tSTATE\tCONNECTED\tLAST SYNC\tLAG\tCONTACTS\tCOMPANIES\tCONVERSATIONS\tEVENTS\tPENDING\tFAILED")
	for _, j := range out {
		last, lag := "never", "-"
		if j.LastSync != nil {
			last = j.LastSync.Format(time.RFC3339)
			lag = time.Duration(*j.LagSeconds * float64(time.Second)).Round(time.Second).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\n", j.Connector, j.State, yesNo(j.Connected), last, lag,
			j.ContactsSynced, j.CompaniesSynced, j.ConversationsSynced, j.EventsSynced, j.PendingWrites, j.FailedRecords)
	}
	tw.Flush()
	for _, j := range out {
		if j.Leader != "" {
			fmt.Fprintf(e.stdout, "\n%s: run by %s", j.Connector, j.Leader)
		}
		if j.Progress != nil {
			fmt.Fprintf(e.stdout, "\n%s: %s", j.Connector, progressText(j.Progress))
		}
		if j.LastError != "" {
			fmt.Fprintf(e.stdout, "\n%s: last error: %s", j.Connector, j.LastError)
		}
		if j.EventsUnknown > 0 {
			fmt.Fprintf(e.stdout, "\n%s: %d Brevo events of unknown outcome (the answer was lost; not sent again, to avoid duplicates)", j.Connector, j.EventsUnknown)
		}
		for i, er := range j.Errors {
			if i == 0 {
				fmt.Fprintf(e.stdout, "\n%s: failed records (newest first):", j.Connector)
			}
			fmt.Fprintf(e.stdout, "\n  %s", er)
		}
	}
	fmt.Fprintln(e.stdout)
	return exitOK
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

var _ = strconv.Itoa
