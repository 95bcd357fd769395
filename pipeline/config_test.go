package pipeline_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/qdrant/go-client/qdrant"
	"github.com/vectorstream/vectorstream/embed"
	"github.com/vectorstream/vectorstream/pipeline"
)

func newIdle(t *testing.T, cfg pipeline.Config, opts ...pipeline.Opt) *pipeline.Pipeline {
	t.Helper()
	qc, err := qdrant.NewClient(&qdrant.Config{Host: "127.0.0.1", Port: 1, SkipCompatibilityCheck: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { qc.Close() })
	p, err := pipeline.New(cfg, pipeline.Deps{Qdrant: qc, Dim: 4, NewEmbedder: func(func(error)) (pipeline.Embedder, error) { return nopEmbedder{}, nil }}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

type nopEmbedder struct{}

func (nopEmbedder) Encode([]embed.Doc, []float32) error { return nil }

func TestConfigProblemsNameEveryField(t *testing.T) {
	t.Parallel()
	cfg := pipeline.DefaultConfig()
	cfg.Batch.MaxSize = 0
	cfg.Workers = 0
	cfg.Kafka.DLQTopic = cfg.Kafka.Topic
	cfg.LogLevel = "loud"
	err := cfg.Validate()
	for _, want := range []string{"batch.max_size", "workers", "kafka.dlq_topic", "log_level"} {
		if err == nil || !strings.Contains(err.Error(), want+":") {
			t.Errorf("error lacks %s: %v", want, err)
		}
	}
	if err := pipeline.DefaultConfig().Validate(); err != nil {
		t.Errorf("defaults invalid: %v", err)
	}
}

func TestReloadAppliesOnlyLiveSettings(t *testing.T) {
	t.Parallel()
	var logs strings.Builder
	level := new(slog.LevelVar)
	p := newIdle(t, pipeline.DefaultConfig(), pipeline.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: level})), level))
	next := pipeline.DefaultConfig()
	next.Batch.Interval = 250 * time.Millisecond
	next.LogLevel = "debug"
	if err := p.Reload(next); err != nil {
		t.Fatal(err)
	}
	if got := p.Config(); got.Batch.Interval != 250*time.Millisecond || got.LogLevel != "debug" || level.Level() != slog.LevelDebug {
		t.Errorf("config after reload %+v, level %v", got.Batch, level.Level())
	}
	if !strings.Contains(logs.String(), "key=batch.interval old=1s new=250ms") {
		t.Errorf("reload not logged with old and new values:\n%s", logs.String())
	}
	bad := next
	bad.Kafka.Topic = "other"
	if err := p.Reload(bad); err == nil {
		t.Error("reload accepted a change of topic, which needs a restart")
	}
	if p.Config().Kafka.Topic != "raw_data" {
		t.Error("refused reload changed the config anyway")
	}
}

func TestHealthAndMetricsEndpoints(t *testing.T) {
	t.Parallel()
	p := newIdle(t, pipeline.DefaultConfig())
	srv := httptest.NewServer(p.Handler())
	defer srv.Close()
	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, tc := range []struct {
		path string
		code int
		has  string
	}{
		{"/health/live", 200, `"status":"UP"`},
		{"/health/ready", 503, `"status":"DOWN"`}, // not running
		{"/health/kafka", 503, "not connected"},
		{"/health/qdrant", 503, `"status":"DOWN"`}, // nothing listens on port 1
		{"/health/system", 200, `"goroutines"`},
		{"/health", 503, `"components"`},
		{"/metrics", 200, "vectorstream_pipeline_events_written_total 0"},
		{"/metrics", 200, `vectorstream_pipeline_stage_latency_seconds_count{stage="e2e"} 0`},
	} {
		code, body := get(tc.path)
		if code != tc.code || !strings.Contains(body, tc.has) {
			t.Errorf("GET %s: %d %q, want %d containing %q", tc.path, code, body, tc.code, tc.has)
		}
	}
}

func TestParseFault(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]pipeline.Fault{
		"":                     {},
		"exit_after_upsert":    {Point: pipeline.FaultAfterUpsert, Batch: 1},
		"exit_before_commit:4": {Point: pipeline.FaultBeforeCommit, Batch: 4},
	} {
		got, err := pipeline.ParseFault(in)
		if err != nil || got.Point != want.Point || got.Batch != want.Batch {
			t.Errorf("ParseFault(%q) = %+v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"exit_later", "exit_after_upsert:0", "exit_after_upsert:x"} {
		if _, err := pipeline.ParseFault(bad); err == nil {
			t.Errorf("ParseFault(%q) accepted", bad)
		}
	}
}
