package qdrantfake

import (
	"slices"
	"sort"
	"sync"
)

// memStore is the in-memory pointStore, the default and the reference the
// disk-backed store is tested against. Points live in a slab with an id index;
// a sorted key index is maintained lazily: new keys go to a pending list that
// is sorted and merged into the sorted index on the next ordered scan
// (O(n + p log p)), so scrolling a million points costs one sort, and paging
// after that is a binary search. Its memory grows with the number of points.
type memStore struct {
	points []point          // slab, unordered
	index  map[pointKey]int // key -> position in points

	// sortMu lets concurrent readers share the lazy merge: scan holds it
	// while it merges and walks sorted. Writers run alone and need not take it.
	sortMu sync.Mutex
	sorted []pointKey // sorted keys; may hold deleted keys when stale > 0
	pend   []pointKey // keys added since sorted was last merged
	stale  int        // deletions since sorted was last merged
}

func newMemStore() *memStore { return &memStore{index: make(map[pointKey]int)} }

func (m *memStore) put(pts []point) error {
	for _, p := range pts {
		if i, ok := m.index[p.key]; ok {
			m.points[i] = p
			continue
		}
		m.index[p.key] = len(m.points)
		m.points = append(m.points, p)
		m.pend = append(m.pend, p.key)
	}
	return nil
}

func (m *memStore) remove(keys []pointKey) error {
	for _, k := range keys {
		i, ok := m.index[k]
		if !ok {
			continue
		}
		last := len(m.points) - 1
		if i != last {
			m.points[i] = m.points[last]
			m.index[m.points[i].key] = i
		}
		m.points[last] = point{}
		m.points = m.points[:last]
		delete(m.index, k)
		m.stale++
	}
	return nil
}

func (m *memStore) get(k pointKey, _ loadMask) (point, bool, error) {
	i, ok := m.index[k]
	if !ok {
		return point{}, false, nil
	}
	return m.points[i], true, nil
}

func (m *memStore) count() int { return len(m.points) }

func (m *memStore) scan(from *pointKey, _ loadMask, fn func(*point) bool) error {
	m.sortMu.Lock()
	defer m.sortMu.Unlock()
	m.fixIndex()
	i := 0
	if from != nil {
		i = sort.Search(len(m.sorted), func(j int) bool { return m.sorted[j].compare(*from) >= 0 })
	}
	for ; i < len(m.sorted); i++ {
		if !fn(&m.points[m.index[m.sorted[i]]]) {
			break
		}
	}
	return nil
}

func (m *memStore) each(_ loadMask, fn func(*point) bool) error {
	for i := range m.points {
		if !fn(&m.points[i]) {
			break
		}
	}
	return nil
}

func (m *memStore) drop() error {
	*m = memStore{}
	return nil
}

// fixIndex merges pending keys into the sorted index and drops deleted keys.
// Callers hold sortMu.
func (m *memStore) fixIndex() {
	if len(m.pend) == 0 && m.stale == 0 {
		return
	}
	slices.SortFunc(m.pend, pointKey.compare)
	out := make([]pointKey, 0, len(m.index))
	a, b := m.sorted, m.pend
	push := func(k pointKey) {
		if _, ok := m.index[k]; !ok {
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
	m.sorted, m.pend, m.stale = out, nil, 0
}
