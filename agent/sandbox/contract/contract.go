// Package contract checks HTTP exchanges against the public OpenAPI
// descriptions of Intercom 2.11 and Brevo v3 kept in ../shared/specs (next
// to the project root), so that neither our clients nor our simulated
// servers can drift from the real APIs. Tests skip the check, saying so,
// when the specs are absent.
package contract

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// APIs and their spec files below the specs directory.
const (
	Intercom = "intercom"
	Brevo    = "brevo"
)

var specFiles = map[string]string{
	Intercom: "intercom/intercom-openapi-2.11.yaml",
	Brevo:    "brevo/swagger_definition_v3.yml",
}

// ErrNoSpecs means the specs directory was not found.
var ErrNoSpecs = errors.New("OpenAPI specs not found (set TAJO_SPECS_DIR or keep ../shared/specs beside the project)")

// Dir finds the specs directory: $TAJO_SPECS_DIR, else shared/specs beside
// the module root found by walking up from the working directory.
func Dir() (string, error) {
	if d := os.Getenv("TAJO_SPECS_DIR"); d != "" {
		return d, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			specs := filepath.Join(filepath.Dir(d), "shared", "specs")
			if _, err := os.Stat(specs); err == nil {
				return specs, nil
			}
			return "", ErrNoSpecs
		}
		if filepath.Dir(d) == d {
			return "", ErrNoSpecs
		}
	}
}

// Spec is one loaded API description.
type Spec struct {
	API    string
	doc    *openapi3.T
	router routers.Router
	server *url.URL
}

// Undocumented lists, per API, operations that are real but absent from the
// spec file ("POST /events/batch"), each with the source that documents it.
// Their exchanges pass unchecked; keep this list short and sourced.
var Undocumented = map[string]map[string]string{
	Brevo: {
		"POST /events/batch":   "getbrevo/brevo-python v4 @ 28bb4b2 (src/brevo/event/raw_client.py); ../shared/notes/brevo-api.md",
		"POST /crm/attributes": "R = OpenAPI 3.0.1 swagger_definition_v3.yml from github.com/Juris-Power/brevo-rust @ 640a1d2 (paths./crm/attributes.post); ../shared/notes/brevo-api.md (Companies)",
	},
}

var (
	cacheMu sync.Mutex
	cache   = map[string]*Spec{}
)

// Load parses the spec of api (cached per process).
func Load(api string) (*Spec, error) {
	cacheMu.Lock()
	defer cacheMu.Unlock()
	if s, ok := cache[api]; ok {
		return s, nil
	}
	dir, err := Dir()
	if err != nil {
		return nil, err
	}
	rel, ok := specFiles[api]
	if !ok {
		return nil, fmt.Errorf("unknown API %q", api)
	}
	raw, err := os.ReadFile(filepath.Join(dir, rel))
	if err != nil {
		return nil, err
	}
	if api == Intercom {
		// The 2.11 file references #/components/schemas/custom_attributes
		// without defining it (defined from 2.12 on): patch it in as a
		// free-form object.
		raw = bytes.Replace(raw, []byte("\n  schemas:\n"), []byte("\n  schemas:\n    custom_attributes:\n      type: object\n      additionalProperties: true\n"), 1)
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(raw)
	if err != nil {
		return nil, fmt.Errorf("load %s spec: %w", api, err)
	}
	disambiguateOneOf(doc)
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("route %s spec: %w", api, err)
	}
	server, err := url.Parse(doc.Servers[0].URL)
	if err != nil {
		return nil, err
	}
	s := &Spec{API: api, doc: doc, router: router, server: server}
	cache[api] = s
	return s, nil
}

// Exchange is one request and its response.
type Exchange struct {
	Method string
	// Path is relative to the API base (e.g. "/contacts/search" for
	// Intercom, "/contacts/import" for Brevo, without "/v3").
	Path       string
	Query      url.Values
	ReqHeader  http.Header
	ReqBody    []byte
	Status     int
	RespHeader http.Header
	RespBody   []byte
}

