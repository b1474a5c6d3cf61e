package brevo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/tajo/terraform-provider-tajo/agent/backoff"
)

// ProcessesService handles /processes: the background processes behind
// imports and exports. They share the 100/hour "other" budget, so prefer
// an import's notifyUrl to polling.
//
// Brevo API docs: https://developers.brevo.com/reference/get-process
type ProcessesService service

// ProcessStatus is an open enum: the spec lists queued, in_process and
// completed; the 2026 SDK adds processing, failed and cancelled.
type ProcessStatus string

// Known process statuses.
const (
	ProcessQueued     ProcessStatus = "queued"
	ProcessInProcess  ProcessStatus = "in_process"
	ProcessProcessing ProcessStatus = "processing"
	ProcessCompleted  ProcessStatus = "completed"
	ProcessFailed     ProcessStatus = "failed"
	ProcessCancelled  ProcessStatus = "cancelled"
)

// Done reports whether the status is final. Unknown statuses are taken as
// still running: Wait then keeps polling until its context ends.
func (s ProcessStatus) Done() bool {
	switch s {
	case ProcessCompleted, ProcessFailed, ProcessCancelled, "canceled", "error":
		return true
	}
	return false
}

// Succeeded reports whether the process completed.
func (s ProcessStatus) Succeeded() bool { return s == ProcessCompleted }

// Process is a background process (getProcess).
type Process struct {
	ID        int64         `json:"id"`
	Name      string        `json:"name"`
	Status    ProcessStatus `json:"status"`
	ExportURL string        `json:"export_url,omitempty"`
	// Info and Error are only in the 2026 SDK's description (info.import
	// counts of invalid and duplicate rows); kept raw.
	Info  json.RawMessage `json:"info,omitempty"`
	Error json.RawMessage `json:"error,omitempty"`
}

// ErrProcessFailed is returned by Wait when a process ends in any state
// but completed.
var ErrProcessFailed = errors.New("brevo: process did not complete")

// Get returns a process (GET /processes/{processId}).
func (s *ProcessesService) Get(ctx context.Context, id int64) (*Process, *Response, error) {
	r := s.client.newRequest(http.MethodGet, "/processes/{processId}", "/processes/"+strconv.FormatInt(id, 10))
	r.safe = true
	p := &Process{}
	r.out = p
	resp, err := s.client.do(ctx, r)
	if err != nil {
		return nil, resp, err
	}
	return p, resp, nil
}

// WaitOptions paces Wait.
type WaitOptions struct {
	// Interval is the first pause between polls (default 20 s).
	Interval time.Duration
	// MaxInterval caps the pause, which doubles after every poll
	// (default 5 min). An hour-long import then costs about 15 polls.
	MaxInterval time.Duration
}

// Wait polls a process until it is done or ctx ends. It never polls in a
// tight loop: the pause starts at opts.Interval and doubles, and every
// poll also passes the "other" class limiter (100/hour on General).
func (s *ProcessesService) Wait(ctx context.Context, id int64, opts *WaitOptions) (*Process, *Response, error) {
	o := WaitOptions{Interval: 20 * time.Second, MaxInterval: 5 * time.Minute}
	if opts != nil {
		if opts.Interval > 0 {
			o.Interval = opts.Interval
		}
		if opts.MaxInterval > 0 {
			o.MaxInterval = opts.MaxInterval
		}
	}
	o.MaxInterval = max(o.MaxInterval, o.Interval)
	pause := o.Interval
	for {
		p, resp, err := s.Get(ctx, id)
		if err != nil {
			return p, resp, err
		}
		if p.Status.Done() {
			if !p.Status.Succeeded() {
				return p, resp, fmt.Errorf("%w: process %d is %s", ErrProcessFailed, id, p.Status)
			}
			return p, resp, nil
		}
		s.client.logger.Debug("process not done", "process", id, "status", string(p.Status), "next_poll", pause)
		if err := backoff.Sleep(ctx, pause); err != nil {
			return p, resp, fmt.Errorf("brevo: wait for process %d: %w", id, err)
		}
		pause = min(pause*2, o.MaxInterval)
	}
}
