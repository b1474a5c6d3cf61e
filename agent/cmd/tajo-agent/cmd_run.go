package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/tajo/terraform-provider-tajo/agent/brevo"
	"github.com/tajo/terraform-provider-tajo/agent/intercom"
	"github.com/tajo/terraform-provider-tajo/agent/metrics"
	"github.com/tajo/terraform-provider-tajo/agent/store"
	"github.com/tajo/terraform-provider-tajo/agent/sync"
	"github.com/tajo/terraform-provider-tajo/agent/webhook"
)

func cmdRun(ctx context.Context, e *env, args []string) int {
	fs := e.flags("run")
	storeURL := e.storeFlag(fs)
	listen := fs.String("listen", "", "serve webhooks on this address (e.g. :8080), and /healthz, /readyz and /metrics unless --admin-listen is given")
	adminListen := fs.String("admin-listen", "", "serve /healthz, /readyz and /metrics on this address instead of --listen (e.g. 127.0.0.1:9090)")
	publicURL := fs.String("public-url", "", "the agent's public base URL, for Brevo webhooks and import notifications (e.g. https://tajo.example.com)")
	agent := fs.String("agent-id", agentID(), "name of this agent instance in the status and leases")
	leaseTTL := e.leaseTTLFlag(fs, "how long a connector's lease lasts unrenewed: how soon a standby agent takes over from one that died")
	retention := fs.Duration("inbox-retention", 7*24*time.Hour, "how long finished webhook deliveries stay in the inbox, to recognise redeliveries and for tajo-agent inbox list (at least 3h; 0 keeps them)")
	tlsCert := fs.String("tls-cert", "", "serve --listen over HTTPS with this certificate chain (PEM file; with --tls-key)")
	tlsKey := fs.String("tls-key", "", "the private key of --tls-cert (PEM file)")
	lf := e.logFlags(fs)
	if ok, code := parse(fs, args); !ok {
		return code
	}
	if (*tlsCert == "") != (*tlsKey == "") || (*tlsCert != "" && *listen == "") {
		fmt.Fprintln(e.stderr, "tajo-agent run: give --tls-cert and --tls-key together, with --listen")
		return exitUsage
	}
	var tlsConfig *tls.Config
	if *tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(*tlsCert, *tlsKey)
		if err != nil {
			return e.errorf("--tls-cert %s, --tls-key %s: %v", *tlsCert, *tlsKey, err)
		}
		tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	}
	if !e.checkLeaseTTL("run", *leaseTTL) {
		return exitUsage
	}
	if *retention != 0 && *retention < 3*time.Hour {
		fmt.Fprintf(e.stderr, "tajo-agent run: --inbox-retention %s is too short: Intercom redelivers for up to 2 hours; give 3h or more, or 0 to keep deliveries\n", *retention)
		return exitUsage
	}
	if *adminListen != "" && *adminListen == *listen {
		fmt.Fprintln(e.stderr, "tajo-agent run: --admin-listen and --listen are the same address; give only --listen to share it")
		return exitUsage
	}
	log, err := e.logger(lf)
	if err != nil {
		fmt.Fprintf(e.stderr, "tajo-agent run: %v\n", err)
		return exitUsage
	}
	st, err := e.openStore(ctx, *storeURL)
	if err != nil {
		return e.errorf("%v", err)
	}
	defer st.Close()
	opts := e.engineOptions(log, *agent)
	opts.PublicURL = *publicURL
	opts.LeaseTTL = *leaseTTL
	opts.InboxRetention = *retention
	sup := sync.NewSupervisor(st, opts)
	receiver := webhook.NewReceiver(st, log, sup.WakeInbox)
	sup.SetReceiver(receiver)
	log.Info("agent starting", "version", version, "store", store.Redact(*storeURL), "backend", st.Backend(), "agent", *agent)

	collector := metrics.NewCollector(st, sup, metrics.Options{Version: version, Logger: log.Named("metrics")})
	admin := newAdminMux(st, sup, metrics.Handler(metrics.NewRegistry(collector), log.Named("metrics")))
	// Webhook receivers are served on --listen; health and metrics join
	// them there unless --admin-listen keeps them on a private address.
	public := admin
	if *adminListen != "" {
		public = http.NewServeMux()
	}
	public.Handle("/", receiver)
	var servers []*http.Server
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, srv := range servers {
			_ = srv.Shutdown(sctx)
		}
	}()
	listeners := []struct {
		flag, addr, serves string
		h                  http.Handler
		tls                *tls.Config
	}{
		{"listen", *listen, "webhooks, health and metrics", public, tlsConfig},
		{"admin-listen", *adminListen, "health and metrics", admin, nil},
	}
	if *adminListen != "" {
		listeners[0].serves = "webhooks"
	}
	for _, l := range listeners {
		if l.addr == "" {
			continue
		}
		ln, err := net.Listen("tcp", l.addr)
		if err != nil {
			return e.errorf("--%s: listen on %s: %v", l.flag, l.addr, err)
		}
		srv := newHTTPServer(l.h)
		servers = append(servers, srv)
		if l.tls != nil {
			ln = tls.NewListener(ln, l.tls)
		}
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("http server", "address", ln.Addr().String(), "error", err)
			}
		}()
		log.Info("listening", "address", ln.Addr().String(), "serves", l.serves, "tls", l.tls != nil)
	}
	if err := sup.Run(ctx); err != nil {
		return e.errorf("%v", err)
	}
	log.Info("agent stopped")
	return exitOK
}

