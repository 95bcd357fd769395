package qdrantfake

import (
	"container/heap"
	"context"
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/qdrant/go-client/qdrant"
)

// Defaults Qdrant applies when a request leaves the limit out.
const (
	defaultScrollLimit = 10
	defaultQueryLimit  = 10
)

// pointsService implements the qdrant.Points service.
type pointsService struct {
	qdrant.UnimplementedPointsServer
	s *Server
}

func (ps *pointsService) updateResult(wait bool, start time.Time) *qdrant.PointsOperationResponse {
	op := ps.s.opSeq.Add(1)
	st := qdrant.UpdateStatus_Acknowledged
	if wait {
		st = qdrant.UpdateStatus_Completed
	}
	return &qdrant.PointsOperationResponse{
		Result: &qdrant.UpdateResult{OperationId: &op, Status: st},
		Time:   since(start),
	}
}

// denseOf returns the dense data of a Vector, accepting both the current
// oneof and the deprecated data field.
func denseOf(v *qdrant.Vector) ([]float32, error) {
	switch x := v.GetVector().(type) {
	case *qdrant.Vector_Dense:
		return x.Dense.GetData(), nil
	case nil:
		if v.GetIndices() != nil {
			return nil, errUnsupported("sparse vectors")
		}
		if v.GetVectorsCount() > 0 {
			return nil, errUnsupported("multivectors")
		}
		return v.GetData(), nil
	case *qdrant.Vector_Sparse:
		return nil, errUnsupported("sparse vectors")
	case *qdrant.Vector_MultiDense:
		return nil, errUnsupported("multivectors")
	default:
		return nil, errUnsupported("inference (document, image, object) vectors")
	}
}

// pointOf validates a PointStruct against the collection and returns the point
// to store. Cosine vectors are normalised in place.
func (c *collection) pointOf(ps *qdrant.PointStruct) (point, error) {
	k, err := keyOf(ps.GetId())
	if err != nil {
		return point{}, err
	}
	p := point{key: k, id: k.pointID(), payload: ps.GetPayload()}
	if len(c.specs) > 0 {
		p.vecs = make([][]float32, len(c.specs))
	}
	set := func(name string, v *qdrant.Vector) error {
		slot, err := c.slot(name)
		if err != nil {
			return err
		}
		data, err := denseOf(v)
		if err != nil {
			return err
		}
		sp := c.specs[slot]
		if len(data) != sp.dim {
			return errDim(sp.dim, len(data))
		}
		if sp.distance == qdrant.Distance_Cosine {
			normalize(data)
		}
		p.vecs[slot] = data
		return nil
	}
	switch v := ps.GetVectors().GetVectorsOptions().(type) {
	case *qdrant.Vectors_Vector:
		if err := set("", v.Vector); err != nil {
			return point{}, err
		}
	case *qdrant.Vectors_Vectors:
		for name, vec := range v.Vectors.GetVectors() {
			if err := set(name, vec); err != nil {
				return point{}, err
			}
		}
	case nil:
		if !c.named {
			return point{}, errValidation("vectors: field is required")
		}
	}
	return p, nil
}

// Upsert inserts or replaces points. The whole batch is validated before any
// point is written, and it is written before the reply whatever the wait
// flag says; wait only chooses the reported status (Completed or
// Acknowledged), as with Qdrant.
func (ps *pointsService) Upsert(_ context.Context, req *qdrant.UpsertPoints) (*qdrant.PointsOperationResponse, error) {
	start := time.Now()
	if err := ps.s.enter(qdrant.Points_Upsert_FullMethodName); err != nil {
		return nil, err
	}
	c, err := ps.s.collection(req.GetCollectionName())
	if err != nil {
		return nil, err
	}
	if req.GetUpdateFilter() != nil {
		return nil, errUnsupported("upsert with update_filter")
	}
	if len(req.GetPoints()) == 0 {
		return nil, errEmptyUpdate()
	}
	pts := make([]point, len(req.GetPoints()))
	for i, p := range req.GetPoints() {
		if pts[i], err = c.pointOf(p); err != nil {
			return nil, err
		}
	}
	if err := c.write(func(st pointStore) error { return st.put(pts) }); err != nil {
		return nil, err
	}
	return ps.updateResult(req.GetWait(), start), nil
}

