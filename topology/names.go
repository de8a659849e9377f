package topology

import (
	"errors"
	"fmt"
	"strings"
)

// NameKind says what a name names: errors name it, and it decides the one
// exception to the name rule (NodeID).
type NameKind string

// The kinds of names ValidateName checks.
const (
	TopologyName NameKind = "topology name"
	ComponentID  NameKind = "component id"
	StreamID     NameKind = "stream id"
	// NodeID may also hold ':', so that a node's id can be its transport
	// address, host:port, as Storm names workers; ZooKeeper takes ':' in a
	// znode name as any other character.
	NodeID NameKind = "node id"
)

// MaxNameLen is the longest name ValidateName accepts, in bytes.
const MaxNameLen = 255

// ErrBadName means a topology name, component or stream id, or node id
// outside the name rule (see ValidateName). These names become znode names
// in ZooKeeper, actor names and metric labels, so one that could be read as
// a path ("..", "a/b") must never get that far.
var ErrBadName = errors.New("bad name")

// ValidateName checks a name against Storm's rule: 1 to MaxNameLen ASCII
// letters, digits, '-', '_' and '.' (node ids also ':'), neither "." alone
// nor holding "..". The error, wrapping ErrBadName, names the kind, the
// name, and what is wrong with it. Every entrance that takes a name (the
// Builder, the runtime, the cluster's API and its ZooKeeper paths, the
// command line and the dashboard) checks it here, so there is one rule.
func ValidateName(kind NameKind, name string) error {
	if problem := nameProblem(kind, name); problem != "" {
		allowed := "letters, digits, '-', '_' and '.'"
		if kind == NodeID {
			allowed = "letters, digits, '-', '_', '.' and ':'"
		}
		return fmt.Errorf("%s %q: %w: %s (a name is 1 to %d of %s, and neither \".\" nor holding \"..\")", kind, name, ErrBadName, problem, MaxNameLen, allowed)
	}
	return nil
}

// nameProblem says what is wrong with a name, or "" when nothing is.
func nameProblem(kind NameKind, name string) string {
	switch {
	case name == "":
		return "empty"
	case len(name) > MaxNameLen:
		return fmt.Sprintf("%d bytes long", len(name))
	case name == ".":
		return `"." alone`
	case strings.Contains(name, ".."):
		return `holds ".."`
	}
	for _, r := range name {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9', r == '-', r == '_', r == '.':
		case r == ':' && kind == NodeID:
		default:
			return fmt.Sprintf("holds %q", r)
		}
	}
	return ""
}
