package topologyinternal

// Hooks to what package topology keeps of a component, which topology sets in
// its init. They are typed any because this package cannot name topology's
// types (topology imports it); each comment gives the function a hook holds,
// which the runtime asserts once, when it is initialised, so a mismatch stops
// every program and test at once.
var (
	// NewSpout holds a func(*topology.ComponentSpec) topology.Spout: a new
	// instance of a spout component, made by its factory.
	NewSpout any
	// NewBolt holds a func(*topology.ComponentSpec) topology.Bolt: a new
	// instance of a bolt component, made by its factory.
	NewBolt any
	// ReleasesInput holds a func(*topology.ComponentSpec) bool: whether the
	// bolt's instances keep no input tuple once Execute returns
	// (topology.InputReleaser), as Build read it.
	ReleasesInput any
)
