package topology

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

func TestValidateNameAcceptsStormNames(t *testing.T) {
	for _, name := range []string{
		"orders", "orders-count", "kafka_orders", "window-5m", "v1.2", "a", ".hidden", "trailing.",
		"__tick", strings.Repeat("x", MaxNameLen),
	} {
		for _, kind := range []NameKind{TopologyName, ComponentID, StreamID, NodeID} {
			if err := ValidateName(kind, name); err != nil {
				t.Errorf("ValidateName(%s, %q) = %v", kind, name, err)
			}
		}
	}
	for _, id := range []string{"127.0.0.3:27000", "node-1.example.com:7000", "node-1"} {
		if err := ValidateName(NodeID, id); err != nil {
			t.Errorf("node id %q: %v", id, err)
		}
	}
}

func TestValidateNameRefusesPathsAndOddCharacters(t *testing.T) {
	for _, c := range []struct {
		name, problem string
	}{
		{"", "empty"},
		{".", `"." alone`},
		{"..", `holds ".."`},
		{"a..b", `holds ".."`},
		{"../nodes/x", `holds ".."`},
		{"..%2Fnodes", `holds ".."`},
		{"a/b", `holds '/'`},
		{"/abs", `holds '/'`},
		{`a\b`, `holds '\\'`},
		{"with space", `holds ' '`},
		{"tab\there", `holds '\t'`},
		{"nul\x00", `holds '\x00'`},
		{"host:port", `holds ':'`},
		{"ordеrs", `holds 'е'`}, // Cyrillic е, a lookalike of e
		{"orders\u200b", `holds '\u200b'`},
		{"订单", `holds '订'`},
		{"bad\xffutf8", `holds '�'`},
		{strings.Repeat("x", MaxNameLen+1), "256 bytes long"},
	} {
		err := ValidateName(TopologyName, c.name)
		if !errors.Is(err, ErrBadName) {
			t.Errorf("ValidateName(%q) = %v, want ErrBadName", c.name, err)
			continue
		}
		for _, want := range []string{"topology name", c.problem} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("ValidateName(%q) = %q, want it to say %q", c.name, err, want)
			}
		}
		if !strings.Contains(err.Error(), strconv.Quote(c.name)) {
			t.Errorf("ValidateName(%q) = %q does not name the name", c.name, err)
		}
	}
}

func TestOnlyNodeIDsMayHoldAColon(t *testing.T) {
	for _, kind := range []NameKind{TopologyName, ComponentID, StreamID} {
		if err := ValidateName(kind, "a:b"); !errors.Is(err, ErrBadName) || !strings.Contains(err.Error(), string(kind)) {
			t.Errorf("%s with ':': %v", kind, err)
		}
	}
	for _, id := range []string{"../nodes:1", "a/b:1", "[::1]:7000"} {
		if err := ValidateName(NodeID, id); !errors.Is(err, ErrBadName) || !strings.Contains(err.Error(), "node id") {
			t.Errorf("node id %q: %v", id, err)
		}
	}
}
