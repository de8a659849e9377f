package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// ackOne acknowledges one line.
func ackOne(tr *tracker, gen, seq uint64) { tr.ack(gen, 1, []seqRun{{seq, seq + 1}}) }

func TestTrackerAdvancesOverTheAcknowledgedPrefix(t *testing.T) {
	tr := newTracker(100)
	_, s1, _ := tr.sent(110)
	_, s2, _ := tr.sent(120)
	tr.skipped(130)
	g, s3, _ := tr.sent(140)
	if off := tr.offset(); off != 100 {
		t.Fatalf("offset %d before any ack, want 100", off)
	}
	ackOne(tr, g, s2)
	if off := tr.offset(); off != 100 {
		t.Fatalf("offset %d with the first line unacknowledged, want 100", off)
	}
	ackOne(tr, g, s1)
	if off := tr.offset(); off != 130 {
		t.Fatalf("offset %d, want 130: past both lines and the skipped one", off)
	}
	ackOne(tr, g, s3)
	acked, outstanding, failure := tr.state()
	if acked != 140 || outstanding != 0 || failure != nil {
		t.Fatalf("state %d, %d, %v; want 140, 0, nil", acked, outstanding, failure)
	}
	tr.skipped(150)
	if off := tr.offset(); off != 150 {
		t.Fatalf("a skipped line with nothing in flight: offset %d, want 150", off)
	}
}

func TestTrackerRewindIgnoresOlderGenerations(t *testing.T) {
	tr := newTracker(0)
	g1, s1, _ := tr.sent(10)
	tr.sent(20)
	_, s3, _ := tr.sent(30)
	ackOne(tr, g1, s1)
	tr.fail(g1, 1, errors.New("refused")) // the answer for s2
	if _, outstanding, failure := tr.state(); outstanding != 1 || failure == nil {
		t.Fatalf("after a failure: %d outstanding, failure %v", outstanding, failure)
	}
	if _, _, ok := tr.sent(40); ok {
		t.Fatal("a line was taken after its generation failed and before the rewind")
	}
	if from := tr.rewind(-1); from != 10 {
		t.Fatalf("rewind to %d, want the acknowledged 10", from)
	}
	ackOne(tr, g1, s3) // an answer for the old generation
	g2, s4, _ := tr.sent(20)
	if g2 == g1 {
		t.Fatal("rewind kept the generation")
	}
	ackOne(tr, g2, s4)
	if acked, outstanding, failure := tr.state(); acked != 20 || outstanding != 0 || failure != nil {
		t.Fatalf("state %d, %d, %v; want 20, 0, nil", acked, outstanding, failure)
	}
	if from := tr.rewind(0); from != 0 || tr.offset() != 0 {
		t.Fatalf("a rewind after truncation goes to %d, want 0", from)
	}
}

// Many lines acknowledged in a random order: the offset is always the end
// of the longest acknowledged prefix, and the ring of lines in flight wraps
// around rather than growing with every line sent.
func TestTrackerManyLinesOutOfOrder(t *testing.T) {
	tr := newTracker(0)
	const n = 5000
	var seqs []uint64
	var gen uint64
	for i := range n {
		g, s, _ := tr.sent(int64(i+1) * 10)
		gen = g
		seqs = append(seqs, s)
	}
	// Acknowledge odd ones first, then even ones.
	for i := 1; i < n; i += 2 {
		ackOne(tr, gen, seqs[i])
	}
	if off := tr.offset(); off != 0 {
		t.Fatalf("offset %d with line 0 unacknowledged", off)
	}
	for i := 0; i < n; i += 2 {
		ackOne(tr, gen, seqs[i])
		if want := int64(min(i+2, n)) * 10; tr.offset() != want {
			t.Fatalf("after line %d: offset %d, want %d", i, tr.offset(), want)
		}
	}
	if tr.n != 0 {
		t.Fatalf("%d lines pending after all were acknowledged", tr.n)
	}
	size := len(tr.pending)
	for round := range 10 {
		g, s, _ := tr.sent(int64(n+round+1) * 10)
		ackOne(tr, g, s)
	}
	if len(tr.pending) != size || tr.offset() != int64(n+10)*10 {
		t.Fatalf("ring of %d slots (was %d), offset %d after 10 more lines one at a time", len(tr.pending), size, tr.offset())
	}
}

type scanned struct {
	lines []string
	ends  []int64
	longs [][3]int64
}