// Delete deletes points by ids or by filter. Deleting ids that do not exist is
// no error.
func (ps *pointsService) Delete(_ context.Context, req *qdrant.DeletePoints) (*qdrant.PointsOperationResponse, error) {
	start := time.Now()
	if err := ps.s.enter(qdrant.Points_Delete_FullMethodName); err != nil {
		return nil, err
	}
	c, err := ps.s.collection(req.GetCollectionName())
	if err != nil {
		return nil, err
	}
	switch sel := req.GetPoints().GetPointsSelectorOneOf().(type) {
	case *qdrant.PointsSelector_Points:
		keys := make([]pointKey, 0, len(sel.Points.GetIds()))
		for _, id := range sel.Points.GetIds() {
			k, err := keyOf(id)
			if err != nil {
				return nil, err
			}
			keys = append(keys, k)
		}
		if err := c.write(func(st pointStore) error { return st.remove(keys) }); err != nil {
			return nil, err
		}
	case *qdrant.PointsSelector_Filter:
		match, err := compileFilter(sel.Filter)
		if err != nil {
			return nil, err
		}
		err = c.write(func(st pointStore) error {
			var keys []pointKey
			err := st.each(filterLoad(sel.Filter), func(p *point) bool {
				if match(p) {
					keys = append(keys, p.key)
				}
				return true
			})
			if err != nil {
				return err
			}
			return st.remove(keys)
		})
		if err != nil {
			return nil, err
		}
	default:
		return nil, errValidation("points: points selector is required")
	}
	return ps.updateResult(req.GetWait(), start), nil
}

// payloadSel decides which payload keys a response carries.
type payloadSel struct {
	all     bool
	include []string
	exclude []string
}

func payloadSelOf(w *qdrant.WithPayloadSelector, dflt bool) payloadSel {
	switch v := w.GetSelectorOptions().(type) {
	case *qdrant.WithPayloadSelector_Enable:
		return payloadSel{all: v.Enable}
	case *qdrant.WithPayloadSelector_Include:
		return payloadSel{include: v.Include.GetFields()}
	case *qdrant.WithPayloadSelector_Exclude:
		return payloadSel{all: true, exclude: v.Exclude.GetFields()}
	}
	return payloadSel{all: dflt}
}

// load is what a read must load for s.
func (s payloadSel) load() loadMask {
	if s.all || len(s.include) > 0 {
		return loadPayload
	}
	return loadKeys
}

// vecsLoad is what a read must load to render the vector slots.
func vecsLoad(slots []int) loadMask {
	if len(slots) > 0 {
		return loadVecs
	}
	return loadKeys
}

// filterLoad is what a read must load to evaluate f.
func filterLoad(f *qdrant.Filter) loadMask {
	if f != nil {
		return loadPayload
	}
	return loadKeys
}

// apply returns the selected payload. Include and exclude name top-level keys.
func (s payloadSel) apply(p map[string]*qdrant.Value) map[string]*qdrant.Value {
	if len(p) == 0 || (!s.all && len(s.include) == 0) {
		return nil
	}
	out := make(map[string]*qdrant.Value, len(p))
	if !s.all {
		for _, k := range s.include {
			if v, ok := p[k]; ok {
				out[k] = v
			}
		}
		return out
	}
	for k, v := range p {
		out[k] = v
	}
	for _, k := range s.exclude {
		delete(out, k)
	}
	return out
}

