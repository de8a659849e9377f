package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/squall-stream/squall/cluster"
	"github.com/squall-stream/squall/topology"
	"github.com/squall-stream/squall/zkstore"
)

// topologyNameArg takes a command's one argument, a topology name, only
// under the name rule, before anything is asked of ZooKeeper.
func topologyNameArg(cmd *cobra.Command, args []string) error {
	if err := cobra.ExactArgs(1)(cmd, args); err != nil {
		return err
	}
	return topology.ValidateName(topology.TopologyName, args[0])
}

// zkFlags are the flags of every command that talks to ZooKeeper.
type zkFlags struct {
	servers  string
	root     string
	auth     string
	authFile string
	timeout  time.Duration
}

// zkAuthEnv holds ZooKeeper's user:password for a process started with
// neither --zk-auth nor --zk-auth-file: unlike a flag, it is not shown by ps
// to other users.
const zkAuthEnv = "SQUALL_ZK_AUTH"

func (f *zkFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.servers, "zk", "", "ZooKeeper servers, host:port[,host:port...] (required)")
	cmd.Flags().StringVar(&f.root, "zk-root", zkstore.DefaultRoot, "ZooKeeper path squall keeps its state under")
	cmd.Flags().StringVar(&f.auth, "zk-auth", "", "ZooKeeper digest auth, user:password; squall's znodes are then that user's only, and squall refuses a root others can change. "+
		"Visible to every user of the machine in ps: prefer --zk-auth-file or $"+zkAuthEnv)
	cmd.Flags().StringVar(&f.authFile, "zk-auth-file", "", "file holding ZooKeeper's user:password (as --zk-auth), readable by its owner only")
	cmd.Flags().DurationVar(&f.timeout, "zk-session-timeout", 6*time.Second, "ZooKeeper session timeout: how long a dead node keeps its tasks")
}

func (f *zkFlags) options() (zkstore.Options, error) {
	if f.servers == "" {
		return zkstore.Options{}, fmt.Errorf("--zk is required (host:port of a ZooKeeper server)")
	}
	auth, err := f.credentials()
	if err != nil {
		return zkstore.Options{}, err
	}
	return zkstore.Options{Servers: splitList(f.servers), Root: f.root, Auth: auth, SessionTimeout: f.timeout}, nil
}

// credentials returns ZooKeeper's user:password from the one place it is
// given, if any.
func (f *zkFlags) credentials() (string, error) {
	env := os.Getenv(zkAuthEnv)
	var given []string
	for _, src := range []struct{ name, value string }{{"--zk-auth", f.auth}, {"--zk-auth-file", f.authFile}, {"$" + zkAuthEnv, env}} {
		if src.value != "" {
			given = append(given, src.name)
		}
	}
	switch {
	case len(given) > 1:
		return "", fmt.Errorf("ZooKeeper credentials come from %s at once; give one of them", strings.Join(given, " and "))
	case f.authFile != "":
		return readAuthFile(f.authFile)
	case f.auth != "":
		return f.auth, nil
	}
	return env, nil
}

// readAuthFile reads user:password from a file only its owner can read or
// change: anyone else could read the password, or swap in their own, and
// squall would give its znodes to them.
func readAuthFile(name string) (string, error) {
	file, err := os.Open(name)
	if err != nil {
		return "", fmt.Errorf("--zk-auth-file: %w", err)
	}
	defer file.Close()
	st, err := file.Stat()
	if err != nil {
		return "", fmt.Errorf("--zk-auth-file: %w", err)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return "", fmt.Errorf("--zk-auth-file %s: mode %04o lets users other than its owner read or change it; chmod 600 it", name, perm)
	}
	data, err := io.ReadAll(file)
	if err != nil {
		return "", fmt.Errorf("--zk-auth-file %s: %w", name, err)
	}
	auth := strings.TrimRight(string(data), "\r\n")
	if auth == "" {
		return "", fmt.Errorf("--zk-auth-file %s is empty; it should hold user:password", name)
	}
	return auth, nil
}

func (f *zkFlags) admin() (*cluster.Admin, error) {
	opts, err := f.options()
	if err != nil {
		return nil, err
	}
	return cluster.NewAdmin(opts)
}

