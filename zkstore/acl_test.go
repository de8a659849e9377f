package zkstore

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/squall-stream/squall/internal/testinfra"
	"github.com/squall-stream/squall/topology"
)

// zkConn is a plain ZooKeeper client with the digest credentials given:
// without any, the attacker.
func zkConn(t *testing.T, addr string, auth ...string) *zk.Conn {
	t.Helper()
	conn, _, err := zk.Connect([]string{addr}, 5*time.Second, zk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	for _, a := range auth {
		if err := conn.AddAuth("digest", []byte(a)); err != nil {
			t.Fatal(err)
		}
	}
	return conn
}

// makeRoot lays out a root as squall does with opts, with a stored offset
// of topology t.
func makeRoot(t *testing.T, opts Options, so SpoutOffset) {
	t.Helper()
	s, err := OpenRoot(opts)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	o, err := OpenOffsets(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if err := o.Put("t", []SpoutOffset{so}); err != nil {
		t.Fatal(err)
	}
}

// A root created before auth was turned on is refused until SecureRoot
// gives it, and everything under it, to the user; then others cannot add a
// topology, nor change or read what was there.
func TestOpenRootIsRefusedUntilSecured(t *testing.T) {
	z := testinfra.StartZooKeeper(t)
	open := Options{Servers: []string{z.Addr()}, Root: "/open"}
	makeRoot(t, open, SpoutOffset{Spout: "s", Topic: "orders", Partition: 0, Offset: 7}) // as squall without auth leaves it
	anon := zkConn(t, z.Addr())
	if _, err := anon.Create("/open/topologies/planted", []byte(`{"name":"planted"}`), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}

	secured := open
	secured.Auth = "ops:s3cret"
	_, err := OpenRoot(secured)
	if !errors.Is(err, ErrOpenACL) || !strings.Contains(err.Error(), "/open (world:anyone cdrwa)") {
		t.Fatalf("root under an open root: %v, want ErrOpenACL naming /open and world:anyone", err)
	}
	if _, err := OpenOffsets(secured); !errors.Is(err, ErrOpenACL) {
		t.Fatalf("offsets under an open root: %v, want ErrOpenACL", err)
	}

	changed, err := SecureRoot(secured)
	if err != nil {
		t.Fatal(err)
	}
	if changed < 7 { // the root, its four folders, the planted record, the offsets
		t.Fatalf("secured %d znodes, want every one under /open", changed)
	}
	if again, err := SecureRoot(secured); err != nil || again != 0 {
		t.Fatalf("securing again changed %d znodes (%v), want none", again, err)
	}
	mine := zk.DigestACL(zk.PermAll, "ops", "s3cret")
	for _, p := range []string{"/open/topologies/planted", "/open/offsets/t/s/orders/0"} {
		if acl, _, err := anon.GetACL(p); !errors.Is(err, zk.ErrNoAuth) {
			t.Fatalf("anonymous read of the ACL of %s: %v %v, want ErrNoAuth", p, acl, err)
		}
		if acl, _, err := zkConn(t, z.Addr(), secured.Auth).GetACL(p); err != nil || !slices.Equal(acl, mine) {
			t.Fatalf("ACL of %s: %v %v, want %v", p, acl, err, mine)
		}
	}

	s, err := OpenRoot(secured)
	if err != nil {
		t.Fatalf("root after SecureRoot: %v", err)
	}
	s.Close()
	o, err := OpenOffsets(secured)
	if err != nil {
		t.Fatalf("offsets after SecureRoot: %v", err)
	}
	defer o.Close()
	if so, ok, err := o.Get("t", "s", "orders", 0); err != nil || !ok || so.Offset != 7 {
		t.Fatalf("offset kept through SecureRoot: %+v %v %v", so, ok, err)
	}
	if _, err := anon.Create("/open/topologies/x", []byte(`{"name":"x"}`), 0, zk.WorldACL(zk.PermAll)); !errors.Is(err, zk.ErrNoAuth) {
		t.Fatalf("anonymous create of a topology after SecureRoot: %v, want ErrNoAuth", err)
	}
	if _, err := anon.Set("/open/topologies/planted", []byte(`{}`), -1); !errors.Is(err, zk.ErrNoAuth) {
		t.Fatalf("anonymous write of a record after SecureRoot: %v, want ErrNoAuth", err)
	}
	if _, _, err := anon.Get("/open/topologies/planted"); !errors.Is(err, zk.ErrNoAuth) {
		t.Fatalf("anonymous read of a record after SecureRoot: %v, want ErrNoAuth", err)
	}
}

// A root made with auth from the start passes; a znode under it that the
// user opened to others later is found however deep it is, and one another
// user holds cannot be secured but is named.
func TestSecuredRootPassesAndOpenZnodesUnderItAreFound(t *testing.T) {
	z := testinfra.StartZooKeeper(t)
	opts := Options{Servers: []string{z.Addr()}, Root: "/secure", Auth: "ops:s3cret"}
	makeRoot(t, opts, SpoutOffset{Spout: "s", Topic: "orders", Partition: 3, Offset: 1})
	ops := zkConn(t, z.Addr(), opts.Auth)
	// squall before the check gave its znodes to the "auth" scheme, which
	// ZooKeeper stores as the same digest.
	if _, err := ops.Create("/secure/topologies/earlier", nil, 0, zk.AuthACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	s, err := OpenRoot(opts)
	if err != nil {
		t.Fatalf("root secured from the start: %v", err)
	}
	s.Close()
	task := &topology.TopologyContext{Resources: ClusterOptions.Lend(topology.Resources{}, opts)}
	lent, _ := ClusterOptions.From(task)
	o, err := OpenOffsets(lent)
	if err != nil {
		t.Fatalf("offsets as a node's tasks open them: %v", err)
	}
	if so, ok, err := o.Get("t", "s", "orders", 3); err != nil || !ok || so.Offset != 1 {
		t.Fatalf("offset read with the options lent to tasks: %+v %v %v", so, ok, err)
	}
	o.Close()

	if _, err := ops.SetACL("/secure/offsets/t/s/orders/3", append(zk.DigestACL(zk.PermAll, "ops", "s3cret"), zk.WorldACL(zk.PermWrite)...), -1); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenRoot(opts); !errors.Is(err, ErrOpenACL) || !strings.Contains(err.Error(), "/secure/offsets/t/s/orders/3 (world:anyone w)") {
		t.Fatalf("root with a writable offset deep under the root: %v", err)
	}
	if changed, err := SecureRoot(opts); err != nil || changed != 1 {
		t.Fatalf("SecureRoot: changed %d, %v; want the one offset", changed, err)
	}

	if _, err := ops.Create("/secure/assignments/theirs", nil, 0, append(zk.DigestACL(zk.PermAll, "ops", "s3cret"), zk.WorldACL(zk.PermCreate)...)); err != nil {
		t.Fatal(err)
	}
	mallory := zkConn(t, z.Addr(), "mallory:x")
	if _, err := mallory.Create("/secure/assignments/theirs/deeper", nil, 0, zk.DigestACL(zk.PermAll, "mallory", "x")); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenRoot(opts); !errors.Is(err, ErrOpenACL) || !strings.Contains(err.Error(), "/secure/assignments/theirs (world:anyone c)") {
		t.Fatalf("root with an open assignment: %v", err)
	}
	if _, err := SecureRoot(opts); !errors.Is(err, zk.ErrNoAuth) || !strings.Contains(err.Error(), "/secure/assignments/theirs/deeper") {
		t.Fatalf("SecureRoot over another user's znode: %v, want ErrNoAuth naming it", err)
	}
	if _, err := OpenRoot(opts); !errors.Is(err, ErrOpenACL) || !strings.Contains(err.Error(), "/secure/assignments/theirs/deeper (someone else's") {
		t.Fatalf("root with another user's znode under the root: %v", err)
	}
	if _, err := SecureRoot(Options{Servers: opts.Servers, Root: opts.Root}); err == nil {
		t.Fatal("SecureRoot without credentials did something")
	}
}
