package qdrantengine_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qdrant/go-client/qdrant"
	"github.com/vectorstream/vectorstream/infra/qdrantengine"
)

// The crate pins the qdrant-edge version the labels name.
func TestEngineVersionIsTheCratePin(t *testing.T) {
	t.Parallel()
	crate := filepath.Join("..", "qdrant-engine")
	for file, re := range map[string]string{
		"Cargo.toml":  `qdrant-edge = "=` + regexp.QuoteMeta(qdrantengine.EngineVersion) + `"`,
		"Cargo.lock":  `name = "qdrant-edge"\nversion = "` + regexp.QuoteMeta(qdrantengine.EngineVersion) + `"`,
		"src/main.rs": `pub const ENGINE: &str = "qdrant-edge ` + regexp.QuoteMeta(qdrantengine.EngineVersion) + `";`,
	} {
		b, err := os.ReadFile(filepath.Join(crate, file))
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(re).Match(b) {
			t.Errorf("%s does not pin qdrant-edge %s (want a match for %s)", file, qdrantengine.EngineVersion, re)
		}
	}
	if !strings.Contains(qdrantengine.Label, "qdrant-edge "+qdrantengine.EngineVersion) || !strings.Contains(qdrantengine.Label, "not a Qdrant server") {
		t.Errorf("label %q must name the engine and say it is not a Qdrant server", qdrantengine.Label)
	}
}

// The server is generated from the .proto files of the Go client the pipeline uses:
// the crate's copies must be those files, byte for byte.
func TestProtosAreTheGoClients(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/qdrant/go-client").Output()
	if err != nil {
		t.Fatalf("go list the Go client's module: %v", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "internal", "proto")
	want, err := filepath.Glob(filepath.Join(dir, "*.proto"))
	if err != nil || len(want) == 0 {
		t.Fatalf("no .proto files in %s: %v", dir, err)
	}
	got, _ := filepath.Glob(filepath.Join("..", "qdrant-engine", "proto", "*.proto"))
	if len(got) != len(want) {
		t.Errorf("crate has %d .proto files, the client %d", len(got), len(want))
	}
	for _, w := range want {
		a, _ := os.ReadFile(w)
		b, err := os.ReadFile(filepath.Join("..", "qdrant-engine", "proto", filepath.Base(w)))
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("%s differs from the Go client's (%v): copy it again (see infra/qdrant-engine/proto/README.md)", filepath.Base(w), err)
		}
	}
}

func TestFindWithoutABuild(t *testing.T) {
	t.Setenv(qdrantengine.EnvBinary, "")
	// The test binary has no qdrant-engine beside it.
	if _, err := qdrantengine.Find(); err != qdrantengine.ErrNotBuilt {
		t.Errorf("Find: %v, want ErrNotBuilt", err)
	}
	t.Setenv(qdrantengine.EnvBinary, filepath.Join(t.TempDir(), "missing"))
	if _, err := qdrantengine.Find(); err == nil || !strings.Contains(err.Error(), qdrantengine.EnvBinary) {
		t.Errorf("Find with a missing binary: %v, want an error naming %s", err, qdrantengine.EnvBinary)
	}
}

func TestStartFailsClearly(t *testing.T) {
	t.Parallel()
	_, err := qdrantengine.Start(t.Context(), qdrantengine.Config{Binary: "/bin/false", DataDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "exited before it was ready") {
		t.Errorf("Start of a binary that exits: %v", err)
	}
}

// engine starts the built engine server, or skips when none is named.
func engine(t *testing.T) (*qdrantengine.Server, *qdrant.Client) {
	t.Helper()
	bin := qdrantengine.BinaryFromEnv()
	if bin == "" {
		t.Skipf("%s is not set: the engine server is not built here (make engine)", qdrantengine.EnvBinary)
	}
	data := t.TempDir()
	srv, err := qdrantengine.Start(t.Context(), qdrantengine.Config{Binary: bin, DataDir: data, Stderr: os.Stderr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
		if left, _ := os.ReadDir(data); len(left) != 0 {
			t.Errorf("Close left %d entries in the data directory", len(left))
		}
	})
	host, port, _ := net.SplitHostPort(srv.Addr())
	p, _ := strconv.Atoi(port)
	qc, err := qdrant.NewClient(&qdrant.Config{Host: host, Port: p})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = qc.Close() })
	return srv, qc
}

func vec(i, dim int) []float32 {
	v := make([]float32, dim)
	for j := range v {
		v[j] = float32((i*7+j*13)%17) + 1
	}
	return v
}

