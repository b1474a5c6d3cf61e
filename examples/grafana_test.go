package examples

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// agentMetrics are the metrics tajo-agent serves on /metrics, with their
// labels: the only names the dashboard may use.
var agentMetrics = map[string][]string{
	"tajo_records_total":                  {"connector", "resource", "outcome"},
	"tajo_api_requests_total":             {"api", "class", "status"},
	"tajo_api_rate_limited_total":         {"api"},
	"tajo_rate_budget_used_ratio":         {"api", "class"},
	"tajo_inbox_depth":                    {"connector"},
	"tajo_inbox_oldest_age_seconds":       {"connector"},
	"tajo_dead_letters":                   {"connector"},
	"tajo_sync_lag_seconds":               {"connector"},
	"tajo_last_success_timestamp_seconds": {"connector"},
	"tajo_lease_holder":                   {"connector", "agent"},
	"tajo_leader":                         {"connector"},
	"tajo_pending_writes":                 {"connector"},
}

// promRefs is what a PromQL expression refers to.
type promRefs struct {
	metrics []string
	labels  []string // in matchers and in by/without/on/ignoring/group_* lists
}

var (
	promAggregations = words("sum min max avg group stddev stdvar count count_values bottomk topk quantile limitk limit_ratio")
	promFunctions    = words("abs absent absent_over_time avg_over_time ceil changes clamp clamp_max clamp_min count_over_time " +
		"day_of_month day_of_week day_of_year days_in_month delta deriv exp floor histogram_quantile holt_winters hour idelta " +
		"increase irate label_join label_replace last_over_time ln log10 log2 max_over_time min_over_time minute month " +
		"predict_linear present_over_time quantile_over_time rate resets round scalar sgn sort sort_desc sqrt " +
		"stddev_over_time stdvar_over_time sum_over_time time timestamp vector year")
	promLabelLists = words("by without on ignoring group_left group_right")
	promKeywords   = words("and or unless bool offset inf nan")
)

func words(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		m[w] = true
	}
	return m
}

func isIdentStart(c byte) bool {
	return c == '_' || c == ':' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

func isIdent(c byte) bool { return isIdentStart(c) || ('0' <= c && c <= '9') }

// scanPromQL finds the metric and label names in a PromQL expression as
// Grafana stores it ($variables allowed). It is a lexer, not a parser: enough
// to tell metric names from functions, keywords, label names, strings and
// durations, and to refuse what it does not know.
func scanPromQL(expr string) (promRefs, error) {
	var refs promRefs
	s := expr
	i := 0
	skipSpace := func() {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n') {
			i++
		}
	}
	skipString := func() error {
		q := s[i]
		for i++; i < len(s); i++ {
			switch s[i] {
			case '\\':
				i++
			case q:
				i++
				return nil
			}
		}
		return fmt.Errorf("unterminated string in %q", expr)
	}
	ident := func() string {
		start := i
		for i < len(s) && isIdent(s[i]) {
			i++
		}
		return s[start:i]
	}
	// labelList reads "(a, b)" after by, on, …
	labelList := func() error {
		i++ // (
		for {
			skipSpace()
			if i >= len(s) {
				return fmt.Errorf("unterminated label list in %q", expr)
			}
			switch c := s[i]; {
			case c == ')':
				i++
				return nil
			case c == ',':
				i++
			case isIdentStart(c):
				refs.labels = append(refs.labels, ident())
			default:
				return fmt.Errorf("unexpected %q in a label list of %q", c, expr)
			}
		}
	}
	for i < len(s) {
		switch c := s[i]; {
		case c == ' ' || c == '\t' || c == '\n':
			i++
		case c == '"' || c == '\'' || c == '`':
			if err := skipString(); err != nil {
				return refs, err
			}
		case c == '$': // a Grafana variable: $name or ${name}
			i++
			if i < len(s) && s[i] == '{' {
				end := strings.IndexByte(s[i:], '}')
				if end < 0 {
					return refs, fmt.Errorf("unterminated ${ in %q", expr)
				}
				i += end + 1
			} else {
				ident()
			}
		case c == '[': // range or subquery: durations and variables
			end := strings.IndexByte(s[i:], ']')
			if end < 0 {
				return refs, fmt.Errorf("unterminated [ in %q", expr)
			}
			i += end + 1
		case c == '{': // label matchers: name op "value", …
			for i++; i < len(s) && s[i] != '}'; {
				switch {
				case s[i] == '"' || s[i] == '\'' || s[i] == '`':
					if err := skipString(); err != nil {
						return refs, err
					}
				case isIdentStart(s[i]):
					name := ident()
					if name == "__name__" {
						return refs, fmt.Errorf("%q: name metrics directly, not with __name__", expr)
					}
					refs.labels = append(refs.labels, name)
				default:
					i++
				}
			}
			if i >= len(s) {
				return refs, fmt.Errorf("unterminated { in %q", expr)
			}
			i++
		case '0' <= c && c <= '9' || c == '.': // numbers and durations
			for i < len(s) && (isIdent(s[i]) || s[i] == '.') {
				i++
			}
		case isIdentStart(c):
			name := ident()
			skipSpace()
			paren := i < len(s) && s[i] == '('
			switch {
			case promLabelLists[name]:
				if paren {
					if err := labelList(); err != nil {
						return refs, err
					}
				}
			case promAggregations[name], promKeywords[name]:
			case paren && promFunctions[name]:
			case paren:
				return refs, fmt.Errorf("%q: unknown function %s", expr, name)
			default:
				refs.metrics = append(refs.metrics, name)
			}
		default: // operators, parentheses, commas
			i++
		}
	}
	return refs, nil
}

