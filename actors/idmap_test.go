package actors

import (
	"math/rand/v2"
	"testing"
)

// TestIDMapMatchesGoMap runs random operations on an idMap and a Go map and
// compares them, with keys crowded into few slots to exercise wrap-around and
// backward-shift deletion.
func TestIDMapMatchesGoMap(t *testing.T) {
	for _, keySpace := range []uint64{100, 1 << 40} {
		m := newIDMap[int]()
		ref := map[uint64]int{}
		r := rand.New(rand.NewPCG(1, keySpace))
		for op := 0; op < 200000; op++ {
			k := r.Uint64N(keySpace) + 1
			if keySpace == 100 {
				k = k*idMapMinSize*1024 + 60 // same home slot near the end: probe runs wrap
			}
			switch r.IntN(3) {
			case 0, 1:
				v, _ := m.Put(k)
				*v += op
				ref[k] += op
			case 2:
				m.Delete(k)
				delete(ref, k)
			}
			if op%997 == 0 {
				if m.Len() != len(ref) {
					t.Fatalf("len %d, want %d", m.Len(), len(ref))
				}
				for k, want := range ref {
					if v, ok := m.Get(k); !ok || *v != want {
						t.Fatalf("key %d: got %v %v, want %d", k, ok, v, want)
					}
				}
				seen := 0
				m.Range(func(k uint64, v *int) bool {
					if ref[k] != *v {
						t.Fatalf("Range key %d = %d, want %d", k, *v, ref[k])
					}
					seen++
					return true
				})
				if seen != len(ref) {
					t.Fatalf("Range saw %d, want %d", seen, len(ref))
				}
			}
		}
	}
}

func BenchmarkIDMapPutGetDelete(b *testing.B) {
	m := newIDMap[ackerEntry]()
	keys := make([]uint64, 4096)
	ids := newIDSource()
	for i := range keys {
		keys[i] = ids.next()
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := keys[i&4095]
		v, _ := m.Put(k)
		v.val ^= k
		if e, ok := m.Get(k); ok && e.val == 0 {
			m.Delete(k)
		}
	}
}

// TestIDSourceSpreadsIDs: tree ids index the acker shards by their high
// bits and the tables by their low bits; both must be spread evenly, and
// two tasks must not draw the same ids.
func TestIDSourceSpreadsIDs(t *testing.T) {
	a, b := newIDSource(), newIDSource()
	const n = 1 << 16
	seen := make(map[uint64]bool, 2*n)
	var low, high [16]int
	for range n {
		for _, id := range []uint64{a.next(), b.next()} {
			if id == 0 || seen[id] {
				t.Fatalf("id %#x drawn twice or zero", id)
			}
			seen[id] = true
			low[id&15]++
			high[id>>60]++
		}
	}
	for i := range low {
		// 8192 expected in each bucket; 6 standard deviations is ±530.
		if low[i] < 7600 || low[i] > 8800 || high[i] < 7600 || high[i] > 8800 {
			t.Fatalf("ids spread unevenly: low nibbles %v, high nibbles %v", low, high)
		}
	}
}
