package pgtest

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestDBName(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, test := range []string{
		"TestConformance/Documents",
		"TestConformance/Documents",
		"TestPasswordNeverInErrors/password_in_query,_refused",
		strings.Repeat("TestVeryLongName/", 20),
		"Test/ÜNICODE☃",
	} {
		n := dbName(test)
		if len(n) > 63 || seen[n] || strings.Trim(n, "abcdefghijklmnopqrstuvwxyz0123456789_") != "" {
			t.Errorf("dbName(%q) = %q: want a unique, lowercase name of at most 63 bytes", test, n)
		}
		seen[n] = true
	}
}

func TestStartDurability(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		start func(context.Context) (*Cluster, error)
		want  string
	}{
		{"Start", Start, "off"},
		{"StartDurable", StartDurable, "on"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := tc.start(t.Context())
			if errors.Is(err, ErrNoPostgres) && os.Getenv(RequireEnv) != "1" {
				t.Skip(err)
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.Stop()
			conn, err := pgx.Connect(t.Context(), c.AdminConfig("postgres"))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(t.Context())
			for _, setting := range []string{"fsync", "synchronous_commit"} {
				var got string
				if err := conn.QueryRow(t.Context(), "SHOW "+setting).Scan(&got); err != nil {
					t.Fatal(err)
				}
				if got != tc.want {
					t.Errorf("%s = %s, want %s", setting, got, tc.want)
				}
			}
		})
	}
}
