// Command benchmarks is what `make bench` runs: squall's throughput and
// memory figures, each as a ratio against a baseline measured in the same
// run, because the machines it runs on are shared and noisy.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"strings"
	"testing"
	"text/tabwriter"
	"time"
)

// result is one row of the table.
type result struct {
	name     string
	value    float64 // tuples/s, or bytes for memory rows
	unit     string
	baseline string  // the row this one is compared with; "" for a baseline
	target   float64 // the ratio the issue asks for; 0 when none
}

func main() {
	if parent := os.Getenv(benchNodeEnv); parent != "" {
		if err := runBenchNode(parent); err != nil {
			fmt.Fprintln(os.Stderr, "bench node:", err)
			os.Exit(1)
		}
		return
	}
	dur := flag.Duration("duration", 5*time.Second, "how long each throughput run lasts")
	only := flag.String("run", "", "run only the suites (topology, cluster, redis, kafka, tail, pipeline) whose name contains this")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.Parse()
	// The Redis suite runs inside testing.Benchmark, which needs the testing
	// package's flags; registered after Parse, they stay out of -h.
	testing.Init()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}

	var rows []result
	for _, s := range suites {
		if *only != "" && !strings.Contains(s.name, *only) {
			continue
		}
		fmt.Fprintf(os.Stderr, "running %s...\n", s.name)
		got, err := s.run(*dur)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", s.name, err)
			pprof.StopCPUProfile()
			os.Exit(1)
		}
		rows = append(rows, got...)
	}
	print(rows)
}

type suite struct {
	name string
	run  func(d time.Duration) ([]result, error)
}

var suites = []suite{
	{"topology", topologySuite},
	{"cluster", clusterSuite},
	{"redis", redisSuite},
	{"kafka", kafkaSuite},
	{"tail", tailSuite},
	{"pipeline", pipelineSuite},
}

func print(rows []result) {
	byName := make(map[string]result, len(rows))
	for _, r := range rows {
		byName[r.name] = r
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "benchmark\tvalue\tunit\tbaseline\tratio\ttarget\t")
	for _, r := range rows {
		ratio, target := "", ""
		if b, ok := byName[r.baseline]; ok && b.value > 0 {
			ratio = fmt.Sprintf("%.2f", r.value/b.value)
		}
		if r.target > 0 {
			target = fmt.Sprintf("≥ %.2f", r.target)
		}
		value := fmt.Sprintf("%.0f", r.value)
		if r.value < 100 {
			value = fmt.Sprintf("%.2f", r.value)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t\n", r.name, value, r.unit, r.baseline, ratio, target)
	}
	w.Flush()
}
