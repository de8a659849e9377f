package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/squall-stream/squall/internal/check"
	"github.com/squall-stream/squall/internal/testinfra"
	"github.com/twmb/franz-go/pkg/kfake"
)

// startTail runs `squall tail` with its output in a file, and kills it by
// PID at the end of the test if it still runs. The channel is closed once
// it has exited.
func startTail(t *testing.T, bin, logPath string, args ...string) (*exec.Cmd, <-chan struct{}) {
	t.Helper()
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(bin, append([]string{"tail"}, args...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() {
		select {
		case <-done:
		default:
			_ = cmd.Process.Kill()
			<-done
		}
	})
	return cmd, done
}

// TestTailProcessSurvivesKill9: `squall tail` is killed with SIGKILL while
// a log is written; restarted on the same position file, it ships every
// line.
func TestTailProcessSurvivesKill9(t *testing.T) {
	k := testinfra.StartKafka(t, kfake.SeedTopics(1, "orders"))
	bin := buildSquall(t)
	dir := t.TempDir()
	logPath := filepath.Join(dir, "tail.out")
	args := []string{"--brokers", k.Brokers()[0], "--topic", "orders", "--files", filepath.Join(dir, "*.log"),
		"--positions", filepath.Join(dir, "state", "positions.json"), "--poll-interval", "20ms", "--position-interval", "50ms", "--stats-every", "500ms"}

	const n = 20_000
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		f, err := os.Create(filepath.Join(dir, "orders.log"))
		if err != nil {
			t.Error(err)
			return
		}
		defer f.Close()
		w := bufio.NewWriter(f)
		for i := range n {
			fmt.Fprintf(w, "order %06d\n", i)
			if i%200 == 199 {
				if err := w.Flush(); err != nil {
					t.Error(err)
					return
				}
				time.Sleep(20 * time.Millisecond) // pace the writer so the kill lands while it writes
			}
		}
		if err := w.Flush(); err != nil {
			t.Error(err)
		}
	}()

	c, err := sarama.NewConsumer(k.Brokers(), sarama.NewConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	pc, err := c.ConsumePartition("orders", 0, sarama.OffsetOldest)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.AsyncClose()
	var mu sync.Mutex
	seen := map[string]int{}
	go func() {
		for m := range pc.Messages() {
			mu.Lock()
			seen[string(m.Value)]++
			mu.Unlock()
		}
	}()
	distinct := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(seen)
	}

	first, _ := startTail(t, bin, logPath, args...)
	check.For(t, 20*time.Second, func() error {
		if got := distinct(); got <= 3000 {
			return fmt.Errorf("%d lines shipped, want more than 3000 before the kill", got)
		}
		return nil
	})
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killedAt := distinct()

	second, exited := startTail(t, bin, logPath, args...)
	wg.Wait()
	check.For(t, 30*time.Second, func() error {
		if got := distinct(); got != n {
			return fmt.Errorf("%d of %d lines shipped after the restart", got, n)
		}
		return nil
	})
	if err := second.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(15 * time.Second):
		t.Fatal("squall tail did not exit on SIGTERM")
	}
	out, _ := os.ReadFile(logPath)
	if !second.ProcessState.Success() || !strings.Contains(string(out), "squall tail: read ") {
		t.Fatalf("squall tail exited with %v; output:\n%s", second.ProcessState, out)
	}
	mu.Lock()
	defer mu.Unlock()
	dups := 0
	for i := range n {
		v := fmt.Sprintf("order %06d", i)
		if seen[v] == 0 {
			t.Fatalf("%q missing", v)
		}
		dups += seen[v] - 1
	}
	t.Logf("kill -9 after %d lines shipped; after the restart all %d lines, %d duplicates", killedAt, n, dups)
}
