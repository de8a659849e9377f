package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/squall-stream/squall/topology"
)

// ZKOptions say how to reach ZooKeeper.
type ZKOptions struct {
	// Servers are host:port addresses.
	Servers []string
	// Root is the path squall keeps everything under. Default "/squall".
	Root string
	// SessionTimeout bounds how long a dead node keeps its tasks. Default 6s.
	SessionTimeout time.Duration
	// Auth, as "user:password", authenticates with ZooKeeper's digest scheme;
	// znodes squall creates are then readable and writable by that user only,
	// and squall refuses to work under a root others can change (ErrOpenACL).
	Auth string
	// Logger receives connection events. Default slog.Default().
	Logger *slog.Logger
}

// Settings under which a node hands its tasks the cluster's ZooKeeper, so
// that components keep state there without being told where it is (the
// Kafka spout's offsets, by default): ZKOptionsFrom reads them back.
const (
	SettingZKServers = "squall.zk.servers"
	SettingZKRoot    = "squall.zk.root"
	SettingZKAuth    = "squall.zk.auth"
)

func (o ZKOptions) putSettings(settings map[string]string) {
	o = o.defaults()
	settings[SettingZKServers] = strings.Join(o.Servers, ",")
	settings[SettingZKRoot] = o.Root
	if o.Auth != "" {
		settings[SettingZKAuth] = o.Auth
	}
}

// ZKOptionsFrom returns the cluster's ZooKeeper as a node hands it to its
// tasks in their settings; ok is false outside a cluster.
func ZKOptionsFrom(settings map[string]string) (o ZKOptions, ok bool) {
	servers := settings[SettingZKServers]
	if servers == "" {
		return o, false
	}
	return ZKOptions{Servers: strings.Split(servers, ","), Root: settings[SettingZKRoot], Auth: settings[SettingZKAuth]}, true
}

