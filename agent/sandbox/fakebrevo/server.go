// Package fakebrevo is a simulated Brevo API v3: an http.Handler that
// implements the endpoints agent/brevo uses with the spec's JSON shapes,
// status codes and error bodies, and Brevo's documented quirks:
//
//   - attribute values whose type does not match the attribute's declared
//     type are dropped silently, and so are attributes that do not exist;
//   - contact imports are asynchronous processes (queued → in_process →
//     completed) that call the notifyUrl when done;
//   - list add/remove answer with success and failure lists (already a
//     member, no such contact);
//   - companies replace their linked contacts on PATCH, are listed with
//     equality filters on their attributes, and get new attributes through
//     POST /crm/attributes with an internal name derived from the label;
//   - request budgets per endpoint class (contacts 10/s and 36,000/h,
//     events 10/s, everything else 100/h) enforced by agent/sandbox/harness
//     with x-sib-ratelimit-* headers, liftable for scale runs.
//
// Tests read the state through the Server's methods (contacts by ext_id or
// email, list members, companies, events, webhooks, processes) and a write
// log of every applied mutation, which proves that nothing was written
// twice. They make things happen in Brevo with Unsubscribe and Deliver
// (marketing webhooks sent to the registered URL with its bearer token).
//
// Mount it at its base path (default "/v3"; the sandbox uses "/brevo/v3"):
//
//	fb := fakebrevo.New(fakebrevo.WithBasePath("/brevo/v3"))
//	defer fb.Close()
//	srv := httptest.NewServer(fb)
//	c, _ := brevo.NewClient(fb.APIKey(), brevo.WithBaseURL(srv.URL+"/brevo/v3"))
package fakebrevo

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/tajo/terraform-provider-tajo/agent/sandbox/harness"
)

// DefaultAPIKey is the key the fake accepts unless WithAPIKey says
// otherwise.
const DefaultAPIKey = "fake-brevo-key"

// DefaultBasePath is where the API is served unless WithBasePath says
// otherwise (the real API's is /v3).
const DefaultBasePath = "/v3"

// MaxImportBody is the largest import request body accepted ("10MB").
const MaxImportBody = 10 << 20

// Endpoint classes, as agent/brevo names them.
const (
	ClassContacts = "contacts"
	ClassEvents   = "events"
	ClassOther    = "other"
)

// Budget is the request budget of one endpoint class; zero fields do not
// limit.
type Budget struct {
	PerSecond int
	PerHour   int
}

// Budgets are the budgets of the three endpoint classes.
type Budgets struct {
	Contacts Budget
	Events   Budget
	Other    Budget
}

// GeneralBudgets are the General tier's documented budgets.
func GeneralBudgets() Budgets {
	return Budgets{
		Contacts: Budget{PerSecond: 10, PerHour: 36000},
		Events:   Budget{PerSecond: 10, PerHour: 36000},
		Other:    Budget{PerHour: 100},
	}
}

type config struct {
	apiKey         string
	basePath       string
	budgets        Budgets
	lifted         bool
	processDelay   time.Duration
	now            func() time.Time
	keepLog        bool
	maxEventBatch  int
	attributes     []Attribute
	companyAttrs   []CompanyAttribute
	folders        []Folder
	lists          []List
	notifyClient   *http.Client
	deliveryClient *http.Client
	account        map[string]any
}

// Option configures a Server.
type Option func(*config)

// WithAPIKey sets the accepted api-key.
func WithAPIKey(key string) Option { return func(c *config) { c.apiKey = key } }

// WithBasePath sets the path prefix of the API, e.g. "/brevo/v3".
func WithBasePath(p string) Option {
	return func(c *config) { c.basePath = "/" + strings.Trim(p, "/") }
}

// WithBudgets sets the enforced budgets (default GeneralBudgets).
func WithBudgets(b Budgets) Option { return func(c *config) { c.budgets = b } }

// WithLiftedBudgets starts with budget enforcement off (scale runs).
func WithLiftedBudgets() Option { return func(c *config) { c.lifted = true } }

// WithProcessDelay sets how long an import or companies-import process
// stays queued and then in_process (each half of d); default 200 ms.
func WithProcessDelay(d time.Duration) Option { return func(c *config) { c.processDelay = d } }

// WithClock replaces time.Now for timestamps.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithRequestLog keeps every request in the harness log (Harness().Log()).
func WithRequestLog() Option { return func(c *config) { c.keepLog = true } }

// WithMaxEventBatch refuses POST /events/batch bodies with more than n
// events (Brevo documents no maximum; default none).
func WithMaxEventBatch(n int) Option { return func(c *config) { c.maxEventBatch = n } }

// WithAttributes replaces the seeded contact attributes (default
// FIRSTNAME, LASTNAME, SMS and EXT_ID, all normal text).
func WithAttributes(as ...Attribute) Option { return func(c *config) { c.attributes = as } }

// WithCompanyAttributes replaces the seeded company attributes.
func WithCompanyAttributes(as ...CompanyAttribute) Option {
	return func(c *config) { c.companyAttrs = as }
}

