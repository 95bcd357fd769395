package qdrantfake

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/qdrant/go-client/qdrant"
	"google.golang.org/protobuf/proto"
)

// collectionsService implements the qdrant.Collections service.
type collectionsService struct {
	qdrant.UnimplementedCollectionsServer
	s *Server
}

// Create creates a collection with dense vectors. Like Qdrant, it answers the
// creation of an existing collection with AlreadyExists.
func (cs *collectionsService) Create(_ context.Context, req *qdrant.CreateCollection) (*qdrant.CollectionOperationResponse, error) {
	start := time.Now()
	s := cs.s
	if err := s.enter(qdrant.Collections_Create_FullMethodName); err != nil {
		return nil, err
	}
	name := req.GetCollectionName()
	if err := checkCollectionName(name); err != nil {
		return nil, err
	}
	if req.GetSparseVectorsConfig() != nil && len(req.GetSparseVectorsConfig().GetMap()) > 0 {
		return nil, errUnsupported("sparse vectors")
	}
	named, specs, err := vectorSpecs(req.GetVectorsConfig())
	if err != nil {
		return nil, err
	}
	config := collectionConfig(req)

	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.collections[name]; ok {
		return nil, errAlreadyExists(name)
	}
	st, err := s.newStore(specs)
	if err != nil {
		return nil, err
	}
	s.collections[name] = newCollection(name, named, specs, config, st)
	return &qdrant.CollectionOperationResponse{Result: true, Time: since(start)}, nil
}

// Limits Qdrant sets on a new collection: the length of its name in
// characters and the size of its dense vectors.
const (
	maxCollectionName = 255
	maxVectorSize     = 65536
)

// forbiddenNameChars are the characters Qdrant refuses in the name of a new
// collection, in the order it looks for them.
const forbiddenNameChars = "<>:\"/\\|?*\x00\x1f"

// checkCollectionName validates the name of a new collection as Qdrant does:
// 1 to 255 characters, none of forbiddenNameChars. Every problem is reported,
// in Qdrant's words.
func checkCollectionName(name string) error {
	var problems []string
	if n := utf8.RuneCountInString(name); n < 1 || n > maxCollectionName {
		problems = append(problems, fmt.Sprintf("collection_name: value %s invalid, must be from 1 to %d characters",
			jsonString(name), maxCollectionName))
	}
	for _, c := range forbiddenNameChars {
		if strings.ContainsRune(name, c) {
			problems = append(problems, fmt.Sprintf("collection_name: collection name cannot contain \"%c\" char", c))
			break
		}
	}
	if len(problems) > 0 {
		return errValidations(problems)
	}
	return nil
}

