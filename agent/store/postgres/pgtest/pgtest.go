// Package pgtest gives tests a fresh PostgreSQL database each. The first
// test that asks starts one throwaway cluster for the whole test binary
// (initdb into a temporary directory, a server on a unix socket and a free
// loopback port); every test gets a database of its own in it:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) } // stops the cluster at the end
//
//	func TestX(t *testing.T) {
//		url := pgtest.NewURL(t) // postgres://tajo:…@127.0.0.1:PORT/t_testx_1?sslmode=disable
//		…
//	}
//
// The server binaries (initdb, postgres) come from PATH, else from the
// newest /usr/lib/postgresql/*/bin, or from the directory in
// TAJO_PG_BINDIR. Without them the tests are skipped, or fail when
// TAJO_REQUIRE_POSTGRES=1 (CI sets it). TAJO_TEST_POSTGRES_URL points the
// tests at an existing server instead (a superuser URL; databases are
// created there and dropped after each test).
//
// PostgreSQL refuses to run as root: as root, the cluster runs as the
// user named in TAJO_PGTEST_USER, else "postgres" (created by Debian's
// postgresql packages), else "nobody".
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Environment variables the package reads.
const (
	// RequireEnv set to 1 turns "no PostgreSQL here" from a skip into a
	// failure.
	RequireEnv = "TAJO_REQUIRE_POSTGRES"
	// URLEnv names an existing server to use instead of starting one.
	URLEnv = "TAJO_TEST_POSTGRES_URL"
	// BinDirEnv names the directory of initdb and postgres.
	BinDirEnv = "TAJO_PG_BINDIR"
	// UserEnv names the user the cluster runs as when the tests run as
	// root.
	UserEnv = "TAJO_PGTEST_USER"
)

// Role is the login role of the URLs NewURL returns: not a superuser, the
// owner of its database, as a store's role would be in production.
const Role = "tajo"

// ErrNoPostgres means the server binaries are not installed.
var ErrNoPostgres = errors.New("PostgreSQL server binaries (initdb, postgres) not found")

var shared struct {
	once    sync.Once
	cluster *Cluster
	err     error
}

var seq atomic.Int64

// Main runs the tests of a package and stops the shared cluster, if one
// was started, before the binary exits. Call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if shared.cluster != nil {
		if err := shared.cluster.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: stop PostgreSQL: %v\n", err)
		}
	}
	os.Exit(code)
}

// Shared returns the cluster of the test binary, starting it on first
// use. It skips t (fails it with TAJO_REQUIRE_POSTGRES=1) when PostgreSQL
// is not installed.
func Shared(t testing.TB) *Cluster {
	t.Helper()
	shared.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if admin := os.Getenv(URLEnv); admin != "" {
			shared.cluster, shared.err = Attach(ctx, admin)
			return
		}
		shared.cluster, shared.err = Start(ctx)
	})
	switch {
	case errors.Is(shared.err, ErrNoPostgres):
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("%v; %s=1 requires them: install PostgreSQL (Debian: apt-get install postgresql) or set %s", shared.err, RequireEnv, BinDirEnv)
		}
		t.Skipf("%v; install PostgreSQL (Debian: apt-get install postgresql) to run this test", shared.err)
	case shared.err != nil:
		t.Fatalf("start PostgreSQL for tests: %v", shared.err)
	}
	return shared.cluster
}

// NewURL creates an empty database for t on the shared cluster, drops it
// when t ends, and returns its URL.
func NewURL(t testing.TB) string {
	t.Helper()
	c := Shared(t)
	name := dbName(t.Name())
	u, err := c.CreateDatabase(t.Context(), name)
	if err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := c.DropDatabase(ctx, name); err != nil {
			t.Logf("drop test database %s: %v", name, err)
		}
	})
	return u
}

// dbName makes a unique, valid database name from a test name.
func dbName(test string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(test) {
		if b.Len() >= 40 {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "_"):
			b.WriteByte('_')
		}
	}
	return fmt.Sprintf("t_%s_%d", strings.TrimSuffix(b.String(), "_"), seq.Add(1))
}

// Cluster is a PostgreSQL server the tests may create databases in.
type Cluster struct {
	// dir holds the data directory, the socket and the log; "" when
	// attached to an external server.
	dir  string
	port int
	// admin is a superuser connection to database "postgres".
	adminURL string
	mu       sync.Mutex
	admin    *pgx.Conn
	// base is the URL of the tests' role, without a database.
	base url.URL

	proc   *os.Process
	exited chan struct{}
	logf   string
	// durable keeps PostgreSQL's fsync and synchronous_commit defaults.
	durable bool
}

// Start creates and starts a cluster in a new temporary directory. Stop
// it with Stop. It trades durability for speed (fsync and synchronous
// commits off): see StartDurable.
func Start(ctx context.Context) (*Cluster, error) {
	return start(ctx, false)
}

