package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"github.com/squall-stream/squall/zkstore"
)

func newZKSecureCommand() *cobra.Command {
	var zkf zkFlags
	cmd := &cobra.Command{
		Use:   "zk-secure",
		Short: "Give squall's ZooKeeper root, and everything under it, to the user of the ZooKeeper credentials alone",
		Long: `Sets the ACL of --zk-root and of every znode under it to the user of the
ZooKeeper credentials (--zk-auth-file, $` + zkAuthEnv + ` or --zk-auth) alone, as
squall creates them with auth. Nodes, squall ui and the other commands given
credentials refuse a root others can change; this migrates one created
without auth. Running it again changes nothing.

What was written under the root while it was open is kept: check
` + "`squall list`" + ` afterwards and kill what you did not submit.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts, err := zkf.options()
			if err != nil {
				return err
			}
			if opts.Auth == "" {
				return fmt.Errorf("zk-secure needs the credentials to give the root to: --zk-auth-file, $%s or --zk-auth", zkAuthEnv)
			}
			changed, err := zkstore.SecureRoot(opts)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "secured %s: %d znodes changed\n", opts.Root, changed)
			return nil
		},
	}
	zkf.add(cmd)
	return cmd
}