// WithFolders seeds folders (default: folder 1 "Your first folder").
func WithFolders(fs ...Folder) Option { return func(c *config) { c.folders = fs } }

// WithLists seeds lists with fixed ids (e.g. the demo's 35, 36, 37).
func WithLists(ls ...List) Option { return func(c *config) { c.lists = ls } }

// WithNotifyClient sets the HTTP client that calls notifyUrl.
func WithNotifyClient(hc *http.Client) Option { return func(c *config) { c.notifyClient = hc } }

// WithDeliveryClient sets the HTTP client that delivers webhooks.
func WithDeliveryClient(hc *http.Client) Option { return func(c *config) { c.deliveryClient = hc } }

// Server is the simulated Brevo API.
type Server struct {
	cfg     config
	h       *harness.Harness
	mux     *http.ServeMux
	handler http.Handler

	mu    sync.Mutex
	state *state
	// failName and failCount: processes to end "failed" (FailProcesses).
	failName  string
	failCount int

	work   chan struct{}
	done   chan struct{}
	closed sync.Once
	wg     sync.WaitGroup
}

// New returns a Server; Close stops its process worker.
func New(opts ...Option) *Server {
	cfg := config{
		apiKey:       DefaultAPIKey,
		basePath:     DefaultBasePath,
		budgets:      GeneralBudgets(),
		processDelay: 200 * time.Millisecond,
		now:          time.Now,
		attributes: []Attribute{
			{Name: "FIRSTNAME", Category: "normal", Type: "text"},
			{Name: "LASTNAME", Category: "normal", Type: "text"},
			{Name: "SMS", Category: "normal", Type: "text"},
			{Name: "EXT_ID", Category: "normal", Type: "text"},
		},
		companyAttrs: []CompanyAttribute{
			{InternalName: "name", Label: "Company name", Type: "text", Required: true},
			{InternalName: "domain", Label: "Domain", Type: "text"},
			{InternalName: "industry", Label: "Industry", Type: "text"},
			{InternalName: "owner", Label: "Owner", Type: "user"},
			{InternalName: "revenue", Label: "Revenue", Type: "number"},
			{InternalName: "number_of_employees", Label: "Number of employees", Type: "number"},
			{InternalName: "phone_number", Label: "Phone", Type: "text"},
		},
		folders:        []Folder{{ID: 1, Name: "Your first folder"}},
		notifyClient:   &http.Client{Timeout: 10 * time.Second},
		deliveryClient: &http.Client{Timeout: 10 * time.Second},
	}
	for _, o := range opts {
		o(&cfg)
	}
	s := &Server{cfg: cfg, work: make(chan struct{}, 1), done: make(chan struct{})}
	s.state = newState(&cfg)
	s.h = &harness.Harness{Style: harness.Brevo, KeepLog: cfg.keepLog, Route: s.route}
	s.SetBudgets(cfg.budgets)
	s.h.Lift(cfg.lifted)
	s.mux = http.NewServeMux()
	s.routes()
	s.handler = s.h.Wrap(http.HandlerFunc(s.serve))
	s.wg.Add(1)
	go s.worker()
	return s
}

// ServeHTTP implements http.Handler: harness (faults, budgets, recorder) →
// api-key check → endpoints.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Close stops the process worker; pending processes stay as they are.
func (s *Server) Close() {
	s.closed.Do(func() { close(s.done) })
	s.wg.Wait()
}

// APIKey returns the accepted api-key.
func (s *Server) APIKey() string { return s.cfg.apiKey }

// BasePath returns the path prefix the API is served under.
func (s *Server) BasePath() string { return s.cfg.basePath }

// Harness returns the harness: inject faults, lift budgets, read request
// stats.
func (s *Server) Harness() *harness.Harness { return s.h }

// Lift turns budget enforcement off (true) or back on.
func (s *Server) Lift(lifted bool) { s.h.Lift(lifted) }

// SetBudgets replaces the enforced budgets. Each class sends the
// x-sib-ratelimit-* headers of its shortest window.
func (s *Server) SetBudgets(b Budgets) {
	var ls []*harness.Limit
	for _, c := range []struct {
		name   string
		budget Budget
	}{{ClassContacts, b.Contacts}, {ClassEvents, b.Events}, {ClassOther, b.Other}} {
		match := s.classMatcher(c.name)
		headers := true
		if c.budget.PerSecond > 0 {
			ls = append(ls, &harness.Limit{Name: c.name + "/s", Budget: c.budget.PerSecond, Window: time.Second, Match: match, Headers: headers})
			headers = false
		}
		if c.budget.PerHour > 0 {
			ls = append(ls, &harness.Limit{Name: c.name + "/h", Budget: c.budget.PerHour, Window: time.Hour, Match: match, Headers: headers})
		}
	}
	s.h.SetLimits(ls...)
}

// ClassOf returns the endpoint class of a request path (base path
// included).
func (s *Server) ClassOf(path string) string {
	p := strings.TrimPrefix(path, s.cfg.basePath)
	switch {
	case p == "/contacts" || strings.HasPrefix(p, "/contacts/"):
		return ClassContacts
	case p == "/events" || strings.HasPrefix(p, "/events/"):
		return ClassEvents
	default:
		return ClassOther
	}
}

