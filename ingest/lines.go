package ingest

import (
	"bytes"
	"encoding/json"
)

// lineScanner cuts consecutive reads of a file into whole lines. Only lines
// ended by "\n" count; "\r\n" endings lose their "\r"; every other byte
// (UTF-8 or not) is passed on unchanged. A line longer than max bytes is
// not passed on: it is reported once its end is found, however many reads
// it spans, and skipped whole.
type lineScanner struct {
	max      int
	skipping bool  // inside an over-long line whose end is not read yet
	skipFrom int64 // where that line starts
}

// scan processes data read at file offset base. It calls line for each
// whole line with its content (valid only during the call) and the offset
// just past its newline, and long for each over-long line with its offset,
// its length (without the line ending) and the offset just past its newline. It returns the offset to read from
// next: past the last whole line, so that an unfinished line is read again
// once it is complete, or past data while inside an over-long line.
func (s *lineScanner) scan(data []byte, base int64, line func(content []byte, end int64), long func(offset, length, end int64)) int64 {
	start := 0
	if s.skipping {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			return base + int64(len(data))
		}
		length := base + int64(i) - s.skipFrom
		if i > 0 && data[i-1] == '\r' {
			length--
		}
		long(s.skipFrom, length, base+int64(i)+1)
		s.skipping = false
		start = i + 1
	}
	for {
		i := bytes.IndexByte(data[start:], '\n')
		if i < 0 {
			break
		}
		content := data[start : start+i]
		if n := len(content); n > 0 && content[n-1] == '\r' {
			content = content[:n-1]
		}
		if len(content) > s.max {
			long(base+int64(start), int64(len(content)), base+int64(start+i+1))
		} else {
			line(content, base+int64(start+i+1))
		}
		start += i + 1
	}
	// An unfinished line longer than max+1 (room for a "\r") can only be
	// over-long: stop holding it and skip to its end.
	if len(data)-start > s.max+1 {
		s.skipping, s.skipFrom = true, base+int64(start)
		return base + int64(len(data))
	}
	return base + int64(start)
}

// maxKeyLength bounds record keys: a longer value is not an id, and the
// line is produced without a key rather than risking the message size.
const maxKeyLength = 1 << 10

// jsonKey returns the value of a top-level field of a JSON object line: a
// string as is, anything else as its JSON text. It returns nil when the line
// is not a JSON object, lacks the field, or the value is over maxKeyLength.
func jsonKey(line []byte, field string) []byte {
	dec := json.NewDecoder(bytes.NewReader(line))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil
		}
		if tok != field {
			continue
		}
		var key []byte
		var s string
		if json.Unmarshal(raw, &s) == nil {
			key = []byte(s)
		} else {
			key = bytes.TrimSpace(raw)
		}
		if len(key) > maxKeyLength {
			return nil
		}
		return key
	}
	return nil
}
