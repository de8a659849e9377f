package zkstore

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

// Session is a ZooKeeper session with squall's layout, ACLs and JSON
// records. Its methods are safe for concurrent use.
type Session struct {
	conn *zk.Conn
	l    Layout
	acl  []zk.ACL
	log  *slog.Logger

	mu      sync.Mutex
	skipped map[string]bool // children warned about for a bad name
}

// dial connects and waits for a session, up to the session timeout.
func dial(opts Options) (*Session, error) {
	opts = opts.Defaults()
	if len(opts.Servers) == 0 {
		return nil, fmt.Errorf("%w: no servers given", ErrNoZooKeeper)
	}
	l, err := newLayout(opts.Root)
	if err != nil {
		return nil, err
	}
	conn, _, err := zk.Connect(opts.Servers, opts.SessionTimeout, zk.WithLogInfo(false), zk.WithLogger(zkLogger{opts.Logger}))
	if err != nil {
		return nil, fmt.Errorf("%w at %s: %v", ErrNoZooKeeper, strings.Join(opts.Servers, ","), err)
	}
	s := &Session{conn: conn, l: l, acl: zk.WorldACL(zk.PermAll), log: opts.Logger, skipped: map[string]bool{}}
	if opts.Auth != "" {
		user, password, ok := strings.Cut(opts.Auth, ":")
		if !ok {
			conn.Close()
			return nil, fmt.Errorf("ZooKeeper auth must be user:password")
		}
		if err := conn.AddAuth("digest", []byte(opts.Auth)); err != nil {
			conn.Close()
			return nil, fmt.Errorf("ZooKeeper digest auth: %w", err)
		}
		// The digest itself rather than the "auth" scheme, which ZooKeeper
		// expands to it: verifyACLs and SecureRoot compare ACLs read back
		// against this one.
		s.acl = zk.DigestACL(zk.PermAll, user, password)
	}
	deadline := time.After(opts.SessionTimeout + 2*time.Second)
	for conn.State() != zk.StateHasSession {
		select {
		case <-deadline:
			conn.Close()
			return nil, fmt.Errorf("%w at %s: no session after %v", ErrNoZooKeeper, strings.Join(opts.Servers, ","), opts.SessionTimeout+2*time.Second)
		case <-time.After(10 * time.Millisecond):
		}
	}
	return s, nil
}

// OpenRoot connects to squall's root, creating its folders. It fails with
// ErrNoZooKeeper when no server gives a session within the session
// timeout, and with auth, with ErrOpenACL while others can change anything
// under the root.
func OpenRoot(opts Options) (*Session, error) {
	s, err := dial(opts)
	if err != nil {
		return nil, err
	}
	if err := s.ensureDirs(); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.verifyACLs(true, s.l.root); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Close ends the session.
func (s *Session) Close() { s.conn.Close() }

// Conn is the session's connection, for what the methods here do not
// cover: ephemeral znodes, versioned writes, watches. Znodes created
// through it take ACL.
func (s *Session) Conn() *zk.Conn { return s.conn }

// Layout says where each record lives.
func (s *Session) Layout() Layout { return s.l }

// ACL is the ACL of the znodes squall creates: its user's alone with auth,
// anyone's without.
func (s *Session) ACL() []zk.ACL { return s.acl }

// Logger receives the session's warnings.
func (s *Session) Logger() *slog.Logger { return s.log }

// ensureDirs creates the layout's persistent parents.
func (s *Session) ensureDirs() error {
	for _, p := range s.l.dirs() {
		if _, err := s.conn.Create(p, nil, 0, s.acl); err != nil && !errors.Is(err, zk.ErrNodeExists) {
			return fmt.Errorf("create %s: %w", p, err)
		}
	}
	return nil
}

// GetJSON reads a znode into v; ok is false when it does not exist.
func (s *Session) GetJSON(p string, v any) (version int32, ok bool, err error) {
	data, st, err := s.conn.Get(p)
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

// Children lists the children of p whose names are valid names of kind,
// sorted. The others were not written by squall; a path made of them could
// point anywhere, so they are skipped, with a warning the first time.
func (s *Session) Children(p string, kind topology.NameKind) ([]string, error) {
	kids, _, err := s.conn.Children(p)
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
			s.mu.Lock()
			warn := !s.skipped[p+"/"+k]
			s.skipped[p+"/"+k] = true
			s.mu.Unlock()
			if warn {
				s.log.Warn("skipping a znode whose name is outside the name rule", "parent", p, "err", err)
			}
			continue
		}
		valid = append(valid, k)
	}
	return valid, nil
}

// PutJSON writes v to a persistent znode, creating it when absent.
func (s *Session) PutJSON(p string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if _, err := s.conn.Set(p, data, -1); err == nil {
		return nil
	} else if !errors.Is(err, zk.ErrNoNode) {
		return fmt.Errorf("write %s: %w", p, err)
	}
	if _, err := s.conn.Create(p, data, 0, s.acl); err != nil {
		return fmt.Errorf("create %s: %w", p, err)
	}
	return nil
}

// zkLogger sends go-zookeeper's logs to slog at debug level.
type zkLogger struct{ l *slog.Logger }

func (z zkLogger) Printf(format string, args ...any) { z.l.Debug(fmt.Sprintf(format, args...)) }
