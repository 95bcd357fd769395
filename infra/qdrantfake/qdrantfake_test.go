package qdrantfake_test

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/qdrant/go-client/qdrant"
	"github.com/vectorstream/vectorstream/infra/qdrantfake"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// start runs a server on loopback and connects the official client to it.
// The client's compatibility check is skipped: a test binary carries no module
// version for the client, so it would only log noise; TestHealthCheck covers
// what the check reads.
func start(t testing.TB, opts ...qdrantfake.Opt) (*qdrantfake.Server, *qdrant.Client) {
	t.Helper()
	srv, err := qdrantfake.Listen("127.0.0.1:0", opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
	})
	host, port := splitAddr(t, srv.Addr())
	client, err := qdrant.NewClient(&qdrant.Config{
		Host:                   host,
		Port:                   port,
		SkipCompatibilityCheck: true,
		GrpcOptions: []grpc.DialOption{grpc.WithDefaultCallOptions(
			grpc.MaxCallRecvMsgSize(qdrantfake.DefaultMaxMessageSize),
			grpc.MaxCallSendMsgSize(qdrantfake.DefaultMaxMessageSize),
		)},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	return srv, client
}

// starter starts a server with one kind of point store, as start does.
type starter func(t testing.TB, opts ...qdrantfake.Opt) (*qdrantfake.Server, *qdrant.Client)

// stores are the point stores the suite runs against: the in-memory default
// and the disk-backed one (WithDataDir) in the test's temporary directory.
var stores = []struct {
	name  string
	start starter
}{
	{"mem", start},
	{"disk", startDisk},
}

// startDisk starts a server that keeps its points under t.TempDir().
func startDisk(t testing.TB, opts ...qdrantfake.Opt) (*qdrantfake.Server, *qdrant.Client) {
	t.Helper()
	return start(t, append([]qdrantfake.Opt{qdrantfake.WithDataDir(t.TempDir())}, opts...)...)
}

// forEachStore runs test once per point store, as subtests; a test that may
// run in parallel calls t.Parallel itself.
func forEachStore(t *testing.T, test func(t *testing.T, start starter)) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) { test(t, st.start) })
	}
}

func splitAddr(t testing.TB, addr string) (string, int) {
	t.Helper()
	i := strings.LastIndexByte(addr, ':')
	var port int
	if _, err := fmt.Sscan(addr[i+1:], &port); err != nil {
		t.Fatalf("parse port of %q: %v", addr, err)
	}
	return addr[:i], port
}

func createCollection(t testing.TB, c *qdrant.Client, name string, dim uint64, d qdrant.Distance) {
	t.Helper()
	err := c.CreateCollection(context.Background(), &qdrant.CreateCollection{
		CollectionName: name,
		VectorsConfig:  qdrant.NewVectorsConfig(&qdrant.VectorParams{Size: dim, Distance: d}),
	})
	if err != nil {
		t.Fatal(err)
	}
}

func wantCode(t *testing.T, err error, code codes.Code, msg string) {
	t.Helper()
	if status.Code(err) != code {
		t.Fatalf("error %v: code %v, want %v", err, status.Code(err), code)
	}
	if !strings.Contains(err.Error(), msg) {
		t.Fatalf("error %q does not contain %q", err, msg)
	}
}

