package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"github.com/squall-stream/squall/examples/orders"
)

func newGenOrdersCommand() *cobra.Command {
	var (
		out, truthPath string
		rate, count    int
		malformed      float64
		seed           uint64
	)
	cmd := &cobra.Command{
		Use:   "gen-orders",
		Short: "Write an order log as an order server would: JSON lines at --rate",
		Long: `Appends realistic order lines (JSON: orderId, userId, product, category,
unit price, quantity, amount, province, city, payment, status, createdAt;
Chinese product and place names) to --out at --rate lines per second, with
a --malformed fraction of garbage lines, until --count lines or Ctrl-C.
--truth writes what the analysis should find (orders, GMV in fen, per
province, category, payment, product, minute; unique buyers) as JSON.
Point squall tail at the log to drive load through the pipeline.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case out == "":
				return fmt.Errorf("--out is required (the order log to append to)")
			case rate < 0:
				return fmt.Errorf("--rate must not be negative, got %d", rate)
			case count < 0:
				return fmt.Errorf("--count must not be negative, got %d", count)
			case malformed < 0 || malformed > 1:
				return fmt.Errorf("--malformed must be a fraction from 0 to 1, got %v", malformed)
			}
			if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
				return fmt.Errorf("order log directory: %w", err)
			}
			f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
			if err != nil {
				return fmt.Errorf("open order log: %w", err)
			}
			defer f.Close()
			var truth *orders.Truth
			if truthPath != "" {
				truth = orders.NewTruth()
			}
			start := time.Now()
			n, err := orders.WriteOrders(cmd.Context(), f, orders.LogOptions{Rate: rate, Count: count, Malformed: malformed, Seed: seed, Truth: truth})
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %d order lines to %s in %v\n", n, out, time.Since(start).Round(time.Millisecond))
			if err != nil {
				return err
			}
			if truth != nil {
				b, err := json.MarshalIndent(truth, "", "  ")
				if err != nil {
					return fmt.Errorf("encode truth: %w", err)
				}
				if err := os.WriteFile(truthPath, b, 0o644); err != nil {
					return fmt.Errorf("write truth: %w", err)
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "the order log to append to (required)")
	cmd.Flags().IntVar(&rate, "rate", 1000, "order lines per second; 0 for as fast as possible")
	cmd.Flags().IntVar(&count, "count", 0, "stop after this many lines; 0 for until Ctrl-C")
	cmd.Flags().Float64Var(&malformed, "malformed", 0.001, "fraction of garbage lines")
	cmd.Flags().Uint64Var(&seed, "seed", uint64(time.Now().UnixNano()), "random seed; equal seeds write equal orders (ids differ per seed)")
	cmd.Flags().StringVar(&truthPath, "truth", "", "write the ground truth of what was written to this JSON file")
	return cmd
}
