package postgres_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tajo/terraform-provider-tajo/agent/backoff"
	"github.com/tajo/terraform-provider-tajo/agent/store"
	"github.com/tajo/terraform-provider-tajo/agent/store/postgres"
	"github.com/tajo/terraform-provider-tajo/agent/store/postgres/pgtest"
	"github.com/tajo/terraform-provider-tajo/agent/store/sqlstore"
	"github.com/tajo/terraform-provider-tajo/agent/store/storetest"
)

// helperURLEnv makes the test binary a second process that opens (and so
// migrates) the store at that URL and exits.
const helperURLEnv = "TAJO_PGTEST_OPEN_URL"

func TestMain(m *testing.M) {
	if u := os.Getenv(helperURLEnv); u != "" {
		os.Exit(openOnce(u))
	}
	pgtest.Main(m)
}

func openOnce(u string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := store.Open(ctx, u)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	s.Close()
	return 0
}

func newURL(t *testing.T) string {
	t.Helper()
	return pgtest.NewURL(t)
}

// withParams adds query parameters to a store URL.
func withParams(t *testing.T, raw string, kv ...string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	for i := 0; i < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func open(t *testing.T, u string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(t.Context(), u)
	if err != nil {
		t.Fatalf("open %s: %v", store.Redact(u), err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func doc(id string) store.Document {
	return store.Document{Kind: "connector", ID: id, ConnectorID: id, Body: []byte(`{"name":"` + id + `"}`)}
}

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, storetest.Backend{NewURL: newURL})
}

func TestSchemes(t *testing.T) {
	t.Parallel()
	u := newURL(t)
	for _, scheme := range []string{"postgres", "postgresql"} {
		s, err := store.Open(t.Context(), scheme+strings.TrimPrefix(u, "postgres"))
		if err != nil {
			t.Fatalf("%s: %v", scheme, err)
		}
		if s.Backend() != "postgres" {
			t.Errorf("Backend() = %q", s.Backend())
		}
		if _, ok := s.(store.Watcher); !ok {
			t.Error("the postgres store does not implement store.Watcher")
		}
		s.Close()
	}
}

// TestConcurrentMigration holds the migration lock while several processes
// and handles open the same new database, then lets them go: all succeed
// and the schema is created once.
func TestConcurrentMigration(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	u := newURL(t)
	holder, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close(context.Background())
	tx, err := holder.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, postgres.MigrationLockKey); err != nil {
		t.Fatal(err)
	}

	const processes, handles = 3, 5
	var wg sync.WaitGroup
	errs := make(chan error, processes+handles)
	for range processes {
		wg.Go(func() {
			cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), helperURLEnv+"="+u)
			if out, err := cmd.CombinedOutput(); err != nil {
				errs <- fmt.Errorf("process: %v: %s", err, out)
			}
		})
	}
	opened := make(chan store.Store, handles)
	for range handles {
		wg.Go(func() {
			s, err := store.Open(ctx, u)
			if err != nil {
				errs <- fmt.Errorf("handle: %w", err)
				return
			}
			opened <- s
		})
	}
	// Everyone queues on the advisory lock before it is released.
	waiting := func() int {
		var n int
		err := holder.QueryRow(ctx, `SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database
			WHERE l.locktype = 'advisory' AND NOT l.granted AND d.datname = current_database()`).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	deadline := time.Now().Add(20 * time.Second)
	for waiting() < processes+handles {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d openers wait for the migration lock", waiting(), processes+handles)
		}
		if err := backoff.Sleep(ctx, 20*time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	close(opened)
	for err := range errs {
		t.Error(err)
	}
	for s := range opened {
		s.Close()
	}

	for table, want := range map[string]int{"schema_version": 1, "revision": 1} {
		var n int
		if err := holder.QueryRow(ctx, `SELECT count(*) FROM `+table).Scan(&n); err != nil || n != want {
			t.Errorf("%s has %d rows, %v; want %d", table, n, err, want)
		}
	}
	var v int
	if err := holder.QueryRow(ctx, `SELECT version FROM schema_version`).Scan(&v); err != nil || v != sqlstore.LatestSchema() {
		t.Errorf("schema version %d, %v; want %d", v, err, sqlstore.LatestSchema())
	}
}

// recv waits up to d for a revision.
func recv(t *testing.T, ch <-chan int64, d time.Duration) (int64, bool) {
	t.Helper()
	select {
	case rev, ok := <-ch:
		if !ok {
			t.Fatal("revision channel closed")
		}
		return rev, true
	case <-time.After(d):
		return 0, false
	}
}

// quiet fails when a revision arrives within d.
func quiet(t *testing.T, ch <-chan int64, d time.Duration) {
	t.Helper()
	if rev, ok := recv(t, ch, d); ok {
		t.Errorf("unexpected revision %d", rev)
	}
}

func TestNotifications(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	u := newURL(t)
	agent := open(t, u)
	provider := open(t, u)
	revs, err := agent.WatchRevisions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var latencies []time.Duration
	for i := range 5 {
		start := time.Now()
		d, err := provider.PutDocument(ctx, doc(fmt.Sprintf("c%d", i)), store.MustNotExist)
		if err != nil {
			t.Fatal(err)
		}
		rev, ok := recv(t, revs, time.Second)
		if !ok {
			t.Fatalf("write %d: no notification within 1s", i)
		}
		latencies = append(latencies, time.Since(start))
		if rev != d.Revision {
			t.Errorf("notified revision %d; the write made %d", rev, d.Revision)
		}
	}
	slices.Sort(latencies)
	t.Logf("write → notification latency (PutDocument included): min %v, median %v, max %v", latencies[0], latencies[len(latencies)/2], latencies[len(latencies)-1])

	// Failed writes and agent state roll back or bump nothing: no
	// notification.
	if _, err := provider.PutDocument(ctx, doc("c0"), store.MustNotExist); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate create: %v", err)
	}
	if err := provider.PutStatus(ctx, store.Status{ConnectorID: "c0"}); err != nil {
		t.Fatal(err)
	}
	quiet(t, revs, 300*time.Millisecond)

	// A reader that falls behind gets the newest revision, not a backlog.
	for i := range 3 {
		if _, err := provider.PutDocument(ctx, doc(fmt.Sprintf("burst%d", i)), store.MustNotExist); err != nil {
			t.Fatal(err)
		}
	}
	if err := provider.DeleteDocument(ctx, "connector", "burst0", store.AnyVersion); err != nil {
		t.Fatal(err)
	}
	want, _ := provider.Revision(ctx)
	deadline := time.After(time.Second)
	for got := int64(0); got != want; {
		select {
		case got = <-revs:
		case <-deadline:
			t.Fatalf("revision %d not delivered (last %d)", want, got)
		}
	}
	quiet(t, revs, 100*time.Millisecond)
}