func randVec(r *rand.Rand, dim int) []float32 {
	v := make([]float32, dim)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

// idOf makes a mix of numeric and UUID ids.
func idOf(i int) *qdrant.PointId {
	if i%2 == 0 {
		return qdrant.NewIDNum(uint64(i))
	}
	return qdrant.NewIDUUID(uuid.NewSHA1(uuid.NameSpaceOID, fmt.Appendf(nil, "%d", i)).String())
}

func idKey(id *qdrant.PointId) string {
	if u := id.GetUuid(); u != "" {
		return "u:" + u
	}
	return fmt.Sprintf("n:%020d", id.GetNum())
}

func upsertN(t testing.TB, c *qdrant.Client, coll string, n, dim int, seed uint64) [][]float32 {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, seed))
	vecs := make([][]float32, n)
	const batch = 500
	for lo := 0; lo < n; lo += batch {
		var pts []*qdrant.PointStruct
		for i := lo; i < min(n, lo+batch); i++ {
			vecs[i] = randVec(r, dim)
			pts = append(pts, &qdrant.PointStruct{
				Id:      idOf(i),
				Vectors: qdrant.NewVectorsDense(slices.Clone(vecs[i])),
				Payload: qdrant.NewValueMap(map[string]any{"i": i, "even": i%2 == 0, "tag": fmt.Sprintf("t%d", i%3)}),
			})
		}
		wait := true
		res, err := c.Upsert(context.Background(), &qdrant.UpsertPoints{CollectionName: coll, Wait: &wait, Points: pts})
		if err != nil {
			t.Fatal(err)
		}
		if res.GetStatus() != qdrant.UpdateStatus_Completed {
			t.Fatalf("upsert with wait: status %v, want Completed", res.GetStatus())
		}
	}
	return vecs
}

