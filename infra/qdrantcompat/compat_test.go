package qdrantcompat_test

import (
	"bytes"
	"context"
	"math"
	"net"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qdrant/go-client/qdrant"
	"github.com/vectorstream/vectorstream/infra/qdrantengine"
	"github.com/vectorstream/vectorstream/infra/qdrantfake"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// serverSet names Qdrant-protocol servers, as a set of bits.
type serverSet uint8

const (
	standin serverSet = 1 << iota // the Go stand-in, infra/qdrantfake
	engine                        // the engine server, infra/qdrantengine
)

// server is one Qdrant-protocol server under test.
type server struct {
	name   string    // the first element of subtest names
	id     serverSet // which server this is
	client *qdrant.Client
}

// servers starts the servers under test: the stand-in always, the engine when
// qdrantengine.BinaryFromEnv names a binary. Cleanups stop them.
func servers(t *testing.T) []server {
	t.Helper()
	fake, err := qdrantfake.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := fake.Close(); err != nil {
			t.Errorf("close stand-in: %v", err)
		}
	})
	out := []server{{name: "standin", id: standin, client: dial(t, fake.Addr())}}

	bin := qdrantengine.BinaryFromEnv()
	if bin == "" {
		t.Logf("engine not tested: set %s to the engine binary to test it too", qdrantengine.EnvBinary)
		return out
	}
	var log lockedBuffer
	t.Cleanup(func() { // runs after the engine is closed
		if t.Failed() {
			t.Logf("engine log:\n%s", log.String())
		}
	})
	eng, err := qdrantengine.Start(t.Context(), qdrantengine.Config{Binary: bin, DataDir: t.TempDir(), Stderr: &log})
	if err != nil {
		t.Fatalf("start engine: %v", err)
	}
	t.Cleanup(func() {
		if err := eng.Close(); err != nil {
			t.Errorf("close engine: %v", err)
		}
	})
	return append(out, server{name: "engine", id: engine, client: dial(t, eng.Addr())})
}