// StartDurable is Start with PostgreSQL's durable defaults (fsync and
// synchronous_commit on), for measurements of what a commit costs.
func StartDurable(ctx context.Context) (*Cluster, error) {
	return start(ctx, true)
}

func start(ctx context.Context, durable bool) (*Cluster, error) {
	bin, err := findBinaries()
	if err != nil {
		return nil, err
	}
	sweep()
	dir, err := os.MkdirTemp("", dirPrefix)
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir, logf: filepath.Join(dir, "postgres.log"), durable: durable}
	if err := c.start(ctx, bin); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

func (c *Cluster) start(ctx context.Context, bin string) error {
	cred, err := serverCredential()
	if err != nil {
		return err
	}
	if cred != nil {
		if err := os.Chown(c.dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return fmt.Errorf("hand %s to the server's user: %w", c.dir, err)
		}
	}
	superPW, rolePW := randomHex(), randomHex()
	pwfile := filepath.Join(c.dir, "pwfile")
	if err := os.WriteFile(pwfile, []byte(superPW+"\n"), 0o600); err != nil {
		return err
	}
	if cred != nil {
		if err := os.Chown(pwfile, int(cred.Uid), int(cred.Gid)); err != nil {
			return err
		}
	}
	data := filepath.Join(c.dir, "data")
	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"),
		"-D", data, "-U", "postgres", "-E", "UTF8", "--locale=C",
		"--auth-local=trust", "--auth-host=scram-sha-256", "--pwfile="+pwfile,
		"--no-sync", "--no-instructions")
	initdb.Env = serverEnv()
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %w\n%s", err, out)
	}
	os.Remove(pwfile)

	// A port picked free can be taken before the server binds it: retry.
	for try := 0; ; try++ {
		err = c.run(ctx, bin, data, cred)
		if err == nil || try == 2 || !strings.Contains(c.logTail(), "could not bind") {
			break
		}
	}
	if err != nil {
		return err
	}
	c.adminURL = fmt.Sprintf("host=%s port=%d user=postgres dbname=postgres sslmode=disable", c.dir, c.port)
	if err := c.connectAdmin(ctx); err != nil {
		return err
	}
	if _, err := c.admin.Exec(ctx, fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s'", Role, rolePW)); err != nil {
		return fmt.Errorf("create role %s: %w", Role, err)
	}
	c.base = url.URL{Scheme: "postgres", User: url.UserPassword(Role, rolePW), Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)), RawQuery: "sslmode=disable"}
	return nil
}

// run starts the server and waits until it accepts connections.
func (c *Cluster) run(ctx context.Context, bin, data string, cred *syscall.Credential) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	c.port = port
	logf, err := os.OpenFile(c.logf, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	args := []string{"-D", data, "-k", c.dir, "-h", "127.0.0.1", "-p", strconv.Itoa(port),
		"-c", "max_connections=300", "-c", "shared_buffers=32MB",
		"-c", "log_min_messages=warning", "-c", "log_min_error_statement=panic"}
	if !c.durable {
		// Durability is worthless for a throwaway cluster; speed is not.
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	cmd := exec.Command(filepath.Join(bin, "postgres"), args...)
	cmd.Env = serverEnv()
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: cred,
		// The server must not outlive a test binary that dies without
		// Stop (a panic, a timeout, no TestMain).
		Pdeathsig: syscall.SIGQUIT,
	}
	// Pdeathsig fires when the thread that started the child exits, so
	// start it from a thread that lives as long as the server.
	started := make(chan error, 1)
	exited := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		defer close(exited)
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		_ = cmd.Wait()
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	c.proc, c.exited = cmd.Process, exited

	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := net.DialTimeout("unix", filepath.Join(c.dir, fmt.Sprintf(".s.PGSQL.%d", port)), time.Second)
		if err == nil {
			conn.Close()
			if c.ping(ctx) == nil {
				return nil
			}
		}
		select {
		case <-exited:
			return fmt.Errorf("postgres exited while starting:\n%s", c.logTail())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres not ready after 30s:\n%s", c.logTail())
		}
	}
}

// ping succeeds once the server accepts logins (not merely the socket).
func (c *Cluster) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, fmt.Sprintf("host=%s port=%d user=postgres dbname=postgres sslmode=disable", c.dir, c.port))
	if err != nil {
		return err
	}
	return conn.Close(ctx)
}

// Attach uses an existing server: adminURL logs in as a superuser (or a
// role that may create databases). Databases are created owned by that
// role, and Stop leaves the server running.
func Attach(ctx context.Context, adminURL string) (*Cluster, error) {
	u, err := url.Parse(adminURL)
	if err != nil {
		return nil, fmt.Errorf("%s is not a URL", URLEnv)
	}
	c := &Cluster{adminURL: adminURL, base: *u}
	c.base.Path = ""
	if err := c.connectAdmin(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Cluster) connectAdmin(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, c.adminURL)
	if err != nil {
		return fmt.Errorf("connect as administrator: %w", err)
	}
	c.admin = conn
	return nil
}

