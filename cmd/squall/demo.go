package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"
	"github.com/squall-stream/squall/actors"
	"github.com/squall-stream/squall/actors/promexport"
	"github.com/squall-stream/squall/dashboard"
	"github.com/squall-stream/squall/examples/orders"
	"github.com/squall-stream/squall/examples/orders/ordersui"
	"github.com/squall-stream/squall/ingest"
	"github.com/squall-stream/squall/spouts/kafka"
	"github.com/squall-stream/squall/topology"
	"github.com/squall-stream/squall/zkstore"
)

// demoTopic is the topic the demo's order lines go through.
const demoTopic = "orders"

type demoOptions struct {
	rate      int
	malformed float64
	every     time.Duration
	duration  time.Duration
	addr      string
	dir       string
	brokers   string
	redis     string
	zk        string
	verbose   bool
}

func newDemoCommand() *cobra.Command {
	var o demoOptions
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole order pipeline in this process, with the dashboard",
		Long: `Runs the reference pipeline on embedded defaults: an order server writing
an order log (--rate lines/s), the tail agent shipping it to Kafka, the order
analysis topology (Kafka spout, parse, idempotent Redis writers), and the
dashboard on --addr.

Kafka is in-process (franz-go's kfake) unless --brokers is given; Redis is a
redis-server child process if one is installed, else in-process
(miniredis), unless --redis is given; offsets go to a file in --dir unless
--zk is given. A status line is printed every --every. Ctrl-C stops it all
cleanly.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case o.rate < 1:
				return fmt.Errorf("--rate must be at least 1, got %d", o.rate)
			case o.every <= 0:
				return fmt.Errorf("--every must be positive, got %v", o.every)
			case o.malformed < 0 || o.malformed > 1:
				return fmt.Errorf("--malformed must be a fraction from 0 to 1, got %v", o.malformed)
			}
			ctx := cmd.Context()
			if o.duration > 0 {
				var cancel func()
				ctx, cancel = context.WithTimeout(ctx, o.duration)
				defer cancel()
			}
			return runDemo(ctx, o, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.rate, "rate", 2000, "order lines written per second")
	f.Float64Var(&o.malformed, "malformed", 0.001, "fraction of garbage lines in the order log")
	f.DurationVar(&o.every, "every", 2*time.Second, "how often the status line is printed")
	f.DurationVar(&o.duration, "duration", 0, "stop after this long (0: run until Ctrl-C)")
	f.StringVar(&o.addr, "addr", "127.0.0.1:8080", "where the dashboard listens")
	f.StringVar(&o.dir, "dir", "", "where the order log, tail positions and offsets go (default: a temporary directory, removed at exit)")
	f.StringVar(&o.brokers, "brokers", "", "use these Kafka brokers (host:port,...) instead of the in-process one; the orders topic must exist")
	f.StringVar(&o.redis, "redis", "", "use this Redis (host:port) instead of a local one")
	f.StringVar(&o.zk, "zk", "", "keep the spout's offsets in this ZooKeeper (host:port,...) instead of a file")
	f.BoolVar(&o.verbose, "verbose", false, "log the components' info messages too")
	return cmd
}

// runDemo starts the parts in pipeline order and stops them in reverse.
func runDemo(ctx context.Context, o demoOptions, out io.Writer) (err error) {
	level := slog.LevelWarn
	if o.verbose {
		level = slog.LevelInfo
	}
	logger := commandLogger(os.Stderr, level)
	dir := o.dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "squall-demo-"); err != nil {
			return fmt.Errorf("demo directory: %w", err)
		}
		defer os.RemoveAll(dir)
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("--dir: %w", err)
	}

	brokers := splitList(o.brokers)
	if len(brokers) == 0 {
		k, addrs, err := embeddedKafka(4, demoTopic)
		if err != nil {
			return err
		}
		defer k.Close()
		brokers = addrs
		fmt.Fprintf(out, "kafka: in-process broker on %s, topic %q\n", addrs[0], demoTopic)
	}
	redisAddr := o.redis
	if redisAddr == "" {
		r, err := startLocalRedis(dir)
		if err != nil {
			return err
		}
		defer r.stop()
		redisAddr = r.addr
		fmt.Fprintf(out, "redis: %s on %s\n", r.kind, r.addr)
	}
	rc := goredis.NewClient(&goredis.Options{Addr: redisAddr})
	defer rc.Close()
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	err = rc.Ping(pingCtx).Err()
	cancel()
	if err != nil {
		return fmt.Errorf("redis at %s: %w", redisAddr, err)
	}
	offsets := kafka.OffsetStorage{File: filepath.Join(dir, "offsets.json")}
	if servers := splitList(o.zk); len(servers) > 0 {
		offsets = kafka.OffsetStorage{ZooKeeper: &zkstore.Options{Servers: servers, Logger: logger}}
	}

	topo, err := orders.AnalysisTopology(orders.AnalysisConfig{
		Kafka: kafka.Config{Brokers: brokers, Topics: []string{demoTopic}, Offsets: offsets, Logger: logger},
		Redis: rc, Logger: logger,
	})
	if err != nil {
		return err
	}
	run, err := actors.RunLocal(context.Background(), topo, topology.Config{Name: "orders", Logger: logger})
	if err != nil {
		return err
	}
	defer run.Shutdown()

	logs := filepath.Join(dir, "logs")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		return fmt.Errorf("order log directory: %w", err)
	}
	agent, err := ingest.Start(context.Background(), ingest.Config{
		Brokers:   brokers,
		Groups:    []ingest.FileGroup{{Topic: demoTopic, Globs: []string{filepath.Join(logs, "*.log")}, KeyField: "orderId"}},
		Positions: filepath.Join(dir, "tail-positions.json"),
		Logger:    logger,
	})
	if err != nil {
		return err
	}
	defer func() {
		if serr := agent.Stop(); serr != nil && err == nil {
			err = serr
		}
	}()

	genCtx, stopGen := context.WithCancel(ctx)
	defer stopGen()
	genDone := make(chan error, 1)
	go func() {
		genDone <- writeOrderLog(genCtx, filepath.Join(logs, "orders.log"), o)
	}()

	dash := dashboard.New(dashboard.Options{Addr: o.addr, Topologies: dashboard.InProcess("orders", topo, run.Metrics),
		Prometheus: promexport.NewHandler(func() map[string][]actors.ComponentMetrics {
			return map[string][]actors.ComponentMetrics{"orders": run.Metrics()}
		}),
		Pages:  []dashboard.Page{ordersui.Page(ordersui.Options{Redis: rc})},
		Logger: logger})
	dashErr := make(chan error, 1)
	ready := make(chan string, 1)
	go func() {
		dashErr <- dash.ListenAndServe(ctx, func(a string) { ready <- a })
	}()
	select {
	case a := <-ready:
		fmt.Fprintf(out, "squall demo: %d orders/s from %s through the tail agent, Kafka, the analysis topology and Redis; Ctrl-C to stop\n", o.rate, logs)
		fmt.Fprintf(out, "dashboard: http://%s/ (topology: http://%s/topology)\n", a, a)
	case err := <-dashErr:
		return err
	}

	status := time.NewTicker(o.every)
	defer status.Stop()
	for {
		select {
		case <-ctx.Done():
			printStatus(out, rc)
			return nil
		case err := <-genDone:
			if err != nil {
				return err
			}
			genDone = nil
		case err := <-dashErr:
			return err
		case <-run.Done():
			return errors.New("the topology stopped")
		case <-status.C:
			printStatus(out, rc)
		}
	}
}

// writeOrderLog is the demo's order server.
func writeOrderLog(ctx context.Context, path string, o demoOptions) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("order log: %w", err)
	}
	defer f.Close()
	_, err = orders.WriteOrders(ctx, f, orders.LogOptions{Rate: o.rate, Malformed: o.malformed, Seed: uint64(time.Now().UnixNano())})
	return err
}

// printStatus prints what Redis holds now: what the dashboard shows.
func printStatus(out io.Writer, rc *goredis.Client) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	k := orders.Keys{Prefix: orders.DefaultPrefix}
	totals, err := rc.HGetAll(ctx, k.Totals()).Result()
	if err != nil {
		fmt.Fprintf(out, "%s  redis: %v\n", time.Now().Format("15:04:05"), err)
		return
	}
	bad, _ := rc.HGet(ctx, k.Errors(), "malformed").Int64()
	var gmv int64
	fmt.Sscan(totals["gmv"], &gmv)
	fmt.Fprintf(out, "%s  orders %s  GMV ¥%.2f  malformed lines %d\n", time.Now().Format("15:04:05"), orZero(totals["orders"]), float64(gmv)/100, bad)
}

func orZero(s string) string {
	if s == "" {
		return "0"
	}
	return s
}
