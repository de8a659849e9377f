package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/alicebob/miniredis/v2"
	goredis "github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kfake"
)

// embeddedKafka starts the in-process broker (franz-go's kfake, the real
// Kafka protocol) on a free port of 127.0.0.1 with the topics created.
func embeddedKafka(partitions int32, topics ...string) (*kfake.Cluster, []string, error) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.ListenFn(func(network, _ string) (net.Listener, error) {
		return net.Listen(network, "127.0.0.1:0")
	}), kfake.SeedTopics(partitions, topics...))
	if err != nil {
		return nil, nil, fmt.Errorf("in-process Kafka: %w", err)
	}
	return c, c.ListenAddrs(), nil
}

// localRedis is the demo's Redis when no --redis is given: a redis-server
// child process if one is installed, else an in-process miniredis.
type localRedis struct {
	addr string
	kind string
	cmd  *exec.Cmd
	done chan struct{}
	mini *miniredis.Miniredis
}

func startLocalRedis(dir string) (*localRedis, error) {
	path, err := exec.LookPath("redis-server")
	if err != nil {
		m, err := miniredis.Run()
		if err != nil {
			return nil, fmt.Errorf("in-process Redis: %w", err)
		}
		return &localRedis{addr: m.Addr(), kind: "in-process miniredis (redis-server is not installed)", mini: m}, nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("find a port for redis-server: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	logf, err := os.Create(filepath.Join(dir, "redis.log"))
	if err != nil {
		return nil, fmt.Errorf("redis-server log: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(path, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir)
	cmd.Stdout, cmd.Stderr = logf, logf
	// The demo's child dies with it, even on kill -9.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start redis-server: %w", err)
	}
	r := &localRedis{addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), kind: "redis-server (pid " + strconv.Itoa(cmd.Process.Pid) + ")", cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(r.done)
	}()
	rc := goredis.NewClient(&goredis.Options{Addr: r.addr})
	defer rc.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := rc.Ping(ctx).Err()
		cancel()
		if err == nil {
			return r, nil
		}
		select {
		case <-r.done:
			return nil, fmt.Errorf("redis-server exited at start; see %s", filepath.Join(dir, "redis.log"))
		default:
		}
		if time.Now().After(deadline) {
			r.stop()
			return nil, errors.Join(fmt.Errorf("redis-server on %s did not answer within 10s", r.addr), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop ends what startLocalRedis started, by its PID.
func (r *localRedis) stop() {
	if r.mini != nil {
		r.mini.Close()
		return
	}
	select {
	case <-r.done:
	default:
		_ = r.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-r.done:
		case <-time.After(5 * time.Second):
			_ = r.cmd.Process.Kill()
			<-r.done
		}
	}
}