func newNodeCommand() *cobra.Command {
	var (
		zkf                    zkFlags
		listen, id, metrics    string
		slots                  int
		tlsCert, tlsKey, tlsCA string
		secretFile             string
		insecure               bool
	)
	cmd := &cobra.Command{
		Use:   "node",
		Short: "Run a cluster node: joins through ZooKeeper and runs its share of submitted topologies",
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts, err := zkf.options()
			if err != nil {
				return err
			}
			if id != "" {
				if err := topology.ValidateName(topology.NodeID, id); err != nil {
					return fmt.Errorf("--id: %w", err)
				}
			}
			tlsConf, err := loadTLS(tlsCert, tlsKey, tlsCA)
			if err != nil {
				return err
			}
			secret, err := loadSecret(secretFile)
			if err != nil {
				return err
			}
			logger := commandLogger(os.Stderr, slog.LevelInfo)
			node, err := cluster.StartNode(cluster.NodeOptions{ZK: opts, ID: id, Listen: listen, MetricsAddr: metrics, Slots: slots,
				TLS: tlsConf, Secret: secret, Insecure: insecure, Logger: logger})
			if errors.Is(err, cluster.ErrListenHost) || errors.Is(err, cluster.ErrInsecure) {
				return fmt.Errorf("--listen: %w", err)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "squall node %s listening on %s, metrics on http://%s/metrics\n", node.ID(), node.Addr(), node.MetricsAddr())
			select {
			case <-cmd.Context().Done():
				node.Stop()
			case <-node.Done():
			}
			return nil
		},
	}
	zkf.add(cmd)
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:7000", "transport address other nodes reach this one at, host:port")
	cmd.Flags().StringVar(&id, "id", "", "node id in ZooKeeper: letters, digits, '-', '_', '.', ':' (default: the listen address)")
	cmd.Flags().StringVar(&metrics, "metrics-addr", "", "where the node serves /metrics (Prometheus) and /api/metrics (squall ui), host:port (default: the listen host, a free port)")
	cmd.Flags().IntVar(&slots, "slots", 4, "how many topologies this node runs at most")
	cmd.Flags().StringVar(&tlsCert, "tls-cert", "", "certificate file (PEM) for TLS between nodes")
	cmd.Flags().StringVar(&tlsKey, "tls-key", "", "private key file (PEM) for --tls-cert")
	cmd.Flags().StringVar(&tlsCA, "tls-ca", "", "CA certificate file (PEM) that peers' certificates are checked against")
	cmd.Flags().StringVar(&secretFile, "cluster-secret-file", "", "file holding a secret every node of the cluster shares (at least 16 bytes; e.g. head -c 32 /dev/urandom | base64): mutual TLS between nodes without certificates to manage; or $"+secretEnv)
	cmd.Flags().BoolVar(&insecure, "insecure", false, "allow a transport without TLS or cluster secret on an address other hosts can reach: any of them can then send this node tuples")
	return cmd
}

// secretEnv names the environment variable that may hold the cluster
// secret, so that it need not sit in a file.
const secretEnv = "SQUALL_CLUSTER_SECRET"

// loadSecret reads the cluster secret from its file or environment
// variable; nil when neither is given.
func loadSecret(file string) ([]byte, error) {
	env, inEnv := os.LookupEnv(secretEnv)
	switch {
	case file != "" && inEnv:
		return nil, fmt.Errorf("cluster secret in both --cluster-secret-file and $%s: give one", secretEnv)
	case file != "":
		return cluster.ReadSecretFile(file)
	case inEnv:
		return []byte(strings.TrimSpace(env)), nil
	}
	return nil, nil
}

// loadTLS builds the transport's TLS config from files; all three or none.
func loadTLS(cert, key, ca string) (*tls.Config, error) {
	if cert == "" && key == "" && ca == "" {
		return nil, nil
	}
	if cert == "" || key == "" || ca == "" {
		return nil, fmt.Errorf("TLS needs --tls-cert, --tls-key and --tls-ca together")
	}
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		return nil, fmt.Errorf("TLS key pair %s, %s: %w", cert, key, err)
	}
	pem, err := os.ReadFile(ca)
	if err != nil {
		return nil, fmt.Errorf("TLS CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("TLS CA %s: no PEM certificates in it", ca)
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}, RootCAs: pool, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12}, nil
}

