package main

import (
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/squall-stream/squall/cluster"
	"github.com/squall-stream/squall/topology"
	"github.com/squall-stream/squall/zkstore"
)

func newOffsetsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "offsets",
		Short: "Show or rewrite the Kafka spouts' stored offsets (replay)",
	}
	cmd.AddCommand(newOffsetsShowCommand(), newOffsetsSetCommand())
	return cmd
}

func newOffsetsShowCommand() *cobra.Command {
	var (
		zkf     zkFlags
		brokers string
		topo    string
	)
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Print a topology's stored offsets, and the lag per partition when --brokers is given",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if topo == "" {
				return fmt.Errorf("--topology is required")
			}
			if err := topology.ValidateName(topology.TopologyName, topo); err != nil {
				return fmt.Errorf("--topology: %w", err)
			}
			opts, err := zkf.options()
			if err != nil {
				return err
			}
			lags, err := cluster.ShowOffsets(opts, splitList(brokers), topo)
			if err != nil {
				return err
			}
			if len(lags) == 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "no offsets stored for topology %q\n", topo)
				return nil
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(w, "SPOUT\tTOPIC\tPARTITION\tOFFSET\tEND\tLAG\tSTORED\tBY TASK")
			for _, l := range lags {
				end, lag := "?", "?"
				if l.End >= 0 {
					end, lag = fmt.Sprint(l.End), fmt.Sprint(l.Lag)
				}
				by := fmt.Sprint(l.Task)
				if l.Task == zkstore.OperatorTask {
					by = "operator"
				}
				fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%s\t%s\t%s\t%s\n", l.Spout, l.Topic, l.Partition, l.Offset, end, lag, l.Time.Format("2006-01-02T15:04:05Z07:00"), by)
			}
			return w.Flush()
		},
	}
	zkf.add(cmd)
	cmd.Flags().StringVar(&brokers, "brokers", "", "Kafka brokers, host:port[,...], to print each partition's lag")
	cmd.Flags().StringVar(&topo, "topology", "", "the topology (required)")
	return cmd
}

func newOffsetsSetCommand() *cobra.Command {
	var (
		zkf                 zkFlags
		brokers, topics, to string
		topo, spout         string
	)
	cmd := &cobra.Command{
		Use:   "set",
		Short: "Rewrite a spout's stored offsets, so that its next run replays (or skips) from there",
		Long: `Rewrites the stored offsets of one Kafka spout of a topology that is not
active: deactivate or kill it first. The spout resumes from the new offsets
when the topology is activated or started again.

--to is one of:
  earliest                 the first message still in each partition
  latest                   the log end: skip what is there now
  2026-11-25T08:00:00Z     the first message at or after this time (RFC 3339)
  0=1200,3=56000           these offsets for these partitions

Every partition with a stored offset is set, and every partition of the
--topic topics (for a spout that never stored any).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case topo == "":
				return fmt.Errorf("--topology is required")
			case spout == "":
				return fmt.Errorf("--spout is required (the spout component's id)")
			case to == "":
				return fmt.Errorf("--to is required (earliest, latest, an RFC 3339 time, or partition=offset,...)")
			}
			if err := topology.ValidateName(topology.TopologyName, topo); err != nil {
				return fmt.Errorf("--topology: %w", err)
			}
			if err := topology.ValidateName(topology.ComponentID, spout); err != nil {
				return fmt.Errorf("--spout: %w", err)
			}
			target, err := cluster.ParseOffsetTarget(to)
			if err != nil {
				return fmt.Errorf("--to: %w", err)
			}
			opts, err := zkf.options()
			if err != nil {
				return err
			}
			set, err := cluster.SetOffsets(opts, splitList(brokers), topo, spout, splitList(topics), target)
			if err != nil {
				return err
			}
			sort.Slice(set, func(i, j int) bool {
				if set[i].Topic != set[j].Topic {
					return set[i].Topic < set[j].Topic
				}
				return set[i].Partition < set[j].Partition
			})
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(w, "SPOUT\tTOPIC\tPARTITION\tOFFSET")
			for _, so := range set {
				fmt.Fprintf(w, "%s\t%s\t%d\t%d\n", spout, so.Topic, so.Partition, so.Offset)
			}
			return w.Flush()
		},
	}
	zkf.add(cmd)
	cmd.Flags().StringVar(&brokers, "brokers", "", "Kafka brokers, host:port[,...] (needed for earliest, latest and times)")
	cmd.Flags().StringVar(&topo, "topology", "", "the topology (required)")
	cmd.Flags().StringVar(&spout, "spout", "", "the Kafka spout's component id (required)")
	cmd.Flags().StringVar(&topics, "topic", "", "topics whose partitions to set too, comma-separated")
	cmd.Flags().StringVar(&to, "to", "", "where to move: earliest, latest, an RFC 3339 time, or partition=offset,... (required)")
	return cmd
}

// splitList splits a comma-separated flag; empty gives nil.
func splitList(s string) []string {
	if s == "" {
		return nil
	}
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}
