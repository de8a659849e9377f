package actors

import (
	"math/rand/v2"
	"testing"
)

// crowdedKey returns the j-th of keys whose home is the last slot of
// every table up to 2^20 slots: Fibonacci hashing multiplied by the golden
// constant, so the key is a wanted product times the constant's inverse.
func crowdedKey(j uint64) uint64 {
	const golden = 0x9e3779b97f4a7c15
	inv := uint64(golden) // Newton's iteration doubles the correct low bits each step
	for range 6 {
		inv *= 2 - golden*inv
	}
	return (0xfffff<<44 | j) * inv
}

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
				k = crowdedKey(k) // one home slot, the last: probe runs wrap
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

// TestIDMapSpreadsConsecutiveRoots: a spout task's roots are consecutive;
// in slots of their own they would make one run that every deletion walks
// to its end, and a tree's completion would cost as much as the trees in
// flight.
func TestIDMapSpreadsConsecutiveRoots(t *testing.T) {
	if k := crowdedKey(7); newIDMap[int]().home(k) != idMapMinSize-1 {
		t.Fatalf("crowded key %#x has home %d, want the last slot", k, newIDMap[int]().home(k))
	}
	m := newIDMap[int]()
	base := uint64(5)<<rootSeqBits | rand.Uint64()&rootSeqMask
	for i := range uint64(30000) {
		m.Put(base + i)
	}
	longest, run := 0, 0
	for _, k := range append(m.keys, m.keys...) { // twice round, for a run that wraps
		if k == 0 {
			run = 0
			continue
		}
		run++
		longest = max(longest, run)
	}
	if longest > 100 {
		t.Fatalf("consecutive roots fill a run of %d slots", longest)
	}
}

func BenchmarkIDMapPutGetDelete(b *testing.B) {
	m := newIDMap[pendingTree]()
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

// TestIDSourceSpreadsIDs: edge ids must be random in every bit, or an XOR
// of several could come back to 0, and a tree complete, before its last
// ack; and two tasks must not draw the same ids.
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
