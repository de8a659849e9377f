package cluster

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/squall-stream/squall/topology"
	"github.com/squall-stream/squall/zkstore"
)

// A node publishes its listen address in ZooKeeper as where other nodes
// reach it; an address without a host would be useless there.
func TestStartNodeRefusesAListenAddressWithoutAHost(t *testing.T) {
	zk := zkstore.Options{Servers: []string{"127.0.0.1:1"}, SessionTimeout: 100 * time.Millisecond}
	for _, listen := range []string{":27600", "0.0.0.0:27600", "[::]:0"} {
		n, err := StartNode(NodeOptions{ZK: zk, Listen: listen, Logger: slog.New(slog.DiscardHandler)})
		if !errors.Is(err, ErrListenHost) || !strings.Contains(err.Error(), strconv.Quote(listen)) {
			if n != nil {
				n.Stop()
			}
			t.Errorf("listen %q: %v, want ErrListenHost naming it", listen, err)
		}
	}
}

func TestStartNodeRefusesABadNodeID(t *testing.T) {
	zk := zkstore.Options{Servers: []string{"127.0.0.1:1"}, SessionTimeout: 100 * time.Millisecond}
	n, err := StartNode(NodeOptions{ZK: zk, ID: "../topologies/x", Listen: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler)})
	if !errors.Is(err, topology.ErrBadName) || !strings.Contains(err.Error(), `node id "../topologies/x"`) {
		if n != nil {
			n.Stop()
		}
		t.Fatalf("node id ../topologies/x: %v, want ErrBadName naming it", err)
	}
}

// A registration under a name outside the rule is a programming error, as a
// duplicate one is.
func TestRegisterRefusesABadName(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), `topology name "../nodes/x"`) {
			t.Fatalf("Register(\"../nodes/x\") did not panic naming it: %v", r)
		}
	}()
	Register("../nodes/x", nil)
}
