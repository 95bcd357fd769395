package qdrantfake

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/qdrant/go-client/qdrant"
	"github.com/vectorstream/vectorstream/internal/scratch"
	"google.golang.org/protobuf/proto"
)

// The disk-backed store separates keys from values (as WiscKey does): an
// ordered index in pebble maps each point's key to where its record lies in
// an append-only value log, one file per collection. The LSM then only
// compacts ~30-byte index entries, not ~900-byte records, so random UUID keys
// cost little write amplification, and records are written sequentially.
// Memory is bounded whatever the number of points: pebble's memtables and
// block cache have fixed sizes (below), the count is one integer, and nothing
// else is kept per point.
//
// A replaced or deleted point's record stays in the log as garbage until its
// collection is dropped; the log is never compacted. That suits a benchmark
// stand-in whose collections mostly grow.
const (
	// diskMemTableSize is pebble's memtable size; at most
	// diskMemTableStopWrites of them are queued for flushing.
	diskMemTableSize       = 4 << 20
	diskMemTableStopWrites = 4
	// diskBlockCacheSize is pebble's block cache (index, filter and data
	// blocks of the index), shared by all collections of a server.
	diskBlockCacheSize = 16 << 20
	// diskMaxOpenFiles bounds pebble's table cache.
	diskMaxOpenFiles = 256
	// diskBloomBitsPerKey sizes the bloom filters that make the lookup of a
	// new key, which every upsert does to keep the count exact, cheap.
	diskBloomBitsPerKey = 10
	// keepWriteBuf is the largest record buffer a store keeps between upserts.
	keepWriteBuf = 4 << 20
)

// diskDB is the pebble index shared by the disk-backed collections of one
// server, in a directory of its own that close removes.
type diskDB struct {
	root   string // the server's directory: index/ and one value log per collection
	db     *pebble.DB
	nextID atomic.Uint64 // collection prefixes; never reused, so a new collection starts empty
}

// openDiskDB creates a fresh directory under parent (created if missing) and
// opens an empty index in it. Durability is not needed, a collection lives as
// long as the server, so the write-ahead log is off.
func openDiskDB(parent string) (*diskDB, error) {
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, fmt.Errorf("qdrantfake: create data dir: %w", err)
	}
	root, err := scratch.Dir(parent, "qdrantfake-")
	if err != nil {
		return nil, fmt.Errorf("qdrantfake: create data dir: %w", err)
	}
	cache := pebble.NewCache(diskBlockCacheSize)
	defer cache.Unref() // the DB holds its own reference
	opts := &pebble.Options{
		Cache:                       cache,
		DisableWAL:                  true,
		FormatMajorVersion:          pebble.FormatNewest,
		Logger:                      quietLogger{},
		MaxOpenFiles:                diskMaxOpenFiles,
		MemTableSize:                diskMemTableSize,
		MemTableStopWritesThreshold: diskMemTableStopWrites,
		// One compaction at a time: the stand-in shares a small machine
		// with the pipeline it measures.
		CompactionConcurrencyRange: func() (int, int) { return 1, 1 },
	}
	for i := range opts.Levels {
		opts.Levels[i].FilterPolicy = bloom.FilterPolicy(diskBloomBitsPerKey)
	}
	db, err := pebble.Open(filepath.Join(root, "index"), opts)
	if err != nil {
		_ = os.RemoveAll(root)
		return nil, fmt.Errorf("qdrantfake: open index in %s: %w", root, err)
	}
	return &diskDB{root: root, db: db}, nil
}

// close closes the index and removes the server's directory. The stores must
// have been dropped.
func (d *diskDB) close() error {
	err := d.db.Close()
	if err != nil {
		err = fmt.Errorf("qdrantfake: close index: %w", err)
	}
	if rerr := os.RemoveAll(d.root); rerr != nil {
		err = errors.Join(err, fmt.Errorf("qdrantfake: remove data dir: %w", rerr))
	}
	return err
}

// newStore returns an empty store for a collection with these vectors.
func (d *diskDB) newStore(specs []vectorSpec) (*diskStore, error) {
	id := d.nextID.Add(1)
	path := filepath.Join(d.root, fmt.Sprintf("c%d.vlog", id))
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("qdrantfake: create value log: %w", err)
	}
	s := &diskStore{d: d, specs: specs, log: f, path: path}
	binary.BigEndian.PutUint64(s.lo[:], id)
	binary.BigEndian.PutUint64(s.hi[:], id+1)
	return s, nil
}

// diskStore is the disk-backed pointStore of one collection. Index keys are
// the collection's 8-byte prefix and the point key encoded so that byte order
// is pointKey.compare's order; values are the record's offset and length in
// the value log, as uvarints.
type diskStore struct {
	d     *diskDB
	specs []vectorSpec
	lo    [8]byte // this collection's key prefix
	hi    [8]byte // the next collection's prefix: the exclusive upper bound
	log   *os.File
	path  string

	// Guarded by the collection's lock for writing.
	size int64  // bytes in the value log
	n    int    // points
	wbuf []byte // record buffer reused by put
}

