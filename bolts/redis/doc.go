// Package redis holds squall's Redis bolts, the topology's output: a writer
// that turns tuples into Redis commands with a Mapper and pipelines them in
// batches, a lookup bolt that enriches tuples (Storm's RedisLookupBolt), and
// a filter bolt (RedisFilterBolt). They use any go-redis UniversalClient, so
// a single server, Sentinel or Cluster, with password or TLS, is a matter of
// the client's options.
//
// A tuple is acked only after Redis confirmed all of its commands; any error
// fails it, so its spout replays it. Batches flush when full, when the task's
// input runs dry (topology.Flusher), on a tick tuple, and after Linger.
//
// Replays make plain increments count twice. The writer's idempotent mode
// applies a tuple's commands in one Lua script only if the tuple's event id
// (an order id, say) was not applied before: the script checks that
// <IDPrefix><event id> does not exist and that every key has the type its
// command needs, then sets the id key with a TTL and runs the commands, so a
// failing tuple applies nothing. The TTL must outlast the replay horizon
// (the message timeout times the spout's retries, plus any restart time).
// Each remembered id costs one Redis string with a TTL: measured on redis 7,
// used_memory grows by about 130 bytes per id for 30-byte keys (MEMORY USAGE
// reports 88; the expiry table is the rest), so ten million orders a day
// with a one-day TTL take about 1.3 GB. In Redis
// Cluster, a tuple's keys and its id key must hash to one slot: give them a
// common {hash tag}.
package redis
