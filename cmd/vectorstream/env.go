package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/vectorstream/vectorstream/harness"
	"github.com/vectorstream/vectorstream/internal/envvars"
	"github.com/vectorstream/vectorstream/internal/exitcode"
	"github.com/vectorstream/vectorstream/internal/yamlconf"
	"github.com/vectorstream/vectorstream/pipeline"
)

// scenarioSettings are the VECTORSTREAM_<PATH> variables of the commands that read a
// scenario (harness.LoadScenario).
func scenarioSettings() *envvars.Schema {
	sc := harness.DefaultScenario()
	return &envvars.Schema{Name: "a scenario", Example: "load.rate", Paths: yamlconf.Paths(&sc)}
}

// appSettings are those of the commands that read the pipeline's configuration
// (loadAppConfig).
func appSettings() *envvars.Schema {
	cfg := pipeline.DefaultConfig()
	return &envvars.Schema{Name: "app_config.yaml", Example: "batch.max_size", Paths: yamlconf.Paths(&cfg)}
}

// envTable is every VECTORSTREAM_* variable: the settings each command of commands()
// reads and the reserved names (README.md "Environment variables").
func envTable() *envvars.Table {
	m := map[string]*envvars.Schema{}
	for _, c := range commands() {
		m[c.name] = c.settings
	}
	return envvars.NewTable(m)
}

// checkEnv refuses (exit 2) a VECTORSTREAM_* variable of environ that command does not
// read and that is not reserved: a misspelt setting would otherwise be ignored. The
// harness's children get only the reserved names meant for them (childproc.Env), so a
// setting of bench never reaches its pipeline process.
func checkEnv(command string, environ []string) error {
	if err := envTable().Check(command, environ); err != nil {
		return fmt.Errorf("%w: environment: %w", exitcode.ErrConfig, err)
	}
	return nil
}

// envUsage prints `vectorstream help env`: every variable, by the commands reading it.
func envUsage(w io.Writer) {
	t := envTable()
	fmt.Fprintln(w, "VECTORSTREAM_* variables (any other fails with exit 2; README.md \"Environment variables\")")
	cmds := commands()
	done := map[*envvars.Schema]bool{}
	for _, c := range cmds {
		if c.settings == nil || done[c.settings] {
			continue
		}
		done[c.settings] = true
		var readers []string
		for _, o := range cmds {
			if o.settings == c.settings {
				readers = append(readers, o.name)
			}
		}
		fmt.Fprintf(w, "\nsettings of %s (fields of %s; --set beats them, they beat the file):\n", strings.Join(readers, ", "), c.settings.Name)
		for _, n := range t.Settings(c.name) {
			fmt.Fprintf(w, "  %s\n", n)
		}
	}
	fmt.Fprintln(w, "\nreserved, accepted by every command:")
	for _, r := range envvars.ReservedVars() {
		fmt.Fprintf(w, "  %-36s %s\n", r.Name, r.ReadBy)
	}
}
