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
// is not a JSON object, lacks the field, or the value is null or over
// maxKeyLength.
// The key is valid as long as line is (the producer copies it). It walks
// the line by hand rather than with encoding/json, which costs more than
// the rest of shipping a line; what follows the field is not checked.
func jsonKey(line []byte, field string) []byte {
	i := skipSpace(line, 0)
	if i == len(line) || line[i] != '{' {
		return nil
	}
	i = skipSpace(line, i+1)
	for i < len(line) && line[i] == '"' {
		nameEnd := skipString(line, i)
		if nameEnd < 0 {
			return nil
		}
		name := line[i:nameEnd]
		i = skipSpace(line, nameEnd)
		if i == len(line) || line[i] != ':' {
			return nil
		}
		i = skipSpace(line, i+1)
		valueEnd := skipValue(line, i)
		if valueEnd < 0 {
			return nil
		}
		if jsonStringIs(name, field) {
			return keyOf(line[i:valueEnd])
		}
		i = skipSpace(line, valueEnd)
		if i == len(line) || line[i] != ',' {
			return nil
		}
		i = skipSpace(line, i+1)
	}
	return nil
}

// keyOf makes a record key of a JSON value: strings unquoted, null none.
// The key is a part of value unless the string has escapes.
func keyOf(value []byte) []byte {
	var key []byte
	switch {
	case string(value) == "null":
		return nil
	case value[0] == '"' && bytes.IndexByte(value, '\\') < 0:
		key = value[1 : len(value)-1]
	case value[0] == '"':
		var s string
		if json.Unmarshal(value, &s) != nil {
			return nil
		}
		key = []byte(s)
	default:
		key = value
	}
	if len(key) > maxKeyLength {
		return nil
	}
	return key
}

// jsonStringIs tells whether the JSON string literal quoted equals s.
func jsonStringIs(quoted []byte, s string) bool {
	inner := quoted[1 : len(quoted)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return string(inner) == s
	}
	var name string
	return json.Unmarshal(quoted, &name) == nil && name == s
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index just past the string literal at b[i], or -1.
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return -1
}

// skipValue returns the index just past the JSON value at b[i], or -1 if
// there is none. Nested objects and arrays are skipped by their brackets,
// minding strings, without checking what is inside.
func skipValue(b []byte, i int) int {
	if i == len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				end := skipString(b, i)
				if end < 0 {
					return -1
				}
				i = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return -1
	default:
		start := i
		for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && b[i] != ' ' && b[i] != '\t' && b[i] != '\r' && b[i] != '\n' {
			i++
		}
		if i == start {
			return -1
		}
		return i
	}
}
