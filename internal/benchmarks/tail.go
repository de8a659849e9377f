package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/squall-stream/squall/ingest"
	"github.com/squall-stream/squall/internal/testinfra"
	"github.com/twmb/franz-go/pkg/kfake"
)

// tailLines and tailLineLen make the generated log: about 200 MB.
const (
	tailLines   = 2_000_000
	tailLineLen = 100
)

// tailSuite measures the tail agent shipping a generated log of about
// 200 MB to a kfake broker, from its start until Kafka acknowledged the last
// line, against kcat shipping the same file (one line a record) to the same
// broker. A plain loop feeding the same lines to a sarama AsyncProducer
// with the agent's batching settings shows what the agent would manage on
// sarama's AsyncProducer, which it no longer uses (it batches itself on
// sarama's protocol layer). The workload is fixed, so the duration flag
// does not apply.
func tailSuite(time.Duration) ([]result, error) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		return nil, fmt.Errorf("tail benchmark: kcat: %w (run make deps)", err)
	}
	var rows []result
	testing.Benchmark(func(b *testing.B) {
		k := testinfra.StartKafka(b, kfake.SeedTopics(3, "tail-kcat", "tail-agent", "tail-sarama"))
		dir := b.TempDir()
		log := filepath.Join(dir, "orders.log")
		if err = writeTailLog(log); err != nil {
			return
		}
		start := time.Now()
		out, kerr := exec.Command(kcat, "-P", "-l", "-b", k.Brokers()[0], "-t", "tail-kcat", log).CombinedOutput()
		if kerr != nil {
			err = fmt.Errorf("kcat: %w: %s", kerr, out)
			return
		}
		base := tailLines / time.Since(start).Seconds()
		var agent, loop float64
		if agent, err = agentRate(k.Brokers(), dir); err != nil {
			return
		}
		if loop, err = tailSaramaRate(k.Brokers(), log); err != nil {
			return
		}
		rows = []result{
			{name: "tail-kcat-baseline", value: base, unit: "lines/s"},
			{name: "tail-agent", value: agent, unit: "lines/s", baseline: "tail-kcat-baseline"},
			{name: "tail-sarama-loop", value: loop, unit: "lines/s", baseline: "tail-kcat-baseline"},
		}
	})
	if err == nil && rows == nil {
		err = errors.New("tail benchmark did not run")
	}
	return rows, err
}

// writeTailLog writes tailLines JSON lines of tailLineLen bytes.
func writeTailLog(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("generate %s: %w", path, err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for i := range tailLines {
		s := fmt.Sprintf(`{"orderId":"o-%09d","amount":%d,"pad":"`, i, i%997)
		fmt.Fprintf(w, "%s%0*d\"}\n", s, tailLineLen-len(s)-3, 0)
	}
	err = w.Flush()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("generate %s: %w", path, err)
	}
	return nil
}

// agentRate runs an agent on dir/*.log, keying records by the lines'
// orderId, until Kafka acknowledged every line.
func agentRate(brokers []string, dir string) (float64, error) {
	start := time.Now()
	a, err := ingest.Start(context.Background(), ingest.Config{
		Brokers:   brokers,
		Groups:    []ingest.FileGroup{{Topic: "tail-agent", Globs: []string{filepath.Join(dir, "*.log")}, KeyField: "orderId"}},
		Positions: filepath.Join(dir, "positions.json"),
		Logger:    slog.New(slog.DiscardHandler),
	})
	if err != nil {
		return 0, err
	}
	deadline := time.Now().Add(5 * time.Minute)
	for a.Metrics().LinesAcked < tailLines {
		if time.Now().After(deadline) {
			a.Stop()
			return 0, fmt.Errorf("tail agent: %d of %d lines acknowledged after 5 minutes", a.Metrics().LinesAcked, tailLines)
		}
		time.Sleep(5 * time.Millisecond)
	}
	rate := tailLines / time.Since(start).Seconds()
	return rate, a.Stop()
}

// saramaRate reads the log's lines into an idempotent sarama AsyncProducer
// with the agent's batching, as fast as one goroutine can, until every line
// is acknowledged.
func tailSaramaRate(brokers []string, log string) (float64, error) {
	f, err := os.Open(log)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	start := time.Now()
	sc := sarama.NewConfig()
	sc.Producer.Return.Successes = true
	sc.Producer.RequiredAcks = sarama.WaitForAll
	sc.Producer.Idempotent = true
	sc.Net.MaxOpenRequests = 1
	sc.Producer.Flush.Bytes = ingest.DefaultBatchBytes
	sc.Producer.Flush.Messages = ingest.DefaultBatchLines
	sc.Producer.Flush.Frequency = ingest.DefaultLinger
	p, err := sarama.NewAsyncProducer(brokers, sc)
	if err != nil {
		return 0, fmt.Errorf("sarama loop: %w", err)
	}
	answered := make(chan error, 1)
	go func() {
		var first error
		for range tailLines {
			select {
			case <-p.Successes():
			case pe := <-p.Errors():
				first = cmp.Or(first, error(pe))
			}
		}
		answered <- first
	}()
	lines := bufio.NewScanner(f)
	for lines.Scan() {
		p.Input() <- &sarama.ProducerMessage{Topic: "tail-sarama", Value: sarama.ByteEncoder(bytes.Clone(lines.Bytes()))}
	}
	if err := cmp.Or(lines.Err(), <-answered); err != nil {
		p.Close()
		return 0, fmt.Errorf("sarama loop: %w", err)
	}
	rate := tailLines / time.Since(start).Seconds()
	return rate, p.Close()
}
