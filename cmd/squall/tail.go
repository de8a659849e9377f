package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/squall-stream/squall/ingest"
)

func newTailCommand() *cobra.Command {
	var (
		brokers, topic, keyField, acks string
		files, groups                  []string
		conf                           ingest.Config
		statsEvery                     time.Duration
	)
	cmd := &cobra.Command{
		Use:   "tail",
		Short: "Follow log files (rotation included) and produce their lines to Kafka, never losing one",
		Example: `  squall tail --brokers kafka1:9092,kafka2:9092 --topic orders \
    --files '/var/log/orders/*.log' --positions /var/lib/squall/tail.json --key-field orderId
  squall tail --brokers kafka1:9092 --positions /var/lib/squall/tail.json \
    --group 'orders=/var/log/orders/*.log' --group 'refunds=/var/log/refunds/*.log,/var/log/refunds/*.txt'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if brokers == "" {
				return fmt.Errorf("--brokers is required (host:port of Kafka brokers)")
			}
			conf.Brokers = strings.Split(brokers, ",")
			if topic != "" || len(files) > 0 {
				if topic == "" || len(files) == 0 {
					return fmt.Errorf("--topic and --files go together")
				}
				conf.Groups = append(conf.Groups, ingest.FileGroup{Topic: topic, Globs: files, KeyField: keyField})
			}
			for _, g := range groups {
				t, globs, ok := strings.Cut(g, "=")
				if !ok || t == "" || globs == "" {
					return fmt.Errorf("--group %q: want TOPIC=GLOB[,GLOB...]", g)
				}
				conf.Groups = append(conf.Groups, ingest.FileGroup{Topic: t, Globs: strings.Split(globs, ","), KeyField: keyField})
			}
			switch acks {
			case "all":
				conf.Acks = ingest.AcksAll
			case "leader":
				conf.Acks = ingest.AcksLeader
			case "none":
				conf.Acks = ingest.AcksNone
			default:
				return fmt.Errorf("--acks %q: want all, leader or none", acks)
			}
			conf.Logger = commandLogger(os.Stderr, slog.LevelInfo)
			return runTail(cmd.Context(), conf, statsEvery, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&brokers, "brokers", "", "Kafka bootstrap brokers, host:port[,host:port...] (required)")
	f.StringVar(&topic, "topic", "", "topic the lines of --files go to")
	f.StringSliceVar(&files, "files", nil, "glob(s) of the files to follow, comma-separated or repeated; rotated names should not match")
	f.StringArrayVar(&groups, "group", nil, "another file group, TOPIC=GLOB[,GLOB...]; repeatable")
	f.StringVar(&keyField, "key-field", "", "top-level field of JSON lines whose value becomes the record key (default: no key)")
	f.StringVar(&conf.Positions, "positions", "", "position file: how far Kafka acknowledged each file (required)")
	f.IntVar(&conf.BatchLines, "batch-lines", ingest.DefaultBatchLines, "send a batch once it holds this many lines")
	f.IntVar(&conf.BatchBytes, "batch-bytes", ingest.DefaultBatchBytes, "send a batch once it holds this many bytes")
	f.DurationVar(&conf.Linger, "linger", ingest.DefaultLinger, "longest a line waits for its batch to fill")
	f.StringVar(&acks, "acks", "all", "acknowledgement awaited: all, leader (needs --no-idempotence) or none (ditto)")
	f.BoolVar(&conf.DisableIdempotence, "no-idempotence", false, "turn off the idempotent producer (retries may then duplicate lines)")
	f.IntVar(&conf.MaxLineLength, "max-line-length", ingest.DefaultMaxLineLength, "longest line produced, in bytes; longer ones are reported and skipped")
	f.DurationVar(&conf.PollInterval, "poll-interval", ingest.DefaultPollInterval, "how often files are globbed and checked for growth, besides inotify's word of every write")
	f.IntVar(&conf.MaxBufferedBytes, "max-buffered-bytes", ingest.DefaultMaxBufferedBytes, "bytes of lines awaiting Kafka before reading waits")
	f.DurationVar(&conf.PositionInterval, "position-interval", ingest.DefaultPositionInterval, "how often the position file is saved")
	f.StringVar(&conf.KafkaVersion, "kafka-version", "", "Kafka protocol version to speak, such as 3.6.0 (default: sarama's)")
	f.DurationVar(&statsEvery, "stats-every", 0, "print the metrics this often (default: on exit only)")
	return cmd
}

// runTail runs the agent until ctx ends, then stops it cleanly, printing
// its metrics every statsEvery and on exit.
func runTail(ctx context.Context, conf ingest.Config, statsEvery time.Duration, out io.Writer) error {
	// Ending the agent's context abandons it as a crash would, so ctx ends
	// it only while it starts (waiting for Kafka); after that a signal
	// stops it cleanly, below.
	agentCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	starting := context.AfterFunc(ctx, cancel)
	a, err := ingest.Start(agentCtx, conf)
	if err != nil {
		return err
	}
	if !starting() {
		// Interrupted as it started: nothing is lost, the next run resumes.
		_ = a.Wait()
		return nil
	}
	fmt.Fprintf(out, "squall tail: following %d file group(s), positions in %s\n", len(conf.Groups), conf.Positions)
	var stats <-chan time.Time
	if statsEvery > 0 {
		t := time.NewTicker(statsEvery)
		defer t.Stop()
		stats = t.C
	}
	for {
		select {
		case <-stats:
			printTailMetrics(out, a.Metrics())
		case <-ctx.Done():
			err := a.Stop()
			printTailMetrics(out, a.Metrics())
			return err
		}
	}
}

func printTailMetrics(out io.Writer, m ingest.Metrics) {
	var lag int64
	for _, f := range m.Files {
		lag += f.Lag
	}
	fmt.Fprintf(out, "squall tail: read %d lines (%d bytes), acked %d lines (%d bytes), too long %d, errors produce=%d file=%d position=%d, %d files, lag %d bytes\n",
		m.LinesRead, m.BytesRead, m.LinesAcked, m.BytesAcked, m.LinesTooLong, m.ProduceErrors, m.FileErrors, m.PositionErrors, len(m.Files), lag)
	for _, f := range m.Files {
		fmt.Fprintf(out, "  %s (inode %d, topic %s): size %d, read %d, acked %d, lag %d\n", f.Path, f.Inode, f.Topic, f.Size, f.ReadOffset, f.AckedOffset, f.Lag)
	}
}
