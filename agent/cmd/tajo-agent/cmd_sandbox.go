package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/tajo/terraform-provider-tajo/agent/sandbox"
)

// readyInfo is what --ready-file holds: the endpoints and the size of the
// generated workspace.
type readyInfo struct {
	sandbox.Endpoints
	Contacts  int `json:"contacts"`
	WithEmail int `json:"contacts_with_email"`
	Companies int `json:"companies"`
}

func cmdSandbox(ctx context.Context, e *env, args []string) int {
	fs := e.flags("sandbox")
	listen := fs.String("listen", "127.0.0.1:8080", "address to serve on (loopback only, e.g. 127.0.0.1:0 for any free port)")
	contacts := fs.Int("contacts", 2000, "number of Intercom contacts to generate")
	seed := fs.Uint64("seed", 1, "dataset seed (the same seed gives the same workspace)")
	lift := fs.Bool("lift-limits", false, "do not enforce the APIs' rate limits")
	readyFile := fs.String("ready-file", "", "write the endpoints as JSON to this file once listening")
	if ok, code := parse(fs, args); !ok {
		return code
	}
	host, _, err := net.SplitHostPort(*listen)
	if err != nil {
		return e.errorf("--listen %q: %v", *listen, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return e.errorf("--listen %q: the sandbox serves loopback addresses only (it has no authentication worth the name)", *listen)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return e.errorf("listen on %s: %v", *listen, err)
	}
	sb := sandbox.New(sandbox.Options{Contacts: *contacts, Seed: *seed})
	defer sb.Close()
	sb.LiftLimits(*lift)
	ep := sb.Endpoints("http://" + ln.Addr().String())
	info := readyInfo{Endpoints: ep, Contacts: *contacts}
	for _, id := range sb.Intercom.ContactIDs() {
		if c, ok := sb.Intercom.Contact(id); ok && c.Email != "" {
			info.WithEmail++
		}
	}
	info.Companies = len(sb.Intercom.CompanyIDs())
	fmt.Fprintf(e.stdout, "sandbox: %d Intercom contacts (%d with an email), %d companies (seed %d), rate limits %s\n",
		info.Contacts, info.WithEmail, info.Companies, *seed, map[bool]string{true: "lifted", false: "enforced"}[*lift])
	fmt.Fprintf(e.stdout, "  Intercom API  %s\n  Brevo API     %s\n  Brevo lists   %v\n", ep.IntercomURL, ep.BrevoURL, sandbox.DefaultLists)
	fmt.Fprintf(e.stdout, "  credentials (simulated, not secrets):\n    export INTERCOM_ACCESS_TOKEN=%s BREVO_API_KEY=%s INTERCOM_CLIENT_SECRET=%s\n",
		ep.IntercomToken, ep.BrevoAPIKey, ep.IntercomClientSecret)
	if *readyFile != "" {
		b, _ := json.Marshal(info)
		if err := os.WriteFile(*readyFile, b, 0o600); err != nil {
			return e.errorf("write --ready-file: %v", err)
		}
	}
	srv := &http.Server{Handler: sb, ReadHeaderTimeout: sandbox.ReadHeaderTimeout}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return e.errorf("serve: %v", err)
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	return exitOK
}
