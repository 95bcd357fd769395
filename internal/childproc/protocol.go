package childproc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/vectorstream/vectorstream/internal/measure"
	"github.com/vectorstream/vectorstream/pipeline"
)

// The paths a pipeline process serves on its health address for the harness.
const (
	// PathStats (GET) answers RemoteStats: the cumulative histograms, counters and
	// batch commits.
	PathStats = "/debug/vectorstream/stats"
	// PathCounters (GET) answers pipeline.Counters, the running totals.
	PathCounters = "/debug/vectorstream/counters"
	// PathInterval (POST) answers RemoteInterval and starts a new interval.
	PathInterval = "/debug/vectorstream/interval"
	// PathMeasure (POST, ?from=<Unix nanoseconds>) makes the histograms ignore events
	// intended before from; it answers 204 No Content.
	PathMeasure = "/debug/vectorstream/measure"
	// ParamFrom is PathMeasure's query parameter.
	ParamFrom = "from"
	// PathReady (GET) is the pipeline's readiness endpoint, served by
	// pipeline.Pipeline.Handler: 200 once it joined its group and no breaker is OPEN.
	PathReady = "/health/ready"
)

// RemoteStats is the body of GET PathStats.
type RemoteStats struct {
	Snapshot pipeline.Snapshot `json:"snapshot"`
	Commits  []pipeline.Commit `json:"commits"`
}

// RemoteInterval is the body of POST PathInterval: the running totals, the e2e
// histogram of the events acknowledged since the previous call (HdrHistogram's
// compressed V2 encoding, base64) and the resource use of the pipeline's process.
type RemoteInterval struct {
	Counters pipeline.Counters     `json:"counters"`
	E2E      string                `json:"e2e"`
	Process  measure.ProcessSample `json:"process"`
}

// Announcement is the one JSON line a pipeline process started with --announce prints
// on stdout once its health server listens: {"health_addr":"host:port"}.
type Announcement struct {
	HealthAddr string `json:"health_addr"`
}

// maxAnnouncement bounds the line ReadAnnouncement reads.
const maxAnnouncement = 4096

// Announce writes the announcement of addr (host:port) to w, one line.
func Announce(w io.Writer, addr string) error {
	b, err := json.Marshal(Announcement{HealthAddr: addr})
	if err != nil {
		return fmt.Errorf("announce: %w", err)
	}
	if _, err := w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("announce: %w", err)
	}
	return nil
}

// ReadAnnouncement reads the announcement line from r and returns the health address.
// It reads nothing past the line's newline, so the caller may go on reading r.
func ReadAnnouncement(r io.Reader) (string, error) {
	var line []byte
	b := make([]byte, 1)
	for len(line) < maxAnnouncement {
		n, err := r.Read(b)
		if n == 1 && b[0] == '\n' {
			return parseAnnouncement(line)
		}
		line = append(line, b[:n]...)
		if err != nil {
			return "", fmt.Errorf("announcement: no address announced (%q): %w", line, err)
		}
	}
	return "", fmt.Errorf("announcement: no newline in the first %d bytes (%q)", maxAnnouncement, line[:64])
}

func parseAnnouncement(line []byte) (string, error) {
	var ann Announcement
	if err := json.Unmarshal(bytes.TrimSpace(line), &ann); err != nil {
		return "", fmt.Errorf("announcement %q: %w", line, err)
	}
	if ann.HealthAddr == "" {
		return "", fmt.Errorf("announcement %q: no health_addr", line)
	}
	return ann.HealthAddr, nil
}