// vectorSlots returns the vector slots a response carries, nil for none.
func (c *collection) vectorSlots(w *qdrant.WithVectorsSelector) ([]int, error) {
	switch v := w.GetSelectorOptions().(type) {
	case *qdrant.WithVectorsSelector_Enable:
		if !v.Enable {
			return nil, nil
		}
		slots := make([]int, len(c.specs))
		for i := range slots {
			slots[i] = i
		}
		return slots, nil
	case *qdrant.WithVectorsSelector_Include:
		var slots []int
		for _, name := range v.Include.GetNames() {
			slot, err := c.slot(name)
			if err != nil {
				return nil, err
			}
			slots = append(slots, slot)
		}
		return slots, nil
	}
	return nil, nil
}

// vectorsOut renders the selected vectors of p. Dense data goes in the dense
// field of VectorOutput, which is where Qdrant 1.18 puts it; the deprecated
// data field stays empty.
func (c *collection) vectorsOut(p *point, slots []int) *qdrant.VectorsOutput {
	if len(slots) == 0 {
		return nil
	}
	if !c.named {
		return &qdrant.VectorsOutput{VectorsOptions: &qdrant.VectorsOutput_Vector{Vector: denseOut(p.vecs[0])}}
	}
	m := make(map[string]*qdrant.VectorOutput, len(slots))
	for _, s := range slots {
		if p.vecs[s] != nil {
			m[c.specs[s].name] = denseOut(p.vecs[s])
		}
	}
	return &qdrant.VectorsOutput{VectorsOptions: &qdrant.VectorsOutput_Vectors{
		Vectors: &qdrant.NamedVectorsOutput{Vectors: m},
	}}
}

func denseOut(v []float32) *qdrant.VectorOutput {
	return &qdrant.VectorOutput{Vector: &qdrant.VectorOutput_Dense{Dense: &qdrant.DenseVector{Data: v}}}
}

func (c *collection) retrieved(p *point, psel payloadSel, slots []int) *qdrant.RetrievedPoint {
	return &qdrant.RetrievedPoint{Id: p.id, Payload: psel.apply(p.payload), Vectors: c.vectorsOut(p, slots)}
}