// What the pipeline and the harness do, and a user's search, on Qdrant's engine:
// writes with and without wait, reads, exact counts, filters, HNSW search after the
// server's background optimizer has indexed the points.
func TestEngineServesThePipelinesCalls(t *testing.T) {
	t.Parallel()
	srv, qc := engine(t)
	ctx := t.Context()
	if !strings.Contains(srv.Engine(), "qdrant-edge") {
		t.Errorf("engine %q", srv.Engine())
	}
	hc, err := qc.HealthCheck(ctx)
	if err != nil || !strings.Contains(hc.GetTitle(), "not a Qdrant server") {
		t.Fatalf("health check %v, %v: the title must say what the server is", hc, err)
	}
	const dim, n = 8, 3000
	// A low indexing threshold, so the optimizer builds HNSW for a few thousand points.
	err = qc.CreateCollection(ctx, &qdrant.CreateCollection{CollectionName: "ev",
		VectorsConfig:    qdrant.NewVectorsConfig(&qdrant.VectorParams{Size: dim, Distance: qdrant.Distance_Cosine}),
		OptimizersConfig: &qdrant.OptimizersConfigDiff{IndexingThreshold: qdrant.PtrOf(uint64(10))}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := qc.CreateFieldIndex(ctx, &qdrant.CreateFieldIndexCollection{CollectionName: "ev", FieldName: "user",
		FieldType: qdrant.FieldType_FieldTypeKeyword.Enum(), Wait: qdrant.PtrOf(true)}); err != nil {
		t.Fatal(err)
	}
	for b := 0; b < n; b += 500 {
		pts := make([]*qdrant.PointStruct, 0, 500)
		for i := b; i < b+500; i++ {
			pts = append(pts, &qdrant.PointStruct{Id: qdrant.NewIDNum(uint64(i)), Vectors: qdrant.NewVectorsDense(vec(i, dim)),
				Payload: qdrant.NewValueMap(map[string]any{"user": fmt.Sprintf("u%d", i%10), "n": i})})
		}
		// Every other batch without wait: the last batch's wait=true orders after them.
		res, err := qc.Upsert(ctx, &qdrant.UpsertPoints{CollectionName: "ev", Points: pts, Wait: qdrant.PtrOf(b%1000 != 0 || b+500 >= n)})
		if err != nil {
			t.Fatal(err)
		}
		if want := map[bool]qdrant.UpdateStatus{true: qdrant.UpdateStatus_Completed, false: qdrant.UpdateStatus_Acknowledged}[b%1000 != 0 || b+500 >= n]; res.GetStatus() != want {
			t.Errorf("batch %d: status %v, want %v", b, res.GetStatus(), want)
		}
	}
	if c, err := qc.Count(ctx, &qdrant.CountPoints{CollectionName: "ev", Exact: qdrant.PtrOf(true)}); err != nil || c != n {
		t.Fatalf("exact count %d, %v; want %d", c, err, n)
	}
	f := &qdrant.Filter{Must: []*qdrant.Condition{qdrant.NewMatchKeyword("user", "u3")}}
	if c, err := qc.Count(ctx, &qdrant.CountPoints{CollectionName: "ev", Filter: f, Exact: qdrant.PtrOf(true)}); err != nil || c != n/10 {
		t.Errorf("filtered count %d, %v; want %d", c, err, n/10)
	}
	got, err := qc.Get(ctx, &qdrant.GetPoints{CollectionName: "ev", Ids: []*qdrant.PointId{qdrant.NewIDNum(42), qdrant.NewIDNum(99999)},
		WithVectors: qdrant.NewWithVectors(true), WithPayload: qdrant.NewWithPayload(true)})
	if err != nil || len(got) != 1 {
		t.Fatalf("get: %v, %v; want the one existing point", got, err)
	}
	if u := got[0].GetPayload()["user"].GetStringValue(); u != "u2" {
		t.Errorf("payload user %q, want u2", u)
	}
	if d := got[0].GetVectors().GetVector().GetDense().GetData(); len(d) != dim {
		t.Errorf("vector %v: want %d dimensions in VectorOutput.dense", got[0].GetVectors(), dim)
	}
	// Scroll pages through every point once.
	seen, pages := 0, 0
	var offset *qdrant.PointId
	for {
		pts, next, err := qc.ScrollAndOffset(ctx, &qdrant.ScrollPoints{CollectionName: "ev", Limit: qdrant.PtrOf(uint32(700)), Offset: offset})
		if err != nil {
			t.Fatal(err)
		}
		seen += len(pts)
		pages++
		if next == nil {
			break
		}
		offset = next
	}
	if seen != n || pages != (n+699)/700 {
		t.Errorf("scroll saw %d points in %d pages, want %d in %d", seen, pages, n, (n+699)/700)
	}
	// The background optimizer indexes the points; wait for it, bounded.
	deadline := time.Now().Add(2 * time.Minute)
	var info *qdrant.CollectionInfo
	for {
		if info, err = qc.GetCollectionInfo(ctx, "ev"); err != nil {
			t.Fatal(err)
		}
		if info.GetIndexedVectorsCount() >= n && info.GetStatus() == qdrant.CollectionStatus_Green {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 2 min: %d of %d vectors indexed, status %v", info.GetIndexedVectorsCount(), n, info.GetStatus())
		}
		select {
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		case <-time.After(100 * time.Millisecond): // polling the server's state, not waiting for it
		}
	}
	// HNSW and exact search agree on the best hit, a point identical to the query.
	for _, exact := range []bool{false, true} {
		hits, err := qc.Query(ctx, &qdrant.QueryPoints{CollectionName: "ev", Query: qdrant.NewQueryDense(vec(77, dim)), Limit: qdrant.PtrOf(uint64(5)),
			Filter: f, Params: &qdrant.SearchParams{Exact: qdrant.PtrOf(exact), HnswEf: qdrant.PtrOf(uint64(64))}, WithPayload: qdrant.NewWithPayload(true)})
		if err != nil || len(hits) != 5 {
			t.Fatalf("query exact=%v: %d hits, %v", exact, len(hits), err)
		}
		for _, h := range hits {
			if h.GetPayload()["user"].GetStringValue() != "u3" {
				t.Errorf("query exact=%v: hit %v outside the filter", exact, h.GetId())
			}
		}
		if hits[0].GetScore() < 0.9999 {
			t.Errorf("query exact=%v: best score %v, want 1 (point 77 is the query)", exact, hits[0].GetScore())
		}
	}
	// Deletes, with and without a filter.
	if _, err := qc.Delete(ctx, &qdrant.DeletePoints{CollectionName: "ev", Wait: qdrant.PtrOf(true), Points: qdrant.NewPointsSelectorFilter(f)}); err != nil {
		t.Fatal(err)
	}
	if c, _ := qc.Count(ctx, &qdrant.CountPoints{CollectionName: "ev", Exact: qdrant.PtrOf(true)}); c != n-n/10 {
		t.Errorf("count after delete by filter %d, want %d", c, n-n/10)
	}
	// The server's own metrics.
	resp, err := http.Get("http://" + srv.MetricsAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	for _, m := range []string{`qdrant_engine_grpc_requests_total{code="0",method="Points/Upsert"} 6`, `qdrant_engine_points_upserted_total 3000`,
		`qdrant_engine_collection_indexed_vectors{collection="ev"}`, `qdrant_engine_optimizer_runs_total`, `qdrant_engine_grpc_request_duration_seconds_bucket{method="Points/Query"`} {
		if !strings.Contains(string(body), m) {
			t.Errorf("metrics lack %s", m)
		}
	}
	if err := qc.DeleteCollection(ctx, "ev"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := qc.CollectionExists(ctx, "ev"); ok {
		t.Error("collection still exists after delete")
	}
}

// metric returns the value of the first sample of the server's metrics whose line
// starts with prefix, or -1.
func metric(t *testing.T, srv *qdrantengine.Server, prefix string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + srv.MetricsAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, prefix+" ") {
			v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimPrefix(line, prefix)), 64)
			if err == nil {
				return v
			}
		}
	}
	return -1
}

