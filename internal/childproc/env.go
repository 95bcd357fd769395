package childproc

import (
	"strings"

	"github.com/vectorstream/vectorstream/internal/envvars"
)

// Env returns the environment of a child process started as command child (CmdPipeline,
// CmdInfra or CmdLoad): environ (the parent's, as os.Environ returns it) without any
// VECTORSTREAM_* variable, except the reserved ones meant for that child
// (envvars.PassedTo: VECTORSTREAM_FAULT for a pipeline, VECTORSTREAM_TEST_MAIN for
// all). A child's settings travel in its argv and the files it names, so a setting meant
// for the harness (VECTORSTREAM_LOAD_RATE) never reaches it, and the child's own check
// of its environment (envvars.Table.Check) never sees a variable of the parent's command.
// The other variables, secrets named by password_env among them, pass unchanged.
func Env(environ []string, child string) []string {
	out := make([]string, 0, len(environ))
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, envvars.Prefix) && !envvars.PassedTo(name, child) {
			continue
		}
		out = append(out, kv)
	}
	return out
}
