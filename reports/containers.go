package reports

import (
	"fmt"
	"slices"
	"strings"

	"github.com/vectorstream/vectorstream/harness"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// ContainersPlot draws each container's CPU (cores) and memory over the run, from
// Docker's stats once a second (containers mode): two panels, one line a
// container, and each container's limit where it has one (dashed, same colour).
func ContainersPlot(res *harness.Result) ([][]*plot.Plot, error) {
	ctrs := res.Environment.Containers
	if len(ctrs) == 0 {
		return nil, fmt.Errorf("containers: %w: the run used no containers", ErrNoData)
	}
	roles := containerRoles(ctrs)
	panel := func(title, ylabel string, value func(r harness.TimelineRow, role string) (float64, bool), limit func(harness.ContainerResult) float64) (*plot.Plot, error) {
		p := NewPlot(titled(res, title), timeAxis, ylabel)
		faultBands(p, res)
		var legend []LegendEntry
		for i, role := range roles {
			var xys plotter.XYs
			for _, r := range res.Timeline {
				if v, ok := value(r, role); ok {
					xys = append(xys, plotter.XY{X: float64(r.Second), Y: v})
				}
			}
			if len(xys) == 0 {
				continue
			}
			l, err := line(xys, Color(i), 1.6)
			if err != nil {
				return nil, fmt.Errorf("containers: %w", err)
			}
			p.Add(l)
			name := role
			if c := containerOf(ctrs, role); c != nil {
				if lim := limit(*c); lim > 0 {
					hl, err := line(plotter.XYs{{X: xys[0].X, Y: lim}, {X: xys[len(xys)-1].X, Y: lim}}, Color(i), 1)
					if err != nil {
						return nil, fmt.Errorf("containers: %w", err)
					}
					hl.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
					p.Add(hl)
					name += fmt.Sprintf(" (limit %g)", lim)
				}
			}
			legend = append(legend, LegendEntry{name, []plot.Thumbnailer{l}})
		}
		if len(legend) == 0 {
			return nil, fmt.Errorf("containers: %w: no Docker stats sample in the timeline", ErrNoData)
		}
		phaseLines(p, res)
		timelineX(p, res.Timeline)
		p.Y.Min = 0
		reserveLegendSpace(p, len(legend), DefaultHeight*2/3)
		SetLegend(p, legend...)
		return p, nil
	}
	cpu, err := panel("CPU per container (Docker stats)", "CPU (cores)",
		func(r harness.TimelineRow, role string) (float64, bool) { v, ok := r.ContainerCPU[role]; return v, ok },
		func(c harness.ContainerResult) float64 { return c.EnforcedCPUs })
	if err != nil {
		return nil, err
	}
	mem, err := panel("memory per container (Docker stats)", "memory (MiB)",
		func(r harness.TimelineRow, role string) (float64, bool) {
			v, ok := r.ContainerMem[role]
			return float64(v) / mib, ok
		},
		func(c harness.ContainerResult) float64 { return float64(c.EnforcedMemoryBytes) / mib })
	if err != nil {
		return nil, err
	}
	return [][]*plot.Plot{{cpu, mem}}, nil
}

// containerRoles lists the roles of ctrs once each, in their order.
func containerRoles(ctrs []harness.ContainerResult) []string {
	var out []string
	for _, c := range ctrs {
		if !slices.Contains(out, c.Role) {
			out = append(out, c.Role)
		}
	}
	return out
}

// containerOf is the last container of role (a restarted pipeline's newest).
func containerOf(ctrs []harness.ContainerResult, role string) *harness.ContainerResult {
	for i := len(ctrs) - 1; i >= 0; i-- {
		if ctrs[i].Role == role {
			return &ctrs[i]
		}
	}
	return nil
}

// containersCaption says how to read ContainersPlot, and how each container ended.
func containersCaption(res *harness.Result) string {
	c := "CPU (cores) and memory (usage less the inactive page cache, as docker stats shows it) of each container, from Docker's stats once a second; a dashed line is the limit Docker enforced on it (infra.containers.limits)."
	var ends []string
	for _, k := range res.Environment.Containers {
		switch {
		case k.OOMKilled:
			ends = append(ends, k.Name+" was OOM-killed")
		case k.ExitCode == 137:
			ends = append(ends, k.Name+" was killed (SIGKILL, exit code 137)")
		case k.ExitCode > 0:
			ends = append(ends, fmt.Sprintf("%s exited with code %d", k.Name, k.ExitCode))
		}
	}
	if len(ends) > 0 {
		c += " " + strings.Join(ends, "; ") + "."
	}
	if d := res.Environment.Docker; d != nil {
		c += fmt.Sprintf(" Docker %s, %s storage, cgroup v%s (%s).", d.ServerVersion, d.StorageDriver, d.CgroupVersion, d.CgroupDriver)
	}
	return c + faultCaption(res)
}