// Check validates an exchange: request parameters and body, and the
// response status, content type and body against the operation.
func (s *Spec) Check(ctx context.Context, x Exchange) error {
	op := x.Method + " " + x.Path
	u := *s.server
	u.Path = strings.TrimRight(s.server.Path, "/") + x.Path
	u.RawQuery = x.Query.Encode()
	req, err := http.NewRequestWithContext(ctx, x.Method, u.String(), bytes.NewReader(x.ReqBody))
	if err != nil {
		return err
	}
	req.Header = x.ReqHeader.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	route, params, err := s.router.FindRoute(req)
	if err != nil {
		for pattern, source := range Undocumented[s.API] {
			if matchPattern(pattern, x.Method, x.Path) && source != "" {
				return nil
			}
		}
		return fmt.Errorf("%s %s is not an operation of the %s spec: %w", x.Method, x.Path, s.API, err)
	}
	opts := &openapi3filter.Options{
		MultiError:         true,
		AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
		// Not every 2xx/4xx is declared for every operation; an undeclared
		// status is reported by the checks below, not by kin.
		IncludeResponseStatus: true,
		// Violations name the failing field, not the whole schema.
		SchemaValidationOptions: []openapi3.SchemaValidationOption{openapi3.DisableSchemaErrorDetails()},
	}
	opts.WithCustomSchemaErrorFunc(func(e *openapi3.SchemaError) string {
		return fmt.Sprintf("at %s: %s", strings.Join(e.JSONPointer(), "/"), e.Reason)
	})
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
	var errs []error
	if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
		errs = append(errs, fmt.Errorf("request: %w", err))
	}
	if x.Status != 0 {
		rh := x.RespHeader.Clone()
		if rh == nil {
			rh = http.Header{}
		}
		out := &openapi3filter.ResponseValidationInput{
			RequestValidationInput: in,
			Status:                 x.Status,
			Header:                 rh,
			Body:                   io.NopCloser(bytes.NewReader(x.RespBody)),
			Options:                opts,
		}
		if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
			errs = append(errs, fmt.Errorf("response %d: %w", x.Status, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s (%s): %w", op, s.API, errors.Join(errs...))
	}
	return nil
}

// matchPattern matches "POST /events/batch" or "GET /things/{id}".
func matchPattern(pattern, method, path string) bool {
	pm, pp, ok := strings.Cut(pattern, " ")
	if !ok || pm != method {
		return false
	}
	a, b := strings.Split(strings.Trim(pp, "/"), "/"), strings.Split(strings.Trim(path, "/"), "/")
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if strings.HasPrefix(a[i], "{") || a[i] == b[i] {
			continue
		}
		return false
	}
	return true
}

// Recorder is an http.RoundTripper that checks every exchange passing
// through it (e.g. from a client under test to the sandbox) and collects
// the violations.
type Recorder struct {
	Spec *Spec
	// Base is the URL path prefix of the API on the server under test
	// (e.g. "/intercom" or "/brevo/v3"), stripped before routing.
	Base string
	Next http.RoundTripper

	mu         sync.Mutex
	violations []string
	checked    map[string]int
}

// RoundTrip implements http.RoundTripper.
func (r *Recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		reqBody = b
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	next := r.Next
	if next == nil {
		next = http.DefaultTransport
	}
	resp, err := next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	respBody, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(respBody))
	path := strings.TrimPrefix(req.URL.Path, r.Base)
	x := Exchange{Method: req.Method, Path: path, Query: req.URL.Query(), ReqHeader: req.Header, ReqBody: reqBody,
		Status: resp.StatusCode, RespHeader: resp.Header, RespBody: respBody}
	// Rate-limit refusals and injected faults are harness behaviour,
	// checked elsewhere.
	if resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode < 500 {
		cerr := r.Spec.Check(req.Context(), x)
		r.mu.Lock()
		if r.checked == nil {
			r.checked = map[string]int{}
		}
		r.checked[req.Method+" "+path]++
		if cerr != nil {
			r.violations = append(r.violations, cerr.Error())
		}
		r.mu.Unlock()
	}
	return resp, nil
}

// Violations returns the contract violations seen so far.
func (r *Recorder) Violations() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.violations)
}

// Checked returns how many exchanges were checked.
func (r *Recorder) Checked() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.checked {
		n += c
	}
	return n
}

// disambiguateOneOf fixes a pattern of the Brevo spec: oneOf alternatives
// that are objects with a single, unrequired property ({"emails": …} |
// {"ids": …} | {"extIds": …}) all match any object, so a correct body fails
// "matches more than one schema". The intent is "exactly this property":
// make it required in each alternative.
func disambiguateOneOf(doc *openapi3.T) {
	var visit func(*openapi3.SchemaRef)
	seen := map[*openapi3.Schema]bool{}
	visit = func(ref *openapi3.SchemaRef) {
		if ref == nil || ref.Value == nil || seen[ref.Value] {
			return
		}
		s := ref.Value
		seen[s] = true
		for _, alt := range s.OneOf {
			if a := alt.Value; a != nil && len(a.Properties) == 1 && len(a.Required) == 0 {
				for name := range a.Properties {
					a.Required = []string{name}
				}
			}
			visit(alt)
		}
		for _, p := range s.Properties {
			visit(p)
		}
		visit(s.Items)
	}
	for _, ref := range doc.Components.Schemas {
		visit(ref)
	}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			if op.RequestBody != nil && op.RequestBody.Value != nil {
				for _, mt := range op.RequestBody.Value.Content {
					visit(mt.Schema)
				}
			}
		}
	}
}
