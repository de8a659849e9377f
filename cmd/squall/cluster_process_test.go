package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/squall-stream/squall/dashboard"
	"github.com/squall-stream/squall/internal/check"
	"github.com/squall-stream/squall/internal/testinfra"
)

// buildSquall builds the binary once per test run.
func buildSquall(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "squall")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// squallProcess is a long-running squall command: a node or the ui.
type squallProcess struct {
	cmd  *exec.Cmd
	addr string // the address its start line gave
	mu   sync.Mutex
	out  strings.Builder
}

func (p *squallProcess) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

var (
	listening = regexp.MustCompile(`listening on ([^\s,]+)`)
	uiServing = regexp.MustCompile(`squall ui: http://(\S+)/`)
)

func startNodeProcess(t *testing.T, bin, zk, listen string) *squallProcess {
	t.Helper()
	return startSquall(t, bin, listening, "node", "--zk", zk, "--listen", listen, "--zk-session-timeout", "3s")
}

// startSquall runs `squall args...` until the test ends, and returns once
// its output matched started, whose first group is the address.
func startSquall(t *testing.T, bin string, started *regexp.Regexp, args ...string) *squallProcess {
	t.Helper()
	p := &squallProcess{cmd: exec.Command(bin, args...)}
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stderr = p.cmd.Stdout
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		_ = p.cmd.Wait()
	})
	addrCh := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.out.WriteString(line + "\n")
			p.mu.Unlock()
			if m := started.FindStringSubmatch(line); m != nil {
				select {
				case addrCh <- m[1]:
				default:
				}
			}
		}
	}()
	select {
	case p.addr = <-addrCh:
	case <-time.After(20 * time.Second):
		t.Fatalf("squall %v did not start:\n%s", args, p.output())
	}
	return p
}

// nodeRow is a node's row in `squall list` (one per node, whatever else
// its columns hold).
var nodeRow = regexp.MustCompile(`(?m)^127\.0\.0\.`)

// waitForNodes waits until `squall list` shows n nodes.
func waitForNodes(t *testing.T, bin, zk string, n int) {
	t.Helper()
	check.For(t, 20*time.Second, func() error {
		out, _ := squallCLI(t, bin, "list", "--zk", zk)
		if got := len(nodeRow.FindAllString(out, -1)); got < n {
			return fmt.Errorf("%d of %d nodes listed:\n%s", got, n, out)
		}
		return nil
	})
}

func squallCLI(t *testing.T, bin string, args ...string) (string, error) {
	t.Helper()
	out, err := exec.Command(bin, args...).CombinedOutput()
	return string(out), err
}

// TestNodeProcessesRunASubmittedTopologyAndSurviveKill9: three `squall node`
// processes on 127.0.0.1/2/3 run a submitted topology; after a kill -9 of
// one, the leader moves its tasks to the other two.
func TestNodeProcessesRunASubmittedTopologyAndSurviveKill9(t *testing.T) {
	z := testinfra.StartZooKeeper(t)
	bin := buildSquall(t)
	var nodes []*squallProcess
	for _, host := range []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"} {
		nodes = append(nodes, startNodeProcess(t, bin, z.Addr(), host+":0"))
	}
	list := func() string {
		out, err := squallCLI(t, bin, "list", "--zk", z.Addr())
		if err != nil {
			t.Fatalf("squall list: %v\n%s", err, out)
		}
		return out
	}
	waitForNodes(t, bin, z.Addr(), 3)

	if out, err := squallCLI(t, bin, "submit", "orders-count", "--zk", z.Addr(), "--set", "rate=2000"); err != nil {
		t.Fatalf("submit: %v\n%s", err, out)
	}
	if out, err := squallCLI(t, bin, "submit", "no-such-topology", "--zk", z.Addr()); err == nil || !strings.Contains(out, "not registered") {
		t.Fatalf("submitting an unknown topology: %v\n%s", err, out)
	}
	onAll := regexp.MustCompile(`orders-count\s+active\s+\d+\s+(\S+)`)
	nodesOf := func() []string {
		m := onAll.FindStringSubmatch(list())
		if m == nil {
			return nil
		}
		return strings.Split(m[1], ",")
	}
	check.For(t, 30*time.Second, func() error {
		if ns := nodesOf(); len(ns) != 3 {
			return fmt.Errorf("the topology on nodes %v, want three", ns)
		}
		return nil
	})

	victim := nodes[2]
	killed := time.Now()
	if err := victim.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	check.For(t, 30*time.Second, func() error {
		if ns := nodesOf(); len(ns) != 2 || strings.Contains(strings.Join(ns, ","), victim.addr) {
			return fmt.Errorf("the topology on nodes %v, want the two besides the killed %s", ns, victim.addr)
		}
		return nil
	})
	t.Logf("tasks re-assigned %v after kill -9 (session timeout 3s)", time.Since(killed).Round(100*time.Millisecond))

	// squall ui shows the topology with the metrics of the two live nodes.
	ui := startSquall(t, bin, uiServing, "ui", "--zk", z.Addr(), "--addr", "127.0.0.1:0", "--actions")
	uiTopology := func() (dashboard.TopologyView, error) {
		resp, err := http.Get("http://" + ui.addr + "/api/topologies")
		if err != nil {
			return dashboard.TopologyView{}, err
		}
		defer resp.Body.Close()
		var v dashboard.TopologiesView
		if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
			return dashboard.TopologyView{}, fmt.Errorf("squall ui's /api/topologies: %w", err)
		}
		if len(v.Topologies) != 1 || !v.Actions {
			return dashboard.TopologyView{}, fmt.Errorf("squall ui shows %d topologies, actions %t; want one, with actions", len(v.Topologies), v.Actions)
		}
		return v.Topologies[0], nil
	}
	check.For(t, 30*time.Second, func() error {
		top, err := uiTopology()
		if err != nil {
			return err
		}
		var acked int64
		for _, c := range top.Components {
			if c.Kind == "spout" {
				acked += c.Acked
			}
		}
		if top.Name != "orders-count" || top.Status != "active" || len(top.Unreachable) > 0 || acked == 0 || len(top.Edges) == 0 {
			return fmt.Errorf("squall ui shows %s %s, nodes %v unreachable, %d trees acked by its %d components, %d streams; want orders-count active, every node reached, acked trees and streams",
				top.Name, top.Status, top.Unreachable, acked, len(top.Components), len(top.Edges))
		}
		return nil
	})
	// With --actions, the page's buttons act on the cluster.
	for _, action := range []string{"deactivate", "activate"} {
		resp, err := http.Post("http://"+ui.addr+"/api/topologies/orders-count/"+action, "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s through squall ui: %s", action, resp.Status)
		}
		want := map[string]string{"deactivate": "inactive", "activate": "active"}[action]
		check.For(t, 10*time.Second, func() error {
			top, err := uiTopology()
			if err == nil && top.Status != want {
				err = fmt.Errorf("squall ui shows the topology %s, want %s", top.Status, want)
			}
			return err
		})
	}

	// The report bolt of the running topology prints totals on some node.
	check.For(t, 30*time.Second, func() error {
		for _, n := range nodes[:2] {
			if strings.Contains(n.output(), "GMV ¥") {
				return nil
			}
		}
		return errors.New("no order report (GMV ¥) printed by a live node")
	})
	if out, err := squallCLI(t, bin, "kill", "orders-count", "--zk", z.Addr(), "--wait", "1s"); err != nil {
		t.Fatalf("kill: %v\n%s", err, out)
	}
	check.For(t, 30*time.Second, func() error {
		if out := list(); strings.Contains(out, "orders-count") {
			return fmt.Errorf("the killed topology still listed:\n%s", out)
		}
		return nil
	})
}