func scanAll(s *lineScanner, chunks []string) (scanned, int64) {
	var out scanned
	var off int64
	data := ""
	for _, c := range chunks {
		// Like the agent: the unconsumed tail is read again with the next
		// chunk.
		data += c
		next := s.scan([]byte(data), off,
			func(l []byte, end int64) { out.lines = append(out.lines, string(l)); out.ends = append(out.ends, end) },
			func(o, n, end int64) { out.longs = append(out.longs, [3]int64{o, n, end}) })
		data = data[next-off:]
		off = next
	}
	return out, off
}

func TestLineScanner(t *testing.T) {
	for _, tc := range []struct {
		name   string
		chunks []string
		lines  []string
		ends   []int64
		longs  [][3]int64
		next   int64
	}{
		{"whole lines", []string{"a\nbb\n"}, []string{"a", "bb"}, []int64{2, 5}, nil, 5},
		{"unfinished line held", []string{"a\nb", "b"}, []string{"a"}, []int64{2}, nil, 2},
		{"line completed later", []string{"a\nb", "b\n"}, []string{"a", "bb"}, []int64{2, 5}, nil, 5},
		{"CRLF", []string{"a\r\n\r\nb\r", "\n"}, []string{"a", "", "b"}, []int64{3, 5, 8}, nil, 8},
		{"bytes unchanged", []string{"\xff\x00é\n"}, []string{"\xff\x00é"}, []int64{5}, nil, 5},
		{"over-long in one read", []string{"12345678\nok\n"}, []string{"ok"}, []int64{12}, [][3]int64{{0, 8, 9}}, 12},
		{"over-long CRLF", []string{"12345678\r\nok\n"}, []string{"ok"}, []int64{13}, [][3]int64{{0, 8, 10}}, 13},
		{"exactly max", []string{"12345\r\n"}, []string{"12345"}, []int64{7}, nil, 7},
		{"over-long across reads", []string{"ok\n1234567", "890", "12\r\nz\n"}, []string{"ok", "z"}, []int64{3, 19}, [][3]int64{{3, 12, 17}}, 19},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &lineScanner{max: 5}
			got, next := scanAll(s, tc.chunks)
			if !slices.Equal(got.lines, tc.lines) || !slices.Equal(got.ends, tc.ends) || !slices.Equal(got.longs, tc.longs) || next != tc.next {
				t.Fatalf("got lines %q ends %v longs %v next %d; want %q %v %v %d",
					got.lines, got.ends, got.longs, next, tc.lines, tc.ends, tc.longs, tc.next)
			}
		})
	}
}

func TestJSONKey(t *testing.T) {
	for line, want := range map[string]string{
		`{"orderId":"o-1","x":1}`:                 "o-1",
		`{"x":{"orderId":"nested"},"orderId":42}`: "42",
		`{"orderId":{"a":1}}`:                     `{"a":1}`,
		`{"x":1}`:                                 "",
		`not json`:                                "",
		`["orderId"]`:                             "",
		`{"orderId":"` + strings.Repeat("k", maxKeyLength+1) + `"}`:    "",
		` { "a" : [1, "x]}\"", {"orderId": 1}] , "orderId" : "o-2" } `: "o-2",
		`{"a":"{\"orderId\":\"no\"}","orderId":true}`:                  "true",
		`{"order\u0049d":"escaped name"}`:                              "escaped name",
		`{"orderId":"tab\there"}`:                                      "tab\there",
		`{"orderId":null}`:                                             "",
		`{"orderId":-1.5e3,"more":`:                                    "-1.5e3",
		`{"a":1 "orderId":2}`:                                          "",
		`{"a":"unterminated, "orderId":3}`:                             "",
		`{"orderId"}`:                                                  "",
		`{"orderId":}`:                                                 "",
		`{`:                                                            "",
	} {
		if got := string(jsonKey([]byte(line), "orderId")); got != want {
			t.Errorf("jsonKey(%.40q) = %q, want %q", line, got, want)
		}
	}
}

