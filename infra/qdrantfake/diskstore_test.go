package qdrantfake

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/qdrant/go-client/qdrant"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func newTestDiskStore(t testing.TB, specs []vectorSpec) *diskStore {
	t.Helper()
	d, err := openDiskDB(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s, err := d.newStore(specs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.drop(); err != nil {
			t.Error(err)
		}
		if err := d.close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// keyFrom makes a pointKey from fuzzer input: a UUID when isUUID, else num.
func keyFrom(isUUID bool, num uint64, u []byte) pointKey {
	if !isUUID {
		return pointKey{num: num}
	}
	k := pointKey{isUUID: true}
	copy(k.uuid[:], u)
	return k
}

// FuzzIndexKey checks the index key encoding. Invariants: it decodes back to
// the same key, and bytes.Compare of two encodings is pointKey.compare of the
// keys, so pebble's byte order is Qdrant's id order.
func FuzzIndexKey(f *testing.F) {
	f.Add(false, uint64(0), []byte{}, false, uint64(1), []byte{})
	f.Add(false, uint64(1<<63), []byte{}, true, uint64(0), []byte{0})
	f.Add(true, uint64(0), []byte{0xff, 1}, true, uint64(0), []byte{0xff, 0, 9})
	f.Add(false, uint64(256), []byte{}, false, uint64(255), []byte{})
	s := &diskStore{}
	binary.BigEndian.PutUint64(s.lo[:], 7)
	f.Fuzz(func(t *testing.T, au bool, an uint64, ab []byte, bu bool, bn uint64, bb []byte) {
		a, b := keyFrom(au, an, ab), keyFrom(bu, bn, bb)
		ea, eb := s.indexKey(nil, a), s.indexKey(nil, b)
		if got, err := s.pointKeyOf(ea); err != nil || got != a {
			t.Fatalf("key %+v decodes as %+v, %v", a, got, err)
		}
		if got, want := bytes.Compare(ea, eb), a.compare(b); got != want {
			t.Fatalf("bytes.Compare(%x, %x) = %d, compare = %d", ea, eb, got, want)
		}
	})
}

// FuzzDecodeRecord checks that a record of any bytes decodes or fails with an
// error, never panics, and that an encoded record decodes to what was encoded.
func FuzzDecodeRecord(f *testing.F) {
	s := &diskStore{specs: []vectorSpec{{name: "a", dim: 2}, {name: "b", dim: 1}}}
	p := point{vecs: [][]float32{{1, 2}, nil}, payload: qdrant.NewValueMap(map[string]any{"k": "v", "n": 3})}
	rec, err := s.appendRecord(nil, &p)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(rec)
	f.Add([]byte{})
	f.Add([]byte{1, 0, 0})
	f.Add([]byte{0, 0, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		var q point
		if err := s.decodeRecord(&q, b, loadAll); err != nil {
			return
		}
		again, err := s.appendRecord(nil, &q)
		if err != nil {
			t.Fatalf("a decoded record does not encode: %v", err)
		}
		var r point
		if err := s.decodeRecord(&r, again, loadAll); err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
		if fmt.Sprint(r.vecs) != fmt.Sprint(q.vecs) || len(r.payload) != len(q.payload) {
			t.Fatalf("round trip changed the record: %v %v, want %v %v", r.vecs, r.payload, q.vecs, q.payload)
		}
	})
}

// TestDiskStoreBoundedHeap puts 200,000 points of 128 float32s with an
// event-like payload into the disk-backed store and checks that the Go heap
// holds far less than the points would take in memory (200,000 × ~700 B =
// 140 MB), and that the second 100,000 points add far less than the first
// would in memory. pebble's memtables and block cache are fixed in size (and
// off the Go heap when cgo is on), so the bound holds however many points the
// store has.
func TestDiskStoreBoundedHeap(t *testing.T) {
	const dim, batch, half = 128, 1000, 100_000
	s := newTestDiskStore(t, []vectorSpec{{dim: dim, distance: qdrant.Distance_Cosine}})
	r := rand.New(rand.NewPCG(1, 2))
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapInuse
	}
	base := heap()
	fill := func() {
		for range half / batch {
			pts := make([]point, batch)
			for i := range pts {
				k := pointKey{uuid: uuid.New(), isUUID: true}
				v := make([]float32, dim)
				for j := range v {
					v[j] = float32(r.NormFloat64())
				}
				normalize(v)
				pts[i] = point{key: k, id: k.pointID(), vecs: [][]float32{v}, payload: qdrant.NewValueMap(map[string]any{
					"event_id": uuid.NewString(), "user_id": fmt.Sprintf("u%d", i), "event_type": "product_view",
					"partition": int64(i % 4), "offset": int64(i),
				})}
			}
			if err := s.put(pts); err != nil {
				t.Fatal(err)
			}
		}
	}
	fill()
	mid := heap()
	fill()
	end := heap()
	if s.count() != 2*half {
		t.Fatalf("count = %d, want %d", s.count(), 2*half)
	}
	logSize := func() int64 {
		fi, err := os.Stat(s.path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	t.Logf("heap in use: %.1f MiB at start, %.1f MiB after %d points, %.1f MiB after %d; value log %.1f MiB",
		mib(base), mib(mid), half, mib(end), 2*half, float64(logSize())/(1<<20))
	// Without cgo the block cache (16 MiB) and memtables (up to 4 × 4 MiB)
	// are on the Go heap and may still be filling between the two halves;
	// an in-memory store would add ~70 MB per half.
	const bound, growth = 40 << 20, 20 << 20
	if end > base+bound {
		t.Errorf("heap grew by %.1f MiB for %d points, want under %.0f MiB", mib(end-base), 2*half, mib(bound))
	}
	if end > mid+growth {
		t.Errorf("the second %d points grew the heap by %.1f MiB, want under %.0f MiB", half, mib(end-mid), mib(growth))
	}
	if logSize() < 2*half*4*dim {
		t.Errorf("value log holds %d bytes, less than the vectors alone", logSize())
	}
}

func mib(n uint64) float64 { return float64(n) / (1 << 20) }

// TestDiskStoreCount checks that the count stays exact when a batch repeats a
// key, replaces existing points and deletes missing or repeated keys.
func TestDiskStoreCount(t *testing.T) {
	t.Parallel()
	s := newTestDiskStore(t, []vectorSpec{{dim: 1, distance: qdrant.Distance_Dot}})
	pt := func(n uint64, x float32) point {
		k := pointKey{num: n}
		return point{key: k, id: k.pointID(), vecs: [][]float32{{x}}}
	}
	steps := []struct {
		name string
		do   func() error
		want int
	}{
		{"insert with a repeated key", func() error { return s.put([]point{pt(1, 1), pt(2, 2), pt(1, 3)}) }, 2},
		{"replace and insert", func() error { return s.put([]point{pt(2, 4), pt(3, 5)}) }, 3},
		{"delete repeated and missing", func() error { return s.remove([]pointKey{{num: 1}, {num: 1}, {num: 9}}) }, 2},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if s.count() != st.want {
			t.Fatalf("%s: count %d, want %d", st.name, s.count(), st.want)
		}
	}
	var got []string
	err := s.scan(nil, loadVecs, func(p *point) bool {
		got = append(got, fmt.Sprintf("%d=%v", p.key.num, p.vecs[0][0]))
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[2=4 3=5]" {
		t.Fatalf("scan = %v, want [2=4 3=5]: the last write of a key wins", got)
	}
}

// TestNewWithUnusableDataDir checks that a Server made with New whose data dir
// cannot be made answers collection creates with Internal, saying why.
func TestNewWithUnusableDataDir(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	srv := New(WithDataDir(filepath.Join(file, "sub")))
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
	})
	_, err := srv.collService.Create(t.Context(), &qdrant.CreateCollection{
		CollectionName: "ev",
		VectorsConfig:  qdrant.NewVectorsConfig(&qdrant.VectorParams{Size: 4, Distance: qdrant.Distance_Dot}),
	})
	if status.Code(err) != codes.Internal || !strings.Contains(err.Error(), "open data dir") {
		t.Fatalf("create with an unusable data dir: %v; want Internal, open data dir", err)
	}
}
