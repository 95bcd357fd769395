package qdrantfake

import (
	"bytes"
	"math"
	"slices"
	"sync"

	"github.com/google/uuid"
	"github.com/qdrant/go-client/qdrant"
)

// pointKey is a comparable point id. Qdrant orders numeric ids before UUIDs,
// numbers numerically and UUIDs by their 128-bit value; less does the same.
type pointKey struct {
	uuid   [16]byte
	num    uint64
	isUUID bool
}

func (a pointKey) compare(b pointKey) int {
	if a.isUUID != b.isUUID {
		if !a.isUUID {
			return -1
		}
		return 1
	}
	if a.isUUID {
		return bytes.Compare(a.uuid[:], b.uuid[:])
	}
	switch {
	case a.num < b.num:
		return -1
	case a.num > b.num:
		return 1
	}
	return 0
}

// keyOf converts a PointId; UUIDs are accepted in any form uuid.Parse takes.
func keyOf(id *qdrant.PointId) (pointKey, error) {
	switch v := id.GetPointIdOptions().(type) {
	case *qdrant.PointId_Num:
		return pointKey{num: v.Num}, nil
	case *qdrant.PointId_Uuid:
		u, err := uuid.Parse(v.Uuid)
		if err != nil {
			return pointKey{}, errInvalid("Unable to parse UUID: %s", v.Uuid)
		}
		return pointKey{uuid: u, isUUID: true}, nil
	}
	return pointKey{}, errValidation("id: point id is required")
}

// pointID returns the canonical PointId for k (UUIDs lower-case, hyphenated).
func (k pointKey) pointID() *qdrant.PointId {
	if k.isUUID {
		return qdrant.NewIDUUID(uuid.UUID(k.uuid).String())
	}
	return qdrant.NewIDNum(k.num)
}

// vectorSpec is one configured dense vector of a collection.
type vectorSpec struct {
	name     string // "" for the unnamed default vector
	dim      int
	distance qdrant.Distance
}

// point is one stored point. Its slices and payload values are never mutated
// after they are stored; an upsert replaces them, so responses may share them.
type point struct {
	key     pointKey
	id      *qdrant.PointId
	vecs    [][]float32 // by vector slot; nil where the point has no such vector
	payload map[string]*qdrant.Value
}

// collection holds the points of one collection. mu guards everything below
// it; the configuration above it is immutable.
type collection struct {
	name   string
	named  bool         // vectors configured as a map of names
	specs  []vectorSpec // sorted by name; one unnamed spec when !named
	config *qdrant.CollectionConfig

	mu     sync.RWMutex
	points []point          // slab, unordered
	index  map[pointKey]int // key -> position in points
	sorted []pointKey       // sorted keys; may hold deleted keys when stale > 0
	pend   []pointKey       // keys added since sorted was last merged
	stale  int              // deletions since sorted was last merged
}

func newCollection(name string, named bool, specs []vectorSpec, config *qdrant.CollectionConfig) *collection {
	return &collection{
		name:   name,
		named:  named,
		specs:  specs,
		config: config,
		index:  make(map[pointKey]int),
	}
}

// slot returns the slot of the vector called name ("" is the unnamed vector).
func (c *collection) slot(name string) (int, error) {
	for i, sp := range c.specs {
		if sp.name == name {
			return i, nil
		}
	}
	if name == "" && c.named {
		return 0, errInvalid("Vector with name `` is not configured in this collection")
	}
	return 0, errVectorName(name)
}

// indexClean reports whether sorted is exact. Callers hold mu.
func (c *collection) indexClean() bool { return len(c.pend) == 0 && c.stale == 0 }

// fixIndex merges pending keys into the sorted index and drops deleted keys.
// Callers hold mu for writing.
func (c *collection) fixIndex() {
	if c.indexClean() {
		return
	}
	slices.SortFunc(c.pend, pointKey.compare)
	out := make([]pointKey, 0, len(c.index))
	a, b := c.sorted, c.pend
	push := func(k pointKey) {
		if _, ok := c.index[k]; !ok {
			return
		}
		if n := len(out); n > 0 && out[n-1] == k {
			return
		}
		out = append(out, k)
	}
	for len(a) > 0 && len(b) > 0 {
		if a[0].compare(b[0]) <= 0 {
			push(a[0])
			a = a[1:]
		} else {
			push(b[0])
			b = b[1:]
		}
	}
	for _, k := range a {
		push(k)
	}
	for _, k := range b {
		push(k)
	}
	c.sorted, c.pend, c.stale = out, nil, 0
}

// put inserts or replaces a point. Callers hold mu for writing.
func (c *collection) put(p point) {
	if i, ok := c.index[p.key]; ok {
		c.points[i] = p
		return
	}
	c.index[p.key] = len(c.points)
	c.points = append(c.points, p)
	c.pend = append(c.pend, p.key)
}

// remove deletes a point if present. Callers hold mu for writing.
func (c *collection) remove(k pointKey) bool {
	i, ok := c.index[k]
	if !ok {
		return false
	}
	last := len(c.points) - 1
	if i != last {
		c.points[i] = c.points[last]
		c.index[c.points[i].key] = i
	}
	c.points[last] = point{}
	c.points = c.points[:last]
	delete(c.index, k)
	c.stale++
	return true
}

// normalize scales v to unit length in place, as Qdrant does for Cosine;
// a zero vector is left as it is.
func normalize(v []float32) {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	if s < 1e-30 {
		return
	}
	inv := float32(1 / math.Sqrt(s))
	for i := range v {
		v[i] *= inv
	}
}

func dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func euclid(a, b []float32) float32 {
	b = b[:len(a)]
	var s float32
	for i := range a {
		d := a[i] - b[i]
		s += d * d
	}
	return float32(math.Sqrt(float64(s)))
}

func manhattan(a, b []float32) float32 {
	b = b[:len(a)]
	var s float32
	for i := range a {
		s += float32(math.Abs(float64(a[i] - b[i])))
	}
	return s
}

// scorer returns the score function of d and whether larger scores are better.
// Cosine scores are dot products of normalised vectors; Euclid and Manhattan
// scores are distances, smaller first, as Qdrant reports them.
func scorer(d qdrant.Distance) (func(a, b []float32) float32, bool) {
	switch d {
	case qdrant.Distance_Euclid:
		return euclid, false
	case qdrant.Distance_Manhattan:
		return manhattan, false
	default:
		return dot, true
	}
}
