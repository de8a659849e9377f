package cluster

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/squall-stream/squall/internal/testinfra"
	"github.com/squall-stream/squall/topology"
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
	admin, err := NewAdmin(ZKOptions{Servers: []string{z.Addr()}})
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
	opts := ZKOptions{Servers: []string{z.Addr()}, Root: "/secured", Auth: "ops:s3cret"}
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
	if _, err := NewAdmin(ZKOptions{Servers: []string{z.Addr()}, Auth: "no-colon"}); err == nil {
		t.Fatal("accepted auth without user:password")
	}
}

func TestUnreachableZooKeeperIsAClearError(t *testing.T) {
	_, err := NewAdmin(ZKOptions{Servers: []string{"127.0.0.1:1"}, SessionTimeout: time.Second})
	if !errors.Is(err, ErrNoZooKeeper) || !strings.Contains(err.Error(), "127.0.0.1:1") {
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
