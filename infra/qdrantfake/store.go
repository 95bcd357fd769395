package qdrantfake

import (
	"bytes"
	"math"
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
// A point a store reads back may leave out what its loadMask did not ask for:
// vecs or payload are then nil.
type point struct {
	key     pointKey
	id      *qdrant.PointId
	vecs    [][]float32 // by vector slot; nil where the point has no such vector
	payload map[string]*qdrant.Value
}

// collection is one collection: its immutable configuration and its points.
// Every access to the points goes through read or write, which hold mu and
// answer NotFound once the collection has been dropped.
type collection struct {
	name   string
	named  bool         // vectors configured as a map of names
	specs  []vectorSpec // sorted by name; one unnamed spec when !named
	config *qdrant.CollectionConfig

	mu      sync.RWMutex
	store   pointStore // guarded by mu: readers hold it for reading, writers for writing
	dropped bool       // guarded by mu
}

func newCollection(name string, named bool, specs []vectorSpec, config *qdrant.CollectionConfig, store pointStore) *collection {
	return &collection{name: name, named: named, specs: specs, config: config, store: store}
}

// read runs fn with mu held for reading; fn may call the store's read methods.
func (c *collection) read(fn func(st pointStore) error) error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.dropped {
		return errNotFound(c.name)
	}
	return fn(c.store)
}

// write runs fn with mu held for writing; fn may call any store method.
func (c *collection) write(fn func(st pointStore) error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dropped {
		return errNotFound(c.name)
	}
	return fn(c.store)
}

// drop releases the collection's points once the RPCs using them are done;
// RPCs that still hold the collection then answer NotFound.
func (c *collection) drop() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dropped {
		return nil
	}
	c.dropped = true
	return c.store.drop()
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