// Get returns the points with the given ids that exist, in request order.
// Payload is returned unless with_payload says otherwise; vectors only when
// with_vectors asks for them.
func (ps *pointsService) Get(_ context.Context, req *qdrant.GetPoints) (*qdrant.GetResponse, error) {
	start := time.Now()
	if err := ps.s.enter(qdrant.Points_Get_FullMethodName); err != nil {
		return nil, err
	}
	c, err := ps.s.collection(req.GetCollectionName())
	if err != nil {
		return nil, err
	}
	psel := payloadSelOf(req.GetWithPayload(), true)
	slots, err := c.vectorSlots(req.GetWithVectors())
	if err != nil {
		return nil, err
	}
	keys := make([]pointKey, 0, len(req.GetIds()))
	for _, id := range req.GetIds() {
		k, err := keyOf(id)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	resp := &qdrant.GetResponse{Result: make([]*qdrant.RetrievedPoint, 0, len(keys))}
	seen := make(map[pointKey]bool, len(keys))
	load := psel.load() | vecsLoad(slots)
	err = c.read(func(st pointStore) error {
		for _, k := range keys {
			if seen[k] {
				continue
			}
			p, ok, err := st.get(k, load)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			seen[k] = true
			resp.Result = append(resp.Result, c.retrieved(&p, psel, slots))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	resp.Time = since(start)
	return resp, nil
}

// Count counts the points matching the filter; the count is always exact.
func (ps *pointsService) Count(_ context.Context, req *qdrant.CountPoints) (*qdrant.CountResponse, error) {
	start := time.Now()
	if err := ps.s.enter(qdrant.Points_Count_FullMethodName); err != nil {
		return nil, err
	}
	c, err := ps.s.collection(req.GetCollectionName())
	if err != nil {
		return nil, err
	}
	var n uint64
	if req.GetFilter() == nil {
		err = c.read(func(st pointStore) error { n = uint64(st.count()); return nil })
	} else {
		match, err := compileFilter(req.GetFilter())
		if err != nil {
			return nil, err
		}
		err = c.read(func(st pointStore) error {
			return st.each(loadPayload, func(p *point) bool {
				if match(p) {
					n++
				}
				return true
			})
		})
	}
	if err != nil {
		return nil, err
	}
	return &qdrant.CountResponse{Result: &qdrant.CountResult{Count: n}, Time: since(start)}, nil
}

// Scroll pages through points in id order (numeric ids before UUIDs). A page
// starts at the first id at or after offset; next_page_offset is the id that
// starts the next page, absent on the last page.
func (ps *pointsService) Scroll(_ context.Context, req *qdrant.ScrollPoints) (*qdrant.ScrollResponse, error) {
	start := time.Now()
	if err := ps.s.enter(qdrant.Points_Scroll_FullMethodName); err != nil {
		return nil, err
	}
	c, err := ps.s.collection(req.GetCollectionName())
	if err != nil {
		return nil, err
	}
	if req.GetOrderBy() != nil {
		return nil, errUnsupported("scroll with order_by")
	}
	limit := defaultScrollLimit
	if req.Limit != nil {
		limit = int(req.GetLimit())
	}
	if limit < 1 {
		return nil, errValidation("limit: value 0 invalid, must be 1 or larger")
	}
	match, err := compileFilter(req.GetFilter())
	if err != nil {
		return nil, err
	}
	psel := payloadSelOf(req.GetWithPayload(), true)
	slots, err := c.vectorSlots(req.GetWithVectors())
	if err != nil {
		return nil, err
	}
	var from *pointKey
	if req.Offset != nil {
		k, err := keyOf(req.GetOffset())
		if err != nil {
			return nil, err
		}
		from = &k
	}
	resp := &qdrant.ScrollResponse{}
	load := psel.load() | vecsLoad(slots) | filterLoad(req.GetFilter())
	err = c.read(func(st pointStore) error {
		resp.Result = make([]*qdrant.RetrievedPoint, 0, min(limit, st.count()))
		return st.scan(from, load, func(p *point) bool {
			if !match(p) {
				return true
			}
			if len(resp.Result) == limit {
				resp.NextPageOffset = p.id
				return false
			}
			resp.Result = append(resp.Result, c.retrieved(p, psel, slots))
			return true
		})
	})
	if err != nil {
		return nil, err
	}
	resp.Time = since(start)
	return resp, nil
}

// searchReq is what Search and Query have in common.
type searchReq struct {
	slot      int
	query     []float32
	exclude   *pointKey // a query by point id does not return that point
	match     predicate
	filter    *qdrant.Filter // what match was compiled from
	limit     int
	offset    int
	threshold *float32
	psel      payloadSel
	slots     []int
}

type hit struct {
	score float32
	p     point
}

// hitHeap keeps the best k hits with the worst on top.
type hitHeap struct {
	h      []hit
	better func(a, b hit) bool
}

func (h *hitHeap) Len() int           { return len(h.h) }
func (h *hitHeap) Less(i, j int) bool { return h.better(h.h[j], h.h[i]) }
func (h *hitHeap) Swap(i, j int)      { h.h[i], h.h[j] = h.h[j], h.h[i] }
func (h *hitHeap) Push(x any)         { h.h = append(h.h, x.(hit)) }
func (h *hitHeap) Pop() any {
	x := h.h[len(h.h)-1]
	h.h = h.h[:len(h.h)-1]
	return x
}

// search scores every point exactly and returns the best offset+limit hits
// after skipping offset. Ties are broken by point id, smaller first. A NaN
// score (a point whose vector holds a NaN) ranks before every other score,
// as in Qdrant, which orders scores as ordered floats.
func (c *collection) search(r searchReq) ([]*qdrant.ScoredPoint, error) {
	sp := c.specs[r.slot]
	if len(r.query) != sp.dim {
		return nil, errDim(sp.dim, len(r.query))
	}
	q := r.query
	if sp.distance == qdrant.Distance_Cosine {
		q = append([]float32(nil), q...)
		normalize(q)
	}
	score, higher := scorer(sp.distance)
	k := r.offset + r.limit
	better := func(a, b hit) bool {
		aNaN, bNaN := math.IsNaN(float64(a.score)), math.IsNaN(float64(b.score))
		switch {
		case aNaN != bNaN:
			return aNaN
		case !aNaN && a.score != b.score:
			return (a.score > b.score) == higher
		}
		return a.p.key.compare(b.p.key) < 0
	}
	h := &hitHeap{h: make([]hit, 0, k+1), better: better}
	// The scan loads vectors, and payloads only when the filter needs them;
	// the payloads of the few hits are read afterwards.
	load := loadVecs | filterLoad(r.filter)
	var out []*qdrant.ScoredPoint
	err := c.read(func(st pointStore) error {
		err := st.each(load, func(p *point) bool {
			v := p.vecs[r.slot]
			if v == nil || (r.exclude != nil && p.key == *r.exclude) || !r.match(p) {
				return true
			}
			s := score(q, v)
			if r.threshold != nil && ((higher && s < *r.threshold) || (!higher && s > *r.threshold)) {
				return true
			}
			x := hit{score: s, p: *p}
			if len(h.h) < k {
				heap.Push(h, x)
			} else if better(x, h.h[0]) {
				h.h[0] = x
				heap.Fix(h, 0)
			}
			return true
		})
		if err != nil {
			return err
		}
		sort.Slice(h.h, func(i, j int) bool { return better(h.h[i], h.h[j]) })
		hits := h.h[min(r.offset, len(h.h)):]
		out = make([]*qdrant.ScoredPoint, len(hits))
		for i := range hits {
			p := &hits[i].p
			if need := r.psel.load(); need&^load != 0 {
				full, ok, err := st.get(p.key, load|need)
				if err != nil {
					return err
				}
				if ok {
					p = &full
				}
			}
			out[i] = &qdrant.ScoredPoint{
				Id: p.id, Score: hits[i].score, Payload: r.psel.apply(p.payload), Vectors: c.vectorsOut(p, r.slots),
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Search answers the nearest points to a dense vector, exactly.
func (ps *pointsService) Search(_ context.Context, req *qdrant.SearchPoints) (*qdrant.SearchResponse, error) {
	start := time.Now()
	if err := ps.s.enter(qdrant.Points_Search_FullMethodName); err != nil {
		return nil, err
	}
	c, err := ps.s.collection(req.GetCollectionName())
	if err != nil {
		return nil, err
	}
	if req.GetSparseIndices() != nil {
		return nil, errUnsupported("sparse vectors")
	}
	if req.GetLimit() < 1 {
		return nil, errValidation("limit: value 0 invalid, must be 1 or larger")
	}
	r := searchReq{
		query:     req.GetVector(),
		limit:     int(req.GetLimit()),
		offset:    int(req.GetOffset()),
		threshold: req.ScoreThreshold,
		psel:      payloadSelOf(req.GetWithPayload(), false),
	}
	if r.slot, err = c.slot(req.GetVectorName()); err != nil {
		return nil, err
	}
	if r.match, err = compileFilter(req.GetFilter()); err != nil {
		return nil, err
	}
	r.filter = req.GetFilter()
	if r.slots, err = c.vectorSlots(req.GetWithVectors()); err != nil {
		return nil, err
	}
	res, err := c.search(r)
	if err != nil {
		return nil, err
	}
	return &qdrant.SearchResponse{Result: res, Time: since(start)}, nil
}

// Query answers the universal query API for what the stand-in supports:
// nearest to a dense vector, nearest to a stored point (which is left out of
// the results, as Qdrant does), or no query at all (points in id order with
// score 0).
func (ps *pointsService) Query(_ context.Context, req *qdrant.QueryPoints) (*qdrant.QueryResponse, error) {
	start := time.Now()
	if err := ps.s.enter(qdrant.Points_Query_FullMethodName); err != nil {
		return nil, err
	}
	c, err := ps.s.collection(req.GetCollectionName())
	if err != nil {
		return nil, err
	}
	if len(req.GetPrefetch()) > 0 {
		return nil, errUnsupported("query with prefetch")
	}
	if req.GetLookupFrom() != nil {
		return nil, errUnsupported("query with lookup_from")
	}
	r := searchReq{
		limit:     defaultQueryLimit,
		offset:    int(req.GetOffset()),
		threshold: req.ScoreThreshold,
		psel:      payloadSelOf(req.GetWithPayload(), false),
	}
	if req.Limit != nil {
		r.limit = int(req.GetLimit())
	}
	if r.match, err = compileFilter(req.GetFilter()); err != nil {
		return nil, err
	}
	r.filter = req.GetFilter()
	if r.slots, err = c.vectorSlots(req.GetWithVectors()); err != nil {
		return nil, err
	}
	if req.GetQuery() == nil {
		res, err := c.firstByID(r)
		if err != nil {
			return nil, err
		}
		return &qdrant.QueryResponse{Result: res, Time: since(start)}, nil
	}
	nearest, ok := req.GetQuery().GetVariant().(*qdrant.Query_Nearest)
	if !ok {
		return nil, errUnsupported("this query variant")
	}
	if r.slot, err = c.slot(req.GetUsing()); err != nil {
		return nil, err
	}
	switch in := nearest.Nearest.GetVariant().(type) {
	case *qdrant.VectorInput_Dense:
		r.query = in.Dense.GetData()
	case *qdrant.VectorInput_Id:
		k, err := keyOf(in.Id)
		if err != nil {
			return nil, err
		}
		var found bool
		err = c.read(func(st pointStore) error {
			p, ok, err := st.get(k, loadVecs)
			if ok {
				found, r.query = true, p.vecs[r.slot]
			}
			return err
		})
		if err != nil {
			return nil, err
		}
		if !found || r.query == nil {
			return nil, errInvalid("No point with id %s found", idString(k))
		}
		r.exclude = &k
	default:
		return nil, errUnsupported("this nearest query input")
	}
	res, err := c.search(r)
	if err != nil {
		return nil, err
	}
	return &qdrant.QueryResponse{Result: res, Time: since(start)}, nil
}

// firstByID returns matching points in id order, as a query without a query
// does.
func (c *collection) firstByID(r searchReq) ([]*qdrant.ScoredPoint, error) {
	var out []*qdrant.ScoredPoint
	load := r.psel.load() | vecsLoad(r.slots) | filterLoad(r.filter)
	err := c.read(func(st pointStore) error {
		skip := r.offset
		return st.scan(nil, load, func(p *point) bool {
			if len(out) == r.limit {
				return false
			}
			if !r.match(p) {
				return true
			}
			if skip > 0 {
				skip--
				return true
			}
			out = append(out, &qdrant.ScoredPoint{Id: p.id, Payload: r.psel.apply(p.payload), Vectors: c.vectorsOut(p, r.slots)})
			return true
		})
	})
	return out, err
}

func idString(k pointKey) string {
	if k.isUUID {
		return k.pointID().GetUuid()
	}
	return strconv.FormatUint(k.num, 10)
}

// CreateFieldIndex accepts a payload index on an existing collection and changes
// nothing: every filter of the stand-in scans, so an index could only make it
// faster, never change an answer.
func (ps *pointsService) CreateFieldIndex(_ context.Context, req *qdrant.CreateFieldIndexCollection) (*qdrant.PointsOperationResponse, error) {
	start := time.Now()
	if err := ps.s.enter(qdrant.Points_CreateFieldIndex_FullMethodName); err != nil {
		return nil, err
	}
	if _, err := ps.s.collection(req.GetCollectionName()); err != nil {
		return nil, err
	}
	if req.GetFieldName() == "" {
		return nil, errValidation("field_name: must not be empty")
	}
	return ps.updateResult(req.GetWait(), start), nil
}
