package nodetest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"log/slog"
	"math/big"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/squall-stream/squall/actors"
	"github.com/squall-stream/squall/cluster"
	"github.com/squall-stream/squall/internal/check"
	"github.com/squall-stream/squall/topology"
	"github.com/squall-stream/squall/topology/topologytest"
)

var idKey = topology.NewFields("id", "key")

// cityIDs is a ledger of n ids whose spouts emit (id, city).
func cityIDs(n int) *topologytest.Ledger {
	return topologytest.NewLedger(n, idKey, func(id int) topology.Values {
		return topology.Values{int64(id), "城市-" + string(rune('A'+id%7))}
	})
}

// passing makes bolts that count what they execute in seen and emit it on.
func passing(seen *atomic.Int64) func() topology.Bolt {
	return topologytest.BasicFunc(idKey, func(t *topology.Tuple, out topology.BasicOutputCollector) error {
		seen.Add(1)
		return out.Emit(t.Values())
	})
}

// TestTopologyAcrossTwoNodes runs spout → pass (shuffle) → sink (fields)
// with tasks split over two actor systems talking protoactor remote: every
// id is acked exactly once.
func TestTopologyAcrossTwoNodes(t *testing.T) {
	runAcrossTwoNodes(t, cluster.TransportOptions{Listen: "127.0.0.1:0"})
}

// TestTopologyAcrossTwoNodesOverTLS does the same with mutual TLS.
func TestTopologyAcrossTwoNodesOverTLS(t *testing.T) {
	runAcrossTwoNodes(t, cluster.TransportOptions{Listen: "127.0.0.1:0", TLS: testTLS(t)})
}

func runAcrossTwoNodes(t *testing.T, opts cluster.TransportOptions) {
	if testing.Short() {
		t.Skip("starts two remote transports")
	}
	a, b := startTransport(t, opts), startTransport(t, opts)
	if opts.TLS != nil {
		// The listener must speak TLS and accept our client certificate.
		conn, err := tls.Dial("tcp", a.Addr, opts.TLS)
		if err != nil {
			t.Fatalf("TLS handshake with the transport: %v", err)
		}
		conn.Close()
	}

	const n = 20000
	ids := cityIDs(n)
	var passed, sunk atomic.Int64
	declare := func(bl *topology.Builder) {
		bl.SetSpout("spout", ids.Spout, 1)
		bl.SetBolt("pass", passing(&passed), 2).ShuffleGrouping("spout")
		bl.SetBolt("sink", passing(&sunk), 2).FieldsGrouping("pass", "key")
	}
	// Tasks: pass 1-2, sink 3-4, spout 5. Node A: spout, pass 1, sink 3;
	// node B: pass 2, sink 4.
	tasks := map[int]string{1: a.Addr, 2: b.Addr, 3: a.Addr, 4: b.Addr, 5: a.Addr}
	conf := topology.Config{Name: "two-nodes", Logger: slog.New(slog.DiscardHandler)}
	runA, runB := runOnBoth(t, a, b, declare, tasks, conf)
	check.For(t, 60*time.Second, ids.AllAcked)
	ids.CheckExactlyOnce(t)
	if passed.Load() != n || sunk.Load() != n {
		t.Fatalf("pass executed %d, sink %d, want %d each", passed.Load(), sunk.Load(), n)
	}
	ma, _ := runA.Component("pass")
	mb, _ := runB.Component("pass")
	if ma.Executed == 0 || mb.Executed == 0 {
		t.Fatalf("pass tasks executed %d on A and %d on B: one node did no work", ma.Executed, mb.Executed)
	}
}

// testTLS makes a CA and a certificate for 127.0.0.1 signed by it, for
// mutual TLS between test nodes.
func testTLS(t *testing.T) *tls.Config {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "squall test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "squall node"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
		RootCAs:      pool, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12,
	}
}

func TestStartTransportReportsBadAddresses(t *testing.T) {
	for _, addr := range []string{"nonsense", "127.0.0.1:notaport"} {
		if _, err := cluster.StartTransport(cluster.TransportOptions{Listen: addr}); err == nil {
			t.Errorf("cluster.StartTransport(%q) succeeded", addr)
		}
	}
	a, err := cluster.StartTransport(cluster.TransportOptions{Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Stop()
	if _, err := cluster.StartTransport(cluster.TransportOptions{Listen: a.Addr}); !errors.Is(err, cluster.ErrListen) {
		t.Fatalf("second transport on %s: %v, want cluster.ErrListen", a.Addr, err)
	}
}

// TestFailuresAcrossTwoNodesReplay: a bolt on the other node fails some
// tuples the first time it sees them; the fails travel back to the spout's
// node, which replays them, until every id is acked exactly once.
func TestFailuresAcrossTwoNodesReplay(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two remote transports")
	}
	opts := cluster.TransportOptions{Listen: "127.0.0.1:0"}
	a, b := startTransport(t, opts), startTransport(t, opts)
	const n = 5000
	ids := cityIDs(n)
	var seen sync.Map // ids the flaky bolt has failed once
	declare := func(bl *topology.Builder) {
		bl.SetSpout("spout", ids.Spout, 1)
		// flaky fails every 50th id the first time it sees it.
		bl.SetBolt("flaky", topologytest.BasicFunc(nil, func(t *topology.Tuple, _ topology.BasicOutputCollector) error {
			id := t.Int64ByField("id")
			if _, again := seen.LoadOrStore(id, true); id%50 == 0 && !again {
				return errors.New("flaky")
			}
			return nil
		}), 1).ShuffleGrouping("spout")
	}
	// Tasks: flaky 1 on B, spout 2 on A.
	conf := topology.Config{Name: "replay", MessageTimeout: time.Minute, Logger: slog.New(slog.DiscardHandler)}
	runOnBoth(t, a, b, declare, map[int]string{1: b.Addr, 2: a.Addr}, conf)
	// The timeout is a minute: replays within this wait came from fails
	// that crossed the nodes, not from timeouts.
	check.For(t, 30*time.Second, ids.AllAcked)
	ids.CheckExactlyOnce(t)
	if got := ids.Failed(); got != n/50 {
		t.Fatalf("the spout saw %d fails, want %d", got, n/50)
	}
}

// startTransport starts a node's transport and stops it when the test ends,
// after what ran on it (cleanups run last first).
func startTransport(t *testing.T, opts cluster.TransportOptions) *cluster.Transport {
	t.Helper()
	tr, err := cluster.StartTransport(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tr.Stop)
	return tr
}

// runOnBoth builds, for each of nodes a and b, the topology declare
// declares, and runs it there with its tasks on the nodes tasks names (by
// address), B first so that A's spouts find B's tasks running, until the
// test ends.
func runOnBoth(t *testing.T, a, b *cluster.Transport, declare func(*topology.Builder), tasks map[int]string, conf topology.Config) (runA, runB *actors.LocalTopology) {
	t.Helper()
	run := func(node *cluster.Transport) *actors.LocalTopology {
		bl := topology.NewBuilder()
		declare(bl)
		topo, err := bl.Build()
		if err != nil {
			t.Fatal(err)
		}
		l, err := actors.RunOn(context.Background(), node.System, topo, conf, actors.Placement{Self: node.Addr, Tasks: tasks})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(l.Shutdown)
		return l
	}
	runB = run(b)
	return run(a), runB
}
