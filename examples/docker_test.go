package examples

import (
	"bufio"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// dockerInstruction is one instruction of a Dockerfile, continuation lines
// joined.
type dockerInstruction struct {
	cmd  string // upper case
	args string
	line int
}

// parseDockerfile splits a Dockerfile into instructions; parser directives
// (# syntax=…) and comments are dropped.
func parseDockerfile(src string) ([]dockerInstruction, error) {
	var (
		out  []dockerInstruction
		cur  strings.Builder
		from int
	)
	sc := bufio.NewScanner(strings.NewReader(src))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") || (line == "" && cur.Len() == 0) {
			continue
		}
		if cur.Len() == 0 {
			from = n
		}
		if l, ok := strings.CutSuffix(line, `\`); ok {
			cur.WriteString(l + " ")
			continue
		}
		cur.WriteString(line)
		cmd, args, _ := strings.Cut(strings.TrimSpace(cur.String()), " ")
		if cmd == "" || strings.ToUpper(cmd) != cmd {
			return nil, fmt.Errorf("line %d: %q is not an instruction", from, cmd)
		}
		out = append(out, dockerInstruction{cmd: cmd, args: strings.TrimSpace(args), line: from})
		cur.Reset()
	}
	if cur.Len() > 0 {
		return nil, fmt.Errorf("line %d: continuation at the end of the file", from)
	}
	return out, sc.Err()
}

func TestDockerfile(t *testing.T) {
	t.Parallel()
	src := string(readFile(t, "examples/docker/Dockerfile"))
	if !strings.HasPrefix(src, "# syntax=docker/dockerfile:1\n") {
		t.Errorf("want the # syntax=docker/dockerfile:1 directive first: the build uses RUN --mount")
	}
	instrs, err := parseDockerfile(src)
	if err != nil {
		t.Fatal(err)
	}

	// Split into stages; ARGs before the first FROM are global.
	type stage struct {
		from   string
		instrs []dockerInstruction
	}
	var stages []stage
	globalArgs := map[string]string{}
	for _, in := range instrs {
		switch {
		case in.cmd == "FROM":
			stages = append(stages, stage{from: in.args})
		case len(stages) == 0 && in.cmd == "ARG":
			k, v, _ := strings.Cut(in.args, "=")
			globalArgs[k] = v
		case len(stages) == 0:
			t.Fatalf("line %d: %s before the first FROM", in.line, in.cmd)
		default:
			stages[len(stages)-1].instrs = append(stages[len(stages)-1].instrs, in)
		}
	}
	if len(stages) < 2 {
		t.Fatalf("%d stages, want a multi-stage build", len(stages))
	}
	build, final := stages[0], stages[len(stages)-1]

	t.Run("builder", func(t *testing.T) {
		if !regexp.MustCompile(`(^|\s)golang:\$\{GO_VERSION\}\s+AS\s+build$`).MatchString(build.from) {
			t.Errorf("builder FROM %q, want golang:${GO_VERSION} AS build", build.from)
		}
		// The builder's Go is the one go.mod asks for (major.minor).
		goMod := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(readFile(t, "go.mod"))
		if goMod == nil || globalArgs["GO_VERSION"] != string(goMod[1]) {
			t.Errorf("ARG GO_VERSION=%q, want go.mod's %s", globalArgs["GO_VERSION"], goMod[1])
		}
		var run string
		for _, in := range build.instrs {
			if in.cmd == "RUN" && strings.Contains(in.args, "go build") {
				run = in.args
			}
		}
		for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-X main.version=", "./agent/cmd/tajo-agent", "-o /out/tajo-agent"} {
			if !strings.Contains(run, want) {
				t.Errorf("go build step %q lacks %q", run, want)
			}
		}
	})

	t.Run("final image", func(t *testing.T) {
		if final.from != "gcr.io/distroless/static-debian12:nonroot" {
			t.Errorf("final FROM %q, want gcr.io/distroless/static-debian12:nonroot", final.from)
		}
		last := map[string]string{}
		var copies []string
		for _, in := range final.instrs {
			last[in.cmd] = in.args
			if in.cmd == "COPY" {
				copies = append(copies, in.args)
			}
			if in.cmd == "RUN" {
				t.Errorf("line %d: RUN in the final stage: distroless has no shell", in.line)
			}
		}
		if u := last["USER"]; u == "" || strings.HasPrefix(u, "root") || strings.HasPrefix(u, "0") {
			t.Errorf("USER %q, want a non-root user", u)
		}
		if last["EXPOSE"] != "8080" {
			t.Errorf("EXPOSE %q, want 8080", last["EXPOSE"])
		}
		var entrypoint, cmd []string
		for _, x := range []struct {
			instr string
			dst   *[]string
		}{{"ENTRYPOINT", &entrypoint}, {"CMD", &cmd}} {
			if err := json.Unmarshal([]byte(last[x.instr]), x.dst); err != nil {
				t.Errorf("%s %q: want the JSON (exec) form: %v", x.instr, last[x.instr], err)
			}
		}
		if diff := cmp.Diff([]string{"/tajo-agent"}, entrypoint); diff != "" {
			t.Errorf("ENTRYPOINT (-want +got)\n%s", diff)
		}
		if diff := cmp.Diff([]string{"run", "--listen", ":8080", "--log-format", "json"}, cmd); diff != "" {
			t.Errorf("CMD (-want +got)\n%s", diff)
		}
		if !slices.Contains(copies, "--from=build /out/tajo-agent /tajo-agent") {
			t.Errorf("COPY %q: want the binary from the build stage at /tajo-agent", copies)
		}
	})

	t.Run("dockerignore", func(t *testing.T) {
		ignored := map[string]bool{}
		for l := range strings.Lines(string(readFile(t, "examples/docker/Dockerfile.dockerignore"))) {
			ignored[strings.TrimSpace(l)] = true
		}
		for _, p := range []string{".git", "bin", "dist", ".tmp"} {
			if !ignored[p] {
				t.Errorf("Dockerfile.dockerignore does not exclude %s from the build context", p)
			}
		}
	})
}
