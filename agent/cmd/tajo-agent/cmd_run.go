package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/tajo/terraform-provider-tajo/agent/store"
	"github.com/tajo/terraform-provider-tajo/agent/sync"
)

func cmdRun(ctx context.Context, e *env, args []string) int {
	fs := e.flags("run")
	storeURL := e.storeFlag(fs)
	listen := fs.String("listen", "", "serve webhooks, /healthz, /readyz and /metrics on this address (e.g. :8080)")
	publicURL := fs.String("public-url", "", "the agent's public base URL, for Brevo webhooks and import notifications (e.g. https://tajo.example.com)")
	agent := fs.String("agent-id", agentID(), "name of this agent instance in the status and leases")
	lf := e.logFlags(fs)
	if ok, code := parse(fs, args); !ok {
		return code
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
	_ = publicURL
	sup := sync.NewSupervisor(st, opts)
	log.Info("agent starting", "version", version, "store", store.Redact(*storeURL), "backend", st.Backend(), "agent", *agent)

	var srv *http.Server
	if *listen != "" {
		ln, err := net.Listen("tcp", *listen)
		if err != nil {
			return e.errorf("listen on %s: %v", *listen, err)
		}
		srv = &http.Server{Handler: newAdminMux(st, sup), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second}
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("http server", "error", err)
			}
		}()
		log.Info("listening", "address", ln.Addr().String())
	}
	err = sup.Run(ctx)
	if srv != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_ = srv.Shutdown(sctx)
		cancel()
	}
	if err != nil {
		return e.errorf("%v", err)
	}
	log.Info("agent stopped")
	return exitOK
}

// newAdminMux serves the health endpoints.
func newAdminMux(st store.Store, sup *sync.Supervisor) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		if _, err := st.Revision(ctx); err != nil {
			http.Error(w, "store unreachable: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		if sup.Reloads() == 0 {
			http.Error(w, "configuration not loaded yet", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	return mux
}
