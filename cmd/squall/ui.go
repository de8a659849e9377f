package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"
	"github.com/squall-stream/squall/cluster"
	"github.com/squall-stream/squall/dashboard"
	"github.com/squall-stream/squall/examples/orders"
	"github.com/squall-stream/squall/examples/orders/ordersui"
)

// nodeMetricsTimeout bounds how long the ui waits for each node's metrics
// per refresh: a dead node must not stall the page.
const nodeMetricsTimeout = 2 * time.Second

func newUICommand() *cobra.Command {
	var (
		zkf          zkFlags
		addr, redis  string
		prefix       string
		refreshEvery time.Duration
		actions      bool
		actionHosts  []string
	)
	cmd := &cobra.Command{
		Use:   "ui",
		Short: "Serve the dashboard for a cluster: its topologies' metrics, and the orders in Redis",
		Long: `Serves the dashboard on --addr for the cluster behind --zk (Storm's UI): the
topology page shows every submitted topology with its status and the metrics
of its components, summed over the nodes that run its tasks (each node serves
its own on the address it publishes in ZooKeeper: /metrics for Prometheus,
/api/metrics for this page). With --redis, the orders page shows what the
order analysis wrote there. With --actions, the topology page has Activate,
Deactivate and Kill buttons, for anyone who can reach --addr.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if refreshEvery <= 0 {
				return fmt.Errorf("--every must be positive, got %v", refreshEvery)
			}
			admin, err := zkf.admin()
			if err != nil {
				return err
			}
			defer admin.Close()
			opts := dashboard.Options{
				Addr:  addr,
				Every: refreshEvery,
				Topologies: func(ctx context.Context) ([]dashboard.Topology, error) {
					ctx, cancel := context.WithTimeout(ctx, nodeMetricsTimeout)
					defer cancel()
					tops, err := admin.Metrics(ctx)
					if err != nil {
						return nil, err
					}
					out := make([]dashboard.Topology, len(tops))
					for i, t := range tops {
						out[i] = dashboard.Topology{Name: t.Name, Status: string(t.Status), Components: t.Components, Unreachable: t.Unreachable, TaskNodes: t.TaskNodes, Topology: t.Topology}
					}
					return out, nil
				},
				Logger: commandLogger(os.Stderr, slog.LevelInfo),
			}
			if actions {
				opts.Actions, opts.ActionHosts = adminActions{admin}, actionHosts
			}
			if redis != "" {
				rc := goredis.NewClient(&goredis.Options{Addr: redis})
				defer rc.Close()
				opts.Pages = []dashboard.Page{ordersui.Page(ordersui.Options{Redis: rc, Keys: orders.Keys{Prefix: prefix}})}
			}
			return dashboard.New(opts).ListenAndServe(cmd.Context(), func(a string) {
				fmt.Fprintf(cmd.OutOrStdout(), "squall ui: http://%s/ (topologies: http://%s/topology)\n", a, a)
			})
		},
	}
	zkf.add(cmd)
	f := cmd.Flags()
	f.StringVar(&addr, "addr", "127.0.0.1:8080", "where the dashboard listens")
	f.StringVar(&redis, "redis", "", "Redis holding the analysed orders, host:port, for the orders page at / (default: no orders page; / leads to the topologies)")
	f.StringVar(&prefix, "prefix", orders.DefaultPrefix, "the Redis key prefix the order analysis writes under")
	f.DurationVar(&refreshEvery, "every", time.Second, "how often the pages are refreshed")
	f.BoolVar(&actions, "actions", false, "offer Activate, Deactivate and Kill buttons on the topology page (to anyone who can reach --addr)")
	f.StringArrayVar(&actionHosts, "actions-host", nil, "a host name the page is reached by, for --actions (IP addresses and localhost always work; repeatable)")
	return cmd
}

// adminActions are the topology page's buttons on a cluster.
type adminActions struct{ admin *cluster.Admin }

func (a adminActions) Activate(_ context.Context, name string) error { return a.admin.Activate(name) }
func (a adminActions) Deactivate(_ context.Context, name string) error {
	return a.admin.Deactivate(name)
}
func (a adminActions) Kill(_ context.Context, name string, wait time.Duration) error {
	return a.admin.Kill(name, wait)
}