func TestClusterCommandsRequireZooKeeper(t *testing.T) {
	for _, args := range [][]string{{"list"}, {"submit", "orders-count"}, {"kill", "x"}, {"node"}, {"ui"}} {
		_, err := runSquall(t, args...)
		if err == nil || !strings.Contains(err.Error(), "--zk is required") {
			t.Errorf("squall %v: %v", args, err)
		}
	}
	_, err := runSquall(t, "rebalance", "x", "--zk", "127.0.0.1:1", "--parallelism", "parse")
	if err == nil || !strings.Contains(err.Error(), "component=n") {
		t.Errorf("bad --parallelism: %v", err)
	}
	_, err = runSquall(t, "submit", "x", "--zk", "127.0.0.1:1", "--set", "novalue")
	if err == nil || !strings.Contains(err.Error(), "key=value") {
		t.Errorf("bad --set: %v", err)
	}
}

// A name that is not one is refused by name before ZooKeeper is asked
// (127.0.0.1:1 would be a connection error instead).
func TestClusterCommandsRefuseBadNames(t *testing.T) {
	zk := []string{"--zk", "127.0.0.1:1", "--zk-session-timeout", "100ms"}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"kill", "../nodes/x"}, `topology name "../nodes/x": bad name`},
		{[]string{"activate", "a/b"}, `topology name "a/b"`},
		{[]string{"deactivate", ".."}, `topology name ".."`},
		{[]string{"submit", "orders count"}, `topology name "orders count"`},
		{[]string{"rebalance", "../leader", "--parallelism", "parse=2"}, `topology name "../leader"`},
		{[]string{"rebalance", "orders", "--parallelism", "../x=2"}, `--parallelism "../x=2": component id "../x"`},
		{[]string{"offsets", "show", "--topology", "../nodes"}, `--topology: topology name "../nodes"`},
		{[]string{"offsets", "set", "--topology", "t", "--spout", "../../nodes", "--to", "earliest"}, `--spout: component id "../../nodes"`},
		{[]string{"node", "--id", "../nodes/x", "--listen", "127.0.0.1:0"}, `--id: node id "../nodes/x"`},
	} {
		_, err := runSquall(t, append(c.args, zk...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("squall %s: %v, want an error with %q", strings.Join(c.args, " "), err, c.want)
		}
	}
}

// A node must publish an address other nodes can reach.
func TestNodeRefusesAListenAddressWithoutAHost(t *testing.T) {
	for _, listen := range []string{":27600", "0.0.0.0:27600", "[::]:27600"} {
		_, err := runSquall(t, "node", "--zk", "127.0.0.1:1", "--listen", listen)
		if err == nil || !strings.Contains(err.Error(), "--listen") || !strings.Contains(err.Error(), strconv.Quote(listen)) ||
			!strings.Contains(err.Error(), "give the address other nodes reach this one at") {
			t.Errorf("squall node --listen %s: %v", listen, err)
		}
	}
}
