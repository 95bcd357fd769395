package qdrantfake

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestOrphanedDataDirsAreRemoved: a server killed before Close leaves its directory;
// the next server under the same data dir removes it (its pid is gone) and keeps
// those of live servers.
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
	db, err := openDiskDB(parent)
	if err != nil {
		t.Fatal(err)
	}
	defer db.close()
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Fatalf("the dead server's directory is still there (%v)", err)
	}
	for _, d := range []string{live, other} {
		if _, err := os.Stat(d); err != nil {
			t.Fatalf("%s was removed: %v", d, err)
		}
	}
}