func newSubmitCommand() *cobra.Command {
	var (
		zkf     zkFlags
		workers int
		sets    []string
	)
	cmd := &cobra.Command{
		Use:   "submit NAME",
		Short: "Start a topology compiled into this binary on the cluster",
		Long:  "Starts a registered topology on the cluster. Registered here: " + strings.Join(cluster.Registered(), ", "),
		Args:  topologyNameArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			settings := map[string]string{}
			for _, s := range sets {
				k, v, ok := strings.Cut(s, "=")
				if !ok || k == "" {
					return fmt.Errorf("--set %q: want key=value", s)
				}
				settings[k] = v
			}
			admin, err := zkf.admin()
			if err != nil {
				return err
			}
			defer admin.Close()
			if err := admin.Submit(args[0], cluster.SubmitOptions{Workers: workers, Settings: settings}); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "submitted %s\n", args[0])
			return nil
		},
	}
	zkf.add(cmd)
	cmd.Flags().IntVar(&workers, "workers", 0, "how many nodes to spread over (0: all live nodes)")
	cmd.Flags().StringArrayVar(&sets, "set", nil, "a setting for the topology, key=value (repeatable); Storm's names tune its runtime: "+
		strings.Join(topology.SettingKeys(), ", "))
	return cmd
}

func newListCommand() *cobra.Command {
	var zkf zkFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the cluster's nodes and topologies",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			admin, err := zkf.admin()
			if err != nil {
				return err
			}
			defer admin.Close()
			nodes, err := admin.Nodes()
			if err != nil {
				return err
			}
			tops, err := admin.List()
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(w, "NODE\tADDRESS\tMETRICS\tSLOTS\tSINCE")
			for _, n := range nodes {
				fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s\n", n.ID, n.Addr, n.Metrics, n.Slots, n.Started.Format(time.RFC3339))
			}
			fmt.Fprintln(w, "\nTOPOLOGY\tSTATUS\tTASKS\tNODES\tSUBMITTED")
			for _, t := range tops {
				fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\n", t.Name, t.Status, t.Tasks, strings.Join(t.Nodes, ","), t.Submitted.Format(time.RFC3339))
			}
			return w.Flush()
		},
	}
	zkf.add(cmd)
	return cmd
}

func newKillCommand() *cobra.Command {
	var (
		zkf  zkFlags
		wait time.Duration
	)
	cmd := &cobra.Command{
		Use:   "kill NAME",
		Short: "Deactivate a topology, let in-flight tuples drain for --wait, then remove it",
		Args:  topologyNameArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			admin, err := zkf.admin()
			if err != nil {
				return err
			}
			defer admin.Close()
			if err := admin.Kill(args[0], wait); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "killing %s (draining up to %v)\n", args[0], wait)
			return nil
		},
	}
	zkf.add(cmd)
	cmd.Flags().DurationVar(&wait, "wait", 30*time.Second, "how long nodes let in-flight tuple trees complete")
	return cmd
}

func newStatusCommand(use, short string, apply func(*cluster.Admin, string) error) *cobra.Command {
	var zkf zkFlags
	cmd := &cobra.Command{
		Use:   use + " NAME",
		Short: short,
		Args:  topologyNameArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			admin, err := zkf.admin()
			if err != nil {
				return err
			}
			defer admin.Close()
			if err := apply(admin, args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%sd %s\n", use, args[0])
			return nil
		},
	}
	zkf.add(cmd)
	return cmd
}

func newRebalanceCommand() *cobra.Command {
	var (
		zkf     zkFlags
		par     []string
		workers int
	)
	cmd := &cobra.Command{
		Use:   "rebalance NAME",
		Short: "Change components' parallelism or the number of nodes a topology runs on",
		Args:  topologyNameArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			p := map[string]int{}
			for _, s := range par {
				comp, n, ok := strings.Cut(s, "=")
				v, err := strconv.Atoi(n)
				if !ok || err != nil || v < 1 {
					return fmt.Errorf("--parallelism %q: want component=n with n ≥ 1", s)
				}
				if err := topology.ValidateName(topology.ComponentID, comp); err != nil {
					return fmt.Errorf("--parallelism %q: %w", s, err)
				}
				p[comp] = v
			}
			admin, err := zkf.admin()
			if err != nil {
				return err
			}
			defer admin.Close()
			if err := admin.Rebalance(args[0], p, workers); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "rebalancing %s\n", args[0])
			return nil
		},
	}
	zkf.add(cmd)
	cmd.Flags().StringArrayVar(&par, "parallelism", nil, "component=n (repeatable)")
	cmd.Flags().IntVar(&workers, "workers", -1, "how many nodes to spread over (0: all; default: unchanged)")
	return cmd
}