func (o ZKOptions) defaults() ZKOptions {
	if o.Root == "" {
		o.Root = DefaultRoot
	}
	if o.SessionTimeout <= 0 {
		o.SessionTimeout = 6 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// ErrNoZooKeeper means no ZooKeeper server could be reached in time.
var ErrNoZooKeeper = errors.New("cannot reach ZooKeeper")

// zkClient is a ZooKeeper session with squall's layout, ACLs and JSON.
type zkClient struct {
	conn *zk.Conn
	l    layout
	acl  []zk.ACL
	log  *slog.Logger

	mu      sync.Mutex
	watched map[string]bool // paths with an armed watch
	skipped map[string]bool // children warned about for a bad name
}

// dialZK connects and waits for a session, up to the session timeout.
func dialZK(opts ZKOptions) (*zkClient, <-chan zk.Event, error) {
	opts = opts.defaults()
	if len(opts.Servers) == 0 {
		return nil, nil, fmt.Errorf("%w: no servers given", ErrNoZooKeeper)
	}
	l, err := newLayout(opts.Root)
	if err != nil {
		return nil, nil, err
	}
	conn, events, err := zk.Connect(opts.Servers, opts.SessionTimeout, zk.WithLogInfo(false), zk.WithLogger(zkLogger{opts.Logger}))
	if err != nil {
		return nil, nil, fmt.Errorf("%w at %s: %v", ErrNoZooKeeper, strings.Join(opts.Servers, ","), err)
	}
	c := &zkClient{conn: conn, l: l, acl: zk.WorldACL(zk.PermAll), log: opts.Logger, watched: map[string]bool{}, skipped: map[string]bool{}}
	if opts.Auth != "" {
		user, password, ok := strings.Cut(opts.Auth, ":")
		if !ok {
			conn.Close()
			return nil, nil, fmt.Errorf("ZooKeeper auth must be user:password")
		}
		if err := conn.AddAuth("digest", []byte(opts.Auth)); err != nil {
			conn.Close()
			return nil, nil, fmt.Errorf("ZooKeeper digest auth: %w", err)
		}
		// The digest itself rather than the "auth" scheme, which ZooKeeper
		// expands to it: verifyACLs and SecureRoot compare ACLs read back
		// against this one.
		c.acl = zk.DigestACL(zk.PermAll, user, password)
	}
	deadline := time.After(opts.SessionTimeout + 2*time.Second)
	for conn.State() != zk.StateHasSession {
		select {
		case <-deadline:
			conn.Close()
			return nil, nil, fmt.Errorf("%w at %s: no session after %v", ErrNoZooKeeper, strings.Join(opts.Servers, ","), opts.SessionTimeout+2*time.Second)
		case <-time.After(10 * time.Millisecond):
		}
	}
	return c, events, nil
}

func (c *zkClient) close() { c.conn.Close() }

// ensureDirs creates the layout's persistent parents.
func (c *zkClient) ensureDirs() error {
	for _, p := range c.l.dirs() {
		if _, err := c.conn.Create(p, nil, 0, c.acl); err != nil && !errors.Is(err, zk.ErrNodeExists) {
			return fmt.Errorf("create %s: %w", p, err)
		}
	}
	return nil
}

// openRoot connects to the cluster's root, creating its folders, and with
// auth refuses it while others can change anything under it.
func openRoot(opts ZKOptions) (*zkClient, error) {
	c, _, err := dialZK(opts)
	if err != nil {
		return nil, err
	}
	if err := c.ensureDirs(); err != nil {
		c.close()
		return nil, err
	}
	if err := c.verifyACLs(true, c.l.root); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

// getJSON reads a znode into v; ok is false when it does not exist.
func (c *zkClient) getJSON(p string, v any) (version int32, ok bool, err error) {
	data, st, err := c.conn.Get(p)
	if errors.Is(err, zk.ErrNoNode) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("read %s: %w", p, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return 0, false, fmt.Errorf("read %s: bad JSON: %w", p, err)
	}
	return st.Version, true, nil
}

// children lists the children of p whose names are valid names of kind,
// sorted. The others were not written by squall; a path made of them could
// point anywhere, so they are skipped, with a warning the first time.
func (c *zkClient) children(p string, kind topology.NameKind) ([]string, error) {
	kids, _, err := c.conn.Children(p)
	if errors.Is(err, zk.ErrNoNode) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", p, err)
	}
	sort.Strings(kids)
	valid := kids[:0]
	for _, k := range kids {
		if err := topology.ValidateName(kind, k); err != nil {
			c.mu.Lock()
			warn := !c.skipped[p+"/"+k]
			c.skipped[p+"/"+k] = true
			c.mu.Unlock()
			if warn {
				c.log.Warn("skipping a znode whose name is outside the name rule", "parent", p, "err", err)
			}
			continue
		}
		valid = append(valid, k)
	}
	return valid, nil
}

// putJSON writes v to a persistent znode, creating it when absent.
func (c *zkClient) putJSON(p string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if _, err := c.conn.Set(p, data, -1); err == nil {
		return nil
	} else if !errors.Is(err, zk.ErrNoNode) {
		return fmt.Errorf("write %s: %w", p, err)
	}
	if _, err := c.conn.Create(p, data, 0, c.acl); err != nil {
		return fmt.Errorf("create %s: %w", p, err)
	}
	return nil
}

// watch arms a one-shot watch on a znode's data (children when children is
// true) that pokes changed when it fires. A path is watched at most once at
// a time, so repeated reconciles do not pile up goroutines.
func (c *zkClient) watch(p string, children bool, changed chan<- struct{}) {
	key := p
	if children {
		key += "/*"
	}
	c.mu.Lock()
	if c.watched[key] {
		c.mu.Unlock()
		return
	}
	c.watched[key] = true
	c.mu.Unlock()
	var ch <-chan zk.Event
	var err error
	if children {
		_, _, ch, err = c.conn.ChildrenW(p)
	} else {
		_, _, ch, err = c.conn.ExistsW(p)
	}
	if err != nil {
		c.mu.Lock()
		delete(c.watched, key)
		c.mu.Unlock()
		return
	}
	go func() {
		<-ch
		c.mu.Lock()
		delete(c.watched, key)
		c.mu.Unlock()
		poke(changed)
	}()
}

// poke signals a coalescing channel without blocking.
func poke(ch chan<- struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// zkLogger sends go-zookeeper's logs to slog at debug level.
type zkLogger struct{ l *slog.Logger }

func (z zkLogger) Printf(format string, args ...any) { z.l.Debug(fmt.Sprintf(format, args...)) }