func TestHealthCheck(t *testing.T) {
	t.Parallel()
	_, c := start(t)
	hc, err := c.HealthCheck(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if hc.GetVersion() != qdrantfake.Version || !qdrant.IsCompatible("1.17.0", hc.GetVersion()) {
		t.Fatalf("version %q is not one the 1.17 client accepts", hc.GetVersion())
	}
	if !strings.Contains(hc.GetTitle(), "VectorStream embedded stand-in") {
		t.Fatalf("title %q does not say it is the stand-in", hc.GetTitle())
	}
}

func TestCollectionLifecycle(t *testing.T) {
	t.Parallel()
	forEachStore(t, testCollectionLifecycle)
}

func testCollectionLifecycle(t *testing.T, start starter) {
	t.Parallel()
	_, c := start(t)
	ctx := t.Context()
	createCollection(t, c, "events", 128, qdrant.Distance_Cosine)
	createCollection(t, c, "profiles", 16, qdrant.Distance_Dot)

	ok, err := c.CollectionExists(ctx, "events")
	if err != nil || !ok {
		t.Fatalf("exists events: %v %v", ok, err)
	}
	info, err := c.GetCollectionInfo(ctx, "events")
	if err != nil {
		t.Fatal(err)
	}
	p := info.GetConfig().GetParams().GetVectorsConfig().GetParams()
	if info.GetPointsCount() != 0 || p.GetSize() != 128 || p.GetDistance() != qdrant.Distance_Cosine ||
		info.GetStatus() != qdrant.CollectionStatus_Green {
		t.Fatalf("info = %v", info)
	}
	names, err := c.ListCollections(ctx)
	if err != nil || !slices.Equal(names, []string{"events", "profiles"}) {
		t.Fatalf("list = %v, %v", names, err)
	}

	err = c.CreateCollection(ctx, &qdrant.CreateCollection{
		CollectionName: "events",
		VectorsConfig:  qdrant.NewVectorsConfig(&qdrant.VectorParams{Size: 128, Distance: qdrant.Distance_Cosine}),
	})
	wantCode(t, err, codes.AlreadyExists, "Wrong input: Collection `events` already exists!")

	if err := c.DeleteCollection(ctx, "events"); err != nil {
		t.Fatal(err)
	}
	if ok, err := c.CollectionExists(ctx, "events"); err != nil || ok {
		t.Fatalf("exists after delete: %v %v", ok, err)
	}
	_, err = c.GetCollectionInfo(ctx, "events")
	wantCode(t, err, codes.NotFound, "Collection `events` doesn't exist!")
	// Qdrant answers the deletion of a missing collection with result=false,
	// not an RPC error; the official client turns that into an error.
	res, err := c.GetCollectionsClient().Delete(ctx, &qdrant.DeleteCollection{CollectionName: "events"})
	if err != nil || res.GetResult() {
		t.Fatalf("delete missing collection: result %v, %v; want false, nil", res.GetResult(), err)
	}
}

func TestUpsertGetCountScroll(t *testing.T) {
	t.Parallel()
	forEachStore(t, testUpsertGetCountScroll)
}

func testUpsertGetCountScroll(t *testing.T, start starter) {
	t.Parallel()
	_, c := start(t)
	ctx := t.Context()
	const n, dim = 1234, 8
	createCollection(t, c, "ev", dim, qdrant.Distance_Cosine)
	vecs := upsertN(t, c, "ev", n, dim, 1)

	count, err := c.Count(ctx, &qdrant.CountPoints{CollectionName: "ev"})
	if err != nil || count != n {
		t.Fatalf("count = %d, %v; want %d", count, err, n)
	}
	info, err := c.GetCollectionInfo(ctx, "ev")
	if err != nil || info.GetPointsCount() != n {
		t.Fatalf("points_count = %d, %v", info.GetPointsCount(), err)
	}
	exact := true
	evenCount, err := c.Count(ctx, &qdrant.CountPoints{
		CollectionName: "ev", Exact: &exact,
		Filter: &qdrant.Filter{Must: []*qdrant.Condition{qdrant.NewMatchBool("even", true)}},
	})
	if err != nil || evenCount != (n+1)/2 {
		t.Fatalf("count even = %d, %v", evenCount, err)
	}

	// Get: payload by default, vectors on request, normalised for Cosine.
	got, err := c.Get(ctx, &qdrant.GetPoints{
		CollectionName: "ev",
		Ids:            []*qdrant.PointId{idOf(7), idOf(10), qdrant.NewIDNum(999999)},
		WithVectors:    qdrant.NewWithVectors(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || idKey(got[0].GetId()) != idKey(idOf(7)) || idKey(got[1].GetId()) != idKey(idOf(10)) {
		t.Fatalf("get returned %v", got)
	}
	if got[0].GetPayload()["i"].GetIntegerValue() != 7 || got[0].GetPayload()["tag"].GetStringValue() != "t1" {
		t.Fatalf("payload = %v", got[0].GetPayload())
	}
	stored := got[0].GetVectors().GetVector().GetDense().GetData()
	if len(stored) != dim {
		t.Fatalf("vector = %v", got[0].GetVectors())
	}
	var norm, cos float64
	for i, x := range stored {
		norm += float64(x) * float64(x)
		cos += float64(x) * float64(vecs[7][i])
	}
	if math.Abs(norm-1) > 1e-5 || math.Abs(cos-l2(vecs[7])) > 1e-4 {
		t.Fatalf("stored vector not the normalised input: |v|^2=%v", norm)
	}
	sel, err := c.Get(ctx, &qdrant.GetPoints{
		CollectionName: "ev", Ids: []*qdrant.PointId{idOf(4)},
		WithPayload: qdrant.NewWithPayloadInclude("tag"),
	})
	if err != nil || len(sel) != 1 || len(sel[0].GetPayload()) != 1 || sel[0].GetVectors() != nil {
		t.Fatalf("get with include selector = %v, %v", sel, err)
	}

	// Scroll: every id exactly once, in Qdrant's order (numbers, then UUIDs).
	var seen []string
	var offset *qdrant.PointId
	pages := 0
	for {
		limit := uint32(97)
		resp, err := c.GetPointsClient().Scroll(ctx, &qdrant.ScrollPoints{
			CollectionName: "ev", Offset: offset, Limit: &limit,
			WithPayload: qdrant.NewWithPayload(false),
		})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, p := range resp.GetResult() {
			if p.GetPayload() != nil {
				t.Fatal("scroll returned payload with with_payload=false")
			}
			seen = append(seen, idKey(p.GetId()))
		}
		if resp.NextPageOffset == nil {
			break
		}
		offset = resp.NextPageOffset
	}
	want := make([]string, n)
	for i := range want {
		want[i] = idKey(idOf(i))
	}
	slices.SortFunc(want, func(a, b string) int { return cmp.Compare(a, b) }) // "n:" sorts before "u:"
	if !slices.Equal(seen, want) {
		t.Fatalf("scroll saw %d ids (%d pages), want %d in order", len(seen), pages, n)
	}
	if pages != (n+96)/97 {
		t.Fatalf("pages = %d", pages)
	}
}

func l2(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}

// bruteForce is the reference: top k ids by float64 similarity.
func bruteForce(vecs [][]float32, q []float32, d qdrant.Distance, k int) []string {
	type sc struct {
		i int
		s float64
	}
	all := make([]sc, len(vecs))
	for i, v := range vecs {
		var dotp, dist float64
		for j := range v {
			dotp += float64(v[j]) * float64(q[j])
			dd := float64(v[j]) - float64(q[j])
			dist += dd * dd
		}
		switch d {
		case qdrant.Distance_Cosine:
			all[i] = sc{i, dotp / (l2(v) * l2(q))}
		case qdrant.Distance_Dot:
			all[i] = sc{i, dotp}
		case qdrant.Distance_Euclid:
			all[i] = sc{i, -dist}
		}
	}
	slices.SortFunc(all, func(a, b sc) int { return cmp.Compare(b.s, a.s) })
	out := make([]string, k)
	for i := range out {
		out[i] = idKey(idOf(all[i].i))
	}
	return out
}

func TestQueryMatchesBruteForce(t *testing.T) {
	t.Parallel()
	forEachStore(t, testQueryMatchesBruteForce)
}

func testQueryMatchesBruteForce(t *testing.T, start starter) {
	t.Parallel()
	for _, d := range []qdrant.Distance{qdrant.Distance_Cosine, qdrant.Distance_Dot, qdrant.Distance_Euclid} {
		t.Run(d.String(), func(t *testing.T) {
			t.Parallel()
			_, c := start(t)
			ctx := t.Context()
			const n, dim, k = 2000, 32, 10
			createCollection(t, c, "ev", dim, d)
			vecs := upsertN(t, c, "ev", n, dim, 2)
			r := rand.New(rand.NewPCG(3, 3))
			for range 5 {
				q := randVec(r, dim)
				limit := uint64(k)
				res, err := c.Query(ctx, &qdrant.QueryPoints{
					CollectionName: "ev", Query: qdrant.NewQueryDense(slices.Clone(q)), Limit: &limit,
					WithPayload: qdrant.NewWithPayload(true),
				})
				if err != nil {
					t.Fatal(err)
				}
				got := make([]string, len(res))
				for i, p := range res {
					got[i] = idKey(p.GetId())
					if i > 0 && d != qdrant.Distance_Euclid && p.GetScore() > res[i-1].GetScore() {
						t.Fatal("scores not descending")
					}
					if p.GetPayload()["i"] == nil {
						t.Fatal("payload missing with with_payload=true")
					}
				}
				if want := bruteForce(vecs, q, d, k); !slices.Equal(got, want) {
					t.Fatalf("query top %d = %v, want %v", k, got, want)
				}
				sres, err := c.GetPointsClient().Search(ctx, &qdrant.SearchPoints{CollectionName: "ev", Vector: q, Limit: k})
				if err != nil {
					t.Fatal(err)
				}
				for i, p := range sres.GetResult() {
					if idKey(p.GetId()) != got[i] || p.GetScore() != res[i].GetScore() {
						t.Fatalf("search and query disagree at %d", i)
					}
				}
			}
		})
	}
}

func TestQueryByIDExcludesPoint(t *testing.T) {
	t.Parallel()
	forEachStore(t, testQueryByIDExcludesPoint)
}

func testQueryByIDExcludesPoint(t *testing.T, start starter) {
	t.Parallel()
	_, c := start(t)
	createCollection(t, c, "ev", 4, qdrant.Distance_Cosine)
	upsertN(t, c, "ev", 50, 4, 4)
	limit := uint64(5)
	res, err := c.Query(t.Context(), &qdrant.QueryPoints{
		CollectionName: "ev", Query: qdrant.NewQueryID(idOf(3)), Limit: &limit,
	})
	if err != nil || len(res) != 5 {
		t.Fatalf("query by id: %v, %v", res, err)
	}
	for _, p := range res {
		if idKey(p.GetId()) == idKey(idOf(3)) {
			t.Fatal("query by id returned the point itself")
		}
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	forEachStore(t, testErrors)
}

func testErrors(t *testing.T, start starter) {
	t.Parallel()
	_, c := start(t)
	ctx := t.Context()
	createCollection(t, c, "ev", 128, qdrant.Distance_Cosine)
	_, err := c.Upsert(ctx, &qdrant.UpsertPoints{CollectionName: "ev", Points: []*qdrant.PointStruct{
		{Id: qdrant.NewIDNum(1), Vectors: qdrant.NewVectorsDense(make([]float32, 128))},
		{Id: qdrant.NewIDNum(2), Vectors: qdrant.NewVectorsDense(make([]float32, 64))},
	}})
	wantCode(t, err, codes.InvalidArgument, "Wrong input: Vector dimension error: expected dim: 128, got 64")
	if n, _ := c.Count(ctx, &qdrant.CountPoints{CollectionName: "ev"}); n != 0 {
		t.Fatalf("a rejected batch wrote %d points", n)
	}
	_, err = c.Query(ctx, &qdrant.QueryPoints{CollectionName: "ev", Query: qdrant.NewQueryDense(make([]float32, 3))})
	wantCode(t, err, codes.InvalidArgument, "expected dim: 128, got 3")
	_, err = c.Upsert(ctx, &qdrant.UpsertPoints{CollectionName: "ev", Points: []*qdrant.PointStruct{
		{Id: qdrant.NewIDUUID("not-a-uuid"), Vectors: qdrant.NewVectorsDense(make([]float32, 128))},
	}})
	wantCode(t, err, codes.InvalidArgument, "Unable to parse UUID")

	for name, call := range map[string]func() error{
		"upsert": func() error {
			_, err := c.Upsert(ctx, &qdrant.UpsertPoints{CollectionName: "nope", Points: []*qdrant.PointStruct{
				{Id: qdrant.NewIDNum(1), Vectors: qdrant.NewVectorsDense([]float32{1})},
			}})
			return err
		},
		"get":    func() error { _, err := c.Get(ctx, &qdrant.GetPoints{CollectionName: "nope"}); return err },
		"count":  func() error { _, err := c.Count(ctx, &qdrant.CountPoints{CollectionName: "nope"}); return err },
		"scroll": func() error { _, err := c.Scroll(ctx, &qdrant.ScrollPoints{CollectionName: "nope"}); return err },
		"query":  func() error { _, err := c.Query(ctx, &qdrant.QueryPoints{CollectionName: "nope"}); return err },
		"info":   func() error { _, err := c.GetCollectionInfo(ctx, "nope"); return err },
	} {
		t.Run(name, func(t *testing.T) {
			wantCode(t, call(), codes.NotFound, "Collection `nope` doesn't exist!")
		})
	}
}

func TestFaultHook(t *testing.T) {
	t.Parallel()
	srv, c := start(t)
	ctx := t.Context()
	createCollection(t, c, "ev", 4, qdrant.Distance_Cosine)
	srv.SetFault(func(method string) error {
		if method == qdrant.Points_Upsert_FullMethodName {
			return status.Error(codes.Unavailable, "injected")
		}
		return nil
	})
	pts := []*qdrant.PointStruct{{Id: qdrant.NewIDNum(1), Vectors: qdrant.NewVectorsDense([]float32{1, 2, 3, 4})}}
	_, err := c.Upsert(ctx, &qdrant.UpsertPoints{CollectionName: "ev", Points: pts})
	wantCode(t, err, codes.Unavailable, "injected")
	if n, err := c.Count(ctx, &qdrant.CountPoints{CollectionName: "ev"}); err != nil || n != 0 {
		t.Fatalf("faulted upsert wrote: count %d, %v", n, err)
	}
	srv.SetFault(nil)
	if _, err := c.Upsert(ctx, &qdrant.UpsertPoints{CollectionName: "ev", Points: pts}); err != nil {
		t.Fatal(err)
	}
	if got := srv.Calls("/qdrant.Points/Upsert"); got != 2 {
		t.Fatalf("upsert calls = %d, want 2", got)
	}
	if srv.CallCounts()["/qdrant.Points/Count"] != 1 {
		t.Fatalf("counts = %v", srv.CallCounts())
	}
}

func TestDelete(t *testing.T) {
	t.Parallel()
	forEachStore(t, testDelete)
}

func testDelete(t *testing.T, start starter) {
	t.Parallel()
	_, c := start(t)
	ctx := t.Context()
	createCollection(t, c, "ev", 4, qdrant.Distance_Cosine)
	upsertN(t, c, "ev", 100, 4, 5)
	wait := true
	if _, err := c.Delete(ctx, &qdrant.DeletePoints{
		CollectionName: "ev", Wait: &wait, Points: qdrant.NewPointsSelector(idOf(0), idOf(1), qdrant.NewIDNum(12345)),
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Delete(ctx, &qdrant.DeletePoints{
		CollectionName: "ev", Wait: &wait,
		Points: qdrant.NewPointsSelectorFilter(&qdrant.Filter{Must: []*qdrant.Condition{qdrant.NewMatch("tag", "t0")}}),
	}); err != nil {
		t.Fatal(err)
	}
	// 100 points, ids 0 and 1 gone, then every remaining i%3==0 gone (0 already).
	want := uint64(100 - 2 - (34 - 1))
	if n, err := c.Count(ctx, &qdrant.CountPoints{CollectionName: "ev"}); err != nil || n != want {
		t.Fatalf("count after delete = %d, %v; want %d", n, err, want)
	}
	limit := uint32(1000)
	pts, err := c.Scroll(ctx, &qdrant.ScrollPoints{CollectionName: "ev", Limit: &limit})
	if err != nil || uint64(len(pts)) != want {
		t.Fatalf("scroll after delete = %d points, %v", len(pts), err)
	}
	for _, p := range pts {
		if p.GetPayload()["tag"].GetStringValue() == "t0" {
			t.Fatalf("deleted point %v still scrolls", p.GetId())
		}
	}
}

func TestConcurrentUpsertAndScroll(t *testing.T) {
	t.Parallel()
	forEachStore(t, testConcurrentUpsertAndScroll)
}

func testConcurrentUpsertAndScroll(t *testing.T, start starter) {
	t.Parallel()
	_, c := start(t)
	createCollection(t, c, "ev", 8, qdrant.Distance_Cosine)
	ctx := t.Context()
	const writers, per = 4, 300
	var wg sync.WaitGroup
	errs := make(chan error, writers+1)
	for w := range writers {
		wg.Go(func() {
			for lo := 0; lo < per; lo += 50 {
				var pts []*qdrant.PointStruct
				for i := lo; i < lo+50; i++ {
					pts = append(pts, &qdrant.PointStruct{
						Id: qdrant.NewIDNum(uint64(w*per + i)), Vectors: qdrant.NewVectorsDense([]float32{1, 2, 3, 4, 5, 6, 7, float32(i)}),
					})
				}
				if _, err := c.Upsert(ctx, &qdrant.UpsertPoints{CollectionName: "ev", Points: pts}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			limit := uint32(100)
			if _, err := c.Scroll(ctx, &qdrant.ScrollPoints{CollectionName: "ev", Limit: &limit}); err != nil {
				errs <- err
				return
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n, err := c.Count(ctx, &qdrant.CountPoints{CollectionName: "ev"}); err != nil || n != writers*per {
		t.Fatalf("count = %d, %v", n, err)
	}
}
