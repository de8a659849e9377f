package cluster

import (
	"bytes"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/squall-stream/squall/internal/testinfra"
	"github.com/squall-stream/squall/topology"
	"github.com/squall-stream/squall/zkstore"
)

type nopSpout struct{}

func (nopSpout) DeclareOutputFields(d *topology.OutputDeclarer)                      { d.Declare(topology.NewFields("x")) }
func (nopSpout) Open(*topology.TopologyContext, topology.SpoutOutputCollector) error { return nil }
func (nopSpout) NextTuple()                                                          {}
func (nopSpout) Ack(any)                                                             {}
func (nopSpout) Fail(any)                                                            {}
func (nopSpout) Close() error                                                        { return nil }

var registerAdminTest sync.Once

func registerAdminTopology() {
	registerAdminTest.Do(func() {
		Register("admin-test", func(map[string]string) (*topology.Topology, topology.Config, error) {
			b := topology.NewBuilder()
			b.SetSpout("spout", func() topology.Spout { return nopSpout{} }, 2)
			topo, err := b.Build()
			return topo, topology.Config{}, err
		})
	})
}

func TestAdminLifecycleAndRefusals(t *testing.T) {
	z := testinfra.StartZooKeeper(t)
	registerAdminTopology()
	admin, err := NewAdmin(zkstore.Options{Servers: []string{z.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if err := admin.Submit("no-such-topology", SubmitOptions{}); !errors.Is(err, ErrNotRegistered) {
		t.Fatalf("unregistered submit: %v", err)
	}
	if err := admin.Kill("never-submitted", time.Second); !errors.Is(err, ErrUnknownTopology) {
		t.Fatalf("kill of nothing: %v", err)
	}
	if err := admin.Submit("admin-test", SubmitOptions{Settings: map[string]string{topology.SettingMaxSpoutPending: "lots"}}); !errors.Is(err, topology.ErrBadSetting) || !strings.Contains(err.Error(), topology.SettingMaxSpoutPending) {
		t.Fatalf("submit with a bad setting: %v", err)
	}
	if err := admin.Submit("admin-test", SubmitOptions{Workers: 2, Settings: map[string]string{"k": "v"}}); err != nil {
		t.Fatal(err)
	}
	if err := admin.Submit("admin-test", SubmitOptions{}); !errors.Is(err, ErrExists) {
		t.Fatalf("second submit: %v", err)
	}
	if err := admin.Rebalance("admin-test", map[string]int{"nope": 2}, -1); err == nil {
		t.Fatal("rebalanced an unknown component")
	}
	if err := admin.Rebalance("admin-test", map[string]int{"spout": 3}, 3); err != nil {
		t.Fatal(err)
	}
	if err := admin.Deactivate("admin-test"); err != nil {
		t.Fatal(err)
	}
	l, err := admin.List()
	if err != nil || len(l) != 1 {
		t.Fatalf("list: %v %v", l, err)
	}
	r := l[0]
	if r.Status != StatusInactive || r.Version != 2 || r.Parallelism["spout"] != 3 || r.Workers != 3 || r.Settings["k"] != "v" {
		t.Fatalf("record after rebalance and deactivate: %+v", r.TopologyRecord)
	}
	if err := admin.Kill("admin-test", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := admin.Activate("admin-test"); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("activate after kill: %v", err)
	}
}

func TestDigestAuthProtectsSquallsZnodes(t *testing.T) {
	z := testinfra.StartZooKeeper(t)
	registerAdminTopology()
	opts := zkstore.Options{Servers: []string{z.Addr()}, Root: "/secured", Auth: "ops:s3cret"}
	admin, err := NewAdmin(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if err := admin.Submit("admin-test", SubmitOptions{}); err != nil {
		t.Fatal(err)
	}
	// Without the credentials nothing can be read.
	conn, _, err := zk.Connect([]string{z.Addr()}, 5*time.Second, zk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, _, err := conn.Get("/secured/topologies/admin-test"); !errors.Is(err, zk.ErrNoAuth) {
		t.Fatalf("anonymous read: %v, want ErrNoAuth", err)
	}
	// With them, another client reads it.
	other, err := NewAdmin(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if l, err := other.List(); err != nil || len(l) != 1 {
		t.Fatalf("authenticated list: %v %v", l, err)
	}
	if _, err := NewAdmin(zkstore.Options{Servers: []string{z.Addr()}, Auth: "no-colon"}); err == nil {
		t.Fatal("accepted auth without user:password")
	}
}

func TestUnreachableZooKeeperIsAClearError(t *testing.T) {
	_, err := NewAdmin(zkstore.Options{Servers: []string{"127.0.0.1:1"}, SessionTimeout: time.Second})
	if !errors.Is(err, zkstore.ErrNoZooKeeper) || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("NewAdmin on nothing: %v", err)
	}
}

// Settings given at submit time under Storm's names tune the runtime of any
// registered topology, over what its code chose.
func TestSubmittedSettingsTuneTheRuntime(t *testing.T) {
	registerAdminTopology()
	_, conf, err := build(&TopologyRecord{Name: "admin-test", Settings: map[string]string{
		topology.SettingMessageTimeout: "90", topology.SettingMaxSpoutPending: "20000", "k": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	if conf.MessageTimeout != 90*time.Second || conf.MaxSpoutPending != 20000 || conf.Settings["k"] != "v" {
		t.Fatalf("config: timeout %v, max spout pending %d, settings %v", conf.MessageTimeout, conf.MaxSpoutPending, conf.Settings)
	}
}

// The attack of issue 13: a topology "name" that, joined into a path, was a
// node's znode. Every Admin method refuses it by name and ZooKeeper is left
// as it was.
func TestAdminRefusesATraversalNameAndChangesNothing(t *testing.T) {
	z := testinfra.StartZooKeeper(t)
	registerAdminTopology()
	opts := zkstore.Options{Servers: []string{z.Addr()}}
	node, err := StartNode(NodeOptions{ZK: opts, Listen: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer node.Stop()
	admin, err := NewAdmin(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	conn := z.Connect(t)
	znode := "/squall/nodes/" + node.ID()
	before, beforeStat, err := conn.Get(znode)
	if err != nil {
		t.Fatal(err)
	}
	name := "../nodes/" + node.ID()
	for op, call := range map[string]func() error{
		"submit":     func() error { return admin.Submit(name, SubmitOptions{}) },
		"activate":   func() error { return admin.Activate(name) },
		"deactivate": func() error { return admin.Deactivate(name) },
		"kill":       func() error { return admin.Kill(name, 0) },
		"rebalance":  func() error { return admin.Rebalance(name, map[string]int{"spout": 1}, 1) },
	} {
		if err := call(); !errors.Is(err, topology.ErrBadName) || !strings.Contains(err.Error(), strconv.Quote(name)) {
			t.Errorf("%s %q: %v, want ErrBadName naming it", op, name, err)
		}
	}
	after, afterStat, err := conn.Get(znode)
	if err != nil {
		t.Fatal(err)
	}
	if string(after) != string(before) || afterStat.Mzxid != beforeStat.Mzxid {
		t.Fatalf("the node's znode changed:\nbefore %s\nafter  %s", before, after)
	}
	if kids, _, err := conn.Children("/squall/topologies"); err != nil || len(kids) != 0 {
		t.Fatalf("topologies after refused calls: %v %v", kids, err)
	}
}

// A child in ZooKeeper that is no name squall gives (written by hand, or by
// something else) is left out of what is read, with a warning, never made
// into a path.
func TestChildrenThatAreNoNamesAreSkippedWithAWarning(t *testing.T) {
	z := testinfra.StartZooKeeper(t)
	registerAdminTopology()
	var logs bytes.Buffer // written by List and Nodes only: the ZooKeeper client logs at debug level
	admin, err := NewAdmin(zkstore.Options{Servers: []string{z.Addr()}, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if err := admin.Submit("admin-test", SubmitOptions{}); err != nil {
		t.Fatal(err)
	}
	conn := z.Connect(t)
	for _, p := range []string{"/squall/topologies/orders count", "/squall/nodes/ordеrs"} {
		if _, err := conn.Create(p, []byte(`{"name":"x"}`), 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatal(err)
		}
	}
	tops, err := admin.List()
	if err != nil || len(tops) != 1 || tops[0].Name != "admin-test" {
		t.Fatalf("list: %+v %v", tops, err)
	}
	if nodes, err := admin.Nodes(); err != nil || len(nodes) != 0 {
		t.Fatalf("nodes: %+v %v", nodes, err)
	}
	for _, want := range []string{`topology name \"orders count\"`, `node id \"ordеrs\"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("no warning naming %s in:\n%s", want, logs.String())
		}
	}
}
