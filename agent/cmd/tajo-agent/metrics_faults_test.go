package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/tajo/terraform-provider-tajo/agent/sandbox"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox/expect"
	"github.com/tajo/terraform-provider-tajo/agent/sandbox/harness"
	"github.com/tajo/terraform-provider-tajo/agent/store"
)

// metricSum adds the samples of a metric whose labels match all of want.
func metricSum(body []byte, name string, want map[string]string) float64 {
	line := regexp.MustCompile(`(?m)^` + name + `\{([^}]*)\} ([0-9.e+-]+)$`)
	label := regexp.MustCompile(`(\w+)="([^"]*)"`)
	var sum float64
	for _, m := range line.FindAllSubmatch(body, -1) {
		labels := map[string]string{}
		for _, l := range label.FindAllSubmatch(m[1], -1) {
			labels[string(l[1])] = string(l[2])
		}
		ok := true
		for k, v := range want {
			ok = ok && labels[k] == v
		}
		if ok {
			v, _ := strconv.ParseFloat(string(m[2]), 64)
			sum += v
		}
	}
	return sum
}

// TestFaultsVisibleInMetrics: the faults a sync survives are visible on
// the running agent's /metrics (tajo_api_requests_total by status,
// tajo_api_rate_limited_total), while the status reports the connector
// healthy once they are survived.
func TestFaultsVisibleInMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the agent")
	}
	t.Parallel()
	x := newE2E(t, 300)
	x.applyQuickstartLike(t)
	setup := quickstartSetup
	x.sb.Intercom.Harness().Inject(
		harness.Fault{Kind: harness.FaultStatus, PathPrefix: "/contacts", Method: http.MethodGet, Status: 503, Count: 3},
		harness.Fault{Kind: harness.FaultStorm, PathPrefix: "/tags", Count: 2, RetryAfter: time.Second})
	x.sb.Brevo.Harness().Inject(harness.Fault{Kind: harness.FaultStorm, PathPrefix: sandbox.BrevoPath + "/contacts/lists", Count: 3, NoReset: true})
	admin := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	out := &lockedWriter{w: &bytes.Buffer{}}
	go func() {
		env := &env{stdout: out, stderr: out, getenv: func(string) string { return "" },
			lookupEnv: func(k string) (string, bool) { v, ok := x.secrets[k]; return v, ok }}
		done <- runEnv(ctx, env, []string{"run", "--store", x.store, "--admin-listen", admin, "--log-level", "warn"})
	}()
	t.Cleanup(func() { cancel(); <-done })
	st := x.crashStore(t)
	defer st.Close()
	if !crashWaitUntil(2*time.Minute, func() bool {
		s, err := st.GetStatus(context.Background(), "intercom")
		return err == nil && !s.LastSync.IsZero() && expect.Compare(x.sb, setup).Err() == nil
	}) {
		t.Fatalf("no exact first sync: %v\n%s", expect.Compare(x.sb, setup).Err(), out.String())
	}
	resp, err := http.Get("http://" + admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"tajo_api_requests_total", map[string]string{"api": "intercom", "status": "503"}, 3},
		{"tajo_api_requests_total", map[string]string{"api": "intercom", "status": "429"}, 2},
		{"tajo_api_requests_total", map[string]string{"api": "brevo", "status": "429"}, 3},
		{"tajo_api_rate_limited_total", map[string]string{"api": "intercom"}, 2},
		{"tajo_api_rate_limited_total", map[string]string{"api": "brevo"}, 3},
	} {
		if got := metricSum(body, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v (every injected fault, no more)", c.name, c.labels, got, c.want)
		}
	}
	code, status := x.agent(context.Background(), "status", "--json")
	var s []store.Status
	if code != exitOK || json.Unmarshal([]byte(status), &s) != nil || len(s) != 1 || s[0].LastError != "" || s[0].State == "error" {
		t.Errorf("status after the faults were survived (exit %d): %s", code, status)
	}
}
