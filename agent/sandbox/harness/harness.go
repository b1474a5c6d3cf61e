// Package harness is what the simulated APIs share: enforcement of request
// budgets over fixed windows with the API's own rate-limit headers, fault
// injection (errors, 429 storms, latency, dropped connections) and a record
// of every request for tests and benchmarks to inspect.
package harness

import (
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Style selects the rate-limit headers an API sends.
type Style int

const (
	// Intercom sends X-RateLimit-Limit/Remaining and X-RateLimit-Reset as a
	// Unix timestamp in seconds.
	Intercom Style = iota
	// Brevo sends x-sib-ratelimit-limit/remaining and
	// x-sib-ratelimit-reset as seconds until the reset.
	Brevo
)

// ErrorBody renders an API's error envelope.
type ErrorBody func(status int, code, message string) []byte

// Limit is a request budget over fixed windows aligned to the epoch (so a
// 10-second window starts at every multiple of 10 s, as Intercom's do).
type Limit struct {
	// Name is the endpoint class, e.g. "app", "search", "contacts".
	Name   string
	Budget int
	Window time.Duration
	// Match selects the requests that count; nil counts all.
	Match func(*http.Request) bool
	// Headers: send this limit's rate headers (one limit per API should).
	Headers bool
	// RetryAfter: when this limit refuses a request, say when its window
	// ends in a Retry-After header (seconds, rounded up). Useful for a
	// limit without rate headers, whose refusal the client cannot
	// otherwise date.
	RetryAfter bool

	mu          sync.Mutex
	windowStart time.Time
	used        int
}

// take spends one request of the window containing now, reporting whether
// it was within the budget and the state after it.
func (l *Limit) take(now time.Time) (ok bool, remaining int, reset time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	start := windowStart(now, l.Window)
	if !start.Equal(l.windowStart) {
		l.windowStart, l.used = start, 0
	}
	reset = start.Add(l.Window)
	if l.used >= l.Budget {
		return false, 0, reset
	}
	l.used++
	return true, l.Budget - l.used, reset
}

// windowStart aligns a window to the Unix epoch. (time.Time.Truncate
// aligns to the zero time, which agrees with the epoch only for windows
// that divide 62135596800 s.)
func windowStart(now time.Time, window time.Duration) time.Time {
	if window <= 0 {
		return now
	}
	ns := now.UnixNano()
	return time.Unix(0, ns-((ns%int64(window))+int64(window))%int64(window))
}

// Fault kinds.
const (
	FaultStatus  = "status"  // answer with Status and the API's error body
	FaultDrop    = "drop"    // close the connection without an answer
	FaultLatency = "latency" // delay, then serve normally
	FaultStorm   = "429"     // answer 429; with NoReset, without reset headers
)

// Fault is an injected failure.
type Fault struct {
	Kind string `json:"kind"`
	// Method and PathPrefix select requests (empty matches all).
	Method     string `json:"method,omitempty"`
	PathPrefix string `json:"path_prefix,omitempty"`
	// Probability of firing for a matching request (0 means 1).
	Probability float64 `json:"probability,omitempty"`
	// Count is how many times it fires; 0 means unlimited.
	Count   int           `json:"count,omitempty"`
	Status  int           `json:"status,omitempty"`
	Code    string        `json:"code,omitempty"`
	Message string        `json:"message,omitempty"`
	Latency time.Duration `json:"latency,omitempty"`
	// RetryAfter is sent with 429 storms when positive.
	RetryAfter time.Duration `json:"retry_after,omitempty"`
	NoReset    bool          `json:"no_reset,omitempty"`

	fired int
}

func (f *Fault) matches(r *http.Request) bool {
	if f.Method != "" && f.Method != r.Method {
		return false
	}
	if f.PathPrefix != "" && (len(r.URL.Path) < len(f.PathPrefix) || r.URL.Path[:len(f.PathPrefix)] != f.PathPrefix) {
		return false
	}
	if f.Count > 0 && f.fired >= f.Count {
		return false
	}
	return f.Probability <= 0 || rand.Float64() < f.Probability
}

// Request is one recorded request.
type Request struct {
	Method string    `json:"method"`
	Path   string    `json:"path"`
	Query  string    `json:"query,omitempty"`
	Status int       `json:"status"`
	At     time.Time `json:"at"`
	Fault  string    `json:"fault,omitempty"`
}

// Stats summarises the recorded requests.
type Stats struct {
	Requests  int `json:"requests"`
	Throttled int `json:"throttled"` // 429s, budget or injected
	// Refused counts 429s by the name of the budget that refused them
	// ("app", "search", …); injected 429 storms are not in it.
	Refused  map[string]int `json:"refused,omitempty"`
	Faults   int            `json:"faults"`
	ByStatus map[int]int    `json:"by_status"`
	ByRoute  map[string]int `json:"by_route"` // "GET /contacts"
	First    time.Time      `json:"first,omitzero"`
	Last     time.Time      `json:"last,omitzero"`
}

// Harness wraps an API handler.
type Harness struct {
	Style     Style
	ErrorBody ErrorBody
	// Route names a request for the by-route counts (e.g. collapsing ids);
	// defaults to method and path.
	Route func(*http.Request) string
	// KeepLog keeps every request (not only counts) for Log.
	KeepLog bool
	// Exempt selects requests no budget applies to and that get no rate
	// headers (e.g. unauthenticated ones, which Intercom does not count
	// against an app); they are still recorded and faults still apply.
	Exempt func(*http.Request) bool

	mu     sync.Mutex
	limits []*Limit
	lifted bool
	faults []*Fault
	log    []Request
	stats  Stats
	now    func() time.Time
}

// SetClock replaces time.Now for windows, headers and the log (nil
// restores time.Now).
func (h *Harness) SetClock(now func() time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.now = now
}

// Limits returns the enforced budgets.
func (h *Harness) Limits() []*Limit {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]*Limit(nil), h.limits...)
}

