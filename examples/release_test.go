package examples

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"debug/buildinfo"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/google/go-cmp/cmp"
	yaml "go.yaml.in/yaml/v4"
)

const modulePath = "github.com/tajo/terraform-provider-tajo"

// releaseTargets are the platforms both release paths build.
var releaseTargets = []string{"darwin/amd64", "darwin/arm64", "linux/amd64", "linux/arm64"}

type extraFile struct {
	Glob         string `yaml:"glob"`
	NameTemplate string `yaml:"name_template"`
}

// goreleaserConfig models every key .goreleaser.yml uses, so that strict
// decoding rejects a misspelt one.
type goreleaserConfig struct {
	Version     int    `yaml:"version"`
	ProjectName string `yaml:"project_name"`
	Builds      []struct {
		ID           string   `yaml:"id"`
		Main         string   `yaml:"main"`
		Binary       string   `yaml:"binary"`
		Env          []string `yaml:"env"`
		Flags        []string `yaml:"flags"`
		Ldflags      []string `yaml:"ldflags"`
		ModTimestamp string   `yaml:"mod_timestamp"`
		Goos         []string `yaml:"goos"`
		Goarch       []string `yaml:"goarch"`
	} `yaml:"builds"`
	Archives []struct {
		ID           string   `yaml:"id"`
		IDs          []string `yaml:"ids"`
		Formats      []string `yaml:"formats"`
		NameTemplate string   `yaml:"name_template"`
		Files        []string `yaml:"files"`
	} `yaml:"archives"`
	Checksum struct {
		NameTemplate string      `yaml:"name_template"`
		Algorithm    string      `yaml:"algorithm"`
		IDs          []string    `yaml:"ids"`
		ExtraFiles   []extraFile `yaml:"extra_files"`
	} `yaml:"checksum"`
	Signs []struct {
		Artifacts string   `yaml:"artifacts"`
		Args      []string `yaml:"args"`
	} `yaml:"signs"`
	Release struct {
		ExtraFiles []extraFile `yaml:"extra_files"`
	} `yaml:"release"`
	Changelog struct {
		Disable bool `yaml:"disable"`
	} `yaml:"changelog"`
}

func loadGoreleaser(t *testing.T) goreleaserConfig {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(readFile(t, ".goreleaser.yml")))
	dec.KnownFields(true)
	var c goreleaserConfig
	if err := dec.Decode(&c); err != nil {
		t.Fatalf(".goreleaser.yml: %v", err)
	}
	return c
}

// render fills a GoReleaser name template for one target.
func render(t *testing.T, tmpl, project, version, target string) string {
	t.Helper()
	goos, goarch, _ := strings.Cut(target, "/")
	tp, err := template.New("").Option("missingkey=error").Parse(tmpl)
	if err != nil {
		t.Fatalf("template %q: %v", tmpl, err)
	}
	var b strings.Builder
	data := map[string]string{"ProjectName": project, "Version": version, "Os": goos, "Arch": goarch}
	if err := tp.Execute(&b, data); err != nil {
		t.Fatalf("template %q: %v", tmpl, err)
	}
	return b.String()
}

// releaseLayout is what a release of version for targets holds, as
// .goreleaser.yml names it.
type releaseLayout struct {
	archives     map[string]string // archive → the one file in it
	providerSums string            // the registry's checksum file
	manifest     string
	providerSet  []string // what providerSums lists
	agentSet     []string // what SHA256SUMS lists
}

func (l releaseLayout) files() []string {
	files := []string{l.providerSums, l.manifest, "SHA256SUMS"}
	for a := range l.archives {
		files = append(files, a)
	}
	slices.Sort(files)
	return files
}

func layoutFromGoreleaser(t *testing.T, c goreleaserConfig, version string, targets []string) releaseLayout {
	t.Helper()
	binary := map[string]string{} // build id → binary template
	for _, b := range c.Builds {
		binary[b.ID] = b.Binary
	}
	l := releaseLayout{archives: map[string]string{}}
	for _, a := range c.Archives {
		for _, target := range targets {
			name := render(t, a.NameTemplate, c.ProjectName, version, target) + "." + a.Formats[0]
			l.archives[name] = render(t, binary[a.IDs[0]], c.ProjectName, version, target)
			if slices.Equal(a.IDs, c.Checksum.IDs) {
				l.providerSet = append(l.providerSet, name)
			} else {
				l.agentSet = append(l.agentSet, name)
			}
		}
	}
	l.providerSums = render(t, c.Checksum.NameTemplate, c.ProjectName, version, "")
	l.manifest = render(t, c.Checksum.ExtraFiles[0].NameTemplate, c.ProjectName, version, "")
	l.providerSet = append(l.providerSet, l.manifest)
	slices.Sort(l.providerSet)
	slices.Sort(l.agentSet)
	return l
}