func TestScanPromQL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		expr    string
		want    promRefs
		wantErr bool
	}{
		{expr: `sum by (outcome) (rate(tajo_records_total{connector=~"$connector", outcome!="x"}[$__rate_interval]))`,
			want: promRefs{metrics: []string{"tajo_records_total"}, labels: []string{"outcome", "connector", "outcome"}}},
		{expr: `time() - max by (connector) (a_b{c="}"}) offset 5m`,
			want: promRefs{metrics: []string{"a_b"}, labels: []string{"connector", "c"}}},
		{expr: `x / on (a) group_left (b) y == 1`,
			want: promRefs{metrics: []string{"x", "y"}, labels: []string{"a", "b"}}},
		{expr: `sum(rate(up[${__range}])) > bool 0.5e1`, want: promRefs{metrics: []string{"up"}}},
		{expr: `rat(x[5m])`, wantErr: true},
		{expr: `{__name__="x"}`, wantErr: true},
		{expr: `x{a="b}`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			got, err := scanPromQL(tt.expr)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(promRefs{})); !tt.wantErr && diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

// grafanaPanel is the part of a dashboard panel the test checks.
type grafanaPanel struct {
	ID         int    `json:"id"`
	Type       string `json:"type"`
	Title      string `json:"title"`
	Datasource *struct {
		Type string `json:"type"`
		UID  string `json:"uid"`
	} `json:"datasource"`
	GridPos struct{ X, Y, W, H int } `json:"gridPos"`
	Targets []struct {
		RefID        string `json:"refId"`
		Expr         string `json:"expr"`
		LegendFormat string `json:"legendFormat"`
	} `json:"targets"`
	Panels []grafanaPanel `json:"panels"` // of a collapsed row
}

func TestGrafanaDashboard(t *testing.T) {
	t.Parallel()
	var dash struct {
		UID           string         `json:"uid"`
		Title         string         `json:"title"`
		SchemaVersion int            `json:"schemaVersion"`
		Panels        []grafanaPanel `json:"panels"`
		Templating    struct {
			List []struct {
				Name       string          `json:"name"`
				Type       string          `json:"type"`
				Query      json.RawMessage `json:"query"`
				Definition string          `json:"definition"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(readFile(t, "examples/grafana/tajo-agent.json"), &dash); err != nil {
		t.Fatalf("not valid JSON: %v", err)
	}
	if dash.UID == "" || dash.Title == "" || dash.SchemaVersion == 0 {
		t.Errorf("uid %q, title %q, schemaVersion %d: all are needed for import", dash.UID, dash.Title, dash.SchemaVersion)
	}

	vars := map[string]bool{}
	for _, v := range dash.Templating.List {
		vars[v.Name] = true
		if v.Type != "query" {
			continue
		}
		// label_values(metric, label): both must exist.
		m := regexp.MustCompile(`^label_values\((\w+),\s*(\w+)\)$`).FindStringSubmatch(v.Definition)
		if m == nil || !slices.Contains(agentMetrics[m[1]], m[2]) {
			t.Errorf("variable %s: query %q, want label_values(<agent metric>, <its label>)", v.Name, v.Definition)
		}
		if !strings.Contains(string(v.Query), v.Definition) {
			t.Errorf("variable %s: query %s differs from its definition %q", v.Name, v.Query, v.Definition)
		}
	}
	for _, v := range []string{"datasource", "connector"} {
		if !vars[v] {
			t.Errorf("no $%s variable", v)
		}
	}

	var panels []grafanaPanel
	for _, p := range dash.Panels {
		panels = append(panels, p)
		panels = append(panels, p.Panels...)
	}
	ids := map[int]bool{}
	used := map[string]bool{}
	legendRE := regexp.MustCompile(`\{\{\s*(\w+)\s*\}\}`)
	for _, p := range panels {
		name := fmt.Sprintf("panel %d %q", p.ID, p.Title)
		if ids[p.ID] {
			t.Errorf("%s: id %d is used twice", name, p.ID)
		}
		ids[p.ID] = true
		if g := p.GridPos; g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 {
			t.Errorf("%s: gridPos %+v outside the 24-column grid", name, g)
		}
		if p.Type == "row" {
			continue
		}
		if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
			t.Errorf("%s: datasource must be the ${datasource} variable, so the dashboard imports anywhere", name)
		}
		if len(p.Targets) == 0 {
			t.Errorf("%s: no queries", name)
		}
		for _, q := range p.Targets {
			refs, err := scanPromQL(q.Expr)
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			if len(refs.metrics) == 0 {
				t.Errorf("%s: query %q uses no metric", name, q.Expr)
			}
			labels := map[string]bool{}
			for _, m := range refs.metrics {
				l, ok := agentMetrics[m]
				if !ok {
					t.Errorf("%s: query %q uses %s, which the agent does not serve", name, q.Expr, m)
				}
				used[m] = true
				for _, l := range l {
					labels[l] = true
				}
			}
			for _, l := range refs.labels {
				if !labels[l] {
					t.Errorf("%s: query %q uses label %s, which none of its metrics has", name, q.Expr, l)
				}
			}
			for _, m := range legendRE.FindAllStringSubmatch(q.LegendFormat, -1) {
				if !labels[m[1]] {
					t.Errorf("%s: legend %q names label %s, which none of its metrics has", name, q.LegendFormat, m[1])
				}
			}
		}
	}
	for m := range agentMetrics {
		if !used[m] {
			t.Errorf("no panel shows %s", m)
		}
	}
}