func TestWatchReconnects(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := open(t, newURL(t))
	var mu sync.Mutex
	var failures []error
	revs, err := s.Watch(ctx, postgres.WatchOptions{
		Backoff:        backoff.Policy{Base: 50 * time.Millisecond, Max: 200 * time.Millisecond},
		HealthInterval: 200 * time.Millisecond,
		OnError: func(err error) {
			mu.Lock()
			defer mu.Unlock()
			failures = append(failures, err)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	watchPID := func() int {
		t.Helper()
		var pid int
		err := s.SQL().QueryRowContext(ctx, `SELECT pid FROM pg_stat_activity
			WHERE datname = current_database() AND application_name = $1`, postgres.DefaultApplicationName+"-watch").Scan(&pid)
		if err != nil {
			t.Fatalf("find the watch connection: %v", err)
		}
		return pid
	}
	put := func(id string) int64 {
		t.Helper()
		d, err := s.PutDocument(ctx, doc(id), store.MustNotExist)
		if err != nil {
			t.Fatal(err)
		}
		return d.Revision
	}

	// Idle past several health checks: the connection stays and works.
	quiet(t, revs, 700*time.Millisecond)
	if rev := put("before"); !delivered(t, revs, rev, time.Second) {
		t.Fatal("no notification after idle health checks")
	}
	mu.Lock()
	if len(failures) > 0 {
		t.Errorf("health checks of a good connection failed: %v", failures)
	}
	mu.Unlock()

	for round := range 2 {
		old := watchPID()
		var killed bool
		if err := s.SQL().QueryRowContext(ctx, `SELECT pg_terminate_backend($1)`, old).Scan(&killed); err != nil || !killed {
			t.Fatalf("terminate the watch connection: %v, %v", killed, err)
		}
		// The backend exits asynchronously; until then it still delivers.
		for deadline := time.Now().Add(5 * time.Second); ; {
			var n int
			if err := s.SQL().QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity WHERE pid = $1`, old).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("round %d: terminated backend %d still there", round, old)
			}
			if err := backoff.Sleep(ctx, 10*time.Millisecond); err != nil {
				t.Fatal(err)
			}
		}
		// Written while the watcher is down or reconnecting: caught up.
		if rev := put(fmt.Sprintf("during%d", round)); !delivered(t, revs, rev, 2*time.Second) {
			t.Fatalf("round %d: write during the reconnect not delivered", round)
		}
		// And notifications flow again on the new connection.
		if rev := put(fmt.Sprintf("after%d", round)); !delivered(t, revs, rev, time.Second) {
			t.Fatalf("round %d: no notification after the reconnect", round)
		}
		if pid := watchPID(); pid == old {
			t.Errorf("round %d: watch connection still pid %d", round, pid)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(failures) == 0 {
		t.Error("OnError was not told of the dropped connection")
	} else {
		t.Logf("reported: %v", failures[0])
	}
}

// delivered waits until rev (or a later one) arrives.
func delivered(t *testing.T, ch <-chan int64, rev int64, d time.Duration) bool {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case got, ok := <-ch:
			if !ok {
				t.Fatal("revision channel closed")
			}
			if got >= rev {
				return true
			}
		case <-deadline:
			return false
		}
	}
}

func TestWatchEnds(t *testing.T) {
	t.Parallel()
	u := newURL(t)
	s, err := postgres.Open(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	byCtx, err := s.WatchRevisions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byClose, err := s.WatchRevisions(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	closed := func(ch <-chan int64, what string) {
		t.Helper()
		select {
		case _, ok := <-ch:
			if ok {
				t.Errorf("%s: got a revision, want the channel closed", what)
			}
		case <-time.After(2 * time.Second):
			t.Errorf("%s: channel still open", what)
		}
	}
	closed(byCtx, "context cancelled")
	done := make(chan error)
	go func() { done <- s.Close() }()
	closed(byClose, "store closed")
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close hangs")
	}
	if _, err := s.WatchRevisions(t.Context()); err == nil {
		t.Error("WatchRevisions on a closed store succeeded")
	}
}

func TestSettings(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	u := newURL(t)
	show := func(s *postgres.Store, name string) string {
		t.Helper()
		var v string
		if err := s.SQL().QueryRowContext(ctx, `SELECT current_setting($1)`, name).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}

	def := open(t, u)
	if got := show(def, "statement_timeout"); got != "30s" {
		t.Errorf("default statement_timeout = %s, want 30s", got)
	}
	if got := show(def, "application_name"); got != "tajo" {
		t.Errorf("default application_name = %s", got)
	}
	if got := def.SQL().Stats().MaxOpenConnections; got != postgres.DefaultMaxConns {
		t.Errorf("default pool size %d", got)
	}

	s := open(t, withParams(t, u, "statement_timeout", "200ms", "pool_max_conns", "3", "application_name", "tajo-ci"))
	if got := show(s, "statement_timeout"); got != "200ms" {
		t.Errorf("statement_timeout = %s, want 200ms", got)
	}
	if got := show(s, "application_name"); got != "tajo-ci" {
		t.Errorf("application_name = %s, want the URL's", got)
	}
	if got := s.SQL().Stats().MaxOpenConnections; got != 3 {
		t.Errorf("pool_max_conns=3 gave a pool of %d", got)
	}
	start := time.Now()
	_, err := s.SQL().ExecContext(ctx, `SELECT pg_sleep(5)`)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "57014" {
		t.Fatalf("a 5s statement under a 200ms timeout: %v; want query_canceled (57014)", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("statement cancelled after %v", took)
	}
	// The pool is still usable.
	if _, err := s.PutDocument(ctx, doc("c"), store.MustNotExist); err != nil {
		t.Fatal(err)
	}
}

// TestPoolKeepsConnections checks that a burst as wide as the pool leaves
// every connection open for the next one: each connection closed is a
// server process started again.
func TestPoolKeepsConnections(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := open(t, newURL(t))
	db := s.SQL()
	for range 3 {
		conns := make([]*sql.Conn, postgres.DefaultMaxConns)
		for i := range conns {
			c, err := db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			conns[i] = c
		}
		for _, c := range conns {
			c.Close()
		}
	}
	st := db.Stats()
	if st.MaxIdleClosed != 0 || st.Idle != postgres.DefaultMaxConns {
		t.Errorf("after bursts of %d connections: %d closed for the idle cap, %d idle; want 0 closed, all idle",
			postgres.DefaultMaxConns, st.MaxIdleClosed, st.Idle)
	}
}

func TestSearchPathAndForeignDatabase(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	u := newURL(t)
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, `CREATE TABLE invoices (id INTEGER)`); err != nil {
		t.Fatal(err)
	}
	if s, err := postgres.Open(ctx, u); !errors.Is(err, store.ErrForeign) || !strings.Contains(err.Error(), "invoices") {
		if err == nil {
			s.Close()
		}
		t.Errorf("database with foreign tables: %v; want ErrForeign naming invoices", err)
	}
	// A schema of its own beside them.
	if _, err := conn.Exec(ctx, `CREATE SCHEMA tajo_store`); err != nil {
		t.Fatal(err)
	}
	s := open(t, withParams(t, u, "search_path", "tajo_store"))
	if _, err := s.PutDocument(ctx, doc("c"), store.MustNotExist); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM tajo_store.documents`).Scan(&n); err != nil || n != 1 {
		t.Errorf("tajo_store.documents has %d rows, %v", n, err)
	}
	// The watcher uses the same schema.
	revs, err := s.WatchRevisions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutDocument(ctx, doc("d"), store.MustNotExist); err != nil {
		t.Fatal(err)
	}
	if rev, ok := recv(t, revs, time.Second); !ok || rev != 2 {
		t.Errorf("revision %d, %v; want 2", rev, ok)
	}
}

func TestPasswordNeverInErrors(t *testing.T) {
	t.Parallel()
	good, err := url.Parse(newURL(t))
	if err != nil {
		t.Fatal(err)
	}
	realPW, _ := good.User.Password()
	const secret = "S3cret-Pa55/w@rd"
	set := func(mod func(u *url.URL)) string {
		u := *good
		u.User = url.UserPassword(good.User.Username(), secret)
		mod(&u)
		return u.String()
	}
	cases := map[string]string{
		"wrong password": set(func(*url.URL) {}),
		"refused":        set(func(u *url.URL) { u.Host = "127.0.0.1:1" }),
		"missing database": set(func(u *url.URL) {
			u.User = url.UserPassword(good.User.Username(), realPW)
			u.Path = "/no_such_db"
		}),
		"bad option":          set(func(u *url.URL) { u.RawQuery += "&pool_max_conns=lots" }),
		"unknown pool option": set(func(u *url.URL) { u.RawQuery += "&pool_min_conns=1" }),
		"bad sslmode":         set(func(u *url.URL) { u.RawQuery = "sslmode=bogus" }),
		"password in query": set(func(u *url.URL) {
			u.User = url.User(good.User.Username())
			u.RawQuery += "&password=" + url.QueryEscape(secret)
		}),
		"password in query, refused": set(func(u *url.URL) {
			u.User = url.User(good.User.Username())
			u.Host = "127.0.0.1:1"
			u.RawQuery += "&password=" + url.QueryEscape(secret)
		}),
	}
	for name, u := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
			defer cancel()
			s, err := store.Open(ctx, u)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			msg := err.Error()
			for _, pw := range []string{secret, url.QueryEscape(secret), url.PathEscape(secret), realPW} {
				if strings.Contains(msg, pw) {
					t.Fatalf("error contains a password: %s", msg)
				}
			}
			t.Logf("%s", msg)
		})
	}
}

// TestListOrderUnderLinguisticCollation: production databases often use a
// linguistic collation (en_US), where ORDER BY differs from SQLite's
// bytewise order; ListDocuments must list the same way on both.
func TestListOrderUnderLinguisticCollation(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	c := pgtest.Shared(t)
	admin, err := pgx.Connect(ctx, c.AdminConfig("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	const db = "t_icu_order"
	if _, err := admin.Exec(ctx, `CREATE DATABASE `+db+` TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' OWNER `+pgtest.Role); err != nil {
		t.Skipf("no ICU collation here: %v", err)
	}
	t.Cleanup(func() { _ = c.DropDatabase(context.Background(), db) })
	s := open(t, c.URL(db))
	for _, id := range []string{"a_b", "ab", "B", "a", "a/z", "aZ", "a-c"} {
		if _, err := s.PutDocument(ctx, doc(id), store.MustNotExist); err != nil {
			t.Fatal(err)
		}
	}
	docs, err := s.ListDocuments(ctx, store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range docs {
		got = append(got, d.ID)
	}
	if want := []string{"B", "a", "a-c", "a/z", "aZ", "a_b", "ab"}; !slices.Equal(got, want) {
		t.Errorf("ListDocuments order %q; want bytewise %q", got, want)
	}
}