func TestGoreleaserConfig(t *testing.T) {
	t.Parallel()
	c := loadGoreleaser(t)
	if c.Version != 2 || c.ProjectName != "terraform-provider-tajo" {
		t.Errorf("version %d, project_name %q: want 2 and terraform-provider-tajo", c.Version, c.ProjectName)
	}

	t.Run("builds", func(t *testing.T) {
		want := map[string]struct{ main, binary string }{
			"provider": {".", "{{ .ProjectName }}_v{{ .Version }}"},
			"agent":    {"./agent/cmd/tajo-agent", "tajo-agent"},
		}
		if len(c.Builds) != len(want) {
			t.Errorf("%d builds, want %d", len(c.Builds), len(want))
		}
		for _, b := range c.Builds {
			w, ok := want[b.ID]
			if !ok {
				t.Errorf("unexpected build %q", b.ID)
				continue
			}
			if b.Main != w.main || b.Binary != w.binary {
				t.Errorf("build %s: main %q binary %q, want %q %q", b.ID, b.Main, b.Binary, w.main, w.binary)
			}
			if !slices.Contains(b.Env, "CGO_ENABLED=0") || !slices.Contains(b.Flags, "-trimpath") {
				t.Errorf("build %s: env %v flags %v, want CGO_ENABLED=0 and -trimpath", b.ID, b.Env, b.Flags)
			}
			if ld := strings.Join(b.Ldflags, " "); !strings.Contains(ld, "-X main.version={{ .Version }}") || !strings.Contains(ld, "-s -w") {
				t.Errorf("build %s: ldflags %q, want -s -w -X main.version={{ .Version }}", b.ID, ld)
			}
			var targets []string
			for _, goos := range b.Goos {
				for _, goarch := range b.Goarch {
					targets = append(targets, goos+"/"+goarch)
				}
			}
			slices.Sort(targets)
			if diff := cmp.Diff(releaseTargets, targets); diff != "" {
				t.Errorf("build %s targets (-want +got)\n%s", b.ID, diff)
			}
		}
	})

	t.Run("archives", func(t *testing.T) {
		type archive struct {
			ids     []string
			format  string
			name    string
			onlyBin bool
		}
		want := map[string]archive{
			"provider": {[]string{"provider"}, "zip", "{{ .ProjectName }}_{{ .Version }}_{{ .Os }}_{{ .Arch }}", true},
			"agent":    {[]string{"agent"}, "tar.gz", "tajo-agent_{{ .Version }}_{{ .Os }}_{{ .Arch }}", true},
		}
		got := map[string]archive{}
		for _, a := range c.Archives {
			if len(a.Formats) != 1 {
				t.Errorf("archive %s: formats %v, want one", a.ID, a.Formats)
				continue
			}
			got[a.ID] = archive{a.IDs, a.Formats[0], a.NameTemplate, slices.Equal(a.Files, []string{"none*"})}
		}
		if diff := cmp.Diff(want, got, cmp.AllowUnexported(archive{})); diff != "" {
			t.Errorf("archives (-want +got)\n%s", diff)
		}
	})

	t.Run("registry files", func(t *testing.T) {
		cs := c.Checksum
		if cs.NameTemplate != "{{ .ProjectName }}_{{ .Version }}_SHA256SUMS" || cs.Algorithm != "sha256" || !slices.Equal(cs.IDs, []string{"provider"}) {
			t.Errorf("checksum %+v: want {{ .ProjectName }}_{{ .Version }}_SHA256SUMS, sha256, ids [provider]", cs)
		}
		wantManifest := extraFile{".ci/release/terraform-registry-manifest.json", "{{ .ProjectName }}_{{ .Version }}_manifest.json"}
		if diff := cmp.Diff([]extraFile{wantManifest}, cs.ExtraFiles); diff != "" {
			t.Errorf("checksum extra_files (-want +got)\n%s", diff)
		}
		if diff := cmp.Diff([]extraFile{wantManifest}, c.Release.ExtraFiles); diff != "" {
			t.Errorf("release extra_files (-want +got)\n%s", diff)
		}
		checkManifest(t, readFile(t, wantManifest.Glob))
		if len(c.Signs) != 1 || c.Signs[0].Artifacts != "checksum" || !slices.Contains(c.Signs[0].Args, "--detach-sign") {
			t.Errorf("signs %+v: want a detached signature of the checksum file", c.Signs)
		}
	})

	t.Run("layout", func(t *testing.T) {
		l := layoutFromGoreleaser(t, c, "1.2.3", []string{"linux/amd64"})
		want := releaseLayout{
			archives: map[string]string{
				"terraform-provider-tajo_1.2.3_linux_amd64.zip": "terraform-provider-tajo_v1.2.3",
				"tajo-agent_1.2.3_linux_amd64.tar.gz":           "tajo-agent",
			},
			providerSums: "terraform-provider-tajo_1.2.3_SHA256SUMS",
			manifest:     "terraform-provider-tajo_1.2.3_manifest.json",
			providerSet:  []string{"terraform-provider-tajo_1.2.3_linux_amd64.zip", "terraform-provider-tajo_1.2.3_manifest.json"},
			agentSet:     []string{"tajo-agent_1.2.3_linux_amd64.tar.gz"},
		}
		if diff := cmp.Diff(want, l, cmp.AllowUnexported(releaseLayout{})); diff != "" {
			t.Errorf("layout (-want +got)\n%s", diff)
		}
	})
}

