// Package scratch makes the directories a process keeps temporary data in while it
// runs (the stand-ins' logs and points), named by its pid, and removes those of
// processes that are gone: a stand-in killed before it could clean up (SIGKILL)
// leaves nothing behind for long.
package scratch

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Dir creates a fresh directory prefix<pid>-<random> under parent (created if
// missing), after removing every prefix<pid>-* directory there whose process no
// longer exists. The caller removes the directory it got when it is done.
func Dir(parent, prefix string) (string, error) {
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", fmt.Errorf("scratch: %w", err)
	}
	RemoveOrphans(parent, prefix)
	dir, err := os.MkdirTemp(parent, prefix+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return "", fmt.Errorf("scratch: %w", err)
	}
	return dir, nil
}

// RemoveOrphans removes the prefix<pid>-* directories under parent of processes
// that are gone; others (live processes, names not of this shape) are kept.
func RemoveOrphans(parent, prefix string) {
	entries, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), prefix)
		pidText, _, found := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if !ok || !found || err != nil || pid <= 0 || !e.IsDir() {
			continue
		}
		if errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			_ = os.RemoveAll(filepath.Join(parent, e.Name()))
		}
	}
}
