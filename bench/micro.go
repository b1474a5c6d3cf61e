package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// microPackages hold the *_bench_test.go files of the micro-benchmarks.
var microPackages = []string{"./agent/mapping", "./agent/webhook", "./agent/store/sqlite"}

// Micro is one Go benchmark, the median of its runs.
type Micro struct {
	Package     string             `json:"package"`
	Name        string             `json:"name"`
	Runs        int                `json:"runs"`
	NsPerOp     float64            `json:"ns_per_op"`
	BytesPerOp  float64            `json:"bytes_per_op"`
	AllocsPerOp float64            `json:"allocs_per_op"`
	Extra       map[string]float64 `json:"extra,omitempty"`
}

// microBenchmarks runs the Go micro-benchmarks and keeps their raw,
// benchstat-ready output in rawPath.
func (r *runner) microBenchmarks(ctx context.Context, rawPath string) ([]Micro, error) {
	args := append([]string{"test", "-run", "^$", "-bench", ".", "-benchmem",
		"-count", strconv.Itoa(r.sz.microCount), "-benchtime", r.sz.microBenchtime}, microPackages...)
	cmd := exec.CommandContext(ctx, "go", args...)
	out, err := cmd.CombinedOutput()
	if werr := os.WriteFile(rawPath, out, 0o644); werr != nil && err == nil {
		err = werr
	}
	if err != nil {
		return nil, fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, tail(string(out), 3000))
	}
	r.logf("micro: raw output in %s (benchstat %s)", rawPath, rawPath)
	return parseBench(string(out)), nil
}

// parseBench reads `go test -bench` output and takes the median of each
// benchmark's runs.
func parseBench(out string) []Micro {
	type key struct{ pkg, name string }
	runs := map[key][]map[string]float64{}
	var order []key
	pkg := ""
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimPrefix(p, "github.com/tajo/terraform-provider-tajo/")
			continue
		}
		fs := strings.Fields(line)
		if len(fs) < 4 || !strings.HasPrefix(fs[0], "Benchmark") {
			continue
		}
		name := fs[0]
		if i := strings.LastIndex(name, "-"); i > 0 {
			name = name[:i] // GOMAXPROCS suffix
		}
		m := map[string]float64{}
		for i := 2; i+1 < len(fs); i += 2 {
			v, err := strconv.ParseFloat(fs[i], 64)
			if err != nil {
				break
			}
			m[fs[i+1]] = v
		}
		k := key{pkg, name}
		if _, ok := runs[k]; !ok {
			order = append(order, k)
		}
		runs[k] = append(runs[k], m)
	}
	var res []Micro
	for _, k := range order {
		rs := runs[k]
		col := func(unit string) float64 {
			xs := make([]float64, 0, len(rs))
			for _, r := range rs {
				if v, ok := r[unit]; ok {
					xs = append(xs, v)
				}
			}
			return median(xs)
		}
		m := Micro{Package: k.pkg, Name: k.name, Runs: len(rs), NsPerOp: col("ns/op"), BytesPerOp: col("B/op"), AllocsPerOp: col("allocs/op")}
		for unit := range rs[0] {
			switch unit {
			case "ns/op", "B/op", "allocs/op":
			default:
				if m.Extra == nil {
					m.Extra = map[string]float64{}
				}
				m.Extra[unit] = col(unit)
			}
		}
		res = append(res, m)
	}
	return res
}