// dial connects the official client to addr (host:port). The compatibility
// check is skipped: it only logs, and the servers under test are not Qdrant.
func dial(t *testing.T, addr string) *qdrant.Client {
	t.Helper()
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("server address %q: %v", addr, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		t.Fatalf("server address %q: %v", addr, err)
	}
	c, err := qdrant.NewClient(&qdrant.Config{Host: host, Port: port, SkipCompatibilityCheck: true})
	if err != nil {
		t.Fatalf("connect to %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// lockedBuffer collects a child's standard error.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// difference is one way a Qdrant-protocol server could answer unlike Qdrant
// 1.18, and the check that it answers like Qdrant.
type difference struct {
	name string
	// run checks the server behind c; coll is a collection name of the
	// difference's own, not yet created.
	run func(t *testing.T, c *qdrant.Client, coll string)
}

// forbiddenChars are the characters Qdrant refuses in a new collection's
// name (common::validation::validate_collection_name), with the subtest label
// of each.
var forbiddenChars = []struct {
	label string
	char  rune
}{
	{"lt", '<'}, {"gt", '>'}, {"colon", ':'}, {"quote", '"'}, {"slash", '/'}, {"backslash", '\\'},
	{"pipe", '|'}, {"question", '?'}, {"asterisk", '*'}, {"nul", 0}, {"unit_separator", 0x1f},
}

// differences is the table: each row a difference the stand-in once had from
// Qdrant 1.18.3. What Qdrant answers comes from its sources (qdrant/qdrant):
//   - names: lib/api/build.rs validates CreateCollection.collection_name with
//     length(min = 1, max = 255) and common::validation::validate_collection_name
//     (lib/common/common/src/validation.rs: < > : " / \ | ? * NUL U+001F);
//     lib/collection/src/operations/validation.rs words the errors and
//     src/tonic/api/mod.rs prefixes "Validation error in body".
//   - vector size: lib/api/build.rs, VectorParams.size range(min = 1, max = 65536).
//   - empty upsert: lib/collection/src/collection/point_ops.rs
//     update_from_client, CollectionError::bad_request("Empty update request").
//   - existing collection: lib/storage/src/content_manager/collections_ops.rs
//     StorageError::already_exists, mapped to tonic::Code::AlreadyExists.
//   - on_disk_payload: config/config.yaml, storage.on_disk_payload: true.
//   - segments: see wantSegments.
//   - dense output and NaN ranking: observed on Qdrant 1.18.3.
func differences() []difference {
	var ds []difference
	for _, f := range forbiddenChars {
		ds = append(ds, difference{"collection_name_" + f.label, func(t *testing.T, c *qdrant.Client, _ string) {
			err := create(t.Context(), c, "bad"+string(f.char)+"name", 4, qdrant.Distance_Cosine)
			wantStatus(t, err, codes.InvalidArgument,
				`Validation error in body: [collection_name: collection name cannot contain "`+string(f.char)+`" char]`)
		}})
	}
	return append(ds,
		difference{"collection_name_255_ok", func(t *testing.T, c *qdrant.Client, _ string) {
			name := strings.Repeat("n", 255)
			if err := create(t.Context(), c, name, 4, qdrant.Distance_Cosine); err != nil {
				t.Fatalf("create a collection with a 255-character name: %v", err)
			}
			if ok, err := c.CollectionExists(t.Context(), name); err != nil || !ok {
				t.Fatalf("collection with a 255-character name exists = %v, %v; want true", ok, err)
			}
			if err := c.DeleteCollection(t.Context(), name); err != nil {
				t.Fatalf("delete the collection with a 255-character name: %v", err)
			}
		}},
		difference{"collection_name_256_rejected", func(t *testing.T, c *qdrant.Client, _ string) {
			name := strings.Repeat("n", 256)
			err := create(t.Context(), c, name, 4, qdrant.Distance_Cosine)
			wantStatus(t, err, codes.InvalidArgument,
				`collection_name: value "`+name+`" invalid, must be from 1 to 255 characters`)
		}},
		difference{"collection_name_empty", func(t *testing.T, c *qdrant.Client, _ string) {
			err := create(t.Context(), c, "", 4, qdrant.Distance_Cosine)
			wantStatus(t, err, codes.InvalidArgument, `collection_name: value "" invalid, must be from 1 to 255 characters`)
		}},
		difference{"upsert_empty", func(t *testing.T, c *qdrant.Client, coll string) {
			mustCreate(t, c, coll, 4, qdrant.Distance_Cosine)
			_, err := c.Upsert(t.Context(), &qdrant.UpsertPoints{CollectionName: coll, Wait: qdrant.PtrOf(true)})
			wantStatus(t, err, codes.InvalidArgument, "Bad request: Empty update request")
		}},
		difference{"create_existing", func(t *testing.T, c *qdrant.Client, coll string) {
			mustCreate(t, c, coll, 4, qdrant.Distance_Cosine)
			err := create(t.Context(), c, coll, 4, qdrant.Distance_Cosine)
			wantStatus(t, err, codes.AlreadyExists, "Wrong input: Collection `"+coll+"` already exists!")
		}},
		difference{"vector_size_0", func(t *testing.T, c *qdrant.Client, coll string) {
			err := create(t.Context(), c, coll, 0, qdrant.Distance_Cosine)
			wantStatus(t, err, codes.InvalidArgument, "size: value 0 invalid, must be from 1 to 65536")
		}},
		difference{"vector_size_65537", func(t *testing.T, c *qdrant.Client, coll string) {
			err := create(t.Context(), c, coll, 65537, qdrant.Distance_Cosine)
			wantStatus(t, err, codes.InvalidArgument, "size: value 65537 invalid, must be from 1 to 65536")
		}},
		difference{"vector_size_65536", func(t *testing.T, c *qdrant.Client, coll string) {
			mustCreate(t, c, coll, 65536, qdrant.Distance_Cosine)
			info, err := c.GetCollectionInfo(t.Context(), coll)
			if err != nil {
				t.Fatal(err)
			}
			if got := info.GetConfig().GetParams().GetVectorsConfig().GetParams().GetSize(); got != 65536 {
				t.Fatalf("vector size = %d, want 65536", got)
			}
			if err := c.DeleteCollection(t.Context(), coll); err != nil {
				t.Fatal(err)
			}
		}},
		difference{"vectors_dense_get", func(t *testing.T, c *qdrant.Client, coll string) {
			upsertDense(t, c, coll)
			pts, err := c.Get(t.Context(), &qdrant.GetPoints{
				CollectionName: coll, Ids: []*qdrant.PointId{qdrant.NewIDNum(1)}, WithVectors: qdrant.NewWithVectors(true),
			})
			if err != nil || len(pts) != 1 {
				t.Fatalf("get = %v, %v; want one point", pts, err)
			}
			wantDense(t, pts[0].GetVectors())
		}},
		difference{"vectors_dense_scroll", func(t *testing.T, c *qdrant.Client, coll string) {
			upsertDense(t, c, coll)
			pts, err := c.Scroll(t.Context(), &qdrant.ScrollPoints{CollectionName: coll, WithVectors: qdrant.NewWithVectors(true)})
			if err != nil || len(pts) != 1 {
				t.Fatalf("scroll = %v, %v; want one point", pts, err)
			}
			wantDense(t, pts[0].GetVectors())
		}},
		difference{"vectors_dense_query", func(t *testing.T, c *qdrant.Client, coll string) {
			upsertDense(t, c, coll)
			pts, err := c.Query(t.Context(), &qdrant.QueryPoints{
				CollectionName: coll, Query: qdrant.NewQueryDense(denseVector), WithVectors: qdrant.NewWithVectors(true),
			})
			if err != nil || len(pts) != 1 {
				t.Fatalf("query = %v, %v; want one point", pts, err)
			}
			wantDense(t, pts[0].GetVectors())
		}},
		difference{"nan_first_search", func(t *testing.T, c *qdrant.Client, coll string) {
			upsertNaN(t, c, coll)
			resp, err := c.GetPointsClient().Search(t.Context(), &qdrant.SearchPoints{
				CollectionName: coll, Vector: []float32{1, 0}, Limit: 2,
			})
			if err != nil {
				t.Fatal(err)
			}
			wantNaNFirst(t, resp.GetResult())
		}},
		difference{"nan_first_query", func(t *testing.T, c *qdrant.Client, coll string) {
			upsertNaN(t, c, coll)
			pts, err := c.Query(t.Context(), &qdrant.QueryPoints{
				CollectionName: coll, Query: qdrant.NewQueryDense([]float32{1, 0}), Limit: qdrant.PtrOf(uint64(2)),
			})
			if err != nil {
				t.Fatal(err)
			}
			wantNaNFirst(t, pts)
		}},
		difference{"new_collection_info", func(t *testing.T, c *qdrant.Client, coll string) {
			mustCreate(t, c, coll, 4, qdrant.Distance_Cosine)
			info, err := c.GetCollectionInfo(t.Context(), coll)
			if err != nil {
				t.Fatal(err)
			}
			if !info.GetConfig().GetParams().GetOnDiskPayload() {
				t.Errorf("config.params.on_disk_payload = false, want true (Qdrant's default configuration)")
			}
			if got, want := info.GetSegmentsCount(), wantSegments(); got != want {
				t.Errorf("segments_count = %d, want %d (one per two CPUs, from 2 to 8)", got, want)
			}
		}},
	)
}

// TestDifferences runs every difference against every server, as subtests
// named server/difference (standin/collection_name_colon).
func TestDifferences(t *testing.T) {
	srvs := servers(t)
	ds := differences()
	for _, s := range srvs {
		t.Run(s.name, func(t *testing.T) {
			for _, d := range ds {
				t.Run(d.name, func(t *testing.T) {
					t.Parallel()
					d.run(t, s.client, "compat_"+d.name)
				})
			}
		})
	}
}

// unimplementedCall is one RPC outside the set a server serves, with a
// well-formed request for it.
type unimplementedCall struct {
	method string    // full gRPC method name
	on     serverSet // the servers expected to answer UNIMPLEMENTED
	req    proto.Message
}

// unimplementedCalls lists the RPCs of Qdrant's API that a server may leave
// out. Both servers serve the health check; collections create, get, list,
// exists and delete; points upsert, get, delete, count, scroll, search and
// query, and points create_field_index (an index changes no answer of the
// stand-in, which scans). The engine also serves collections update. Every other RPC must answer UNIMPLEMENTED, not fail in
// some other way or pretend to succeed. coll names an existing collection of
// 2-dimensional vectors holding point 1.
func unimplementedCalls(coll string) []unimplementedCall {
	both := standin | engine
	ids := qdrant.NewPointsSelector(qdrant.NewIDNum(1))
	search := &qdrant.SearchPoints{CollectionName: coll, Vector: []float32{1, 0}, Limit: 1}
	recommend := &qdrant.RecommendPoints{CollectionName: coll, Positive: []*qdrant.PointId{qdrant.NewIDNum(1)}, Limit: 1}
	discover := &qdrant.DiscoverPoints{
		CollectionName: coll, Limit: 1,
		Target: &qdrant.TargetVector{Target: &qdrant.TargetVector_Single{Single: &qdrant.VectorExample{
			Example: &qdrant.VectorExample_Id{Id: qdrant.NewIDNum(1)},
		}}},
	}
	query := &qdrant.QueryPoints{CollectionName: coll, Query: qdrant.NewQueryDense([]float32{1, 0})}
	payload := qdrant.NewValueMap(map[string]any{"k": "v"})
	return []unimplementedCall{
		{qdrant.Collections_Update_FullMethodName, standin, &qdrant.UpdateCollection{CollectionName: coll}},
		{qdrant.Collections_UpdateAliases_FullMethodName, both, &qdrant.ChangeAliases{Actions: []*qdrant.AliasOperations{{
			Action: &qdrant.AliasOperations_CreateAlias{CreateAlias: &qdrant.CreateAlias{CollectionName: coll, AliasName: coll + "_alias"}},
		}}}},
		{qdrant.Collections_ListCollectionAliases_FullMethodName, both, &qdrant.ListCollectionAliasesRequest{CollectionName: coll}},
		{qdrant.Collections_ListAliases_FullMethodName, both, &qdrant.ListAliasesRequest{}},
		{qdrant.Collections_CollectionClusterInfo_FullMethodName, both, &qdrant.CollectionClusterInfoRequest{CollectionName: coll}},
		{qdrant.Collections_UpdateCollectionClusterSetup_FullMethodName, both, &qdrant.UpdateCollectionClusterSetupRequest{
			CollectionName: coll,
			Operation:      &qdrant.UpdateCollectionClusterSetupRequest_DropReplica{DropReplica: &qdrant.Replica{ShardId: 0, PeerId: 1}},
		}},
		{qdrant.Collections_CreateShardKey_FullMethodName, both, &qdrant.CreateShardKeyRequest{
			CollectionName: coll, Request: &qdrant.CreateShardKey{ShardKey: qdrant.NewShardKey("k")},
		}},
		{qdrant.Collections_DeleteShardKey_FullMethodName, both, &qdrant.DeleteShardKeyRequest{
			CollectionName: coll, Request: &qdrant.DeleteShardKey{ShardKey: qdrant.NewShardKey("k")},
		}},
		{qdrant.Collections_ListShardKeys_FullMethodName, both, &qdrant.ListShardKeysRequest{CollectionName: coll}},

		{qdrant.Points_UpdateVectors_FullMethodName, both, &qdrant.UpdatePointVectors{CollectionName: coll, Points: []*qdrant.PointVectors{
			{Id: qdrant.NewIDNum(1), Vectors: qdrant.NewVectors(1, 0)},
		}}},
		{qdrant.Points_DeleteVectors_FullMethodName, both, &qdrant.DeletePointVectors{
			CollectionName: coll, PointsSelector: ids, Vectors: &qdrant.VectorsSelector{Names: []string{""}},
		}},
		{qdrant.Points_SetPayload_FullMethodName, both, &qdrant.SetPayloadPoints{CollectionName: coll, Payload: payload, PointsSelector: ids}},
		{qdrant.Points_OverwritePayload_FullMethodName, both, &qdrant.SetPayloadPoints{CollectionName: coll, Payload: payload, PointsSelector: ids}},
		{qdrant.Points_DeletePayload_FullMethodName, both, &qdrant.DeletePayloadPoints{CollectionName: coll, Keys: []string{"k"}, PointsSelector: ids}},
		{qdrant.Points_ClearPayload_FullMethodName, both, &qdrant.ClearPayloadPoints{CollectionName: coll, Points: ids}},
		{qdrant.Points_DeleteFieldIndex_FullMethodName, both, &qdrant.DeleteFieldIndexCollection{CollectionName: coll, FieldName: "k"}},
		{qdrant.Points_SearchBatch_FullMethodName, both, &qdrant.SearchBatchPoints{CollectionName: coll, SearchPoints: []*qdrant.SearchPoints{search}}},
		{qdrant.Points_SearchGroups_FullMethodName, both, &qdrant.SearchPointGroups{
			CollectionName: coll, Vector: []float32{1, 0}, Limit: 1, GroupBy: "k", GroupSize: 1,
		}},
		{qdrant.Points_Recommend_FullMethodName, both, recommend},
		{qdrant.Points_RecommendBatch_FullMethodName, both, &qdrant.RecommendBatchPoints{
			CollectionName: coll, RecommendPoints: []*qdrant.RecommendPoints{recommend},
		}},
		{qdrant.Points_RecommendGroups_FullMethodName, both, &qdrant.RecommendPointGroups{
			CollectionName: coll, Positive: []*qdrant.PointId{qdrant.NewIDNum(1)}, Limit: 1, GroupBy: "k", GroupSize: 1,
		}},
		{qdrant.Points_Discover_FullMethodName, both, discover},
		{qdrant.Points_DiscoverBatch_FullMethodName, both, &qdrant.DiscoverBatchPoints{
			CollectionName: coll, DiscoverPoints: []*qdrant.DiscoverPoints{discover},
		}},
		{qdrant.Points_UpdateBatch_FullMethodName, both, &qdrant.UpdateBatchPoints{CollectionName: coll, Operations: []*qdrant.PointsUpdateOperation{{
			Operation: &qdrant.PointsUpdateOperation_ClearPayload_{ClearPayload: &qdrant.PointsUpdateOperation_ClearPayload{Points: ids}},
		}}}},
		{qdrant.Points_QueryBatch_FullMethodName, both, &qdrant.QueryBatchPoints{CollectionName: coll, QueryPoints: []*qdrant.QueryPoints{query}}},
		{qdrant.Points_QueryGroups_FullMethodName, both, &qdrant.QueryPointGroups{
			CollectionName: coll, Query: qdrant.NewQueryDense([]float32{1, 0}), GroupBy: "k",
		}},
		{qdrant.Points_Facet_FullMethodName, both, &qdrant.FacetCounts{CollectionName: coll, Key: "k"}},
		{qdrant.Points_SearchMatrixPairs_FullMethodName, both, &qdrant.SearchMatrixPoints{CollectionName: coll}},
		{qdrant.Points_SearchMatrixOffsets_FullMethodName, both, &qdrant.SearchMatrixPoints{CollectionName: coll}},

		{qdrant.Snapshots_Create_FullMethodName, both, &qdrant.CreateSnapshotRequest{CollectionName: coll}},
		{qdrant.Snapshots_List_FullMethodName, both, &qdrant.ListSnapshotsRequest{CollectionName: coll}},
		{qdrant.Snapshots_Delete_FullMethodName, both, &qdrant.DeleteSnapshotRequest{CollectionName: coll, SnapshotName: "none.snapshot"}},
		{qdrant.Snapshots_CreateFull_FullMethodName, both, &qdrant.CreateFullSnapshotRequest{}},
		{qdrant.Snapshots_ListFull_FullMethodName, both, &qdrant.ListFullSnapshotsRequest{}},
		{qdrant.Snapshots_DeleteFull_FullMethodName, both, &qdrant.DeleteFullSnapshotRequest{SnapshotName: "none.snapshot"}},
	}
}

// TestUnimplemented checks that every RPC a server does not serve answers
// UNIMPLEMENTED, as subtests named server/Service.Method.
func TestUnimplemented(t *testing.T) {
	const coll = "compat_unimplemented"
	for _, s := range servers(t) {
		t.Run(s.name, func(t *testing.T) {
			mustCreate(t, s.client, coll, 2, qdrant.Distance_Dot)
			upsert(t, s.client, coll, map[uint64][]float32{1: {1, 0}})
			for _, call := range unimplementedCalls(coll) {
				if call.on&s.id == 0 {
					continue
				}
				name := strings.Replace(strings.TrimPrefix(call.method, "/qdrant."), "/", ".", 1)
				t.Run(name, func(t *testing.T) {
					ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
					defer cancel()
					err := s.client.GetGrpcClient().Conn().Invoke(ctx, call.method, call.req, new(emptypb.Empty))
					if status.Code(err) != codes.Unimplemented {
						t.Fatalf("%s answered %v (%v), want Unimplemented", call.method, status.Code(err), err)
					}
				})
			}
		})
	}
}

// create creates a collection of dense vectors.
func create(ctx context.Context, c *qdrant.Client, name string, size uint64, d qdrant.Distance) error {
	return c.CreateCollection(ctx, &qdrant.CreateCollection{
		CollectionName: name,
		VectorsConfig:  qdrant.NewVectorsConfig(&qdrant.VectorParams{Size: size, Distance: d}),
	})
}

func mustCreate(t *testing.T, c *qdrant.Client, name string, size uint64, d qdrant.Distance) {
	t.Helper()
	if err := create(t.Context(), c, name, size, d); err != nil {
		t.Fatalf("create collection %s: %v", name, err)
	}
}

// upsert writes points by numeric id and waits for them.
func upsert(t *testing.T, c *qdrant.Client, coll string, vecs map[uint64][]float32) {
	t.Helper()
	var pts []*qdrant.PointStruct
	for id, v := range vecs {
		pts = append(pts, &qdrant.PointStruct{Id: qdrant.NewIDNum(id), Vectors: qdrant.NewVectorsDense(v)})
	}
	if _, err := c.Upsert(t.Context(), &qdrant.UpsertPoints{CollectionName: coll, Wait: qdrant.PtrOf(true), Points: pts}); err != nil {
		t.Fatalf("upsert into %s: %v", coll, err)
	}
}

// denseVector is stored exactly: it is a Dot collection's vector, which
// Qdrant does not normalise, and its components are exact in float32.
var denseVector = []float32{0.5, -1, 2, 0.25}

// upsertDense creates coll with point 1 holding denseVector.
func upsertDense(t *testing.T, c *qdrant.Client, coll string) {
	t.Helper()
	mustCreate(t, c, coll, uint64(len(denseVector)), qdrant.Distance_Dot)
	upsert(t, c, coll, map[uint64][]float32{1: denseVector})
}

// wantDense checks that v holds denseVector in VectorOutput's dense field,
// where Qdrant 1.18 puts it, and nothing in the deprecated data field.
func wantDense(t *testing.T, v *qdrant.VectorsOutput) {
	t.Helper()
	out := v.GetVector()
	if got := out.GetDense().GetData(); !slices.Equal(got, denseVector) {
		t.Errorf("VectorOutput.dense = %v, want %v (vectors %v)", got, denseVector, v)
	}
	if got := out.GetData(); len(got) != 0 { //nolint:staticcheck // the deprecated field must stay empty
		t.Errorf("deprecated VectorOutput.data = %v, want empty", got)
	}
}

// upsertNaN creates a Dot collection where point 2's vector holds a NaN.
func upsertNaN(t *testing.T, c *qdrant.Client, coll string) {
	t.Helper()
	nan := float32(math.NaN())
	mustCreate(t, c, coll, 2, qdrant.Distance_Dot)
	upsert(t, c, coll, map[uint64][]float32{1: {1, 0}, 2: {nan, 0}, 3: {0.5, 0}})
}

// wantNaNFirst checks the two best hits for [1, 0] in upsertNaN's collection:
// point 2 first with score NaN, as Qdrant ranks it, then point 1 (score 1).
func wantNaNFirst(t *testing.T, hits []*qdrant.ScoredPoint) {
	t.Helper()
	if len(hits) != 2 {
		t.Fatalf("%d hits, want 2: %v", len(hits), hits)
	}
	if id, s := hits[0].GetId().GetNum(), hits[0].GetScore(); id != 2 || !math.IsNaN(float64(s)) {
		t.Errorf("first hit: point %d score %v, want point 2 score NaN", id, s)
	}
	if id, s := hits[1].GetId().GetNum(), hits[1].GetScore(); id != 1 || s != 1 {
		t.Errorf("second hit: point %d score %v, want point 1 score 1", id, s)
	}
}

// wantSegments is the number of segments Qdrant gives a new collection when
// default_segment_number is 0 (its default): one per two CPUs, at least 2 and
// at most 8, CPUs counted from QDRANT_NUM_CPUS when it holds a positive number
// (lib/shard/src/optimizers/config.rs default_segment_number,
// lib/common/common/src/cpu.rs get_num_cpus).
func wantSegments() uint64 {
	cpus := runtime.NumCPU()
	if n, err := strconv.Atoi(os.Getenv("QDRANT_NUM_CPUS")); err == nil && n > 0 {
		cpus = n
	}
	return uint64(min(max(cpus/2, 2), 8))
}

// wantStatus checks that err carries code and that its message contains text.
func wantStatus(t *testing.T, err error, code codes.Code, text string) {
	t.Helper()
	if got := status.Code(err); got != code {
		t.Fatalf("answered %v (%v), want %v with %q", got, err, code, text)
	}
	if !strings.Contains(err.Error(), text) {
		t.Fatalf("message %q does not contain %q", err, text)
	}
}

// TestDatetimeRangeDelete checks the retention's delete (pipeline.qdrant.retention)
// against every server as Qdrant 1.18 does it: a datetime index on an RFC 3339
// payload field, then a delete by a datetime_range filter with lt, which removes
// exactly the points before the bound, compared in whole microseconds
// (segment::types::DateTimeWrapper keeps microseconds; the index compares those).
func TestDatetimeRangeDelete(t *testing.T) {
	cutoff := time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)
	at := map[uint64]time.Time{ // id → the point's timestamp
		1: cutoff.Add(-time.Hour),
		2: cutoff.Add(-time.Microsecond),
		3: cutoff.Add(-time.Microsecond + 500*time.Nanosecond), // same microsecond as 2
		4: cutoff,
		5: cutoff.Add(999 * time.Nanosecond), // the cutoff's microsecond: kept
		6: cutoff.Add(time.Minute),
	}
	kept := []uint64{4, 5, 6}
	for _, s := range servers(t) {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			c, coll := s.client, "compat_datetime_delete"
			mustCreate(t, c, coll, 2, qdrant.Distance_Dot)
			if _, err := c.CreateFieldIndex(t.Context(), &qdrant.CreateFieldIndexCollection{
				CollectionName: coll, FieldName: "timestamp", FieldType: qdrant.FieldType_FieldTypeDatetime.Enum(), Wait: qdrant.PtrOf(true),
			}); err != nil {
				t.Fatalf("create datetime index: %v", err)
			}
			var pts []*qdrant.PointStruct
			for id, ts := range at {
				pts = append(pts, &qdrant.PointStruct{Id: qdrant.NewIDNum(id), Vectors: qdrant.NewVectorsDense([]float32{1, 0}),
					Payload: qdrant.NewValueMap(map[string]any{"timestamp": ts.Format(time.RFC3339Nano)})})
			}
			if _, err := c.Upsert(t.Context(), &qdrant.UpsertPoints{CollectionName: coll, Wait: qdrant.PtrOf(true), Points: pts}); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Delete(t.Context(), &qdrant.DeletePoints{CollectionName: coll, Wait: qdrant.PtrOf(true),
				Points: qdrant.NewPointsSelectorFilter(&qdrant.Filter{Must: []*qdrant.Condition{
					qdrant.NewDatetimeRange("timestamp", &qdrant.DatetimeRange{Lt: timestamppb.New(cutoff)}),
				}}),
			}); err != nil {
				t.Fatalf("delete by datetime_range: %v", err)
			}
			got, err := c.Scroll(t.Context(), &qdrant.ScrollPoints{CollectionName: coll, Limit: qdrant.PtrOf(uint32(10))})
			if err != nil {
				t.Fatal(err)
			}
			var ids []uint64
			for _, p := range got {
				ids = append(ids, p.GetId().GetNum())
			}
			if !slices.Equal(ids, kept) {
				t.Errorf("after deleting timestamp < %s: points %v, want %v", cutoff.Format(time.RFC3339Nano), ids, kept)
			}
		})
	}
}
