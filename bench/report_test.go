package main

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseBench(t *testing.T) {
	t.Parallel()
	out := `goos: linux
pkg: github.com/tajo/terraform-provider-tajo/agent/mapping
BenchmarkMap-2    	   12808	      1825 ns/op	    1312 B/op	      25 allocs/op
BenchmarkMap-2    	   12808	      1700 ns/op	    1312 B/op	      25 allocs/op
BenchmarkMap-2    	   12808	      1900 ns/op	    1312 B/op	      25 allocs/op
PASS
pkg: github.com/tajo/terraform-provider-tajo/agent/store/sqlite
BenchmarkApplyPage/plan-2         	      10	   2648440 ns/op	     17656 ns/contact	  674331 B/op	    7715 allocs/op
BenchmarkApplyPage/plan-2         	      10	   2648000 ns/op	     17000 ns/contact	  674331 B/op	    7715 allocs/op
ok  	github.com/tajo/terraform-provider-tajo/agent/store/sqlite	0.332s
`
	got := parseBench(out)
	want := []Micro{
		{Package: "agent/mapping", Name: "BenchmarkMap", Runs: 3, NsPerOp: 1825, BytesPerOp: 1312, AllocsPerOp: 25},
		{Package: "agent/store/sqlite", Name: "BenchmarkApplyPage/plan", Runs: 2, NsPerOp: 2648220, BytesPerOp: 674331, AllocsPerOp: 7715,
			Extra: map[string]float64{"ns/contact": 17328}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parseBench (-want +got):\n%s", diff)
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		op           string
		value, limit float64
		unit         string
		pass         bool
		target       string
	}{
		{"<=", 1.02, 1.02, "×", true, "≤ 1.020×"},
		{"<=", 1.03, 1.02, "×", false, "≤ 1.020×"},
		{">=", 90, 90, "%", true, "≥ 90 %"},
		{">=", 89.9, 90, "%", false, "≥ 90 %"},
		{"==", 0, 0, "", true, "= 0"},
		{"==", 1, 0, "", false, "= 0"},
		{">=", math.NaN(), 500, "", false, "≥ 500"},
		{"<=", 150, 150, "MiB", true, "≤ 150 MiB"},
	} {
		var s Scenario
		s.check("figure", tc.value, tc.unit, tc.op, tc.limit, "")
		f := s.Figures[0]
		if f.Pass == nil || *f.Pass != tc.pass || f.Target != tc.target {
			t.Errorf("%v %s %v: pass %v, target %q; want %v, %q", tc.value, tc.op, tc.limit, f.Pass, f.Target, tc.pass, tc.target)
		}
	}
}

func TestSummariseCountsMissesAndErrors(t *testing.T) {
	t.Parallel()
	r := Report{Scenarios: []Scenario{{Name: "a"}, {Name: "b", Error: "broke"}}}
	r.Scenarios[0].check("x", 2, "×", "<=", 1.5, "")
	r.Scenarios[0].check("y", 1, "×", "<=", 1.5, "")
	r.Scenarios[0].info("z", 9, "", "")
	r.summarise()
	if want := []string{"a: x = 2× (target ≤ 1.500×)"}; !cmp.Equal(r.Missed, want) {
		t.Errorf("missed %q, want %q", r.Missed, want)
	}
	if want := []string{"b: broke"}; !cmp.Equal(r.Errors, want) {
		t.Errorf("errors %q, want %q", r.Errors, want)
	}
}

func TestPercentiles(t *testing.T) {
	t.Parallel()
	xs := []float64{5, 1, 4, 2, 3, 10, 9, 8, 7, 6}
	for _, tc := range []struct{ p, want float64 }{{50, 5}, {95, 10}, {99, 10}, {100, 10}, {10, 1}} {
		if got := pct(xs, tc.p); got != tc.want {
			t.Errorf("pct(%v) = %v, want %v", tc.p, got, tc.want)
		}
	}
	if got := pct(nil, 50); !math.IsNaN(got) {
		t.Errorf("pct of nothing = %v, want NaN", got)
	}
	if got := median([]float64{3, 1, 2, 10}); got != 2.5 {
		t.Errorf("median = %v, want 2.5", got)
	}
}

func TestInProcessRate(t *testing.T) {
	t.Parallel()
	micro := []Micro{
		{Package: "agent/mapping", Name: "BenchmarkMap", NsPerOp: 1000},
		{Package: "agent/mapping", Name: "BenchmarkHash", NsPerOp: 1000},
		{Package: "agent/store/sqlite", Name: "BenchmarkApplyPage/plan", NsPerOp: 1e6, Extra: map[string]float64{"ns/contact": 4000}},
		{Package: "agent/store/sqlite", Name: "BenchmarkApplyPage/written", NsPerOp: 1e6, Extra: map[string]float64{"ns/contact": 4000}},
	}
	var s Scenario
	inProcessRate(&s, micro)
	if len(s.Figures) != 1 || s.Figures[0].Value != 1e5 {
		t.Fatalf("figures %+v, want one of 100000 records/s (10 µs a record)", s.Figures)
	}
	var none Scenario
	inProcessRate(&none, micro[:3])
	if len(none.Figures) != 0 {
		t.Errorf("with a benchmark missing: %+v, want no figure", none.Figures)
	}
}

func TestProblemKind(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"contact 5692161d0000000000000216 (user): missing in Brevo":                       "contact ID (user): missing in Brevo",
		"contact 5692161d000000000000028f: attribute LASTNAME = Jørgensen (string), want": "contact ID: attribute LASTNAME",
		"list 35: contact #1860 (ext_id 5692161d000000000000028f) should not be in it":    "list ID: contact ID",
	} {
		if got := problemKind(in); got != want {
			t.Errorf("problemKind(%q) = %q, want %q", in, got, want)
		}
	}
}
