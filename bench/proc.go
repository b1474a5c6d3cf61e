package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// binaries are the programs the scenarios run as separate processes.
type binaries struct {
	Agent, Provider string
}

// build compiles both programs the way `make build` ships them (static,
// trimmed) into dir.
func build(ctx context.Context, dir string) (binaries, error) {
	b := binaries{Agent: filepath.Join(dir, "tajo-agent"), Provider: filepath.Join(dir, "terraform-provider-tajo")}
	for _, x := range []struct{ out, pkg string }{{b.Agent, "./agent/cmd/tajo-agent"}, {b.Provider, "."}} {
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w -X main.version=bench", "-o", x.out, x.pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return b, fmt.Errorf("go build %s: %w\n%s", x.pkg, err, out)
		}
	}
	return b, nil
}

// lockedBuffer collects a process's output.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// proc is a child process whose peak resident set is followed.
type proc struct {
	cmd    *exec.Cmd
	out    *lockedBuffer
	start  time.Time
	done   chan struct{}
	err    error
	wall   time.Duration
	mu     sync.Mutex
	hwmKiB int64 // highest VmHWM read from /proc/<pid>/status
}

// procLogs, when set, is a directory where every process's output is
// also written (bench -keep leaves it in the scratch directory).
var procLogs string

var procSeq atomic.Int64

// Niceness of the processes a scenario starts: the scale scenario's run
// in the background of the others (see main) and yield the CPU to them.
const (
	foreground = 0
	background = 10
)

// startProc starts bin with args and env (added to this process's
// environment) at the given niceness, and samples its VmHWM (the kernel's
// high-water mark of the resident set, which keeps a peak between two
// samples) every 50 ms until it exits.
func startProc(ctx context.Context, nice int, bin string, env []string, args ...string) (*proc, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	if nice != 0 {
		// nice(1) sets the priority before exec, so that every thread of
		// the program inherits it (Linux keeps one per thread).
		cmd = exec.CommandContext(ctx, "nice", append([]string{"-n", strconv.Itoa(nice), bin}, args...)...)
	}
	cmd.Env = append(os.Environ(), env...)
	p := &proc{cmd: cmd, out: &lockedBuffer{}, done: make(chan struct{})}
	var w io.Writer = p.out
	if procLogs != "" {
		name := fmt.Sprintf("%02d-%s-%s.log", procSeq.Add(1), filepath.Base(bin), args[0])
		if f, err := os.Create(filepath.Join(procLogs, name)); err == nil {
			w = io.MultiWriter(p.out, f)
			defer func() {
				go func() { <-p.done; f.Close() }()
			}()
		}
	}
	cmd.Stdout, cmd.Stderr = w, w
	// SIGTERM first when ctx ends: the agent stops cleanly on it.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 20 * time.Second
	p.start = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	status := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
	go func() {
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			if kib, ok := readHWM(status); ok {
				p.mu.Lock()
				p.hwmKiB = max(p.hwmKiB, kib)
				p.mu.Unlock()
			}
			select {
			case <-p.done:
				return
			case <-t.C:
			}
		}
	}()
	go func() {
		p.err = cmd.Wait()
		p.wall = time.Since(p.start)
		close(p.done)
	}()
	return p, nil
}

// readHWM reads VmHWM (peak resident set, KiB) from a status file.
func readHWM(path string) (int64, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			fs := strings.Fields(rest)
			if len(fs) == 0 {
				return 0, false
			}
			n, err := strconv.ParseInt(fs[0], 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// wait waits for the process and returns its error.
func (p *proc) wait() error {
	<-p.done
	return p.err
}

// stop asks the process to stop (SIGTERM) and waits, killing it after
// grace.
func (p *proc) stop(grace time.Duration) error {
	select {
	case <-p.done:
		return p.err
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	return p.err
}

// peakMiB is the process's peak resident set in MiB: the last VmHWM
// read. (Not the rusage ru_maxrss of wait4: Linux carries into it the
// parent's high-water mark from before exec, which here is the bench
// process holding a sandbox.)
func (p *proc) peakMiB() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return float64(p.hwmKiB) / 1024
}

// errStopped is runAgent's error when the command ran out of time.
var errStopped = errors.New("still running; stopped")

// runAgent runs one agent command to completion; after timeout it is
// stopped (SIGTERM, then SIGKILL) and reported as an error.
func runAgent(ctx context.Context, nice int, timeout time.Duration, bin string, env []string, args ...string) (*proc, error) {
	p, err := startProc(ctx, nice, bin, env, args...)
	if err != nil {
		return nil, err
	}
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.stop(45 * time.Second)
		return p, fmt.Errorf("tajo-agent %s: %w after %s\n%s", strings.Join(args, " "), errStopped, timeout, tail(p.out.String(), 3000))
	}
	if err := p.wait(); err != nil {
		return p, fmt.Errorf("tajo-agent %s: %w\n%s", strings.Join(args, " "), err, tail(p.out.String(), 3000))
	}
	return p, nil
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// sandboxInfo is what `tajo-agent sandbox --ready-file` writes.
type sandboxInfo struct {
	IntercomURL          string `json:"IntercomURL"`
	BrevoURL             string `json:"BrevoURL"`
	IntercomToken        string `json:"IntercomToken"`
	BrevoAPIKey          string `json:"BrevoAPIKey"`
	IntercomClientSecret string `json:"IntercomClientSecret"`
	Contacts             int    `json:"contacts"`
	WithEmail            int    `json:"contacts_with_email"`
	Companies            int    `json:"companies"`
}

// startSandbox runs `tajo-agent sandbox` in its own process and waits
// until it listens.
func startSandbox(ctx context.Context, nice int, bin, dir string, args ...string) (*proc, sandboxInfo, error) {
	ready := filepath.Join(dir, "sandbox-ready.json")
	_ = os.Remove(ready)
	p, err := startProc(ctx, nice, bin, nil, append([]string{"sandbox", "--listen", "127.0.0.1:0", "--ready-file", ready}, args...)...)
	if err != nil {
		return nil, sandboxInfo{}, err
	}
	var info sandboxInfo
	deadline := time.Now().Add(5 * time.Minute)
	for {
		if b, err := os.ReadFile(ready); err == nil && len(b) > 0 {
			if err := json.Unmarshal(b, &info); err == nil {
				return p, info, nil
			}
		}
		select {
		case <-p.done:
			return nil, info, fmt.Errorf("sandbox exited: %v\n%s", p.err, tail(p.out.String(), 2000))
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.stop(5 * time.Second)
			return nil, info, errors.New("sandbox not ready after 5 minutes")
		}
	}
}
