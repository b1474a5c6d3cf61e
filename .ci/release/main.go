// Command release builds the release archives of terraform-provider-tajo and
// tajo-agent: static binaries for every target, the provider in the layout the
// Terraform registry expects and the agent as tarballs, each set with its
// SHA256SUMS file.
//
// Run it from the module root (make release does):
//
//	go run ./.ci/release -version v1.2.3 -out dist
//
// It needs only the Go toolchain: the archives are written with archive/zip
// and archive/tar, so zip and tar need not be installed. Builds go through
// the ordinary build cache, so only the link step runs again for a new
// version. The layout matches .goreleaser.yml.
package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

const (
	modulePath   = "github.com/tajo/terraform-provider-tajo"
	providerName = "terraform-provider-tajo" // also the binary `go build .` writes
	agentName    = "tajo-agent"
	agentPkg     = "./agent/cmd/tajo-agent"
)

// registryManifest is published as terraform-provider-tajo_<version>_manifest.json.
// .goreleaser.yml publishes the same file.
//
//go:embed terraform-registry-manifest.json
var registryManifest []byte

var defaultTargets = "linux/amd64,linux/arm64,darwin/amd64,darwin/arm64"

var (
	// safeVersionRE keeps versions usable in file names.
	safeVersionRE = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z.+_-]*$`)
	// semverRE is the grammar of semver.org, which the Terraform registry requires.
	semverRE = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)` +
		`(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?` +
		`(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$`)
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// target is one GOOS/GOARCH pair.
type target struct{ os, arch string }

func (t target) String() string { return t.os + "/" + t.arch }

// release is one run of the tool.
type release struct {
	version string // without a leading "v", as in the file names
	out     string // absolute
	work    string // scratch directory for the binaries
	targets []target
	jobs    int
	goCmd   string
	mtime   time.Time // of every archive member, for reproducible archives
	stdout  io.Writer
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("release", flag.ContinueOnError)
	fs.SetOutput(stderr)
	version := fs.String("version", "", "release version, e.g. v1.2.3 (a leading v is dropped from file names and the stamped version)")
	out := fs.String("out", "dist", "directory for the archives; it must not exist or be empty")
	targets := fs.String("targets", defaultTargets, "comma-separated GOOS/GOARCH pairs")
	jobs := fs.Int("jobs", min(runtime.NumCPU(), 4), "targets built at the same time")
	goCmd := fs.String("go", "go", "the go command")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	fail := func(code int, format string, args ...any) int {
		fmt.Fprintf(stderr, "release: "+format+"\n", args...)
		return code
	}
	if fs.NArg() > 0 {
		return fail(exitUsage, "unexpected arguments %q", fs.Args())
	}

	r := &release{goCmd: *goCmd, jobs: max(*jobs, 1), stdout: stdout}
	var err error
	if r.version, err = normalizeVersion(*version); err != nil {
		return fail(exitUsage, "-version: %v", err)
	}
	if !semverRE.MatchString(r.version) {
		fmt.Fprintf(stderr, "release: warning: version %q is not a semantic version; the Terraform registry "+
			"only accepts MAJOR.MINOR.PATCH[-PRERELEASE] (tag the commit, e.g. git tag v0.1.0)\n", r.version)
	}
	if r.targets, err = parseTargets(*targets); err != nil {
		return fail(exitUsage, "-targets: %v", err)
	}
	if r.mtime, err = archiveTime(os.Getenv("SOURCE_DATE_EPOCH"), time.Now()); err != nil {
		return fail(exitUsage, "SOURCE_DATE_EPOCH: %v", err)
	}
	if err := checkModuleRoot("."); err != nil {
		return fail(exitUsage, "%v", err)
	}
	if r.out, err = prepareOut(*out); err != nil {
		return fail(exitError, "%v", err)
	}
	if r.work, err = os.MkdirTemp("", "tajo-release-"); err != nil {
		return fail(exitError, "%v", err)
	}
	defer os.RemoveAll(r.work)

	start := time.Now()
	if err := r.buildAll(ctx); err != nil {
		return fail(exitError, "%v", err)
	}
	if err := r.finish(); err != nil {
		return fail(exitError, "%v", err)
	}
	if err := r.list(); err != nil {
		return fail(exitError, "%v", err)
	}
	fmt.Fprintf(stdout, "release %s: %d targets in %s\n", r.version, len(r.targets), time.Since(start).Round(100*time.Millisecond))
	return exitOK
}

// normalizeVersion drops the leading "v" of a git tag: the registry's file
// names and goreleaser's {{.Version}} have none.
func normalizeVersion(v string) (string, error) {
	v = strings.TrimPrefix(strings.TrimSpace(v), "v")
	switch {
	case v == "":
		return "", errors.New("is required, e.g. -version v1.2.3 (make release passes git describe)")
	case !safeVersionRE.MatchString(v):
		return "", fmt.Errorf("%q: use letters, digits and . + _ - only", v)
	}
	return v, nil
}

