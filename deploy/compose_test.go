// Package deploy holds the project's deployment files; its test validates
// compose.yaml, which cannot run here (no registry to pull its images from).
package deploy

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// TestComposeFile loads compose.yaml with compose-go (the loader Docker Compose
// itself uses: schema, interpolation, normalisation) and checks what the file
// promises: pinned tags, loopback-only ports, health checks, and start order.
func TestComposeFile(t *testing.T) {
	opts, err := cli.NewProjectOptions([]string{"compose.yaml"}, cli.WithWorkingDirectory("."), cli.WithName("vectorstream"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	want := []string{"fit", "kafka", "kafka-ui", "pipeline", "qdrant"}
	if got := p.ServiceNames(); !slices.Equal(sorted(got), want) {
		t.Fatalf("services %v, want %v", got, want)
	}
	for name, s := range p.Services {
		ref := s.Image
		i := strings.LastIndex(ref, ":")
		if i < 0 || i < strings.LastIndex(ref, "/") || ref[i+1:] == "latest" {
			t.Errorf("%s: image %q has no pinned tag", name, ref)
		}
		for _, port := range s.Ports {
			if port.HostIP != "127.0.0.1" {
				t.Errorf("%s: port %d published on %q, want 127.0.0.1 only", name, port.Target, port.HostIP)
			}
		}
		if name != "fit" && (s.HealthCheck == nil || len(s.HealthCheck.Test) == 0) {
			t.Errorf("%s: no health check", name)
		}
	}
	pl := p.Services["pipeline"]
	if hc := strings.Join(pl.HealthCheck.Test, " "); !strings.Contains(hc, "/vectorstream healthcheck") || !strings.Contains(hc, "/health/ready") {
		t.Errorf("pipeline health check %q does not ask its own /health/ready", hc)
	}
	for dep, cond := range map[string]string{"kafka": types.ServiceConditionHealthy, "qdrant": types.ServiceConditionHealthy, "fit": types.ServiceConditionCompletedSuccessfully} {
		if d, ok := pl.DependsOn[dep]; !ok || d.Condition != cond {
			t.Errorf("pipeline depends on %s with %+v, want condition %s", dep, d, cond)
		}
	}
	if pl.StopSignal != "SIGINT" {
		t.Errorf("pipeline stop signal %q: SIGINT lets it commit the batch in hand", pl.StopSignal)
	}
	if pl.Deploy == nil || pl.Deploy.Resources.Limits == nil || pl.Deploy.Resources.Limits.MemoryBytes == 0 {
		t.Errorf("pipeline has no resource limits")
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
