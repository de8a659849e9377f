// Command squall is squall's single binary: it runs the demo pipeline, and
// (as the project grows) cluster nodes, topology submission and the tools
// around them.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/squall-stream/squall/cluster"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRootCommand().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "squall:", err)
		os.Exit(1)
	}
}

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "squall",
		Short:         "A Storm-style stream processor on actors",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(
		newDemoCommand(),
		newNodeCommand(),
		newSubmitCommand(),
		newListCommand(),
		newKillCommand(),
		newStatusCommand("activate", "Make a topology's spouts emit again", (*cluster.Admin).Activate),
		newStatusCommand("deactivate", "Stop a topology's spouts; in-flight trees still complete", (*cluster.Admin).Deactivate),
		newRebalanceCommand(),
		newOffsetsCommand(),
		newGenOrdersCommand(),
		newTailCommand(),
		newUICommand(),
		newZKSecureCommand(),
	)
	return root
}
