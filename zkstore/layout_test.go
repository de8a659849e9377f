package zkstore

import (
	"errors"
	"strings"
	"testing"

	"github.com/squall-stream/squall/topology"
)

func TestLayoutPathsStayBelowTheRoot(t *testing.T) {
	l, err := newLayout(DefaultRoot)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		what string
		path func() (string, error)
		want string
	}{
		{"node", func() (string, error) { return l.Node("127.0.0.1:7000") }, "/squall/nodes/127.0.0.1:7000"},
		{"topology", func() (string, error) { return l.Topology("orders") }, "/squall/topologies/orders"},
		{"assignment", func() (string, error) { return l.Assignment("orders") }, "/squall/assignments/orders"},
		{"candidate", func() (string, error) { return l.Candidate("n_0000000003") }, "/squall/leader/n_0000000003"},
		{"offsets", func() (string, error) { return l.offsets("orders", "kafka", "orders.v2", "7") }, "/squall/offsets/orders/kafka/orders.v2/7"},
	} {
		if p, err := c.path(); err != nil || p != c.want {
			t.Errorf("%s path: %q, %v; want %q", c.what, p, err, c.want)
		}
	}
	// Each of these would be a path elsewhere once joined and cleaned.
	for _, c := range []struct {
		what  string
		path  func() (string, error)
		names string
	}{
		{"topology", func() (string, error) { return l.Topology("../nodes/127.0.0.3:27000") }, `topology name "../nodes/127.0.0.3:27000"`},
		{"topology", func() (string, error) { return l.Topology("..") }, `topology name ".."`},
		{"assignment", func() (string, error) { return l.Assignment("a/b") }, `topology name "a/b"`},
		{"node", func() (string, error) { return l.Node("../../zookeeper") }, `node id "../../zookeeper"`},
		{"node", func() (string, error) { return l.Node("") }, `node id ""`},
		{"candidate", func() (string, error) { return l.Candidate("../topologies/orders") }, `leader candidate "../topologies/orders"`},
		{"offsets", func() (string, error) { return l.offsets("orders", "..", "..", "nodes") }, `component id ".."`},
		{"offsets", func() (string, error) { return l.offsets("orders", "kafka", "../../../nodes", "1") }, `Kafka topic "../../../nodes"`},
		{"offsets", func() (string, error) { return l.offsets(".", "kafka") }, `topology name "."`},
	} {
		p, err := c.path()
		if !errors.Is(err, topology.ErrBadName) || !strings.Contains(err.Error(), c.names) {
			t.Errorf("%s path: %q, %v; want ErrBadName naming %s", c.what, p, err, c.names)
		}
	}
}

func TestLayoutTakesOnlyACleanAbsoluteRoot(t *testing.T) {
	for _, root := range []string{"squall", "/squall/", "/squall/../other", "/squall/./x", "//squall", ""} {
		if _, err := newLayout(root); err == nil || !strings.Contains(err.Error(), "ZooKeeper root") {
			t.Errorf("newLayout(%q): %v", root, err)
		}
	}
	l, err := newLayout("/")
	if err != nil {
		t.Fatal(err)
	}
	if p, err := l.Node("n1"); err != nil || p != "/nodes/n1" {
		t.Fatalf("node under /: %q %v", p, err)
	}
}