func (s *Server) classMatcher(class string) func(*http.Request) bool {
	return func(r *http.Request) bool { return s.ClassOf(r.URL.Path) == class }
}

// route names a request by its endpoint pattern ("GET /contacts/{identifier}").
func (s *Server) route(r *http.Request) string {
	_, pattern := s.mux.Handler(r)
	if pattern == "" || pattern == "/" {
		return r.Method + " " + r.URL.Path
	}
	m, p, _ := strings.Cut(pattern, " ")
	return m + " " + strings.TrimPrefix(p, s.cfg.basePath)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("api-key") != s.cfg.apiKey {
		writeError(w, http.StatusUnauthorized, "unauthorized", "Key not found")
		return
	}
	s.mux.ServeHTTP(w, r)
}

func (s *Server) handle(pattern string, h func(http.ResponseWriter, *http.Request)) {
	m, p, _ := strings.Cut(pattern, " ")
	s.mux.HandleFunc(m+" "+s.cfg.basePath+p, h)
}

func (s *Server) routes() {
	s.handle("GET /account", s.getAccount)

	s.handle("GET /contacts", s.listContacts)
	s.handle("POST /contacts", s.createContact)
	s.handle("POST /contacts/batch", s.batchContacts)
	s.handle("POST /contacts/import", s.importContacts)
	s.handle("GET /contacts/{identifier}", s.getContact)
	s.handle("PUT /contacts/{identifier}", s.updateContact)
	s.handle("DELETE /contacts/{identifier}", s.deleteContact)

	s.handle("GET /contacts/attributes", s.listAttributes)
	s.handle("POST /contacts/attributes/{category}/{name}", s.createAttribute)

	s.handle("GET /contacts/lists", s.listLists)
	s.handle("POST /contacts/lists", s.createList)
	s.handle("GET /contacts/lists/{listId}", s.getList)
	s.handle("GET /contacts/lists/{listId}/contacts", s.listMembers)
	s.handle("POST /contacts/lists/{listId}/contacts/add", s.listAdd)
	s.handle("POST /contacts/lists/{listId}/contacts/remove", s.listRemove)
	s.handle("GET /contacts/folders", s.listFolders)
	s.handle("POST /contacts/folders", s.createFolder)

	s.handle("POST /events", s.createEvent)
	s.handle("POST /events/batch", s.createEventBatch)

	s.handle("GET /processes/{processId}", s.getProcess)

	s.handle("GET /companies", s.listCompanies)
	s.handle("POST /companies", s.createCompany)
	s.handle("GET /companies/attributes", s.listCompanyAttributes)
	s.handle("GET /companies/{id}", s.getCompany)
	s.handle("PATCH /companies/{id}", s.updateCompany)
	s.handle("DELETE /companies/{id}", s.deleteCompany)
	s.handle("PATCH /companies/link-unlink/{id}", s.linkCompany)
	s.handle("POST /companies/import", s.importCompanies)
	s.handle("POST /crm/attributes", s.createCRMAttribute)

	s.handle("GET /webhooks", s.listWebhooks)
	s.handle("POST /webhooks", s.createWebhook)
	s.handle("GET /webhooks/{webhookId}", s.getWebhook)
	s.handle("DELETE /webhooks/{webhookId}", s.deleteWebhook)

	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "document_not_found", "Invalid route: "+r.Method+" "+r.URL.Path)
	})
}

func (s *Server) getAccount(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"email": "sandbox@example.com", "firstName": "Tajo", "lastName": "Sandbox", "companyName": "Tajo Sandbox",
		"address": map[string]any{"street": "1 Sandbox Street", "city": "Berlin", "zipCode": "10115", "country": "Germany"},
		"plan":    []any{map[string]any{"type": "free", "creditsType": "sendLimit", "credits": 300}},
		"relay": map[string]any{"enabled": true, "data": map[string]any{
			"userName": "sandbox@example.com", "relay": "smtp-relay.example.com", "port": 587}},
	})
}

// errorModel is Brevo's error body; metadata only on contactErrorModel.
type errorModel struct {
	Code     string         `json:"code"`
	Message  string         `json:"message"`
	Metadata map[string]any `json:"metadata,omitempty"`
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, errorModel{Code: code, Message: msg})
}

func writeDuplicate(w http.ResponseWriter, ids []string, msg string) {
	writeJSON(w, http.StatusBadRequest, errorModel{Code: "duplicate_parameter", Message: msg,
		Metadata: map[string]any{"duplicate_identifiers": ids}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// decode reads a JSON body into v; on failure it answers 400 and returns
// false.
func decode(w http.ResponseWriter, r *http.Request, limit int64, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errorsAs(err, &mbe) {
			writeError(w, http.StatusBadRequest, "out_of_range", "Request body exceeds the maximum size")
			return false
		}
		writeError(w, http.StatusBadRequest, "invalid_parameter", "Invalid JSON body: "+err.Error())
		return false
	}
	return true
}
