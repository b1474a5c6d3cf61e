// Package examples holds no code: its tests check that the deployment and
// release files shipped with the repository (systemd unit, Dockerfile,
// Kubernetes manifests, Grafana dashboard, .goreleaser.yml and the release
// tool in .ci/release) are well-formed and agree with each other and with
// the agent's interface.
package examples

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// repoRoot is the module root, seen from this package's directory.
const repoRoot = ".."

// agentStopTime is the longest tajo-agent run takes to stop after SIGTERM:
// the sync supervisor's 30 s shutdown grace, then 10 s for open HTTP
// requests. Service managers must wait longer before they kill it.
const agentStopTime = 40 * time.Second

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, path))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
