package ingest

import (
	"slices"
	"sync"
	"time"

	"github.com/IBM/sarama"
)

// batch is the lines bound for one partition that go to Kafka together, as
// one record batch. File actors append lines to a partition's open batch;
// once sealed (full, or older than Linger) it belongs to the send loop until
// Kafka answers for it.
//
// A line costs no allocation of its own: its key and value are copied into
// one arena, and sarama's records are made for the whole batch when it is
// sealed, slicing into that arena.
type batch struct {
	part    *partition
	created time.Time
	arena   []byte
	spans   []recordSpan
	size    int   // estimated encoded size of the records
	bytes   int64 // bytes of the lines in their files, newlines included

	// What the batch carries, per file, for the acknowledgement: runs of
	// consecutive tracker sequence numbers, grouped by file and generation.
	runs  []seqRun
	files []fileRuns

	records []sarama.Record
	ptrs    []*sarama.Record
	rb      *sarama.RecordBatch // made by seal

	// Send state, owned by the send loop.
	sent   bool // in flight
	seqSet bool // rb carries its producer id and sequence, kept on resends
}

// recordSpan is where a line's key and value end in the arena; keyLen is -1
// for a line without a key.
type recordSpan struct {
	keyLen, valueEnd int32
}

// seqRun is tracker sequence numbers [from, to) of one file.
type seqRun struct{ from, to uint64 }

// fileRuns says that runs[first:first+n] of a batch are lines of fs sent in
// generation gen.
type fileRuns struct {
	fs       *fileState
	gen      uint64
	first, n int
	lines    int
}

// Bounds of the encoded size of a record beyond its key and value (length,
// attributes, timestamp and offset deltas, key and value lengths, header
// count), and of a record batch beyond its records.
const (
	recordOverhead      = 5 + 1 + 1 + 5 + 5 + 5 + 1
	recordBatchOverhead = 61
)

// batchFree keeps answered batches for reuse, so that a batch's arena and
// slices are grown once rather than for every batch. A sync.Pool would not
// do: the garbage collector empties it, and sarama's encoding makes the
// collector run often.
type batchFree struct {
	// mu guards list. Lock order (locksordering.txt): a leaf, taken under
	// topic.mu or alone.
	mu   sync.Mutex
	list []*batch
}

// maxFreeBatches bounds the batches kept for reuse, and so their memory.
const maxFreeBatches = 16

func (f *batchFree) get(part *partition, now time.Time) *batch {
	f.mu.Lock()
	var b *batch
	if n := len(f.list); n > 0 {
		b = f.list[n-1]
		f.list = f.list[:n-1]
	}
	f.mu.Unlock()
	if b == nil {
		b = new(batch)
	}
	b.part, b.created = part, now
	return b
}

// put takes a batch Kafka answered for.
func (f *batchFree) put(b *batch) {
	clear(b.ptrs)
	clear(b.records)
	clear(b.files)
	*b = batch{
		arena: b.arena[:0], spans: b.spans[:0], runs: b.runs[:0], files: b.files[:0],
		records: b.records[:0], ptrs: b.ptrs[:0],
	}
	f.mu.Lock()
	if len(f.list) < maxFreeBatches {
		f.list = append(f.list, b)
	}
	f.mu.Unlock()
}

// encodedSize bounds the encoded size of a record with this key and value.
func encodedSize(key, value []byte) int {
	return len(key) + len(value) + recordOverhead
}

// add appends a line: its key (nil for none), its value, its tracker
// generation and sequence number, and its size in the file.
func (b *batch) add(fs *fileState, gen, seq uint64, key, value []byte, size int) {
	keyLen := int32(-1)
	if key != nil {
		keyLen = int32(len(key))
		b.arena = append(b.arena, key...)
	}
	b.arena = append(b.arena, value...)
	b.spans = append(b.spans, recordSpan{keyLen: keyLen, valueEnd: int32(len(b.arena))})
	b.size += encodedSize(key, value)
	b.bytes += int64(size)

	if n := len(b.files); n > 0 && b.files[n-1].fs == fs && b.files[n-1].gen == gen {
		f := &b.files[n-1]
		f.lines++
		if last := &b.runs[len(b.runs)-1]; last.to == seq {
			last.to++
			return
		}
		f.n++
	} else {
		b.files = append(b.files, fileRuns{fs: fs, gen: gen, first: len(b.runs), n: 1, lines: 1})
	}
	b.runs = append(b.runs, seqRun{from: seq, to: seq + 1})
}

func (b *batch) lines() int { return len(b.spans) }

// seal makes the record batch of the lines, ready to be sent.
func (b *batch) seal(codec sarama.CompressionCodec, level int) {
	n := len(b.spans)
	b.records = slices.Grow(b.records[:0], n)[:n]
	b.ptrs = b.ptrs[:0]
	start := int32(0)
	for i, s := range b.spans {
		r := &b.records[i]
		r.OffsetDelta = int64(i)
		valueStart := start
		if s.keyLen >= 0 {
			valueStart = start + s.keyLen
			r.Key = b.arena[start:valueStart:valueStart]
		}
		r.Value = b.arena[valueStart:s.valueEnd:s.valueEnd]
		start = s.valueEnd
		b.ptrs = append(b.ptrs, r)
	}
	// Lines get their batch's time: they waited at most Linger for it.
	ts := b.created.Truncate(time.Millisecond)
	b.rb = &sarama.RecordBatch{
		Version:          2,
		Codec:            codec,
		CompressionLevel: level,
		FirstTimestamp:   ts,
		MaxTimestamp:     ts,
		LastOffsetDelta:  int32(n - 1),
		ProducerID:       -1,
		ProducerEpoch:    -1,
		FirstSequence:    -1,
		Records:          b.ptrs,
	}
}

// settle hands Kafka's answer for the batch to the trackers of its files:
// with err nil every line is acknowledged, otherwise every line failed. Each
// file's lines are answered at once, under one lock.
func (b *batch) settle(err error) {
	for _, f := range b.files {
		runs := b.runs[f.first : f.first+f.n]
		if err == nil {
			f.fs.tracker.ack(f.gen, f.lines, runs)
		} else {
			f.fs.tracker.fail(f.gen, f.lines, err)
		}
	}
}

// nextSequence is the sequence number after n records from seq: Kafka wraps
// sequence numbers around at the largest int32.
func nextSequence(seq int32, n int) int32 {
	return int32((int64(seq) + int64(n)) % (1 << 31))
}
