package main

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/squall-stream/squall/cluster"
	"github.com/squall-stream/squall/dashboard"
	"github.com/squall-stream/squall/internal/testinfra"
	"github.com/squall-stream/squall/zkstore"
)

// The attack of issue 13 on squall ui --actions: a topology "name" that,
// joined into a znode path, was another node's registration. It is refused
// by name and the node's znode stays as it was.
func TestUIActionsRefuseATraversalNameAndLeaveZooKeeperAlone(t *testing.T) {
	z := testinfra.StartZooKeeper(t)
	opts := zkstore.Options{Servers: []string{z.Addr()}}
	quiet := slog.New(slog.DiscardHandler)
	node, err := cluster.StartNode(cluster.NodeOptions{ZK: opts, Listen: "127.0.0.1:0", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer node.Stop()
	admin, err := cluster.NewAdmin(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	srv := httptest.NewServer(dashboard.New(dashboard.Options{Actions: adminActions{admin}, Logger: quiet}).Handler())
	defer srv.Close()
	conn := z.Connect(t)
	znode := zkstore.DefaultRoot + "/nodes/" + node.ID()
	before, beforeStat, err := conn.Get(znode)
	if err != nil {
		t.Fatal(err)
	}

	for _, action := range []string{"deactivate", "activate", "kill"} {
		res, err := http.Post(srv.URL+"/api/topologies/..%2Fnodes%2F"+node.ID()+"/"+action, "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]string
		_ = json.NewDecoder(res.Body).Decode(&body)
		res.Body.Close()
		if want := strconv.Quote("../nodes/" + node.ID()); res.StatusCode != http.StatusBadRequest || !strings.Contains(body["error"], want) {
			t.Errorf("%s: %d %v, want 400 naming %s", action, res.StatusCode, body, want)
		}
	}

	after, afterStat, err := conn.Get(znode)
	if err != nil {
		t.Fatal(err)
	}
	if string(after) != string(before) || afterStat.Mzxid != beforeStat.Mzxid {
		t.Fatalf("node %s's znode changed:\nbefore %s\nafter  %s", node.ID(), before, after)
	}
	if kids, _, err := conn.Children(zkstore.DefaultRoot + "/topologies"); err != nil || len(kids) != 0 {
		t.Fatalf("topologies after refused actions: %v %v", kids, err)
	}
}