// Faults returns copies of the injected faults, with how often each fired.
func (h *Harness) Faults() []FaultState {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]FaultState, len(h.faults))
	for i, f := range h.faults {
		out[i] = FaultState{Fault: *f, Fired: f.fired}
	}
	return out
}

// FaultState is an injected fault and how many times it fired.
type FaultState struct {
	Fault
	Fired int `json:"fired"`
}

// SetLimits replaces the enforced budgets.
func (h *Harness) SetLimits(ls ...*Limit) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.limits = ls
}

// Lift turns budget enforcement off (or back on), e.g. for scale runs.
func (h *Harness) Lift(lifted bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lifted = lifted
}

// Inject adds faults.
func (h *Harness) Inject(fs ...Fault) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := range fs {
		f := fs[i]
		h.faults = append(h.faults, &f)
	}
}

// ClearFaults removes all faults.
func (h *Harness) ClearFaults() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.faults = nil
}

// Stats returns a copy of the counters.
func (h *Harness) Stats() Stats {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.stats
	s.ByStatus = make(map[int]int, len(h.stats.ByStatus))
	for k, v := range h.stats.ByStatus {
		s.ByStatus[k] = v
	}
	s.ByRoute = make(map[string]int, len(h.stats.ByRoute))
	for k, v := range h.stats.ByRoute {
		s.ByRoute[k] = v
	}
	if h.stats.Refused != nil {
		s.Refused = make(map[string]int, len(h.stats.Refused))
		for k, v := range h.stats.Refused {
			s.Refused[k] = v
		}
	}
	return s
}

// Log returns the recorded requests (KeepLog must be set).
func (h *Harness) Log() []Request {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Request(nil), h.log...)
}

// ResetStats clears counters and log.
func (h *Harness) ResetStats() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stats = Stats{}
	h.log = nil
}

func (h *Harness) clock() time.Time {
	h.mu.Lock()
	now := h.now
	h.mu.Unlock()
	if now != nil {
		return now()
	}
	return time.Now()
}

type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Wrap returns next behind faults, budgets and the recorder.
func (h *Harness) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &recorder{ResponseWriter: w}
		var fault, refused string
		// Deferred so that a dropped connection (which may panic with
		// http.ErrAbortHandler) is recorded too.
		defer func() { h.record(r, rec.status, fault, refused) }()
		fault, refused = h.serve(rec, r, next)
	})
}

// serve returns the fault that fired and the name of the limit that
// refused the request, if any.
func (h *Harness) serve(w *recorder, r *http.Request, next http.Handler) (string, string) {
	h.mu.Lock()
	var fired *Fault
	for _, f := range h.faults {
		if f.matches(r) {
			f.fired++
			fired = f
			break
		}
	}
	limits := h.limits
	if h.lifted {
		limits = nil
	}
	exempt := h.Exempt
	h.mu.Unlock()
	if exempt != nil && exempt(r) {
		limits = nil
	}

	if fired != nil {
		switch fired.Kind {
		case FaultLatency:
			t := time.NewTimer(fired.Latency)
			select {
			case <-r.Context().Done():
				t.Stop()
				return FaultLatency, ""
			case <-t.C:
			}
		case FaultDrop:
			if hj, ok := w.ResponseWriter.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					conn.Close()
					w.status = -1
					return FaultDrop, ""
				}
			}
			w.status = -1
			panic(http.ErrAbortHandler)
		case FaultStatus:
			h.writeError(w, fired.Status, fired.Code, fired.Message)
			return FaultStatus, ""
		case FaultStorm:
			if fired.RetryAfter > 0 {
				w.Header().Set("Retry-After", ceilSeconds(fired.RetryAfter))
			}
			if !fired.NoReset {
				h.rateHeaders(w.Header(), 0, 0, h.clock().Add(max(fired.RetryAfter, time.Second)))
			}
			h.writeError(w, http.StatusTooManyRequests, "rate_limit_exceeded", "injected 429")
			return FaultStorm, ""
		}
	}

	now := h.clock()
	for _, l := range limits {
		if l.Match != nil && !l.Match(r) {
			continue
		}
		ok, remaining, reset := l.take(now)
		if l.Headers {
			h.rateHeaders(w.Header(), l.Budget, remaining, reset)
		}
		if !ok {
			if l.RetryAfter {
				w.Header().Set("Retry-After", ceilSeconds(reset.Sub(now)))
			}
			h.writeError(w, http.StatusTooManyRequests, "rate_limit_exceeded",
				"Exceeded rate limit of "+strconv.Itoa(l.Budget)+" in "+l.Window.String()+" ("+l.Name+")")
			return "", l.Name
		}
	}
	next.ServeHTTP(w, r)
	if fired != nil {
		return fired.Kind, ""
	}
	return "", ""
}

