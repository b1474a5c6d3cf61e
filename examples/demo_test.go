package examples

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
)

// TestDemoScripts: the demo scripts parse, are executable, and are what
// their make targets run.
func TestDemoScripts(t *testing.T) {
	t.Parallel()
	makefile := string(readFile(t, "GNUmakefile"))
	for target, script := range map[string]string{
		"demo":    "examples/quickstart/demo.sh",
		"demo-ha": "examples/high-availability/demo.sh",
	} {
		path := filepath.Join(repoRoot, script)
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o111 == 0 {
			t.Errorf("%s is not executable", script)
		}
		if out, err := exec.Command("bash", "-n", path).CombinedOutput(); err != nil {
			t.Errorf("bash -n %s: %v\n%s", script, err, out)
		}
		re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(target) + `: build\n\t.*\./` + regexp.QuoteMeta(script) + `$`)
		if !re.MatchString(makefile) {
			t.Errorf("make %s does not run ./%s after building", target, script)
		}
	}
}
