package actors

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/squall-stream/squall/topology"
	gproto "google.golang.org/protobuf/proto"
)

// selector picks the target tasks of one subscriber for a tuple.
type selector interface {
	// choose appends the chosen task ids to dst.
	choose(values topology.Values, dst []int) ([]int, error)
}

// newSelector builds the selector of one subscription for one sending task.
// local reports whether a task runs in the sender's process.
func newSelector(g topology.Grouping, fields topology.Fields, tasks []int, tc *topology.TopologyContext, stream string, local func(int) bool) (selector, error) {
	switch g.Kind {
	case topology.GroupingFields:
		return &fieldsSelector{idx: fieldIndexes(fields, g.Fields), tasks: tasks}, nil
	case topology.GroupingAll:
		return allSelector(tasks), nil
	case topology.GroupingGlobal:
		return globalSelector(tasks[0]), nil
	case topology.GroupingLocalOrShuffle:
		var near []int
		for _, t := range tasks {
			if local(t) {
				near = append(near, t)
			}
		}
		if len(near) == 0 {
			near = tasks
		}
		return newShuffle(near), nil
	case topology.GroupingPartialKey:
		return &partialKeySelector{idx: fieldIndexes(fields, g.Fields), tasks: tasks, load: make([]int64, len(tasks))}, nil
	case topology.GroupingCustom:
		c := g.Custom()
		if c == nil {
			return nil, fmt.Errorf("custom grouping of %s on stream %q: factory returned nil", tc.ComponentID, stream)
		}
		c.Prepare(tc, stream, tasks)
		return &customSelector{c: c, valid: taskSet(tasks), component: tc.ComponentID, stream: stream}, nil
	default: // GroupingShuffle, GroupingNone
		return newShuffle(tasks), nil
	}
}

func fieldIndexes(all topology.Fields, names topology.Fields) []int {
	idx := make([]int, len(names))
	for i, n := range names {
		idx[i] = all.Index(n)
	}
	return idx
}

func taskSet(tasks []int) map[int]bool {
	s := make(map[int]bool, len(tasks))
	for _, t := range tasks {
		s[t] = true
	}
	return s
}

// shuffleSelector deals tuples round robin from a random start, which spreads
// them as evenly as Storm's shuffled list does, without a random draw per tuple.
type shuffleSelector struct {
	tasks []int
	next  int
}

func newShuffle(tasks []int) *shuffleSelector {
	return &shuffleSelector{tasks: tasks, next: rand.IntN(len(tasks))}
}

func (s *shuffleSelector) choose(_ topology.Values, dst []int) ([]int, error) {
	t := s.tasks[s.next]
	s.next++
	if s.next == len(s.tasks) {
		s.next = 0
	}
	return append(dst, t), nil
}

type fieldsSelector struct {
	idx   []int
	tasks []int
}

func (s *fieldsSelector) choose(values topology.Values, dst []int) ([]int, error) {
	h := keyHash(values, s.idx, fnvOffset)
	return append(dst, s.tasks[h%uint64(len(s.tasks))]), nil
}

type allSelector []int

func (s allSelector) choose(_ topology.Values, dst []int) ([]int, error) {
	return append(dst, s...), nil
}

type globalSelector int

func (s globalSelector) choose(_ topology.Values, dst []int) ([]int, error) {
	return append(dst, int(s)), nil
}

// partialKeySelector is Storm's PartialKeyGrouping: two hash functions give
// each key two candidate tasks, and the sender picks the one it has sent
// fewer tuples to.
type partialKeySelector struct {
	idx   []int
	tasks []int
	load  []int64
}

// partialKeySeed2 seeds the second hash of partial-key grouping.
const partialKeySeed2 = 0x9e3779b97f4a7c15

func (s *partialKeySelector) choose(values topology.Values, dst []int) ([]int, error) {
	n := uint64(len(s.tasks))
	a := keyHash(values, s.idx, fnvOffset) % n
	b := keyHash(values, s.idx, partialKeySeed2) % n
	if s.load[b] < s.load[a] {
		a = b
	}
	s.load[a]++
	return append(dst, s.tasks[a]), nil
}

type customSelector struct {
	c         topology.CustomGrouping
	valid     map[int]bool
	component string
	stream    string
}

func (s *customSelector) choose(values topology.Values, dst []int) ([]int, error) {
	for _, t := range s.c.ChooseTasks(values) {
		if !s.valid[t] {
			return dst, fmt.Errorf("custom grouping of %s on stream %q chose task %d, which is not a target", s.component, s.stream, t)
		}
		dst = append(dst, t)
	}
	return dst, nil
}

// FNV-1a, 64 bit. The key hash must be the same in every process and after
// every restart, so fields grouping keeps sending a key to the same task:
// hence a fixed, documented hash over a canonical encoding, not maphash.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnvBytes(h uint64, b []byte) uint64 {
	for _, c := range b {
		h ^= uint64(c)
		h *= fnvPrime
	}
	return h
}

func fnvString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}

func fnvUint64(h, v uint64) uint64 {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], v)
	return fnvBytes(h, b[:])
}

// keyHash hashes the values at idx. int and int64 of equal value hash alike,
// because an int crosses the wire as an int64.
func keyHash(values topology.Values, idx []int, seed uint64) uint64 {
	h := uint64(seed)
	for _, i := range idx {
		var v any
		if i < len(values) {
			v = values[i]
		}
		h = hashValue(h, v)
		h ^= 0xff // separates ("ab","c") from ("a","bc")
		h *= fnvPrime
	}
	return mix64(h)
}

// mix64 is murmur3's finalizer. FNV's low bits depend only on the low bits
// of the input, and a task is chosen by the hash modulo a small count.
func mix64(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

func hashValue(h uint64, v any) uint64 {
	switch x := v.(type) {
	case nil:
		return h
	case string:
		return fnvString(h, x)
	case int64:
		return fnvUint64(h, uint64(x))
	case int:
		return fnvUint64(h, uint64(int64(x)))
	case float64:
		return fnvUint64(h, math.Float64bits(x))
	case bool:
		if x {
			return fnvUint64(h, 1)
		}
		return fnvUint64(h, 0)
	case []byte:
		return fnvBytes(h, x)
	case time.Time:
		return fnvUint64(h, uint64(x.UnixNano()))
	case gproto.Message:
		b, err := gproto.MarshalOptions{Deterministic: true}.Marshal(x)
		if err == nil {
			return fnvBytes(h, b)
		}
	}
	return fnvString(h, fmt.Sprintf("%T:%v", v, v))
}