// newHTTPServer is the HTTP server of both listeners. Its timeouts bound
// slow or stalled clients (slow-loris): the request headers must arrive
// within 5 s and the whole request within 10 s (Intercom expects an answer
// within 5 s, so a legitimate delivery never comes near), and an idle
// keep-alive connection is closed after 60 s.
func newHTTPServer(h http.Handler) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second,
		IdleTimeout: 60 * time.Second, MaxHeaderBytes: 64 << 10}
}

// newAdminMux serves the liveness and readiness checks and the metrics.
//
// /healthz answers 200 while the process serves HTTP: a failing liveness
// check restarts the agent, which cures nothing a store or API outage
// causes. /readyz answers 503 with the reasons, one a line, while the
// store is unreachable, the configuration has not loaded, a connector
// could not start (e.g. a secret reference that does not resolve), or a
// connector's credentials were rejected by its last connection check; else
// 200 "ready".
func newAdminMux(st store.Store, sup *sync.Supervisor, metrics http.Handler) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if reasons := notReady(r.Context(), st, sup); len(reasons) > 0 {
			http.Error(w, strings.Join(reasons, "\n"), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	mux.Handle("GET /metrics", metrics)
	return mux
}

// notReady returns why the agent is not ready, nothing when it is.
func notReady(ctx context.Context, st store.Store, sup *sync.Supervisor) []string {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if _, err := st.Revision(ctx); err != nil {
		return []string{"store unreachable: " + err.Error()}
	}
	if sup.Reloads() == 0 {
		return []string{"configuration not loaded yet"}
	}
	var reasons []string
	failed := sup.Failed()
	fids := make([]string, 0, len(failed))
	for id := range failed {
		fids = append(fids, id)
	}
	sort.Strings(fids)
	for _, id := range fids {
		reasons = append(reasons, fmt.Sprintf("connector %s: not started: %s", id, failed[id]))
	}
	engines := sup.Engines()
	ids := make([]string, 0, len(engines))
	for id := range engines {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		checked, err := engines[id].Connection()
		if !checked || !(errors.Is(err, intercom.ErrUnauthorized) || errors.Is(err, brevo.ErrUnauthorized)) {
			continue
		}
		reason := fmt.Sprintf("connector %s: credentials rejected: %v", id, err)
		for _, t := range troubleshooting {
			if t.match(err) {
				reason += "\n  fix (" + t.problem + "): " + t.fix
				break
			}
		}
		reasons = append(reasons, reason)
	}
	return reasons
}
