package topology

// GroupingKind says how a stream's tuples are spread over a bolt's tasks.
type GroupingKind int

// The groupings of Storm.
const (
	// Shuffle sends each tuple to one task, spreading tuples evenly.
	Shuffle GroupingKind = iota + 1
	// FieldsKey sends tuples with equal values of the grouping fields to the
	// same task, always: the choice depends only on the values and the
	// number of tasks, so it survives restarts and node changes.
	FieldsKey
	// All sends every tuple to every task.
	All
	// Global sends every tuple to the task with the lowest id.
	Global
	// Direct lets the emitter choose the task with EmitDirect.
	Direct
	// LocalOrShuffle prefers tasks in the same process, else shuffles.
	LocalOrShuffle
	// PartialKey splits each key between two candidate tasks, sending to the
	// less loaded one, to spread skewed keys (Storm's partialKeyGrouping).
	PartialKey
	// NoGrouping means the user does not care; squall shuffles.
	NoGrouping
	// CustomKind routes with a user's [CustomGrouping].
	CustomKind
)

var groupingNames = map[GroupingKind]string{
	Shuffle: "shuffle", FieldsKey: "fields", All: "all", Global: "global", Direct: "direct",
	LocalOrShuffle: "local-or-shuffle", PartialKey: "partial-key", NoGrouping: "none", CustomKind: "custom",
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
	// Fields are the grouping fields of FieldsKey and PartialKey.
	Fields Fields
	// Custom makes the CustomGrouping of each sending task.
	Custom func() CustomGrouping
}

// Input is a bolt's subscription to a stream of another component.
type Input struct {
	Component string
	Stream    string
	Grouping  Grouping
}
