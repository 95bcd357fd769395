package scratch

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestOrphanedDataDirsAreRemoved: a server killed before Close leaves its directory;
// the next one under the same parent removes it (its pid is gone) and keeps those of
// live processes and names not its own.
func TestOrphanedDataDirsAreRemoved(t *testing.T) {
	parent := t.TempDir()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skip("no `true` to make a pid that has ended:", err)
	}
	dead := filepath.Join(parent, fmt.Sprintf("qdrantfake-%d-123", cmd.Process.Pid))
	live := filepath.Join(parent, fmt.Sprintf("qdrantfake-%d-456", os.Getpid()))
	other := filepath.Join(parent, "not-ours")
	for _, d := range []string{dead, live, other} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	dir, err := Dir(parent, "qdrantfake-")
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(dir) != parent || !strings.HasPrefix(filepath.Base(dir), fmt.Sprintf("qdrantfake-%d-", os.Getpid())) {
		t.Fatalf("new directory %s", dir)
	}
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Fatalf("the dead server's directory is still there (%v)", err)
	}
	for _, d := range []string{live, other} {
		if _, err := os.Stat(d); err != nil {
			t.Fatalf("%s was removed: %v", d, err)
		}
	}
}