// Each configuration error names the field at fault.
func TestConfigErrorsNameTheField(t *testing.T) {
	ok := Config{Brokers: []string{"127.0.0.1:9092"}, Groups: []FileGroup{{Topic: "t", Globs: []string{"/x/*.log"}}}, Positions: "/x/p.json"}
	for _, tc := range []struct {
		field string
		want  error
		edit  func(*Config)
	}{
		{"Brokers", ErrNoBrokers, func(c *Config) { c.Brokers = nil }},
		{"Groups", ErrNoGroups, func(c *Config) { c.Groups = nil }},
		{"Groups[0]", ErrNoTopic, func(c *Config) { c.Groups[0].Topic = "" }},
		{"Groups[0]", ErrNoGroups, func(c *Config) { c.Groups[0].Globs = nil }},
		{"Groups[0]", ErrBadGlob, func(c *Config) { c.Groups[0].Globs = []string{"/x/[.log"} }},
		{"Positions", ErrNoPositions, func(c *Config) { c.Positions = "" }},
		{"Acks", ErrIdempotenceNeedsAcksAll, func(c *Config) { c.Acks = AcksLeader }},
		{"Acks", ErrBadSetting, func(c *Config) { c.Acks, c.DisableIdempotence = 7, true }},
		{"MaxLineLength", ErrBadSetting, func(c *Config) { c.MaxLineLength = -1 }},
		{"PollInterval", ErrBadSetting, func(c *Config) { c.PollInterval = -time.Second }},
		{"MaxBufferedBytes", ErrBadSetting, func(c *Config) { c.MaxBufferedBytes = -1 }},
		{"KafkaVersion", ErrBadSetting, func(c *Config) { c.KafkaVersion = "nine" }},
	} {
		c := ok
		c.Groups = slices.Clone(ok.Groups)
		tc.edit(&c)
		_, err := c.withDefaults()
		if !errors.Is(err, tc.want) || !strings.Contains(fmt.Sprint(err), tc.field) {
			t.Errorf("%s: got %v, want %v naming %s", tc.field, err, tc.want, tc.field)
		}
	}
	c, err := ok.withDefaults()
	if err != nil || c.MaxLineLength != DefaultMaxLineLength || c.PollInterval != DefaultPollInterval || c.Logger == nil {
		t.Fatalf("defaults: %+v, %v", c, err)
	}
}

// Start fails on a bad configuration, and while another agent holds the
// position file, without needing Kafka.
func TestStartRefusesBadConfigAndSharedPositions(t *testing.T) {
	dir := t.TempDir()
	conf := Config{Brokers: []string{"127.0.0.1:1"}, Groups: []FileGroup{{Topic: "t", Globs: []string{dir + "/*.log"}}}, Positions: filepath.Join(dir, "p.json")}
	bad := conf
	bad.Positions = ""
	if _, err := Start(t.Context(), bad); !errors.Is(err, ErrNoPositions) {
		t.Fatalf("Start without Positions: %v", err)
	}
	lock, err := lockPositions(t.Context(), conf.Positions)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if _, err := Start(t.Context(), conf); !errors.Is(err, ErrPositionsLocked) {
		t.Fatalf("Start with the position file locked: %v", err)
	}
}

func TestPositionsRoundTripAndCorruption(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.json")
	if ps, err := loadPositions(path); err != nil || ps != nil {
		t.Fatalf("missing file: %v, %v", ps, err)
	}
	want := []position{{Inode: 7, Offset: 42, Path: "/x/a.log"}}
	if err := savePositions(path, want); err != nil {
		t.Fatal(err)
	}
	if got, err := loadPositions(path); err != nil || !slices.Equal(got, want) {
		t.Fatalf("got %v, %v; want %v", got, err, want)
	}
	for _, bad := range []string{"{", `[{"inode":7,"offset":-1,"path":"/a"}]`, `[{"inode":7,"offset":1,"path":"/a","x":1}]`, "[] []"} {
		if err := os.WriteFile(path, []byte(bad), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := loadPositions(path); !errors.Is(err, ErrCorruptPositions) {
			t.Errorf("%q: %v, want ErrCorruptPositions", bad, err)
		}
	}
}

// jsonKey agrees with encoding/json on valid objects (whose field is not
// repeated: encoding/json keeps the last, jsonKey the first), and never
// panics on anything.
func FuzzJSONKey(f *testing.F) {
	for _, s := range []string{`{"orderId":"o-1"}`, `{"x":[{"orderId":1}],"orderId":{"a":"}"}}`, `{"orderId":"\u00e9\n"}`, `{"orderId":null}`, `{"orderId":1e400}`, `[1]`, `{"a":`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		got := jsonKey([]byte(line), "orderId")
		var m map[string]json.RawMessage
		if json.Unmarshal([]byte(line), &m) != nil || strings.Count(line, "orderId") > 1 || strings.Contains(line, `\u`) {
			return
		}
		var want []byte
		if raw, ok := m["orderId"]; ok {
			var s string
			switch {
			case string(raw) == "null":
			case json.Unmarshal(raw, &s) == nil:
				want = []byte(s)
			default:
				want = raw
			}
		}
		if len(want) > maxKeyLength {
			want = nil
		}
		if !bytes.Equal(got, want) || (got == nil) != (want == nil) {
			t.Fatalf("jsonKey(%q) = %q, encoding/json says %q", line, got, want)
		}
	})
}