func parseTargets(s string) ([]target, error) {
	var ts []target
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		goos, goarch, ok := strings.Cut(f, "/")
		if !ok || goos == "" || goarch == "" || strings.Contains(goarch, "/") {
			return nil, fmt.Errorf("%q: want GOOS/GOARCH, e.g. linux/amd64", f)
		}
		t := target{goos, goarch}
		if slices.Contains(ts, t) {
			return nil, fmt.Errorf("%s is listed twice", t)
		}
		ts = append(ts, t)
	}
	return ts, nil
}

// archiveTime is the modification time written into the archives:
// SOURCE_DATE_EPOCH when set (reproducible builds), now otherwise. Zip cannot
// go before 1980.
func archiveTime(epoch string, now time.Time) (time.Time, error) {
	t := now
	if epoch != "" {
		sec, err := strconv.ParseInt(epoch, 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("%q is not a number of seconds", epoch)
		}
		t = time.Unix(sec, 0)
	}
	if floor := time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC); t.Before(floor) {
		t = floor
	}
	return t.UTC().Truncate(time.Second), nil
}

func checkModuleRoot(dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err == nil && regexp.MustCompile(`(?m)^module\s+`+regexp.QuoteMeta(modulePath)+`\s*$`).Match(b) {
		return nil
	}
	return fmt.Errorf("run from the root of %s (the directory with its go.mod)", modulePath)
}

// prepareOut creates dir, refusing one with files in it: the tool never
// deletes what it did not write.
func prepareOut(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	entries, err := os.ReadDir(abs)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return abs, os.MkdirAll(abs, 0o755)
	case err != nil:
		return "", err
	case len(entries) > 0:
		return "", fmt.Errorf("%s is not empty: remove it first (make release does)", abs)
	}
	return abs, nil
}

// buildAll builds and archives every target, r.jobs at a time.
func (r *release) buildAll(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		sem  = make(chan struct{}, r.jobs)
	)
	for _, t := range r.targets {
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-sem }()
			// A cancelled build is no news: another one failed, or the user
			// interrupted (reported below).
			if err := r.buildTarget(ctx, t); err != nil && !errors.Is(err, context.Canceled) {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				cancel() // the release is incomplete anyway
			}
		})
	}
	wg.Wait()
	if len(errs) == 0 && ctx.Err() != nil {
		return ctx.Err()
	}
	return errors.Join(errs...)
}

// buildTarget builds both programs for t in one go build (they share most
// packages) and archives them.
func (r *release) buildTarget(ctx context.Context, t target) error {
	start := time.Now()
	bin := filepath.Join(r.work, t.os+"_"+t.arch)
	ldflags := "-s -w -X main.version=" + r.version
	cmd := exec.CommandContext(ctx, r.goCmd, "build", "-trimpath", "-ldflags", ldflags,
		"-o", bin+string(filepath.Separator), ".", agentPkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+t.os, "GOARCH="+t.arch)
	if out, err := cmd.CombinedOutput(); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("build %s: %w", t, ctx.Err())
		}
		return fmt.Errorf("build %s: %v\n%s", t, err, out)
	}

	zipName := fmt.Sprintf("%s_%s_%s_%s.zip", providerName, r.version, t.os, t.arch)
	if err := writeZip(filepath.Join(r.out, zipName), providerName+"_v"+r.version,
		filepath.Join(bin, providerName), r.mtime); err != nil {
		return fmt.Errorf("archive %s: %w", t, err)
	}
	tarName := fmt.Sprintf("%s_%s_%s_%s.tar.gz", agentName, r.version, t.os, t.arch)
	if err := writeTarGz(filepath.Join(r.out, tarName), agentName,
		filepath.Join(bin, agentName), r.mtime); err != nil {
		return fmt.Errorf("archive %s: %w", t, err)
	}
	fmt.Fprintf(r.stdout, "built %s in %s\n", t, time.Since(start).Round(100*time.Millisecond))
	return nil
}

// finish writes the registry manifest and the checksum files.
func (r *release) finish() error {
	manifest := fmt.Sprintf("%s_%s_manifest.json", providerName, r.version)
	if err := os.WriteFile(filepath.Join(r.out, manifest), registryManifest, 0o644); err != nil {
		return err
	}
	provider := []string{manifest}
	var agent []string
	for _, t := range r.targets {
		provider = append(provider, fmt.Sprintf("%s_%s_%s_%s.zip", providerName, r.version, t.os, t.arch))
		agent = append(agent, fmt.Sprintf("%s_%s_%s_%s.tar.gz", agentName, r.version, t.os, t.arch))
	}
	// The registry verifies the provider's zips and manifest against this
	// file (and its detached signature, made by the release pipeline).
	if err := writeSums(r.out, fmt.Sprintf("%s_%s_SHA256SUMS", providerName, r.version), provider); err != nil {
		return err
	}
	return writeSums(r.out, "SHA256SUMS", agent)
}

func (r *release) list() error {
	entries, err := os.ReadDir(r.out)
	if err != nil {
		return err
	}
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(r.stdout, "  %-60s %8.1f MiB\n", filepath.Join(filepath.Base(r.out), e.Name()), float64(fi.Size())/(1<<20))
	}
	return nil
}