// AdminConfig is a superuser connection string to database db, for tests
// that need more rights than the store's role has.
func (c *Cluster) AdminConfig(db string) string {
	if c.dir == "" {
		u, _ := url.Parse(c.adminURL)
		u.Path = "/" + db
		return u.String()
	}
	return fmt.Sprintf("host=%s port=%d user=postgres dbname=%s sslmode=disable", c.dir, c.port, db)
}

// URL returns the store URL of database db for the tests' role.
func (c *Cluster) URL(db string) string {
	u := c.base
	u.Path = "/" + db
	return u.String()
}

// CreateDatabase creates an empty database owned by the tests' role and
// returns its URL.
func (c *Cluster) CreateDatabase(ctx context.Context, name string) (string, error) {
	owner := ""
	if c.dir != "" {
		owner = " OWNER " + Role
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := c.admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+owner); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	return c.URL(name), nil
}

// DropDatabase drops a database, disconnecting whoever is still in it.
func (c *Cluster) DropDatabase(ctx context.Context, name string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, err := c.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	return err
}

// Stop shuts a started server down and removes its directory; an
// attached server is left alone.
func (c *Cluster) Stop() error {
	if c.admin != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		c.admin.Close(ctx)
		cancel()
	}
	var err error
	if c.proc != nil {
		// SIGINT is the "fast" shutdown: clients are disconnected.
		_ = c.proc.Signal(syscall.SIGINT)
		select {
		case <-c.exited:
		case <-time.After(15 * time.Second):
			_ = c.proc.Kill()
			<-c.exited
			err = errors.New("postgres did not shut down in 15s; killed")
		}
	}
	if c.dir != "" {
		if rerr := os.RemoveAll(c.dir); rerr != nil && err == nil {
			err = rerr
		}
	}
	return err
}

// logTail returns the end of the server log, for failure messages.
func (c *Cluster) logTail() string {
	b, _ := os.ReadFile(c.logf)
	const max = 4000
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return string(b)
}

// dirPrefix starts the names of cluster directories in the temporary
// directory.
const dirPrefix = "tajo-pgtest-"

// sweep removes the directories of clusters whose test binary died
// without Stop, long ago; their server died with it (Pdeathsig).
func sweep() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), dirPrefix+"*"))
	for _, d := range dirs {
		fi, err := os.Stat(d)
		if err != nil || time.Since(fi.ModTime()) < time.Hour {
			continue
		}
		if b, err := os.ReadFile(filepath.Join(d, "data", "postmaster.pid")); err == nil {
			pid, _ := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
			if err := syscall.Kill(pid, 0); pid > 0 && (err == nil || errors.Is(err, syscall.EPERM)) {
				continue // still running
			}
		}
		_ = os.RemoveAll(d)
	}
}

// findBinaries returns the directory holding initdb and postgres.
func findBinaries() (string, error) {
	has := func(dir string) bool {
		for _, b := range []string{"initdb", "postgres"} {
			if fi, err := os.Stat(filepath.Join(dir, b)); err != nil || fi.IsDir() {
				return false
			}
		}
		return true
	}
	if dir := os.Getenv(BinDirEnv); dir != "" {
		if has(dir) {
			return dir, nil
		}
		return "", fmt.Errorf("%w in %s=%s", ErrNoPostgres, BinDirEnv, dir)
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		// Debian links /usr/local/bin/initdb to the versioned directory,
		// where postgres sits beside it.
		if real, err := filepath.EvalSymlinks(p); err == nil && has(filepath.Dir(real)) {
			return filepath.Dir(real), nil
		}
		if has(filepath.Dir(p)) {
			return filepath.Dir(p), nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	// Newest major version first.
	slices.SortFunc(dirs, func(a, b string) int {
		return version(b) - version(a)
	})
	for _, d := range dirs {
		if has(d) {
			return d, nil
		}
	}
	return "", fmt.Errorf("%w on PATH or in /usr/lib/postgresql/*/bin", ErrNoPostgres)
}

func version(bindir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(bindir)))
	return n
}

// serverCredential is nil unless running as root, which PostgreSQL
// refuses; then the user the server runs as.
func serverCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	names := []string{"postgres", "nobody"}
	if n := os.Getenv(UserEnv); n != "" {
		names = []string{n}
	}
	for _, n := range names {
		u, err := user.Lookup(n)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil || uid == 0 {
			continue
		}
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
	}
	return nil, fmt.Errorf("running as root, and PostgreSQL refuses root: none of the users %v exists to run it as; create one (useradd --system postgres) or set %s", names, UserEnv)
}

// serverEnv is the environment of initdb and postgres: the caller's,
// without PG* settings meant for clients, in the C locale.
func serverEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PG") || strings.HasPrefix(kv, "LC_") || strings.HasPrefix(kv, "LANG=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "LC_ALL=C")
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randomHex() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