// ceilSeconds renders d as whole seconds, rounded up (a client that waits
// the rounded-down value would come back too early).
func ceilSeconds(d time.Duration) string {
	return strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10)
}

func (h *Harness) rateHeaders(hd http.Header, limit, remaining int, reset time.Time) {
	switch h.Style {
	case Intercom:
		if limit > 0 {
			hd.Set("X-RateLimit-Limit", strconv.Itoa(limit))
		}
		hd.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
		// Round up: the window is over only when the whole second is.
		hd.Set("X-RateLimit-Reset", strconv.FormatInt((reset.UnixNano()+int64(time.Second)-1)/int64(time.Second), 10))
	case Brevo:
		if limit > 0 {
			hd.Set("x-sib-ratelimit-limit", strconv.Itoa(limit))
		}
		hd.Set("x-sib-ratelimit-remaining", strconv.Itoa(remaining))
		secs := (reset.Sub(h.clock()) + time.Second - 1) / time.Second
		hd.Set("x-sib-ratelimit-reset", strconv.FormatInt(int64(max(secs, 0)), 10))
	}
}

func (h *Harness) writeError(w http.ResponseWriter, status int, code, msg string) {
	if status == 0 {
		status = http.StatusInternalServerError
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if h.ErrorBody != nil {
		w.Write(h.ErrorBody(status, code, msg))
		return
	}
	b, _ := json.Marshal(map[string]string{"code": code, "message": msg})
	w.Write(b)
}

func (h *Harness) record(r *http.Request, status int, fault, refused string) {
	route := r.Method + " " + r.URL.Path
	if h.Route != nil {
		route = h.Route(r)
	}
	now := h.clock()
	h.mu.Lock()
	defer h.mu.Unlock()
	s := &h.stats
	if s.ByStatus == nil {
		s.ByStatus, s.ByRoute = map[int]int{}, map[string]int{}
	}
	s.Requests++
	s.ByStatus[status]++
	s.ByRoute[route]++
	if status == http.StatusTooManyRequests {
		s.Throttled++
	}
	if refused != "" {
		if s.Refused == nil {
			s.Refused = map[string]int{}
		}
		s.Refused[refused]++
	}
	if fault != "" && fault != FaultLatency {
		s.Faults++
	}
	if s.First.IsZero() {
		s.First = now
	}
	s.Last = now
	if h.KeepLog {
		h.log = append(h.log, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Status: status, At: now, Fault: fault})
	}
}

// ControlHandler serves the harness over HTTP for tests in another process:
//
//	GET    stats   → Stats
//	GET    log     → []Request (KeepLog must be set)
//	GET    faults  → []FaultState
//	POST   faults  ← []Fault (appended)
//	DELETE faults  → clears faults
//	POST   lift    ← {"lifted": bool}
//	POST   reset   → clears counters
func (h *Harness) ControlHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, h.Stats())
	})
	mux.HandleFunc("GET /log", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, h.Log())
	})
	mux.HandleFunc("GET /faults", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, h.Faults())
	})
	mux.HandleFunc("POST /faults", func(w http.ResponseWriter, r *http.Request) {
		var fs []Fault
		if err := json.NewDecoder(r.Body).Decode(&fs); err != nil {
			http.Error(w, "body must be a JSON array of faults: "+err.Error(), http.StatusBadRequest)
			return
		}
		h.Inject(fs...)
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("DELETE /faults", func(w http.ResponseWriter, r *http.Request) {
		h.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /lift", func(w http.ResponseWriter, r *http.Request) {
		var b struct {
			Lifted bool `json:"lifted"`
		}
		if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		h.Lift(b.Lifted)
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /reset", func(w http.ResponseWriter, r *http.Request) {
		h.ResetStats()
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}
