package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Figure is one measured value with its target.
type Figure struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit,omitempty"`
	// Op and Limit are the target ("<=", ">=", "=="); empty Op means the
	// figure is informational.
	Op    string  `json:"op,omitempty"`
	Limit float64 `json:"limit,omitempty"`
	// Target is the target as printed ("≤ 1.02×").
	Target string `json:"target,omitempty"`
	// Pass is nil for informational figures.
	Pass *bool  `json:"pass,omitempty"`
	Note string `json:"note,omitempty"`
}

// Scenario is the outcome of one scenario.
type Scenario struct {
	Name     string         `json:"name"`
	Title    string         `json:"title"`
	Params   map[string]any `json:"params,omitempty"`
	Figures  []Figure       `json:"figures"`
	Notes    []string       `json:"notes,omitempty"`
	Error    string         `json:"error,omitempty"`
	Duration float64        `json:"duration_seconds"`
}

// info adds an informational figure.
func (s *Scenario) info(name string, v float64, unit, note string) {
	s.Figures = append(s.Figures, Figure{Name: name, Value: v, Unit: unit, Note: note})
}

// check adds a figure with a target.
func (s *Scenario) check(name string, v float64, unit, op string, limit float64, note string) {
	f := Figure{Name: name, Value: v, Unit: unit, Op: op, Limit: limit, Note: note}
	var ok bool
	switch op {
	case "<=":
		ok = v <= limit
		f.Target = "≤ " + num(limit) + unitSuffix(unit)
	case ">=":
		ok = v >= limit
		f.Target = "≥ " + num(limit) + unitSuffix(unit)
	case "==":
		ok = v == limit
		f.Target = "= " + num(limit) + unitSuffix(unit)
	default:
		panic("unknown op " + op)
	}
	if math.IsNaN(v) {
		ok = false
	}
	f.Pass = &ok
	s.Figures = append(s.Figures, f)
}

func (s *Scenario) note(format string, args ...any) {
	s.Notes = append(s.Notes, fmt.Sprintf(format, args...))
}

func unitSuffix(u string) string {
	switch u {
	case "", "×":
		return u
	case "%":
		return " %"
	}
	return " " + u
}

// num renders a value compactly: integers without decimals, others with
// three significant decimals at most.
func num(v float64) string {
	switch {
	case math.IsNaN(v):
		return "n/a"
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case math.Abs(v) >= 100:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case math.Abs(v) >= 1:
		return strconv.FormatFloat(v, 'f', 3, 64)
	default:
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
}

// Machine describes where the run happened.
type Machine struct {
	Cores     int    `json:"cores"`
	MemoryMiB int64  `json:"memory_mib"`
	CPUModel  string `json:"cpu_model"`
	GoVersion string `json:"go_version"`
	OS        string `json:"os"`
	Arch      string `json:"arch"`
	Kernel    string `json:"kernel,omitempty"`
	Terraform string `json:"terraform,omitempty"`
	// The load averages tell whether other work shared the cores.
	LoadAvg    float64 `json:"load_average_1m_at_start"`
	LoadAvgEnd float64 `json:"load_average_1m_at_end"`
}

func describeMachine() Machine {
	m := Machine{Cores: runtime.NumCPU(), GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH}
	if out, err := exec.Command("go", "env", "GOVERSION").Output(); err == nil {
		m.GoVersion = strings.TrimSpace(string(out))
	}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if f, err := os.Open("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
				kb, _ := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
				m.MemoryMiB = kb / 1024
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if out, err := exec.Command("terraform", "version").Output(); err == nil {
		m.Terraform, _, _ = strings.Cut(string(out), "\n")
	}
	m.LoadAvg = loadAverage()
	return m
}

// loadAverage is the 1-minute load average (0 where unknown).
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	fs := strings.Fields(string(b))
	if len(fs) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(fs[0], 64)
	return v
}

// Report is the JSON document of a run.
type Report struct {
	Started time.Time `json:"started"`
	Mode    string    `json:"mode"`
	Command string    `json:"command"`
	Machine Machine   `json:"machine"`
	// Binaries are prebuilt binaries measured instead of this tree's.
	Binaries  []string   `json:"binaries,omitempty"`
	Scenarios []Scenario `json:"scenarios"`
	Micro     []Micro    `json:"micro_benchmarks,omitempty"`
	Duration  float64    `json:"duration_seconds"`
	Missed    []string   `json:"missed_targets"`
	Errors    []string   `json:"errors"`
}

func (r *Report) summarise() {
	r.Missed, r.Errors = []string{}, []string{}
	for _, s := range r.Scenarios {
		if s.Error != "" {
			r.Errors = append(r.Errors, s.Name+": "+s.Error)
		}
		for _, f := range s.Figures {
			if f.Pass != nil && !*f.Pass {
				r.Missed = append(r.Missed, fmt.Sprintf("%s: %s = %s%s (target %s)", s.Name, f.Name, num(f.Value), unitSuffix(f.Unit), f.Target))
			}
		}
	}
}

func (r *Report) write(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// printTable writes the human-readable table.
func (r *Report) printTable(w io.Writer) {
	m := r.Machine
	fmt.Fprintf(w, "\nmachine: %d cores, %d MiB, %s, %s %s/%s, load %.2f at start, %.2f at end\n", m.Cores, m.MemoryMiB, m.CPUModel, m.GoVersion, m.OS, m.Arch, m.LoadAvg, m.LoadAvgEnd)
	for _, s := range r.Scenarios {
		fmt.Fprintf(w, "\n== %s — %s (%.0f s)\n", s.Name, s.Title, s.Duration)
		if s.Error != "" {
			fmt.Fprintf(w, "   ERROR: %s\n", s.Error)
		}
		nw := 10
		for _, f := range s.Figures {
			nw = max(nw, len([]rune(f.Name)))
		}
		for _, f := range s.Figures {
			verdict := "info"
			if f.Pass != nil {
				verdict = "PASS"
				if !*f.Pass {
					verdict = "MISS"
				}
			}
			val := num(f.Value) + unitSuffix(f.Unit)
			line := fmt.Sprintf("   %-4s  %-*s  %16s", verdict, nw, f.Name, val)
			if f.Target != "" {
				line += "   target " + f.Target
			}
			if f.Note != "" {
				line += "   (" + f.Note + ")"
			}
			fmt.Fprintln(w, line)
		}
		for _, n := range s.Notes {
			fmt.Fprintf(w, "   note: %s\n", n)
		}
	}
	if len(r.Micro) > 0 {
		fmt.Fprintf(w, "\n== micro — go test -bench (median of %d runs)\n", r.Micro[0].Runs)
		for _, b := range r.Micro {
			fmt.Fprintf(w, "   %-48s %12s ns/op %10s B/op %6s allocs/op", b.Package+" "+b.Name, num(b.NsPerOp), num(b.BytesPerOp), num(b.AllocsPerOp))
			for k, v := range b.Extra {
				fmt.Fprintf(w, "  %s %s", num(v), k)
			}
			fmt.Fprintln(w)
		}
	}
	fmt.Fprintf(w, "\n%d targets missed, %d scenario errors, %.0f s in all\n", len(r.Missed), len(r.Errors), r.Duration)
	for _, x := range r.Missed {
		fmt.Fprintf(w, "   MISS  %s\n", x)
	}
	for _, x := range r.Errors {
		fmt.Fprintf(w, "   ERROR %s\n", x)
	}
}
