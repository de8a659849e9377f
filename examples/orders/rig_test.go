package orders

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/squall-stream/squall/actors"
	"github.com/squall-stream/squall/ingest"
	"github.com/squall-stream/squall/internal/check"
	"github.com/squall-stream/squall/internal/testinfra"
	"github.com/squall-stream/squall/spouts/kafka"
	"github.com/squall-stream/squall/topology"
	"github.com/squall-stream/squall/zkstore"
	"github.com/twmb/franz-go/pkg/kfake"
)

// pipelineRig is the real servers of a whole-pipeline test (Kafka with a
// 4-partition "orders" topic, ZooKeeper for the spout's offsets, Redis)
// and what starts the pipeline's parts on them.
type pipelineRig struct {
	t     *testing.T
	k     *testinfra.Kafka
	rc    *goredis.Client
	dir   string
	keys  Keys
	conf  AnalysisConfig
	quiet *slog.Logger
}

// newPipelineRig starts the servers; the analysis recomputes its window
// every windowEvery.
func newPipelineRig(t *testing.T, windowEvery time.Duration) *pipelineRig {
	k := testinfra.StartKafka(t, kfake.SeedTopics(4, "orders"))
	zk := testinfra.StartZooKeeper(t)
	r := testinfra.StartRedis(t)
	rc := goredis.NewClient(&goredis.Options{Addr: r.Addr()})
	t.Cleanup(func() { rc.Close() })
	quiet := slog.New(slog.DiscardHandler)
	return &pipelineRig{
		t: t, k: k, rc: rc, dir: t.TempDir(), keys: Keys{Prefix: DefaultPrefix}, quiet: quiet,
		conf: AnalysisConfig{
			Kafka: kafka.Config{
				Brokers: k.Brokers(), Topics: []string{"orders"}, Logger: quiet,
				Offsets: kafka.OffsetStorage{ZooKeeper: &zkstore.Options{Servers: []string{zk.Addr()}, Logger: quiet}},
			},
			Redis: rc, Logger: quiet, WindowEvery: windowEvery,
		},
	}
}

// startAgent runs a tail agent, until ctx ends, on the files of the rig's
// directory that glob matches, keyed by order id.
func (r *pipelineRig) startAgent(ctx context.Context, glob string) *ingest.Agent {
	r.t.Helper()
	a, err := ingest.Start(ctx, ingest.Config{
		Brokers: r.k.Brokers(), Positions: filepath.Join(r.dir, "positions.json"), Logger: r.quiet,
		Groups: []ingest.FileGroup{{Topic: "orders", Globs: []string{filepath.Join(r.dir, glob)}, KeyField: "orderId"}},
	})
	if err != nil {
		r.t.Fatal(err)
	}
	return a
}

// runAnalysis runs the order analysis until ctx ends.
func (r *pipelineRig) runAnalysis(ctx context.Context) *actors.LocalTopology {
	r.t.Helper()
	topo, err := AnalysisTopology(r.conf)
	if err != nil {
		r.t.Fatal(err)
	}
	lt, err := actors.RunLocal(ctx, topo, topology.Config{Name: "orders", Logger: r.quiet})
	if err != nil {
		r.t.Fatal(err)
	}
	return lt
}

// waitForTruth waits up to d for every figure in Redis to equal truth's.
func (r *pipelineRig) waitForTruth(truth *Truth, d time.Duration) {
	r.t.Helper()
	check.For(r.t, d, func() error {
		diffs, err := truth.Diff(context.Background(), r.rc, r.keys)
		if err != nil {
			r.t.Fatal(err)
		}
		if len(diffs) > 0 {
			return fmt.Errorf("%d figures in Redis differ from the truth, as %s", len(diffs), strings.Join(diffs[:min(3, len(diffs))], "; "))
		}
		return nil
	})
}