// qdrant-edge 0.7.0 never truncates its WAL; the server's patched flush does, every
// 5 s, so the WAL stays within a few of its segments however much was written.
func TestEngineTruncatesItsWAL(t *testing.T) {
	t.Parallel()
	srv, qc := engine(t)
	ctx := t.Context()
	const dim, batches, per = 128, 24, 1000
	err := qc.CreateCollection(ctx, &qdrant.CreateCollection{CollectionName: "wal",
		VectorsConfig: qdrant.NewVectorsConfig(&qdrant.VectorParams{Size: dim, Distance: qdrant.Distance_Dot}),
		WalConfig:     &qdrant.WalConfigDiff{WalCapacityMb: qdrant.PtrOf(uint64(1))}})
	if err != nil {
		t.Fatal(err)
	}
	for b := range batches {
		pts := make([]*qdrant.PointStruct, per)
		for i := range pts {
			id := b*per + i
			pts[i] = &qdrant.PointStruct{Id: qdrant.NewIDNum(uint64(id)), Vectors: qdrant.NewVectorsDense(vec(id, dim)),
				Payload: qdrant.NewValueMap(map[string]any{"pad": strings.Repeat("x", 200)})}
		}
		if _, err := qc.Upsert(ctx, &qdrant.UpsertPoints{CollectionName: "wal", Points: pts, Wait: qdrant.PtrOf(true)}); err != nil {
			t.Fatal(err)
		}
	}
	// About 17 MB went through the WAL (24,000 points of 512 B of vector and 200 B
	// of payload); wait, bounded, for a flush to truncate it.
	const sample = `qdrant_engine_collection_wal_bytes{collection="wal"}`
	deadline := time.Now().Add(time.Minute)
	for {
		wal := metric(t, srv, sample)
		if wal >= 0 && wal < 4<<20 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("WAL still %.0f bytes a minute after the writes: not truncated", wal)
		}
		select {
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		case <-time.After(200 * time.Millisecond): // polling the server's state
		}
	}
	if c, err := qc.Count(ctx, &qdrant.CountPoints{CollectionName: "wal", Exact: qdrant.PtrOf(true)}); err != nil || c != batches*per {
		t.Errorf("count after truncation %d, %v; want %d", c, err, batches*per)
	}
	if got, err := qc.Get(ctx, &qdrant.GetPoints{CollectionName: "wal", Ids: []*qdrant.PointId{qdrant.NewIDNum(7)}, WithVectors: qdrant.NewWithVectors(true)}); err != nil ||
		len(got) != 1 || len(got[0].GetVectors().GetVector().GetDense().GetData()) != dim {
		t.Errorf("point 7 after truncation: %v, %v", got, err)
	}
}
