package childproc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/vectorstream/vectorstream/embed"
	"github.com/vectorstream/vectorstream/event"
	"github.com/vectorstream/vectorstream/infra"
	"github.com/vectorstream/vectorstream/internal/childproc"
	"github.com/vectorstream/vectorstream/pipeline"
	"github.com/vectorstream/vectorstream/workloads"
)

// protoRig is a pipeline running over embedded Kafka and a MemoryStore, serving its
// health routes and the protocol on one mux (as `vectorstream pipeline` does), and a
// Client of it.
type protoRig struct {
	topic  string
	env    *infra.Env
	gen    *workloads.Generator
	p      *pipeline.Pipeline
	srv    *httptest.Server
	client *childproc.Client
}

type nopEmbedder struct{}

func (nopEmbedder) Encode([]embed.Doc, []float32) error { return nil }

func newProtoRig(t *testing.T) *protoRig {
	t.Helper()
	r := &protoRig{topic: "childproc-" + strconv.FormatInt(time.Now().UnixNano(), 36)}
	env, err := infra.StartEmbedded(t.Context(), infra.EmbeddedConfig{Partitions: 2, Topics: []string{r.topic, r.topic + ".dlq"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.Close)
	r.env = env
	if r.gen, err = workloads.NewGenerator(workloads.GeneratorConfig{Seed: 5, Products: 50, Users: 10}); err != nil {
		t.Fatal(err)
	}
	cfg := pipeline.DefaultConfig()
	cfg.Kafka.Topic, cfg.Kafka.DLQTopic, cfg.Kafka.Group = r.topic, r.topic+".dlq", r.topic
	cfg.Kafka.SessionTimeout = 6 * time.Second
	cfg.Batch.Interval = 20 * time.Millisecond
	cfg.LogLevel = "warn"
	r.p, err = pipeline.New(cfg, pipeline.Deps{
		KafkaOpts:   append([]kgo.Opt{kgo.SeedBrokers(env.KafkaBrokers...)}, env.KafkaOpts...),
		Store:       pipeline.NewMemoryStore(),
		Dim:         4,
		NewEmbedder: func(func(error)) (pipeline.Embedder, error) { return nopEmbedder{}, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	r.p.Register(mux)
	childproc.Register(mux, r.p)
	r.srv = httptest.NewServer(mux)
	t.Cleanup(r.srv.Close)
	r.client = childproc.NewClient(strings.TrimPrefix(r.srv.URL, "http://"), childproc.WithHTTPClient(r.srv.Client()))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- r.p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("pipeline: %v", err)
		}
	})
	return r
}

// produce sends n valid events intended at intended.
func (r *protoRig) produce(t *testing.T, n int, intended time.Time) {
	t.Helper()
	cl, err := infra.NewKafkaClient(r.env, kgo.DefaultProduceTopic(r.topic))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ns := strconv.AppendInt(nil, intended.UnixNano(), 10)
	var krs []*kgo.Record
	for range n {
		rec := r.gen.Next(intended)
		krs = append(krs, &kgo.Record{Key: rec.Key, Value: rec.Value, Headers: []kgo.RecordHeader{
			{Key: event.HeaderEventID, Value: []byte(rec.EventID)}, {Key: event.HeaderIntended, Value: ns}, {Key: event.HeaderSent, Value: ns}}})
	}
	if err := cl.ProduceSync(t.Context(), krs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond until it holds, failing the test after 30 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(30 * time.Second)
	for !cond() {
		select {
		case <-deadline:
			t.Fatalf("waited 30 s for %s", what)
		case <-tick.C:
		}
	}
}

func (r *protoRig) waitWritten(t *testing.T, n int64) {
	t.Helper()
	waitFor(t, strconv.FormatInt(n, 10)+" events written", func() bool {
		c, err := r.client.Counters(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return c.Written >= n
	})
}

func e2eCount(t *testing.T, st childproc.RemoteStats) int64 {
	t.Helper()
	h, err := hdrhistogram.Decode([]byte(st.Snapshot.Histograms[pipeline.StageE2E.String()]))
	if err != nil {
		t.Fatal(err)
	}
	return h.TotalCount()
}

// TestProtocolRoundTrip reads a running pipeline's counters, intervals, final
// statistics and warm-up boundary through the Client and checks them against the
// pipeline's own Stats.
func TestProtocolRoundTrip(t *testing.T) {
	r := newProtoRig(t)
	ctx := t.Context()
	waitFor(t, "the pipeline to be ready", func() bool { return r.client.Ready(ctx) })

	r.produce(t, 50, time.Now())
	r.waitWritten(t, 50)
	c, h, ps, err := r.client.Interval(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c != r.p.Stats().Counters() || c.Written != 50 || h.TotalCount() != 50 || ps.Goroutines == 0 {
		t.Errorf("interval: counters %+v (pipeline's %+v), %d e2e values, process %+v; want 50 written, 50 values", c, r.p.Stats().Counters(), h.TotalCount(), ps)
	}
	if _, h, _, err = r.client.Interval(ctx); err != nil || h.TotalCount() != 0 {
		t.Errorf("second interval: %v values, %v; want a new, empty interval", h, err)
	}

	// Events intended before from are counted but not measured, to the nanosecond.
	from := time.Now()
	if err := r.client.MeasureFrom(ctx, from); err != nil {
		t.Fatal(err)
	}
	r.produce(t, 10, from.Add(-time.Nanosecond))
	r.produce(t, 20, from)
	r.waitWritten(t, 80)
	st, err := r.client.Final(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want, err := r.p.Stats().Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if st.Snapshot.Counters != want.Counters || st.Snapshot.Counters.Written != 80 || e2eCount(t, st) != 70 {
		t.Errorf("final: counters %+v (pipeline's %+v), %d e2e values; want 80 written, 50+20 measured", st.Snapshot.Counters, want.Counters, e2eCount(t, st))
	}
	commits := r.p.Stats().Commits()
	if !slices.EqualFunc(st.Commits, commits, func(a, b pipeline.Commit) bool { return a.At.Equal(b.At) && a.Cumulative == b.Cumulative }) ||
		len(commits) == 0 || commits[len(commits)-1].Cumulative != 80 {
		t.Errorf("final commits %v, pipeline's %v; want them equal, ending at 80", st.Commits, commits)
	}
}

// TestWireFormat pins the paths, methods and JSON bodies of the protocol: the bodies'
// keys are those `vectorstream pipeline` has always served.
func TestWireFormat(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(childproc.Handler(statsOnly{pipeline.NewStats()}))
	defer srv.Close()
	for _, tc := range []struct {
		method, path string
		code         int
		keys         []string // top-level keys of the JSON body, sorted
		has          string
	}{
		{http.MethodGet, childproc.PathStats, 200, []string{"commits", "snapshot"}, `"histograms"`},
		{http.MethodGet, childproc.PathCounters, 200, nil, `"written":0`},
		{http.MethodPost, childproc.PathInterval, 200, []string{"counters", "e2e", "process"}, `"consumed":0`},
		{http.MethodPost, childproc.PathMeasure + "?from=1", 204, nil, ""},
		{http.MethodPost, childproc.PathMeasure, 400, nil, "from: want Unix nanoseconds"},
		{http.MethodPost, childproc.PathMeasure + "?from=soon", 400, nil, "from: want Unix nanoseconds"},
		{http.MethodGet, childproc.PathInterval, 405, nil, ""},
		{http.MethodPost, childproc.PathStats, 405, nil, ""},
	} {
		req, _ := http.NewRequestWithContext(t.Context(), tc.method, srv.URL+tc.path, nil)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.code || !bytes.Contains(body, []byte(tc.has)) {
			t.Errorf("%s %s: %d %q, want %d containing %q", tc.method, tc.path, resp.StatusCode, body, tc.code, tc.has)
		}
		if tc.keys == nil {
			continue
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatalf("%s %s: %v", tc.method, tc.path, err)
		}
		keys := slices.Sorted(func(yield func(string) bool) {
			for k := range m {
				if !yield(k) {
					return
				}
			}
		})
		if !slices.Equal(keys, tc.keys) || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s %s: keys %v, content type %q; want %v, application/json", tc.method, tc.path, keys, resp.Header.Get("Content-Type"), tc.keys)
		}
	}
}

// statsOnly is a Source over bare statistics.
type statsOnly struct{ s *pipeline.Stats }

func (s statsOnly) Stats() *pipeline.Stats { return s.s }

func TestClientReportsWhatFailed(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NewServeMux()) // serves nothing: 404 everywhere
	defer srv.Close()
	c := childproc.NewClient(strings.TrimPrefix(srv.URL, "http://"))
	if c.Ready(t.Context()) {
		t.Error("ready without a readiness endpoint")
	}
	if _, err := c.Counters(t.Context()); err == nil || !strings.Contains(err.Error(), "GET "+childproc.PathCounters+": 404") {
		t.Errorf("counters from nothing: %v", err)
	}
	if err := c.MeasureFrom(t.Context(), time.Unix(0, 7)); err == nil || !strings.Contains(err.Error(), "POST "+childproc.PathMeasure+"?from=7: 404") {
		t.Errorf("measure from nothing: %v", err)
	}
}

func TestAnnouncement(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := childproc.Announce(&buf, "127.0.0.1:8088"); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); got != `{"health_addr":"127.0.0.1:8088"}`+"\n" {
		t.Errorf("announcement %q", got)
	}
	buf.WriteString("and the rest\n")
	addr, err := childproc.ReadAnnouncement(&buf)
	if err != nil || addr != "127.0.0.1:8088" || buf.String() != "and the rest\n" {
		t.Errorf("read %q, %v, left %q; want the address and the rest unread", addr, err, buf.String())
	}
	for _, bad := range []string{"", `{"health_addr":"a:1"}`, "{}\n", "not json\n", strings.Repeat("x", 5000)} {
		if addr, err := childproc.ReadAnnouncement(strings.NewReader(bad)); err == nil {
			t.Errorf("ReadAnnouncement(%.20q) = %q, want an error", bad, addr)
		}
	}
}

func TestArgv(t *testing.T) {
	t.Parallel()
	start := time.Unix(0, 1234567890)
	for name, tc := range map[string]struct{ got, want []string }{
		"pipeline": {childproc.PipelineArgs{Config: "c.yaml", Model: "m.vsm", Backend: "cpu", Brokers: []string{"a:1", "b:2"}, Qdrant: "q:6334"}.Argv(),
			[]string{"pipeline", "--config", "c.yaml", "--model", "m.vsm", "--backend", "cpu", "--brokers", "a:1,b:2", "--qdrant", "q:6334", "--announce"}},
		"pipeline with security": {childproc.PipelineArgs{Config: "c", Model: "m", Backend: "auto", Brokers: []string{"a:1"}, Qdrant: "q:1", Security: "s.yaml"}.Argv(),
			[]string{"pipeline", "--config", "c", "--model", "m", "--backend", "auto", "--brokers", "a:1", "--qdrant", "q:1", "--announce", "--security", "s.yaml"}},
		"infra serve": {childproc.InfraServeArgs{Kafka: "127.0.0.1:0", Qdrant: "127.0.0.1:0", Partitions: 3, Topics: []string{"raw", "raw.dlq"}}.Argv(),
			[]string{"infra", "serve", "--kafka", "127.0.0.1:0", "--qdrant", "127.0.0.1:0", "--partitions", "3", "--topic", "raw", "--topic", "raw.dlq", "--qdrant-store", "standin"}},
		"infra serve on the engine": {childproc.InfraServeArgs{Kafka: "k:0", Qdrant: "q:0", Partitions: 1, QdrantEngine: "/bin/qdrant-engine"}.Argv(),
			[]string{"infra", "serve", "--kafka", "k:0", "--qdrant", "q:0", "--partitions", "1", "--qdrant-store", "engine", "--qdrant-engine", "/bin/qdrant-engine"}},
		"load part": {childproc.LoadPartArgs{Part: 1, Parts: 2, Start: start, Brokers: []string{"a:1", "b:2"}, Out: "p.gob", Scenario: "s.yaml"}.Argv(),
			[]string{"load", "--part", "1/2", "--start", "1234567890", "--brokers", "a:1,b:2", "--out", "p.gob", "s.yaml"}},
	} {
		if !slices.Equal(tc.got, tc.want) {
			t.Errorf("%s: argv %q, want %q", name, tc.got, tc.want)
		}
	}
}

func TestParsePart(t *testing.T) {
	t.Parallel()
	if k, m, err := childproc.ParsePart(childproc.FormatPart(3, 4)); k != 3 || m != 4 || err != nil {
		t.Errorf("ParsePart(FormatPart(3, 4)) = %d, %d, %v", k, m, err)
	}
	for _, bad := range []string{"", "3", "3/", "/4", "a/4", "3/b", "3-4"} {
		if _, _, err := childproc.ParsePart(bad); err == nil {
			t.Errorf("ParsePart(%q) accepted", bad)
		}
	}
}
