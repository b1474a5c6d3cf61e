package pgtest

import (
	"strings"
	"testing"
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