// checkManifest checks the registry manifest: protocol 6 only.
func checkManifest(t *testing.T, b []byte) {
	t.Helper()
	var m struct {
		Version  int `json:"version"`
		Metadata struct {
			ProtocolVersions []string `json:"protocol_versions"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("registry manifest: %v", err)
	}
	if m.Version != 1 || !slices.Equal(m.Metadata.ProtocolVersions, []string{"6.0"}) {
		t.Errorf("registry manifest %s: want version 1, protocol_versions [\"6.0\"]", b)
	}
}

func TestMakeRelease(t *testing.T) {
	t.Parallel()
	mk := string(readFile(t, "GNUmakefile"))
	var phony []string
	for _, m := range regexp.MustCompile(`(?m)^\.PHONY:(.*)$`).FindAllStringSubmatch(mk, -1) {
		phony = append(phony, strings.Fields(m[1])...)
	}
	if !slices.Contains(phony, "release") {
		t.Errorf("release is not .PHONY (%v)", phony)
	}

	makeBin, err := exec.LookPath("make")
	if err != nil {
		t.Skip("make is not installed")
	}
	cmd := exec.CommandContext(t.Context(), makeBin, "-n", "release", "VERSION=v9.9.9", "RELEASE_TARGETS=linux/amd64")
	cmd.Dir = repoRoot
	// Not the flags of a make that runs these tests (make test).
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		return k == "MAKEFLAGS" || k == "MFLAGS" || k == "MAKELEVEL"
	})
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make -n release: %v\n%s", err, out)
	}
	for _, want := range []string{"go run ./.ci/release -version 'v9.9.9'", "-targets linux/amd64", "SOURCE_DATE_EPOCH="} {
		if !strings.Contains(string(out), want) {
			t.Errorf("make -n release does not run %q:\n%s", want, out)
		}
	}
}

// buildReleaseTool compiles .ci/release, so that its exit codes can be
// checked (go run reports every failure as 1).
func buildReleaseTool(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not on PATH")
	}
	tool := filepath.Join(t.TempDir(), "release")
	cmd := exec.CommandContext(t.Context(), goBin, "build", "-o", tool, "./.ci/release")
	cmd.Dir = repoRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./.ci/release: %v\n%s", err, out)
	}
	return tool
}

// runRelease runs the release tool from the module root.
func runRelease(t *testing.T, tool string, args ...string) (out string, code int) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), tool, args...)
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "SOURCE_DATE_EPOCH=1700000000")
	b, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return string(b), ee.ExitCode()
	case err != nil:
		t.Fatalf("%s: %v\n%s", tool, err, b)
	}
	return string(b), 0
}

// TestRelease builds one target with the release tool and checks the
// archives against the layout .goreleaser.yml describes.
func TestRelease(t *testing.T) {
	if testing.Short() {
		t.Skip("builds both programs")
	}
	t.Parallel()
	// A version no dependency carries, so finding it in a binary means it was stamped.
	const version, target = "9.8.7-test.1", "linux/amd64"
	tool := buildReleaseTool(t)
	dist := filepath.Join(t.TempDir(), "dist")
	out, code := runRelease(t, tool, "-version", "v"+version, "-targets", target, "-out", dist)
	if code != 0 {
		t.Fatalf("release: exit %d\n%s", code, out)
	}
	want := layoutFromGoreleaser(t, loadGoreleaser(t), version, []string{target})

	entries, err := os.ReadDir(dist)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if diff := cmp.Diff(want.files(), got); diff != "" {
		t.Fatalf("dist (-want +got)\n%s", diff)
	}

	mtime := time.Unix(1700000000, 0).UTC()
	binaries := map[string][]byte{}
	for archive, member := range want.archives {
		name, mode, modified, data := readSingleMember(t, filepath.Join(dist, archive))
		if name != member || mode != 0o755 || !modified.Equal(mtime) {
			t.Errorf("%s holds %s (mode %v, time %v), want only %s (0755, %v)", archive, name, mode, modified, member, mtime)
		}
		binaries[member] = data
	}

	t.Run("static binaries with the version", func(t *testing.T) {
		for member, pkg := range map[string]string{
			"terraform-provider-tajo_v" + version: modulePath,
			"tajo-agent":                          modulePath + "/agent/cmd/tajo-agent",
		} {
			checkBinary(t, member, binaries[member], pkg, version)
		}
	})

	t.Run("checksums", func(t *testing.T) {
		for sums, files := range map[string][]string{want.providerSums: want.providerSet, "SHA256SUMS": want.agentSet} {
			b, err := os.ReadFile(filepath.Join(dist, sums))
			if err != nil {
				t.Fatal(err)
			}
			var listed []string
			for line := range strings.Lines(string(b)) {
				sum, file, ok := strings.Cut(strings.TrimSuffix(line, "\n"), "  ")
				if !ok || len(sum) != 64 {
					t.Fatalf("%s: line %q is not sha256sum output", sums, line)
				}
				data, err := os.ReadFile(filepath.Join(dist, file))
				if err != nil {
					t.Fatalf("%s lists %v", sums, err)
				}
				if h := sha256.Sum256(data); hex.EncodeToString(h[:]) != sum {
					t.Errorf("%s: wrong checksum for %s", sums, file)
				}
				listed = append(listed, file)
			}
			if diff := cmp.Diff(files, listed); diff != "" {
				t.Errorf("%s lists (-want +got)\n%s", sums, diff)
			}
		}
		checkManifest(t, must(os.ReadFile(filepath.Join(dist, want.manifest))))
	})

	t.Run("agent prints its version", func(t *testing.T) {
		if runtime.GOOS+"/"+runtime.GOARCH != target {
			t.Skipf("a %s binary does not run on %s/%s", target, runtime.GOOS, runtime.GOARCH)
		}
		bin := filepath.Join(t.TempDir(), "tajo-agent")
		if err := os.WriteFile(bin, binaries["tajo-agent"], 0o755); err != nil {
			t.Fatal(err)
		}
		out, err := exec.CommandContext(t.Context(), bin, "version").CombinedOutput()
		if err != nil || !strings.HasPrefix(string(out), "tajo-agent "+version+" ") {
			t.Errorf("tajo-agent version: %v %q, want tajo-agent %s …", err, out, version)
		}
	})

	t.Run("terraform installs the provider zip", func(t *testing.T) {
		if runtime.GOOS+"/"+runtime.GOARCH != target {
			t.Skipf("a %s provider does not run on %s/%s", target, runtime.GOOS, runtime.GOARCH)
		}
		tf, err := exec.LookPath("terraform")
		if err != nil {
			t.Skip("terraform is not installed")
		}
		// A filesystem mirror in the packed layout takes the registry's zip as is.
		tmp := t.TempDir()
		mirror := filepath.Join(tmp, "mirror", "registry.terraform.io", "tajo", "tajo")
		work := filepath.Join(tmp, "work")
		zipName := "terraform-provider-tajo_" + version + "_linux_amd64.zip"
		for _, d := range []string{mirror, work} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		files := map[string]string{
			filepath.Join(mirror, zipName): string(must(os.ReadFile(filepath.Join(dist, zipName)))),
			filepath.Join(tmp, "terraformrc"): `provider_installation {
  filesystem_mirror {
    path    = "` + filepath.Join(tmp, "mirror") + `"
    include = ["tajo/tajo"]
  }
}
`,
			filepath.Join(work, "main.tf"): `terraform {
  required_providers {
    tajo = { source = "tajo/tajo", version = "` + version + `" }
  }
}
`,
		}
		for path, content := range files {
			if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		env := slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "TF_") })
		env = append(env, "TF_CLI_CONFIG_FILE="+filepath.Join(tmp, "terraformrc"), "TF_IN_AUTOMATION=1")
		for _, args := range [][]string{{"init", "-input=false", "-no-color"}, {"providers", "schema", "-json"}} {
			cmd := exec.CommandContext(t.Context(), tf, args...)
			cmd.Dir, cmd.Env = work, env
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("terraform %s: %v\n%s", strings.Join(args, " "), err, out)
			}
			if args[0] == "providers" && !bytes.Contains(out, []byte(`"registry.terraform.io/tajo/tajo"`)) {
				t.Errorf("terraform providers schema: no tajo provider in\n%.500s", out)
			}
		}
	})

	t.Run("refuses", func(t *testing.T) {
		for _, tt := range []struct {
			name     string
			args     []string
			wantCode int
			wantOut  string
		}{
			{"a non-empty output directory", []string{"-version", version, "-targets", target, "-out", dist}, 1, "is not empty"},
			{"no version", []string{"-targets", target, "-out", filepath.Join(t.TempDir(), "d")}, 2, "-version: is required"},
			{"an unsafe version", []string{"-version", "1.0/../x", "-out", filepath.Join(t.TempDir(), "d")}, 2, "-version:"},
			{"a malformed target", []string{"-version", "1.0.0", "-targets", "linux", "-out", filepath.Join(t.TempDir(), "d")}, 2, "-targets:"},
		} {
			out, code := runRelease(t, tool, tt.args...)
			if code != tt.wantCode || !strings.Contains(out, tt.wantOut) {
				t.Errorf("%s: exit %d %q, want exit %d with %q", tt.name, code, out, tt.wantCode, tt.wantOut)
			}
		}
	})
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// readSingleMember opens a .zip or .tar.gz archive that must hold exactly
// one regular file and returns it.
func readSingleMember(t *testing.T, path string) (name string, mode os.FileMode, modified time.Time, data []byte) {
	t.Helper()
	switch {
	case strings.HasSuffix(path, ".zip"):
		zr, err := zip.OpenReader(path)
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		if len(zr.File) != 1 {
			t.Fatalf("%s: %d members, want 1", path, len(zr.File))
		}
		f := zr.File[0]
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		return f.Name, f.Mode(), f.Modified.UTC(), must(io.ReadAll(rc))
	case strings.HasSuffix(path, ".tar.gz"):
		gz, err := gzip.NewReader(bytes.NewReader(must(os.ReadFile(path))))
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(gz)
		h, err := tr.Next()
		if err != nil {
			t.Fatal(err)
		}
		data := must(io.ReadAll(tr))
		if _, err := tr.Next(); !errors.Is(err, io.EOF) {
			t.Fatalf("%s: more than one member (%v)", path, err)
		}
		if h.Typeflag != tar.TypeReg {
			t.Fatalf("%s: %s is not a regular file", path, h.Name)
		}
		return h.Name, h.FileInfo().Mode(), h.ModTime.UTC(), data
	}
	t.Fatalf("%s: unknown archive type", path)
	return
}

// checkBinary checks that data is a static linux/amd64 build of pkg with
// the release flags and version stamped.
func checkBinary(t *testing.T, name string, data []byte, pkg, version string) {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if f.Machine != elf.EM_X86_64 {
		t.Errorf("%s: machine %v, want x86-64", name, f.Machine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s: dynamically linked (has an interpreter); want a static binary", name)
		}
	}
	bi, err := buildinfo.Read(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if bi.Path != pkg {
		t.Errorf("%s: built from %s, want %s", name, bi.Path, pkg)
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	for k, v := range map[string]string{"CGO_ENABLED": "0", "-trimpath": "true", "GOOS": "linux", "GOARCH": "amd64"} {
		if settings[k] != v {
			t.Errorf("%s: build setting %s = %q, want %q", name, k, settings[k], v)
		}
	}
	// Build info leaves -ldflags out under -trimpath: look for the string itself.
	if !bytes.Contains(data, []byte(version)) {
		t.Errorf("%s: version %s is not stamped (-X main.version)", name, version)
	}
}
