package topology

import "slices"

// GroupingKind says how a stream's tuples are spread over a bolt's tasks.
type GroupingKind int

// The groupings of Storm. Each is named after its type, so that none takes a
// name the package needs for something else ([Fields], [CustomGrouping]).
const (
	// GroupingShuffle sends each tuple to one task, spreading tuples evenly.
	GroupingShuffle GroupingKind = iota + 1
	// GroupingFields sends tuples with equal values of the grouping fields
	// to the same task, always: the choice depends only on the values and
	// the number of tasks, so it survives restarts and node changes.
	GroupingFields
	// GroupingAll sends every tuple to every task.
	GroupingAll
	// GroupingGlobal sends every tuple to the task with the lowest id.
	GroupingGlobal
	// GroupingDirect lets the emitter choose the task with EmitDirect.
	GroupingDirect
	// GroupingLocalOrShuffle prefers tasks in the same process, else
	// shuffles.
	GroupingLocalOrShuffle
	// GroupingPartialKey splits each key between two candidate tasks,
	// sending to the less loaded one, to spread skewed keys (Storm's
	// partialKeyGrouping).
	GroupingPartialKey
	// GroupingNone means the user does not care; squall shuffles.
	GroupingNone
	// GroupingCustom routes with a user's [CustomGrouping].
	GroupingCustom
)

var groupingNames = map[GroupingKind]string{
	GroupingShuffle: "shuffle", GroupingFields: "fields", GroupingAll: "all", GroupingGlobal: "global",
	GroupingDirect: "direct", GroupingLocalOrShuffle: "local-or-shuffle", GroupingPartialKey: "partial-key",
	GroupingNone: "none", GroupingCustom: "custom",
}

func (k GroupingKind) String() string {
	if n, ok := groupingNames[k]; ok {
		return n
	}
	return "unknown"
}

// CustomGrouping routes tuples with user code (Storm's CustomStreamGrouping).
// Each sending task gets its own instance from the factory given to
// [BoltDeclarer.CustomGrouping].
type CustomGrouping interface {
	// Prepare gives the ids of the tasks the grouping may choose from.
	Prepare(tc *TopologyContext, stream string, targetTasks []int)
	// ChooseTasks returns the task ids that get the tuple; each must be one of
	// the target tasks.
	ChooseTasks(values Values) []int
}

// Grouping is one subscription's grouping.
type Grouping struct {
	Kind GroupingKind
	// Fields are the grouping fields of GroupingFields and
	// GroupingPartialKey.
	Fields Fields
	// Custom makes the CustomGrouping of each sending task.
	Custom func() CustomGrouping
}

// clone copies g with a Fields of its own.
func (g Grouping) clone() Grouping {
	g.Fields = slices.Clone(g.Fields)
	return g
}

// Input is a bolt's subscription to a stream of another component.
type Input struct {
	Component string
	Stream    string
	Grouping  Grouping
}
