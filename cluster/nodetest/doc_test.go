// Package nodetest tests squall nodes end to end: several nodes, each with
// its protoactor remote transport, on a real ZooKeeper. protoactor's remote
// has data races of its own at start and shutdown, so unlike package
// cluster these tests run without -race.
package nodetest