// Key kinds, in Qdrant's order: numeric ids before UUIDs.
const (
	keyNum  = 0
	keyUUID = 1
)

// indexKey appends the index key of k to dst.
func (s *diskStore) indexKey(dst []byte, k pointKey) []byte {
	dst = append(dst, s.lo[:]...)
	if k.isUUID {
		dst = append(dst, keyUUID)
		return append(dst, k.uuid[:]...)
	}
	dst = append(dst, keyNum)
	return binary.BigEndian.AppendUint64(dst, k.num)
}

// pointKeyOf decodes an index key of this store.
func (s *diskStore) pointKeyOf(b []byte) (pointKey, error) {
	if len(b) < len(s.lo)+1 {
		return pointKey{}, fmt.Errorf("index key of %d bytes", len(b))
	}
	b = b[len(s.lo):]
	switch {
	case b[0] == keyNum && len(b) == 9:
		return pointKey{num: binary.BigEndian.Uint64(b[1:])}, nil
	case b[0] == keyUUID && len(b) == 17:
		k := pointKey{isUUID: true}
		copy(k.uuid[:], b[1:])
		return k, nil
	}
	return pointKey{}, fmt.Errorf("index key kind %d of %d bytes", b[0], len(b))
}

// location is where a record lies in the value log.
type location struct {
	off int64
	n   int
}

func (l location) append(dst []byte) []byte {
	return binary.AppendUvarint(binary.AppendUvarint(dst, uint64(l.off)), uint64(l.n))
}

func locationOf(b []byte) (location, error) {
	off, i := binary.Uvarint(b)
	if i <= 0 {
		return location{}, errors.New("index value: bad offset")
	}
	n, j := binary.Uvarint(b[i:])
	if j <= 0 || i+j != len(b) || off > math.MaxInt64 || n > math.MaxInt32 {
		return location{}, errors.New("index value: bad length")
	}
	return location{off: int64(off), n: int(n)}, nil
}

// appendRecord appends p's record: for each vector slot a presence byte and
// the little-endian float32s, then the payload as a marshalled qdrant.Struct.
func (s *diskStore) appendRecord(dst []byte, p *point) ([]byte, error) {
	for slot := range s.specs {
		var v []float32
		if p.vecs != nil {
			v = p.vecs[slot]
		}
		if v == nil {
			dst = append(dst, 0)
			continue
		}
		dst = append(dst, 1)
		for _, x := range v {
			dst = binary.LittleEndian.AppendUint32(dst, math.Float32bits(x))
		}
	}
	if len(p.payload) == 0 {
		return dst, nil
	}
	dst, err := proto.MarshalOptions{}.MarshalAppend(dst, &qdrant.Struct{Fields: p.payload})
	if err != nil {
		return nil, fmt.Errorf("marshal payload: %w", err)
	}
	return dst, nil
}

// decodeRecord fills in what load asks for of p from its record.
func (s *diskStore) decodeRecord(p *point, b []byte, load loadMask) error {
	if load&loadVecs != 0 && len(s.specs) > 0 {
		p.vecs = make([][]float32, len(s.specs))
	}
	for slot, sp := range s.specs {
		if len(b) == 0 {
			return errors.New("record truncated")
		}
		present := b[0]
		b = b[1:]
		if present == 0 {
			continue
		}
		n := 4 * sp.dim
		if len(b) < n {
			return errors.New("record truncated")
		}
		if load&loadVecs != 0 {
			v := make([]float32, sp.dim)
			for i := range v {
				v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
			}
			p.vecs[slot] = v
		}
		b = b[n:]
	}
	if load&loadPayload != 0 && len(b) > 0 {
		var st qdrant.Struct
		if err := proto.Unmarshal(b, &st); err != nil {
			return fmt.Errorf("unmarshal payload: %w", err)
		}
		p.payload = st.GetFields()
	}
	return nil
}

// has reports whether the index holds key. Most upserted keys are new, and
// pebble skips its bloom filters in the last level by default (they are big),
// so a miss there reads one index data block: ~5 µs per key at 500,000 points.
// An iterator with UseL6Filters made it ~1.7 µs, but only while the filter
// blocks fit the block cache, so it is not used.
func (s *diskStore) has(key []byte) (bool, error) {
	_, closer, err := s.d.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, closer.Close()
}

