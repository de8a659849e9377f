package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/spf13/cobra"
	"github.com/squall-stream/squall/internal/testinfra"
	"github.com/squall-stream/squall/zkstore"
)

// writeAuthFile writes ZooKeeper credentials the way an operator would, with
// a trailing newline.
func writeAuthFile(t *testing.T, auth string, mode os.FileMode) string {
	t.Helper()
	name := filepath.Join(t.TempDir(), "zk-auth")
	if err := os.WriteFile(name, []byte(auth+"\n"), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(name, mode); err != nil { // past the umask
		t.Fatal(err)
	}
	return name
}

// The credentials come from --zk-auth, --zk-auth-file or $SQUALL_ZK_AUTH,
// one of them only.
func TestZKCredentialsComeFromOnePlace(t *testing.T) {
	file := writeAuthFile(t, "ops:s3cret", 0o600)
	parse := func(env string, args ...string) (zkstore.Options, error) {
		t.Helper()
		t.Setenv(zkAuthEnv, env)
		var zkf zkFlags
		cmd := &cobra.Command{}
		zkf.add(cmd)
		if err := cmd.ParseFlags(append([]string{"--zk", "127.0.0.1:2181"}, args...)); err != nil {
			t.Fatal(err)
		}
		return zkf.options()
	}
	for _, c := range []struct {
		env  string
		args []string
		want string
	}{
		{"", nil, ""},
		{"", []string{"--zk-auth-file", file}, "ops:s3cret"},
		{"ops:from-env", nil, "ops:from-env"},
		{"", []string{"--zk-auth", "ops:on-the-command-line"}, "ops:on-the-command-line"},
	} {
		if opts, err := parse(c.env, c.args...); err != nil || opts.Auth != c.want {
			t.Errorf("env %q, flags %v: auth %q, %v; want %q", c.env, c.args, opts.Auth, err, c.want)
		}
	}
	for _, c := range []struct {
		env  string
		args []string
		want string
	}{
		{"ops:from-env", []string{"--zk-auth-file", file}, "--zk-auth-file and $SQUALL_ZK_AUTH"},
		{"", []string{"--zk-auth", "a:b", "--zk-auth-file", file}, "--zk-auth and --zk-auth-file"},
		{"ops:from-env", []string{"--zk-auth", "a:b"}, "--zk-auth and $SQUALL_ZK_AUTH"},
		{"", []string{"--zk-auth-file", writeAuthFile(t, "ops:s3cret", 0o640)}, "chmod 600"},
		{"", []string{"--zk-auth-file", writeAuthFile(t, "", 0o600)}, "is empty"},
		{"", []string{"--zk-auth-file", filepath.Join(t.TempDir(), "missing")}, "no such file"},
	} {
		if opts, err := parse(c.env, c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("env %q, flags %v: auth %q, %v; want an error naming %q", c.env, c.args, opts.Auth, err, c.want)
		}
	}
}

// squall with credentials refuses a root a cluster without them made, until
// squall zk-secure gives it to their user; then that user's commands work,
// and nobody else's.
func TestZKSecureMigratesAnOpenRoot(t *testing.T) {
	z := testinfra.StartZooKeeper(t)
	file := writeAuthFile(t, "ops:s3cret", 0o600)
	if out, err := runSquall(t, "list", "--zk", z.Addr()); err != nil {
		t.Fatalf("list without auth: %v\n%s", err, out)
	}
	_, err := runSquall(t, "list", "--zk", z.Addr(), "--zk-auth-file", file)
	if !errors.Is(err, zkstore.ErrOpenACL) || !strings.Contains(err.Error(), zkstore.DefaultRoot+" (world:anyone cdrwa)") {
		t.Fatalf("list with auth under an open root: %v, want ErrOpenACL naming %s", err, zkstore.DefaultRoot)
	}

	t.Setenv(zkAuthEnv, "ops:s3cret")
	out, err := runSquall(t, "zk-secure", "--zk", z.Addr())
	if err != nil || !strings.Contains(out, "secured "+zkstore.DefaultRoot) || strings.Contains(out, " 0 znodes changed") {
		t.Fatalf("zk-secure: %v\n%s", err, out)
	}
	if out, err := runSquall(t, "zk-secure", "--zk", z.Addr()); err != nil || !strings.Contains(out, " 0 znodes changed") {
		t.Fatalf("zk-secure again: %v\n%s", err, out)
	}
	t.Setenv(zkAuthEnv, "")

	if out, err := runSquall(t, "list", "--zk", z.Addr(), "--zk-auth-file", file); err != nil || !strings.Contains(out, "TOPOLOGY") {
		t.Fatalf("list with auth after zk-secure: %v\n%s", err, out)
	}
	if _, err := runSquall(t, "list", "--zk", z.Addr()); !errors.Is(err, zk.ErrNoAuth) {
		t.Fatalf("list without auth after zk-secure: %v, want ErrNoAuth", err)
	}
	anon, _, err := zk.Connect([]string{z.Addr()}, 5*time.Second, zk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	defer anon.Close()
	if _, err := anon.Create(zkstore.DefaultRoot+"/topologies/x", nil, 0, zk.WorldACL(zk.PermAll)); !errors.Is(err, zk.ErrNoAuth) {
		t.Fatalf("unauthenticated create of a topology after zk-secure: %v, want ErrNoAuth", err)
	}
	if _, err := runSquall(t, "zk-secure", "--zk", z.Addr()); err == nil || !strings.Contains(err.Error(), "--zk-auth-file") {
		t.Fatalf("zk-secure without credentials: %v", err)
	}
}
