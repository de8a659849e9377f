package zkstore

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/go-zookeeper/zk"
)

// ErrOpenACL means that, with Options.Auth, a znode under squall's root
// lets someone other than that user change it (create, write, delete or
// admin). Nodes would then run what anyone submits, so OpenRoot (and so
// cluster.StartNode and cluster.NewAdmin) and OpenOffsets refuse such a
// root; the error names the znodes and who else can change them. SecureRoot (`squall zk-secure`) gives a root, for
// instance one created before auth was turned on, to the user alone.
var ErrOpenACL = errors.New("ZooKeeper lets others than squall's user change its znodes")

// permChange are the permissions that let a client change squall's state.
// Reading is not among them; squall grants it to nobody else either, as
// topology records carry their submitted settings.
const permChange = zk.PermCreate | zk.PermWrite | zk.PermDelete | zk.PermAdmin

// verifyACLs fails with ErrOpenACL when anyone but the authenticated user
// can change a znode at paths (with deep, or under them). Without auth
// squall's znodes are open by design, and there is nothing to verify.
func (s *Session) verifyACLs(deep bool, paths ...string) error {
	self := s.acl[0]
	if self.Scheme != "digest" {
		return nil
	}
	var open []string
	check := func(p string) (bool, error) {
		acl, _, err := s.conn.GetACL(p)
		switch {
		case errors.Is(err, zk.ErrNoNode):
			return false, nil
		case errors.Is(err, zk.ErrNoAuth):
			open = append(open, p+" (someone else's: its ACL is not readable to "+s.user()+")")
			return false, nil
		case err != nil:
			return false, fmt.Errorf("read the ACL of %s: %w", p, err)
		}
		var others []string
		for _, a := range acl {
			if a.Perms&permChange != 0 && (a.Scheme != self.Scheme || a.ID != self.ID) {
				others = append(others, a.Scheme+":"+a.ID+" "+permLetters(a.Perms))
			}
		}
		if len(others) > 0 {
			open = append(open, p+" ("+strings.Join(others, ", ")+")")
			return false, nil // what is under it is suspect anyway
		}
		return deep, nil
	}
	for _, p := range paths {
		if err := s.walk(p, check); err != nil {
			return err
		}
	}
	if len(open) == 0 {
		return nil
	}
	more := ""
	if len(open) > 3 {
		more = fmt.Sprintf(" and %d more", len(open)-3)
		open = open[:3]
	}
	return fmt.Errorf("%w: %s%s; `squall zk-secure` (zkstore.SecureRoot) gives %s to %s alone",
		ErrOpenACL, strings.Join(open, ", "), more, s.l.root, s.user())
}

// SecureRoot sets the ACL of squall's root and of every znode under it to
// the user of opts.Auth alone, as squall creates them with auth: it migrates
// a root created without auth, or left open, so that nodes started with
// auth accept it. Running it again changes nothing. It returns how many
// znodes it changed. Records written while the root was open are kept as
// they are, whoever wrote them.
func SecureRoot(opts Options) (changed int, err error) {
	if opts.Auth == "" {
		return 0, fmt.Errorf("securing ZooKeeper needs the credentials (user:password) to give it to")
	}
	s, err := dial(opts)
	if err != nil {
		return 0, err
	}
	defer s.Close()
	if err := s.ensureDirs(); err != nil {
		return 0, err
	}
	// A znode is closed before its children are listed, so none can be
	// added behind the walk.
	err = s.walk(s.l.root, func(p string) (bool, error) {
		acl, _, err := s.conn.GetACL(p)
		if err == nil {
			if slices.Equal(acl, s.acl) {
				return true, nil
			}
			_, err = s.conn.SetACL(p, s.acl, -1)
		}
		switch {
		case errors.Is(err, zk.ErrNoNode):
			return false, nil
		case errors.Is(err, zk.ErrNoAuth):
			return false, fmt.Errorf("secure %s: %w: another user owns it; only ZooKeeper's super user can change or delete it", p, err)
		case err != nil:
			return false, fmt.Errorf("secure %s: %w", p, err)
		}
		changed++
		return true, nil
	})
	return changed, err
}

// walk visits p and, while visit says to descend, the znodes under it,
// parents first: a parent is visited before its children are listed.
func (s *Session) walk(p string, visit func(string) (bool, error)) error {
	descend, err := visit(p)
	if err != nil || !descend {
		return err
	}
	kids, _, err := s.conn.Children(p)
	if errors.Is(err, zk.ErrNoNode) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("list %s: %w", p, err)
	}
	for _, k := range kids {
		if err := s.walk(path.Join(p, k), visit); err != nil {
			return err
		}
	}
	return nil
}

// user is the name squall authenticates as.
func (s *Session) user() string {
	user, _, _ := strings.Cut(s.acl[0].ID, ":")
	return user
}

// permLetters writes permissions as ZooKeeper's CLI does, e.g. "cdrwa".
func permLetters(perms int32) string {
	var b strings.Builder
	for _, p := range []struct {
		bit    int32
		letter byte
	}{{zk.PermCreate, 'c'}, {zk.PermDelete, 'd'}, {zk.PermRead, 'r'}, {zk.PermWrite, 'w'}, {zk.PermAdmin, 'a'}} {
		if perms&p.bit != 0 {
			b.WriteByte(p.letter)
		}
	}
	return b.String()
}
