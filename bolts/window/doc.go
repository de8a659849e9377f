// Package window is Storm's windowing for squall: a windowed bolt sees its
// input as sliding or tumbling windows, of processing time or of tuple
// counts, instead of one tuple at a time (Storm's BaseWindowedBolt). In the
// order pipeline it answers questions such as "orders per province in the
// last minute, every ten seconds" inside the topology.
//
// New turns a Bolt into a topology.Bolt factory for SetBolt; Count is a
// ready Bolt that counts tuples per key. A window's tuples are acked when
// they leave the window, and results are anchored to the tuples they came
// from, so a crash loses nothing: unacked tuples time out and replay.
//
// Windows are of processing time (a tuple's arrival at the bolt); event-time
// windows with watermarks are not supported.
package window
