package harness

import (
	"context"
	"fmt"
	"os/exec"
	"strings"

	"github.com/vectorstream/vectorstream/infra"
	"github.com/vectorstream/vectorstream/internal/problem"
)

// FaultKafkaBrokerRestart stops the Kafka broker at the start of the window and
// starts it at its end: in external mode by running stop_command and
// start_command (a real broker the commands control), in containers mode by
// stopping and starting the Kafka container.
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

// Check needs external or containers mode.
func (f kafkaBrokerRestart) Check(s *Scenario) []problem.Problem {
	var l problem.List
	switch s.Infra.Mode {
	case infra.ModeExternal:
	case infra.ModeContainers:
		if len(f.spec.StopCommand) > 0 || len(f.spec.StartCommand) > 0 {
			l.Add("stop_command", "in containers mode kafka_broker_restart stops and starts the Kafka container: it runs no commands")
		}
	default:
		l.Add("kind", "kafka_broker_restart needs infra.mode external (a real broker that stop_command and start_command control) or containers (the Kafka container is stopped and started), got %q", s.Infra.Mode)
	}
	return append(l, checkWindow(s, f.spec, false)...)
}

// Ready always succeeds: the commands act on whatever broker they control, and
// the containers mode always has its broker container.
func (kafkaBrokerRestart) Ready(faultTargets) error { return nil }

// Begin stops the broker.
func (f kafkaBrokerRestart) Begin(ctx context.Context, t faultTargets) error {
	if t.broker != nil {
		return t.broker.Stop(ctx)
	}
	return runCommand(ctx, f.spec.StopCommand, defaultBrokerStop)
}

// End starts it again; it returns once the broker answers (up.sh waits for
// that too).
func (f kafkaBrokerRestart) End(ctx context.Context, t faultTargets) error {
	if t.broker != nil {
		return t.broker.Start(ctx)
	}
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