// jsonString quotes s as JSON, the way Qdrant's messages quote a value.
func jsonString(s string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return strconv.Quote(s)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// vectorSpecs validates a VectorsConfig. A nil config is a collection without
// dense vectors, which Qdrant allows.
func vectorSpecs(vc *qdrant.VectorsConfig) (bool, []vectorSpec, error) {
	check := func(name string, p *qdrant.VectorParams) (vectorSpec, error) {
		if size := p.GetSize(); size < 1 || size > maxVectorSize {
			field := "vectors_config.config.size"
			if _, ok := vc.GetConfig().(*qdrant.VectorsConfig_ParamsMap); ok {
				field = "vectors_config.config.map.[].size"
			}
			return vectorSpec{}, errValidation("%s: value %d invalid, must be from 1 to %d", field, size, maxVectorSize)
		}
		if p.GetMultivectorConfig() != nil {
			return vectorSpec{}, errUnsupported("multivectors")
		}
		switch p.GetDistance() {
		case qdrant.Distance_Cosine, qdrant.Distance_Dot, qdrant.Distance_Euclid, qdrant.Distance_Manhattan:
		default:
			return vectorSpec{}, errValidation("vectors_config.distance: unknown distance %v", p.GetDistance())
		}
		return vectorSpec{name: name, dim: int(p.GetSize()), distance: p.GetDistance()}, nil
	}
	switch cfg := vc.GetConfig().(type) {
	case nil:
		return true, nil, nil
	case *qdrant.VectorsConfig_Params:
		sp, err := check("", cfg.Params)
		return false, []vectorSpec{sp}, err
	case *qdrant.VectorsConfig_ParamsMap:
		var specs []vectorSpec
		for name, p := range cfg.ParamsMap.GetMap() {
			sp, err := check(name, p)
			if err != nil {
				return false, nil, err
			}
			specs = append(specs, sp)
		}
		slices.SortFunc(specs, func(a, b vectorSpec) int { return strings.Compare(a.name, b.name) })
		return true, specs, nil
	default:
		return false, nil, errUnsupported("this vectors config")
	}
}

// collectionConfig builds the configuration GetCollectionInfo reports: what
// the request asked for, with Qdrant's defaults where it asked for nothing.
func collectionConfig(req *qdrant.CreateCollection) *qdrant.CollectionConfig {
	u := func(v uint64) *uint64 { return &v }
	u32 := func(v uint32) *uint32 { return &v }
	f := func(v float64) *float64 { return &v }
	hnsw := &qdrant.HnswConfigDiff{M: u(16), EfConstruct: u(100), FullScanThreshold: u(10000)}
	if h := req.GetHnswConfig(); h != nil {
		proto.Merge(hnsw, h)
	}
	opt := &qdrant.OptimizersConfigDiff{
		DeletedThreshold: f(0.2), VacuumMinVectorNumber: u(1000), DefaultSegmentNumber: u(0),
		FlushIntervalSec: u(5),
	}
	if o := req.GetOptimizersConfig(); o != nil {
		proto.Merge(opt, o)
	}
	wal := &qdrant.WalConfigDiff{WalCapacityMb: u(32), WalSegmentsAhead: u(0)}
	if w := req.GetWalConfig(); w != nil {
		proto.Merge(wal, w)
	}
	onDiskPayload := true // Qdrant's default configuration stores payloads on disk
	if req.OnDiskPayload != nil {
		onDiskPayload = req.GetOnDiskPayload()
	}
	params := &qdrant.CollectionParams{
		ShardNumber:            1,
		OnDiskPayload:          onDiskPayload,
		ReplicationFactor:      u32(1),
		WriteConsistencyFactor: u32(1),
	}
	if vc := req.GetVectorsConfig(); vc != nil {
		params.VectorsConfig = proto.Clone(vc).(*qdrant.VectorsConfig)
	}
	return &qdrant.CollectionConfig{
		Params:          params,
		HnswConfig:      hnsw,
		OptimizerConfig: opt,
		WalConfig:       wal,
		Metadata:        req.GetMetadata(),
	}
}

// Get answers GetCollectionInfo: status green, the configuration and exact
// point counts. indexed_vectors_count is 0: nothing is indexed, search is
// exact.
func (cs *collectionsService) Get(_ context.Context, req *qdrant.GetCollectionInfoRequest) (*qdrant.GetCollectionInfoResponse, error) {
	start := time.Now()
	s := cs.s
	if err := s.enter(qdrant.Collections_Get_FullMethodName); err != nil {
		return nil, err
	}
	c, err := s.collection(req.GetCollectionName())
	if err != nil {
		return nil, err
	}
	var n uint64
	if err := c.read(func(st pointStore) error { n = uint64(st.count()); return nil }); err != nil {
		return nil, err
	}
	zero := uint64(0)
	return &qdrant.GetCollectionInfoResponse{
		Result: &qdrant.CollectionInfo{
			Status:              qdrant.CollectionStatus_Green,
			OptimizerStatus:     &qdrant.OptimizerStatus{Ok: true},
			SegmentsCount:       segmentsCount(c.config.GetOptimizerConfig().GetDefaultSegmentNumber()),
			Config:              c.config,
			PayloadSchema:       map[string]*qdrant.PayloadSchemaInfo{},
			PointsCount:         &n,
			IndexedVectorsCount: &zero,
		},
		Time: since(start),
	}, nil
}

// segmentsCount is the number of segments a new Qdrant collection starts
// with: default_segment_number when it is set, otherwise one per two CPUs,
// at least 2 and at most 8. CPUs are counted as Qdrant counts them: the
// QDRANT_NUM_CPUS environment variable when it holds a positive number,
// otherwise the CPUs the process may run on.
func segmentsCount(defaultSegmentNumber uint64) uint64 {
	if defaultSegmentNumber > 0 {
		return defaultSegmentNumber
	}
	cpus := runtime.NumCPU()
	if n, err := strconv.Atoi(os.Getenv("QDRANT_NUM_CPUS")); err == nil && n > 0 {
		cpus = n
	}
	return uint64(min(max(cpus/2, 2), 8))
}

// List answers the names of all collections, sorted.
func (cs *collectionsService) List(context.Context, *qdrant.ListCollectionsRequest) (*qdrant.ListCollectionsResponse, error) {
	start := time.Now()
	s := cs.s
	if err := s.enter(qdrant.Collections_List_FullMethodName); err != nil {
		return nil, err
	}
	resp := &qdrant.ListCollectionsResponse{}
	for _, n := range s.collectionNames() {
		resp.Collections = append(resp.Collections, &qdrant.CollectionDescription{Name: n})
	}
	resp.Time = since(start)
	return resp, nil
}

// Delete drops a collection. Like Qdrant, deleting a collection that does not
// exist is no error; the result is then false.
func (cs *collectionsService) Delete(_ context.Context, req *qdrant.DeleteCollection) (*qdrant.CollectionOperationResponse, error) {
	start := time.Now()
	s := cs.s
	if err := s.enter(qdrant.Collections_Delete_FullMethodName); err != nil {
		return nil, err
	}
	s.mu.Lock()
	c, ok := s.collections[req.GetCollectionName()]
	delete(s.collections, req.GetCollectionName())
	s.mu.Unlock()
	if ok {
		if err := c.drop(); err != nil {
			return nil, errStore("delete collection", err)
		}
	}
	return &qdrant.CollectionOperationResponse{Result: ok, Time: since(start)}, nil
}

// CollectionExists reports whether a collection exists.
func (cs *collectionsService) CollectionExists(_ context.Context, req *qdrant.CollectionExistsRequest) (*qdrant.CollectionExistsResponse, error) {
	start := time.Now()
	s := cs.s
	if err := s.enter(qdrant.Collections_CollectionExists_FullMethodName); err != nil {
		return nil, err
	}
	s.mu.RLock()
	_, ok := s.collections[req.GetCollectionName()]
	s.mu.RUnlock()
	return &qdrant.CollectionExistsResponse{Result: &qdrant.CollectionExists{Exists: ok}, Time: since(start)}, nil
}
