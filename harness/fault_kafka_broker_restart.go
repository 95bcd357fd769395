package harness

import (
	"context"
	"fmt"
	"os/exec"
	"strings"

	"github.com/vectorstream/vectorstream/infra"
	"github.com/vectorstream/vectorstream/internal/problem"
)

// FaultKafkaBrokerRestart runs stop_command at the start of the window and
// start_command at its end (external mode: a real broker the commands control).
const FaultKafkaBrokerRestart = "kafka_broker_restart"

func init() { registerFault(FaultKafkaBrokerRestart, newKafkaBrokerRestart) }

// Default commands of kafka_broker_restart, run from the working directory.
var (
	defaultBrokerStop  = []string{"bash", "deploy/kafka/down.sh"}
	defaultBrokerStart = []string{"bash", "deploy/kafka/up.sh"}
)

// kafkaBrokerRestart is a kafka_broker_restart fault.
type kafkaBrokerRestart struct{ spec FaultSpec }

func newKafkaBrokerRestart(spec FaultSpec) Fault { return kafkaBrokerRestart{spec} }

// Check needs external mode.
func (f kafkaBrokerRestart) Check(s *Scenario) []problem.Problem {
	var l problem.List
	if s.Infra.Mode != infra.ModeExternal {
		l.Add("kind", "kafka_broker_restart needs infra.mode external (a real broker that stop_command and start_command control), got %q", s.Infra.Mode)
	}
	return append(l, checkWindow(s, f.spec, false)...)
}

// Ready always succeeds: the commands act on whatever broker they control.
func (kafkaBrokerRestart) Ready(faultTargets) error { return nil }

// Begin stops the broker.
func (f kafkaBrokerRestart) Begin(ctx context.Context, _ faultTargets) error {
	return runCommand(ctx, f.spec.StopCommand, defaultBrokerStop)
}

// End starts it again; it returns when the command does (up.sh waits until the
// broker answers).
func (f kafkaBrokerRestart) End(ctx context.Context, _ faultTargets) error {
	return runCommand(ctx, f.spec.StartCommand, defaultBrokerStart)
}

// runCommand runs argv (def when empty) and returns its last lines of output with
// the error when it fails.
func runCommand(ctx context.Context, argv, def []string) error {
	if len(argv) == 0 {
		argv = def
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, strings.TrimSpace(lastLines(string(out), 5)))
	}
	return nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
