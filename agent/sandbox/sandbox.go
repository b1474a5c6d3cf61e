// Package sandbox serves the simulated Intercom and Brevo APIs side by side
// on one listener, for the demo, end-to-end tests and benchmarks:
//
//	/intercom/…           Intercom API 2.11 (fakeintercom)
//	/brevo/v3/…           Brevo API v3 (fakebrevo)
//	/_sandbox/intercom/…  control of the Intercom side (stats, faults, lift)
//	/_sandbox/brevo/…     control of the Brevo side
//
// Both sides enforce their documented rate limits with the real headers and
// accept injected faults; nothing here reaches the internet.
package sandbox

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/tajo/terraform-provider-tajo/agent/sandbox/dataset"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox/fakebrevo"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox/fakeintercom"
)

// Path prefixes of the two APIs.
const (
	IntercomPath = "/intercom"
	BrevoPath    = "/brevo/v3"
	ControlPath  = "/_sandbox"
)

// DefaultLists are the Brevo lists the sandbox account starts with: the
// brief's 35 (all users), 36 (active conversations) and 37 (leads), and a
// few spare ones.
var DefaultLists = []int64{35, 36, 37, 38, 39, 40}

// Options shape a sandbox.
type Options struct {
	// Contacts and Seed select the generated Intercom workspace.
	Contacts int
	Seed     uint64
	// Intercom overrides the Intercom side (its Dataset's Contacts and
	// Seed are set from the fields above when zero).
	Intercom fakeintercom.Options
	// Brevo adds options of the Brevo side.
	Brevo []fakebrevo.Option
	// Lists pre-created in Brevo (default DefaultLists).
	Lists []int64
}

// Sandbox is both simulated APIs. It is an http.Handler.
type Sandbox struct {
	Intercom *fakeintercom.Server
	Brevo    *fakebrevo.Server
	mux      *http.ServeMux
}

// New builds a sandbox. Close it to stop the Brevo side's background
// processing.
func New(o Options) *Sandbox {
	io := o.Intercom
	if io.Dataset.Contacts == 0 {
		io.Dataset.Contacts = o.Contacts
	}
	if io.Dataset.Seed == 0 {
		io.Dataset.Seed = o.Seed
	}
	lists := o.Lists
	if lists == nil {
		lists = DefaultLists
	}
	bl := make([]fakebrevo.List, len(lists))
	for i, id := range lists {
		bl[i] = fakebrevo.List{ID: id, Name: fmt.Sprintf("List %d", id), FolderID: 1}
	}
	bopts := append([]fakebrevo.Option{fakebrevo.WithBasePath(BrevoPath), fakebrevo.WithLists(bl...)}, o.Brevo...)
	s := &Sandbox{Intercom: fakeintercom.New(io), Brevo: fakebrevo.New(bopts...), mux: http.NewServeMux()}
	s.mux.Handle(IntercomPath+"/", http.StripPrefix(IntercomPath, s.Intercom))
	s.mux.Handle(BrevoPath+"/", s.Brevo)
	s.mux.Handle(ControlPath+"/intercom/", http.StripPrefix(ControlPath+"/intercom", s.Intercom.Harness().ControlHandler()))
	s.mux.Handle(ControlPath+"/brevo/", http.StripPrefix(ControlPath+"/brevo", s.Brevo.Harness().ControlHandler()))
	return s
}

// ServeHTTP implements http.Handler.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Close stops background work.
func (s *Sandbox) Close() { s.Brevo.Close() }

// Dataset is the generated Intercom workspace.
func (s *Sandbox) Dataset() *dataset.Dataset { return s.Intercom.Dataset() }

// Endpoints are what a client needs to use a sandbox served at a base URL.
type Endpoints struct {
	IntercomURL, BrevoURL                  string
	IntercomToken, BrevoAPIKey             string
	IntercomClientID, IntercomClientSecret string
}

// Endpoints returns the URLs and credentials for a sandbox served at base
// (e.g. "http://127.0.0.1:8080").
func (s *Sandbox) Endpoints(base string) Endpoints {
	base = strings.TrimRight(base, "/")
	return Endpoints{
		IntercomURL: base + IntercomPath, BrevoURL: base + BrevoPath,
		IntercomToken: fakeintercom.DefaultToken, BrevoAPIKey: s.Brevo.APIKey(),
		IntercomClientID: fakeintercom.DefaultClientID, IntercomClientSecret: fakeintercom.DefaultClientSecret,
	}
}

// LiftLimits turns rate-limit enforcement off (or on) on both sides.
func (s *Sandbox) LiftLimits(lifted bool) {
	s.Intercom.Harness().Lift(lifted)
	s.Brevo.Harness().Lift(lifted)
}

// ReadHeaderTimeout bounds slow clients of a served sandbox.
const ReadHeaderTimeout = 10 * time.Second
