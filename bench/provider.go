package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// scenarioProvider is scenario 6: `terraform plan` (refresh and plan of an
// unchanged, applied configuration) of N tajo_* resources against N
// terraform_data resources, in the same run, with the provider just built
// (dev_overrides, no terraform init).
func (r *runner) scenarioProvider(ctx context.Context) Scenario {
	n := r.sz.providerResources
	s := Scenario{Name: "provider", Title: fmt.Sprintf("terraform plan of %d tajo_* resources vs %d terraform_data", n, n),
		Params: map[string]any{"resources": n, "repetitions": r.sz.providerReps, "store": "sqlite", "parallelism": 10}}
	tf, err := exec.LookPath("terraform")
	if err != nil {
		s.Error = "terraform not on PATH"
		return s
	}
	base := filepath.Join(r.tmp, "provider")
	rc := filepath.Join(base, "terraformrc")
	tajoDir, dataDir := filepath.Join(base, "tajo"), filepath.Join(base, "data")
	for _, d := range []string{tajoDir, dataDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			s.Error = err.Error()
			return s
		}
	}
	rcText := fmt.Sprintf("provider_installation {\n  dev_overrides {\n    \"tajo/tajo\" = %q\n  }\n  direct {}\n}\n", filepath.Dir(r.bin.Provider))
	files := map[string]string{
		rc:                                rcText,
		filepath.Join(tajoDir, "main.tf"): tajoConfig(n, "sqlite://"+filepath.Join(base, "tajo.db")),
		filepath.Join(dataDir, "main.tf"): dataConfig(n),
	}
	for path, text := range files {
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			s.Error = err.Error()
			return s
		}
	}
	env := append(os.Environ(), "TF_CLI_CONFIG_FILE="+rc, "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1", "TF_INPUT=0")
	tfRun := func(dir string, args ...string) (time.Duration, string, error) {
		cmd := exec.CommandContext(ctx, tf, args...)
		cmd.Dir, cmd.Env = dir, env
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		start := time.Now()
		err := cmd.Run()
		return time.Since(start), out.String(), err
	}
	for _, d := range []struct{ name, dir string }{{"tajo", tajoDir}, {"terraform_data", dataDir}} {
		r.logf("provider: terraform apply of %d %s resources…", n, d.name)
		took, out, err := tfRun(d.dir, "apply", "-auto-approve", "-no-color")
		if err != nil {
			s.Error = fmt.Sprintf("terraform apply (%s): %v\n%s", d.name, err, tail(out, 3000))
			return s
		}
		s.info("apply time, "+d.name, took.Seconds(), "s", "create from empty, informational")
	}
	var tajo, data []float64
	for i := range r.sz.providerReps {
		for _, d := range []struct {
			dir   string
			times *[]float64
		}{{tajoDir, &tajo}, {dataDir, &data}} {
			took, out, err := tfRun(d.dir, "plan", "-detailed-exitcode", "-no-color")
			var ee *exec.ExitError
			if errors.As(err, &ee) && ee.ExitCode() == 2 {
				s.Error = fmt.Sprintf("plan after apply is not empty (repetition %d):\n%s", i+1, tail(out, 3000))
				return s
			}
			if err != nil {
				s.Error = fmt.Sprintf("terraform plan: %v\n%s", err, tail(out, 3000))
				return s
			}
			*d.times = append(*d.times, took.Seconds())
		}
	}
	mt, md := median(tajo), median(data)
	s.info("plan time, tajo_*", mt, "s", fmt.Sprintf("median of %d: %s", len(tajo), seconds(tajo)))
	s.info("plan time, terraform_data", md, "s", fmt.Sprintf("median of %d: %s", len(data), seconds(data)))
	s.check("plan time tajo_* / terraform_data", mt/md, "×", "<=", 1.5, "refresh + plan of an unchanged configuration; plans empty")
	return s
}

// tajoConfig declares n tajo_* resources in the proportions of a real
// setup: per connector 30 field mappings, 15 list assignments and 4
// webhook subscriptions (50 resources per connector).
func tajoConfig(n int, storeURL string) string {
	connectors := max(1, n/50)
	mappings, lists := 30*connectors, 15*connectors
	hooks := n - connectors - mappings - lists
	return fmt.Sprintf(`terraform {
  required_providers {
    tajo = { source = "tajo/tajo" }
  }
}

provider "tajo" {
  store = %q
}

resource "tajo_connector" "c" {
  count = %d
  name  = "c${count.index}"
  intercom = {
    access_token = "env:INTERCOM_ACCESS_TOKEN"
    plan         = "premium"
  }
  brevo = {
    api_key = "env:BREVO_API_KEY"
  }
}

resource "tajo_field_mapping" "m" {
  count        = %d
  connector_id = tajo_connector.c[count.index %% %d].id
  source       = "custom_attributes.attr_${floor(count.index / %d)}"
  target       = "ATTR_${floor(count.index / %d)}"
  type         = "text"
}

resource "tajo_list_assignment" "l" {
  count        = %d
  connector_id = tajo_connector.c[count.index %% %d].id
  list_id      = 100 + floor(count.index / %d)
  rule         = "tag:t${floor(count.index / %d)}"
}

resource "tajo_webhook_subscription" "w" {
  count        = %d
  connector_id = tajo_connector.c[count.index %% %d].id
  source       = "intercom"
  topics       = ["contact.user.created", "contact.user.updated"]
  secret       = "env:INTERCOM_CLIENT_SECRET"
  path         = "/webhooks/c${count.index %% %d}/h${floor(count.index / %d)}"
}
`, storeURL, connectors, mappings, connectors, connectors, connectors, lists, connectors, connectors, connectors,
		hooks, connectors, connectors, connectors)
}

func dataConfig(n int) string {
	return fmt.Sprintf(`resource "terraform_data" "d" {
  count = %d
  input = {
    name  = "d${count.index}"
    value = "some value"
  }
}
`, n)
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func seconds(xs []float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprintf("%.2f", x)
	}
	return strings.Join(parts, ", ") + " s"
}
