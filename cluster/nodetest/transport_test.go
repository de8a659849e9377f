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
	"github.com/squall-stream/squall/topology"
)

func wait(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// countSpout emits ids 0..n-1 with the id as message id and records acks.
type countSpout struct {
	n, next int64
	acked   *sync.Map
	out     topology.SpoutOutputCollector
}

func (s *countSpout) DeclareOutputFields(d *topology.OutputDeclarer) {
	d.Declare(topology.NewFields("id", "key"))
}
func (s *countSpout) Open(_ *topology.TopologyContext, out topology.SpoutOutputCollector) error {
	s.out = out
	return nil
}
func (s *countSpout) NextTuple() {
	if s.next >= s.n {
		return
	}
	id := s.next
	s.next++
	_ = s.out.Emit(topology.Values{id, "城市-" + string(rune('A'+id%7))}, id)
}
func (s *countSpout) Ack(id any) {
	if _, dup := s.acked.LoadOrStore(id, true); dup {
		panic("acked twice")
	}
}
func (s *countSpout) Fail(any)     {}
func (s *countSpout) Close() error { return nil }

type passBolt struct{ seen *atomic.Int64 }

func (b passBolt) DeclareOutputFields(d *topology.OutputDeclarer) {
	d.Declare(topology.NewFields("id", "key"))
}
func (b passBolt) Prepare(*topology.TopologyContext) error { return nil }
func (b passBolt) Execute(t *topology.Tuple, out topology.BasicOutputCollector) error {
	b.seen.Add(1)
	return out.Emit(t.Values())
}
func (b passBolt) Cleanup() error { return nil }

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
	a, err := cluster.StartTransport(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Stop()
	b, err := cluster.StartTransport(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Stop()
	if opts.TLS != nil {
		// The listener must speak TLS and accept our client certificate.
		conn, err := tls.Dial("tcp", a.Addr, opts.TLS)
		if err != nil {
			t.Fatalf("TLS handshake with the transport: %v", err)
		}
		conn.Close()
	}

	const n = 20000
	var acked sync.Map
	var passed, sunk atomic.Int64
	build := func() *topology.Topology {
		bl := topology.NewBuilder()
		bl.SetSpout("spout", func() topology.Spout { return &countSpout{n: n, acked: &acked} }, 1)
		bl.SetBolt("pass", topology.Basic(func() topology.BasicBolt { return passBolt{seen: &passed} }), 2).ShuffleGrouping("spout")
		bl.SetBolt("sink", topology.Basic(func() topology.BasicBolt { return passBolt{seen: &sunk} }), 2).FieldsGrouping("pass", "key")
		topo, err := bl.Build()
		if err != nil {
			t.Fatal(err)
		}
		return topo
	}
	topoA, topoB := build(), build()
	// Tasks: pass 1-2, sink 3-4, spout 5. Node A: spout, pass 1, sink 3;
	// node B: pass 2, sink 4.
	placement := func(self string) actors.Placement {
		return actors.Placement{
			Self:  self,
			Tasks: map[int]string{1: a.Addr, 2: b.Addr, 3: a.Addr, 4: b.Addr, 5: a.Addr},
		}
	}
	conf := topology.Config{Name: "two-nodes", Logger: slog.New(slog.DiscardHandler)}
	// B first, so A's spout finds B's tasks running.
	runB, err := actors.RunOn(context.Background(), b.System, topoB, conf, placement(b.Addr))
	if err != nil {
		t.Fatal(err)
	}
	defer runB.Shutdown()
	runA, err := actors.RunOn(context.Background(), a.System, topoA, conf, placement(a.Addr))
	if err != nil {
		t.Fatal(err)
	}
	defer runA.Shutdown()

	count := func() int {
		c := 0
		acked.Range(func(any, any) bool { c++; return true })
		return c
	}
	wait(t, 60*time.Second, "every id acked across the two nodes", func() bool { return count() == n })
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
