// Package topologytest provides what tests of spouts, bolts and topologies
// would otherwise each write again, as net/http/httptest does for handlers:
//
//   - [Collector] and [SpoutCollector]: output collectors that record what a
//     component emits, acks, fails and reports, to drive it directly;
//   - [BoltContext] and [Context]: the TopologyContext a task gets, to
//     Prepare or Open a component outside a runtime, and [Upstream], a spout
//     that only declares the fields a bolt under test reads;
//   - [BasicFunc]: a bolt made of a function, for the steps around the
//     component under test in a topology run;
//   - [Ledger]: spouts that emit ids 0..n-1 with message ids and replay the
//     failed ones, and the record of what was acked, to check after a run
//     that every id was acked exactly once.
//
// A topology run with a runtime such as actors.RunLocal, in outline:
//
//	ledger := topologytest.NewLedger(1000, topology.NewFields("id"), func(id int) topology.Values {
//		return topology.Values{int64(id)}
//	})
//	b := topology.NewBuilder()
//	b.SetSpout("ids", ledger.Spout, 1)
//	b.SetBolt("double", newDoubler, 4).ShuffleGrouping("ids")
//	// run it, and poll ledger.AllAcked() until it returns nil (its error
//	// says how far the run got, for the message of a timeout); then
//	ledger.CheckExactlyOnce(t)
//
// The package imports only package topology and the standard library, so a
// test that uses it links no runtime.
package topologytest
