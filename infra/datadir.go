package infra

import (
	"os"
	"path/filepath"
)

// DataRoot is where the embedded stand-ins keep the data of a run while it runs
// (the Qdrant stand-in's points): the user's cache directory
// ($XDG_CACHE_HOME/vectorstream/data, ~/.cache/vectorstream/data), or the system's
// temporary directory where there is none. Never the working directory. Each run
// takes a folder of its own under it and removes it when it stops.
func DataRoot() string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "vectorstream", "data")
	}
	return filepath.Join(os.TempDir(), "vectorstream", "data")
}
