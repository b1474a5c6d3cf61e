package examples

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// unitFile is a parsed systemd unit: section → key → values in file order
// (keys such as Environment= may repeat).
type unitFile map[string]map[string][]string

// first returns the first value of key in section, and whether it is set.
func (u unitFile) first(section, key string) (string, bool) {
	vs := u[section][key]
	if len(vs) == 0 {
		return "", false
	}
	return vs[0], true
}

// parseUnit reads the INI dialect of systemd.syntax(7): [Section] headers,
// Key=Value lines, # and ; comments, and backslash line continuations.
func parseUnit(r io.Reader) (unitFile, error) {
	u := unitFile{}
	section := ""
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		for strings.HasSuffix(line, `\`) && sc.Scan() {
			n++
			line = strings.TrimSuffix(line, `\`) + " " + strings.TrimSpace(sc.Text())
		}
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[':
			if !strings.HasSuffix(line, "]") || len(line) < 3 {
				return nil, fmt.Errorf("line %d: malformed section header %q", n, line)
			}
			section = line[1 : len(line)-1]
			if u[section] == nil {
				u[section] = map[string][]string{}
			}
		default:
			key, value, ok := strings.Cut(line, "=")
			key = strings.TrimSpace(key)
			if !ok || key == "" || strings.ContainsAny(key, " \t") {
				return nil, fmt.Errorf("line %d: want Key=Value, got %q", n, line)
			}
			if section == "" {
				return nil, fmt.Errorf("line %d: %s= outside a section", n, key)
			}
			u[section][key] = append(u[section][key], strings.TrimSpace(value))
		}
	}
	return u, sc.Err()
}

// parseTimeSpan reads the systemd.time(7) spans a unit here uses: "45",
// "45s", "1min", "1min 30s".
func parseTimeSpan(s string) (time.Duration, error) {
	units := map[string]time.Duration{"": time.Second, "s": time.Second, "sec": time.Second,
		"m": time.Minute, "min": time.Minute, "ms": time.Millisecond, "h": time.Hour}
	var total time.Duration
	for f := range strings.FieldsSeq(s) {
		i := strings.IndexFunc(f, func(r rune) bool { return r < '0' || r > '9' })
		if i < 0 {
			i = len(f)
		}
		v, err := strconv.Atoi(f[:i])
		unit, ok := units[f[i:]]
		if err != nil || !ok {
			return 0, fmt.Errorf("time span %q: unsupported part %q", s, f)
		}
		total += time.Duration(v) * unit
	}
	if total == 0 {
		return 0, fmt.Errorf("time span %q is empty", s)
	}
	return total, nil
}

func TestParseUnit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     unitFile
		wantErr  bool
	}{
		{name: "sections, comments, repeats",
			in: "# c\n[Unit]\nDescription = x y\n; c\n[Service]\nEnvironment=A=1\nEnvironment=B=2\nCapabilityBoundingSet=\n",
			want: unitFile{"Unit": {"Description": {"x y"}},
				"Service": {"Environment": {"A=1", "B=2"}, "CapabilityBoundingSet": {""}}}},
		{name: "continuation", in: "[Service]\nExecStart=/bin/a \\\n  --b c\n",
			want: unitFile{"Service": {"ExecStart": {"/bin/a  --b c"}}}},
		{name: "key outside a section", in: "A=1\n", wantErr: true},
		{name: "not key=value", in: "[Unit]\nnonsense\n", wantErr: true},
		{name: "bad header", in: "[Unit\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseUnit(strings.NewReader(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); !tt.wantErr && diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func TestSystemdUnit(t *testing.T) {
	t.Parallel()
	const path = "examples/systemd/tajo-agent.service"
	u, err := parseUnit(strings.NewReader(string(readFile(t, path))))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"Unit", "Service", "Install"} {
		if u[s] == nil {
			t.Errorf("no [%s] section", s)
		}
	}

	t.Run("ExecStart runs the agent", func(t *testing.T) {
		execStart, _ := u.first("Service", "ExecStart")
		f := strings.Fields(execStart)
		if len(f) < 2 || !filepath.IsAbs(f[0]) || filepath.Base(f[0]) != "tajo-agent" || f[1] != "run" {
			t.Fatalf("ExecStart = %q, want /absolute/path/tajo-agent run …", execStart)
		}
		flags := map[string]string{}
		for i := 2; i+1 < len(f); i += 2 {
			flags[f[i]] = f[i+1]
		}
		want := map[string]string{"--listen": "127.0.0.1:8080", "--log-format": "json"}
		if diff := cmp.Diff(want, flags); diff != "" {
			t.Errorf("ExecStart flags (-want +got)\n%s", diff)
		}
	})

	t.Run("store in the state directory", func(t *testing.T) {
		state, _ := u.first("Service", "StateDirectory")
		if state != "tajo" {
			t.Errorf("StateDirectory = %q, want tajo", state)
		}
		var store string
		for _, e := range u["Service"]["Environment"] {
			if v, ok := strings.CutPrefix(e, "TAJO_STORE="); ok {
				store = v
			}
		}
		if store != "sqlite:///var/lib/tajo/tajo.db" {
			t.Errorf("Environment TAJO_STORE = %q, want sqlite:///var/lib/tajo/tajo.db", store)
		}
		if dir := filepath.Dir(strings.TrimPrefix(store, "sqlite://")); dir != "/var/lib/"+state {
			t.Errorf("the store %s is outside the StateDirectory /var/lib/%s, the only writable place", store, state)
		}
	})

	t.Run("stop covers the shutdown grace", func(t *testing.T) {
		if v, _ := u.first("Service", "KillSignal"); v != "SIGTERM" {
			t.Errorf("KillSignal = %q, want SIGTERM", v)
		}
		v, _ := u.first("Service", "TimeoutStopSec")
		d, err := parseTimeSpan(v)
		if err != nil {
			t.Fatal(err)
		}
		if d <= agentStopTime {
			t.Errorf("TimeoutStopSec = %s, want more than the %s the agent may take to stop", d, agentStopTime)
		}
	})

	t.Run("settings", func(t *testing.T) {
		want := map[string]string{
			"EnvironmentFile":         "-/etc/tajo/agent.env",
			"Restart":                 "on-failure",
			"NoNewPrivileges":         "yes",
			"ProtectSystem":           "strict",
			"ProtectHome":             "yes",
			"PrivateTmp":              "yes",
			"PrivateDevices":          "yes",
			"CapabilityBoundingSet":   "",
			"RestrictSUIDSGID":        "yes",
			"MemoryDenyWriteExecute":  "yes",
			"SystemCallArchitectures": "native",
		}
		for k, v := range want {
			if got, ok := u.first("Service", k); !ok || got != v {
				t.Errorf("%s = %q (set: %v), want %q", k, got, ok, v)
			}
		}
		dyn, _ := u.first("Service", "DynamicUser")
		user, _ := u.first("Service", "User")
		if dyn != "yes" && (user == "" || user == "root") {
			t.Errorf("runs as root: want DynamicUser=yes or a User= other than root")
		}
		if v, _ := u.first("Install", "WantedBy"); v != "multi-user.target" {
			t.Errorf("WantedBy = %q, want multi-user.target", v)
		}
	})

	t.Run("systemd-analyze verify", func(t *testing.T) {
		sa, err := exec.LookPath("systemd-analyze")
		if err != nil {
			t.Skip("systemd-analyze is not installed")
		}
		unit := filepath.Join(t.TempDir(), "tajo-agent.service")
		if err := os.WriteFile(unit, readFile(t, path), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.CommandContext(t.Context(), sa, "verify", unit).CombinedOutput()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Skipf("systemd-analyze: %v", err)
		}
		// The binary is not installed here; everything else must be clean.
		for line := range strings.Lines(string(out)) {
			if strings.Contains(line, "Unknown") || strings.Contains(line, "Failed to parse") ||
				strings.Contains(line, "Invalid") || strings.Contains(line, "ignoring") {
				t.Errorf("systemd-analyze verify: %s", strings.TrimSpace(line))
			}
		}
	})
}

func TestParseTimeSpan(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]time.Duration{"45": 45 * time.Second, "60s": time.Minute, "1min 30s": 90 * time.Second, "1h": time.Hour} {
		if got, err := parseTimeSpan(in); err != nil || got != want {
			t.Errorf("parseTimeSpan(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "soon", "5 fortnights"} {
		if _, err := parseTimeSpan(in); err == nil {
			t.Errorf("parseTimeSpan(%q): no error", in)
		}
	}
}