func (s *diskStore) put(pts []point) error {
	last := make(map[pointKey]int, len(pts))
	for i := range pts {
		last[pts[i].key] = i
	}
	b := s.d.db.NewBatch()
	defer b.Close()
	rec := s.wbuf[:0]
	var key, val []byte
	added := 0
	for i := range pts {
		p := &pts[i]
		if last[p.key] != i {
			continue
		}
		start := len(rec)
		var err error
		if rec, err = s.appendRecord(rec, p); err != nil {
			return errStore("upsert", err)
		}
		key = s.indexKey(key[:0], p.key)
		ok, err := s.has(key)
		if err != nil {
			return errStore("upsert: look up key", err)
		}
		if !ok {
			added++
		}
		val = location{off: s.size + int64(start), n: len(rec) - start}.append(val[:0])
		if err := b.Set(key, val, nil); err != nil {
			return errStore("upsert: index", err)
		}
	}
	// The records are written before the index points at them.
	if _, err := s.log.WriteAt(rec, s.size); err != nil {
		return errStore("upsert: write value log", err)
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		return errStore("upsert: commit index", err)
	}
	s.size += int64(len(rec))
	s.n += added
	if cap(rec) <= keepWriteBuf {
		s.wbuf = rec[:0]
	} else {
		s.wbuf = nil
	}
	return nil
}

func (s *diskStore) remove(keys []pointKey) error {
	b := s.d.db.NewBatch()
	defer b.Close()
	seen := make(map[pointKey]bool, len(keys))
	var key []byte
	removed := 0
	for _, k := range keys {
		if seen[k] {
			continue
		}
		seen[k] = true
		key = s.indexKey(key[:0], k)
		ok, err := s.has(key)
		if err != nil {
			return errStore("delete: look up key", err)
		}
		if !ok {
			continue
		}
		if err := b.Delete(key, nil); err != nil {
			return errStore("delete: index", err)
		}
		removed++
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		return errStore("delete: commit index", err)
	}
	s.n -= removed
	return nil
}

// load reads and decodes the record at l into p.
func (s *diskStore) load(p *point, l location, load loadMask, buf []byte) ([]byte, error) {
	if load == loadKeys {
		return buf, nil
	}
	if cap(buf) < l.n {
		buf = make([]byte, l.n)
	}
	buf = buf[:l.n]
	if _, err := s.log.ReadAt(buf, l.off); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return buf, fmt.Errorf("read value log at %d: %w", l.off, err)
	}
	return buf, s.decodeRecord(p, buf, load)
}

func (s *diskStore) get(k pointKey, load loadMask) (point, bool, error) {
	v, closer, err := s.d.db.Get(s.indexKey(nil, k))
	if errors.Is(err, pebble.ErrNotFound) {
		return point{}, false, nil
	}
	if err != nil {
		return point{}, false, errStore("get", err)
	}
	l, err := locationOf(v)
	if cerr := closer.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return point{}, false, errStore("get", err)
	}
	p := point{key: k, id: k.pointID()}
	if _, err := s.load(&p, l, load, nil); err != nil {
		return point{}, false, errStore("get", err)
	}
	return p, true, nil
}

func (s *diskStore) count() int { return s.n }

func (s *diskStore) scan(from *pointKey, load loadMask, fn func(*point) bool) error {
	lower := s.lo[:]
	if from != nil {
		lower = s.indexKey(nil, *from)
	}
	it, err := s.d.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: s.hi[:]})
	if err != nil {
		return errStore("scan", err)
	}
	var buf []byte
	for ok := it.First(); ok; ok = it.Next() {
		k, err := s.pointKeyOf(it.Key())
		if err != nil {
			err = errors.Join(err, it.Close())
			return errStore("scan", err)
		}
		v, err := it.ValueAndErr()
		if err != nil {
			err = errors.Join(err, it.Close())
			return errStore("scan", err)
		}
		l, err := locationOf(v)
		if err != nil {
			err = errors.Join(err, it.Close())
			return errStore("scan", err)
		}
		p := point{key: k, id: k.pointID()}
		if buf, err = s.load(&p, l, load, buf); err != nil {
			err = errors.Join(err, it.Close())
			return errStore("scan", err)
		}
		if !fn(&p) {
			break
		}
	}
	if err := it.Close(); err != nil {
		return errStore("scan", err)
	}
	return nil
}

// each walks the index in key order, so the value log is read at random;
// the page cache, not this process, holds what is hot.
func (s *diskStore) each(load loadMask, fn func(*point) bool) error {
	return s.scan(nil, load, fn)
}

// drop deletes the collection's index range and its value log.
func (s *diskStore) drop() error {
	err := s.d.db.DeleteRange(s.lo[:], s.hi[:], pebble.NoSync)
	if err != nil {
		err = fmt.Errorf("qdrantfake: drop index range: %w", err)
	}
	if cerr := s.log.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("qdrantfake: close value log: %w", cerr))
	}
	if rerr := os.Remove(s.path); rerr != nil {
		err = errors.Join(err, fmt.Errorf("qdrantfake: remove value log: %w", rerr))
	}
	return err
}

// quietLogger discards pebble's log lines: a library defaults to not
// logging. Fatalf still stops, as pebble expects.
type quietLogger struct{}

func (quietLogger) Infof(string, ...any)  {}
func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf("qdrantfake: pebble: "+format, args...))
}
