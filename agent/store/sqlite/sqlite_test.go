package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tajo/terraform-provider-tajo/agent/store"
	"github.com/tajo/terraform-provider-tajo/agent/store/sqlite"
	"github.com/tajo/terraform-provider-tajo/agent/store/storetest"
)

func newURL(t *testing.T) string {
	return "sqlite://" + filepath.Join(t.TempDir(), "sub", "tajo.db")
}

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, storetest.Backend{NewURL: newURL})
}

func TestURLs(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	t.Chdir(dir) // relative URL
	s, err := store.Open(ctx, "sqlite:rel.db")
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := os.Stat(filepath.Join(dir, "rel.db")); err != nil {
		t.Errorf("relative store not created: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "rel.db")); err == nil && fi.Mode().Perm() != 0o600 {
		t.Errorf("store file mode %o, want 600", fi.Mode().Perm())
	}
	for url, sub := range map[string]string{
		"sqlite://tajo.db":    "host part must be empty",
		"mysql://localhost/x": "not supported",
		"":                    "TAJO_STORE",
		"postgres//nothing":   "not a URL",
		// A # would end the path: Go names subtests "#00", so t.TempDir()
		// of such a test would open a file named after the parent test.
		"sqlite:///tmp/Test#00/001/tajo.db": "%23",
		"postgres://u:pa#ss@localhost/tajo": "%23",
	} {
		_, err := store.Open(ctx, url)
		if err == nil || !strings.Contains(err.Error(), sub) {
			t.Errorf("Open(%q) = %v; want %q", url, err, sub)
		}
		if err != nil && strings.Contains(err.Error(), "ss@") {
			t.Errorf("Open(%q): the error shows what follows the #: %v", url, err)
		}
	}
}

func TestForeignAndCorruptFiles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.db")
	if err := os.WriteFile(junk, []byte(strings.Repeat("this is not sqlite\n", 400)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := sqlite.Open(ctx, junk)
	if err == nil || !strings.Contains(err.Error(), "not a usable SQLite database") {
		t.Errorf("junk file: %v", err)
	}

	// Another application's database.
	foreign := filepath.Join(dir, "foreign.db")
	db, err := sql.Open("sqlite", foreign)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE invoices (id INTEGER)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = sqlite.Open(ctx, foreign)
	if !errors.Is(err, store.ErrForeign) || !strings.Contains(err.Error(), "invoices") {
		t.Errorf("foreign database: %v", err)
	}
}
