package actors

import "math/bits"

// idMap is an open-addressing hash map keyed by non-zero tree root ids; 0
// marks an empty slot. Roots count a spout task's trees, so a key's slot is
// Fibonacci hashing's (a multiply, then the top bits), which spreads
// consecutive keys over the table: taken as they are, they would fill one
// run of slots that every deletion has to walk. Linear probing keeps a
// lookup to a cache line or two, and deletion shifts entries back instead of
// leaving tombstones, so the table never degrades. A spout task does
// several operations on its pending table per tuple tree, which made Go's
// general map its largest cost.
type idMap[V any] struct {
	keys  []uint64
	vals  []V
	mask  uint64
	shift uint // 64 - log2(len(keys))
	n     int
}

const idMapMinSize = 64

func newIDMap[V any]() *idMap[V] {
	m := &idMap[V]{}
	m.alloc(idMapMinSize)
	return m
}

func (m *idMap[V]) alloc(size int) {
	m.keys, m.vals, m.mask, m.n = make([]uint64, size), make([]V, size), uint64(size-1), 0
	m.shift = uint(64 - bits.TrailingZeros(uint(size)))
}

// home is the slot where a probe for k starts.
func (m *idMap[V]) home(k uint64) uint64 { return (k * 0x9e3779b97f4a7c15) >> m.shift }

// Len returns the number of entries.
func (m *idMap[V]) Len() int { return m.n }

// Get returns a pointer to the value of k, valid until the next Put or Delete.
func (m *idMap[V]) Get(k uint64) (*V, bool) {
	for i := m.home(k); ; i = (i + 1) & m.mask {
		switch m.keys[i] {
		case k:
			return &m.vals[i], true
		case 0:
			return nil, false
		}
	}
}

// Put returns a pointer to the value of k, inserting a zero value when k is
// absent; the pointer is valid until the next Put or Delete.
func (m *idMap[V]) Put(k uint64) (v *V, inserted bool) {
	if 2*(m.n+1) > len(m.keys) {
		m.grow()
	}
	for i := m.home(k); ; i = (i + 1) & m.mask {
		switch m.keys[i] {
		case k:
			return &m.vals[i], false
		case 0:
			m.keys[i] = k
			m.n++
			return &m.vals[i], true
		}
	}
}

// Delete removes k, shifting later entries of its probe run back.
func (m *idMap[V]) Delete(k uint64) {
	i := m.home(k)
	for m.keys[i] != k {
		if m.keys[i] == 0 {
			return
		}
		i = (i + 1) & m.mask
	}
	var zero V
	for j := i; ; {
		j = (j + 1) & m.mask
		if m.keys[j] == 0 {
			m.keys[i], m.vals[i] = 0, zero
			m.n--
			return
		}
		// The entry at j may move to the hole at i unless its home slot lies
		// cyclically in (i, j].
		home := m.home(m.keys[j])
		if (i <= j && (home <= i || home > j)) || (i > j && home <= i && home > j) {
			m.keys[i], m.vals[i] = m.keys[j], m.vals[j]
			i = j
		}
	}
}

// Range calls f for every entry until f returns false. f must not change
// the map; collect keys and delete after.
func (m *idMap[V]) Range(f func(k uint64, v *V) bool) {
	for i, k := range m.keys {
		if k != 0 && !f(k, &m.vals[i]) {
			return
		}
	}
}

func (m *idMap[V]) grow() {
	old, oldVals := m.keys, m.vals
	m.alloc(2 * len(old))
	for i, k := range old {
		if k != 0 {
			v, _ := m.Put(k)
			*v = oldVals[i]
		}
	}
}
