package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/squall-stream/squall/actors"
	"github.com/squall-stream/squall/dashboard"
	"github.com/squall-stream/squall/examples/orders"
	"github.com/squall-stream/squall/topology"
)

func newDemoCommand() *cobra.Command {
	var (
		rate     int
		every    time.Duration
		duration time.Duration
		addr     string
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the order-count demo topology in this process",
		Long: `Runs the order analysis demo on embedded defaults: generated orders
flow through a parse bolt and per-province counters, and a report of orders
and GMV per province is printed every --every. The dashboard is served on
--addr; its topology page shows the running topology's metrics. Ctrl-C
stops it cleanly.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if rate < 1 {
				return fmt.Errorf("--rate must be at least 1, got %d", rate)
			}
			if every <= 0 {
				return fmt.Errorf("--every must be positive, got %v", every)
			}
			topo, err := orders.CountTopology(rate, every, cmd.OutOrStdout())
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if duration > 0 {
				var cancel func()
				ctx, cancel = context.WithTimeout(ctx, duration)
				defer cancel()
			}
			logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
			run, err := actors.RunLocal(ctx, topo, topology.Config{Name: "orders-demo", Logger: logger})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "squall demo: %d orders/s, report every %v; Ctrl-C to stop\n", rate, every)
			dash := dashboard.New(dashboard.Options{Addr: addr, Metrics: run.Metrics, Topology: "orders-demo", Logger: logger})
			errc := make(chan error, 1)
			go func() {
				errc <- dash.ListenAndServe(ctx, func(a string) {
					fmt.Fprintf(cmd.OutOrStdout(), "dashboard: http://%s/ (topology: http://%s/topology)\n", a, a)
				})
			}()
			select {
			case <-run.Done():
				return nil
			case err := <-errc:
				run.Shutdown()
				return err
			}
		},
	}
	cmd.Flags().IntVar(&rate, "rate", 2000, "orders generated per second")
	cmd.Flags().DurationVar(&every, "every", 2*time.Second, "how often the report is printed")
	cmd.Flags().DurationVar(&duration, "duration", 0, "stop after this long (0: run until Ctrl-C)")
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "where the dashboard listens")
	return cmd
}
