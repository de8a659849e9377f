//go:build !race

package actors

// raceEnabled: the race detector drops a share of sync.Pool puts at random,
// so allocation counts are higher under it.
const raceEnabled = false
