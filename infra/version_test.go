package infra

import (
	"os"
	"strings"
	"testing"
)

// TestKfakeVersionMatchesGoMod keeps the fallback version of the kfake label
// in step with go.mod.
func TestKfakeVersionMatchesGoMod(t *testing.T) {
	mod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(mod)) {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == kfakeModule {
			if f[1] != kfakeVersion {
				t.Fatalf("go.mod has kfake %s, kfakeVersion is %s", f[1], kfakeVersion)
			}
			return
		}
	}
	t.Fatalf("go.mod does not require %s", kfakeModule)
}
