package postgres

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestSplitURL(t *testing.T) {
	t.Parallel()
	def := DefaultOptions()
	tests := []struct {
		name     string
		url      string
		wantConn string
		want     func(o *Options)
		wantErr  string
	}{
		{
			name:     "defaults",
			url:      "postgres://tajo:pw@db:5432/tajo",
			wantConn: "postgres://tajo:pw@db:5432/tajo",
		},
		{
			name: "ours stripped, TLS kept byte for byte",
			url: "postgres://tajo@db/tajo?sslmode=verify-full&pool_max_conns=3&sslrootcert=%2Fetc%2Ftajo%2Fca%20root.pem" +
				"&statement_timeout=5s&pool_max_idle_conns=1&pool_max_conn_lifetime=2h&pool_max_conn_idle_time=90s&application_name=agent",
			wantConn: "postgres://tajo@db/tajo?sslmode=verify-full&sslrootcert=%2Fetc%2Ftajo%2Fca%20root.pem&application_name=agent",
			want: func(o *Options) {
				o.MaxConns, o.MaxIdleConns, o.MaxConnLifetime, o.MaxConnIdleTime, o.StatementTimeout = 3, 1, 2*time.Hour, 90*time.Second, 5*time.Second
			},
		},
		{
			name:     "idle capped by max",
			url:      "postgres://db/tajo?pool_max_conns=2",
			wantConn: "postgres://db/tajo",
			want:     func(o *Options) { o.MaxConns, o.MaxIdleConns = 2, 2 },
		},
		{
			name:     "idle follows max",
			url:      "postgres://db/tajo?pool_max_conns=20",
			wantConn: "postgres://db/tajo",
			want:     func(o *Options) { o.MaxConns, o.MaxIdleConns = 20, 20 },
		},
		{
			name:     "idle below max when set",
			url:      "postgres://db/tajo?pool_max_conns=20&pool_max_idle_conns=4",
			wantConn: "postgres://db/tajo",
			want:     func(o *Options) { o.MaxConns, o.MaxIdleConns = 20, 4 },
		},
		{
			name:     "statement_timeout in milliseconds",
			url:      "postgres://db/tajo?statement_timeout=1500",
			wantConn: "postgres://db/tajo",
			want:     func(o *Options) { o.StatementTimeout = 1500 * time.Millisecond },
		},
		{
			name:     "statement_timeout in PostgreSQL units",
			url:      "postgres://db/tajo?statement_timeout=2min",
			wantConn: "postgres://db/tajo",
			want:     func(o *Options) { o.StatementTimeout = 2 * time.Minute },
		},
		{
			name:     "statement_timeout disabled",
			url:      "postgres://db/tajo?statement_timeout=0",
			wantConn: "postgres://db/tajo",
			want:     func(o *Options) { o.StatementTimeout = 0 },
		},
		{
			name:     "unix socket host kept",
			url:      "postgresql:///tajo?host=%2Fvar%2Frun%2Fpostgresql&pool_max_conns=4",
			wantConn: "postgresql:///tajo?host=%2Fvar%2Frun%2Fpostgresql",
			want:     func(o *Options) { o.MaxConns, o.MaxIdleConns = 4, 4 },
		},
		{name: "bad number", url: "postgres://db/tajo?pool_max_conns=many", wantErr: `pool_max_conns="many": want a number of connections ≥ 1`},
		{name: "zero conns", url: "postgres://db/tajo?pool_max_conns=0", wantErr: "pool_max_conns"},
		{name: "negative duration", url: "postgres://db/tajo?pool_max_conn_lifetime=-1s", wantErr: "pool_max_conn_lifetime"},
		{name: "bad timeout", url: "postgres://db/tajo?statement_timeout=soon", wantErr: "statement_timeout"},
		{name: "pgxpool-only parameter", url: "postgres://db/tajo?pool_min_conns=2", wantErr: "pool_min_conns is not supported; the PostgreSQL store understands pool_max_conn_idle_time, pool_max_conn_lifetime"},
		{name: "twice", url: "postgres://db/tajo?pool_max_conns=2&pool_max_conns=3", wantErr: "given twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u, err := url.Parse(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			conn, opts, err := splitURL(u)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("splitURL(%s) error = %v; want %q", tt.url, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := def
			if tt.want != nil {
				tt.want(&want)
			}
			if conn != tt.wantConn {
				t.Errorf("connection string = %s\nwant                %s", conn, tt.wantConn)
			}
			if diff := cmp.Diff(want, opts); diff != "" {
				t.Errorf("options (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseDuration(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]time.Duration{
		"0": 0, "250": 250 * time.Millisecond, "30s": 30 * time.Second, "1m30s": 90 * time.Second,
		"2min": 2 * time.Minute, "1 h": time.Hour, "1d": 24 * time.Hour, "500ms": 500 * time.Millisecond,
	} {
		if got, err := parseDuration(in); err != nil || got != want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "soon", "-5", "-1s", "xd"} {
		if _, err := parseDuration(in); err == nil {
			t.Errorf("parseDuration(%q) accepted", in)
		}
	}
}

func TestRedact(t *testing.T) {
	t.Parallel()
	u, _ := url.Parse("postgres://tajo:s%40cret%2Fpw@db/tajo?password=other-secret")
	secrets := secretsOf(u)
	base := errors.New("boom")
	err := redact(errors.Join(base, errors.New("seen s@cret/pw, s%40cret%2Fpw and other-secret")), secrets)
	if msg := err.Error(); strings.Contains(msg, "cret") || strings.Contains(msg, "other-secret") {
		t.Errorf("redacted message still holds a password: %s", msg)
	}
	if !errors.Is(err, base) {
		t.Error("redacted error no longer unwraps to its cause")
	}
	if got := redact(base, secrets); got != base {
		t.Errorf("an error without secrets was rewrapped: %#v", got)
	}
}
