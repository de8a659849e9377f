//go:build !race

package actors

// raceEnabled: the race detector drops a share of sync.Pool puts at random,
// so allocation counts mean nothing under it.
const raceEnabled = false
