// Package ingest is squall's log shipper, the first hop of a pipeline: it
// follows log files the way Flume's TAILDIR source does and produces each
// line as a Kafka record, from where squall topologies (through their Kafka
// spouts) consume them. `squall tail` runs it as a command.
//
// An Agent is a small protoactor-go actor tree: one actor per followed file
// reads it and appends its lines to the agent's producer; a supervisor
// above them globs for files on every poll, spawns an actor per new file,
// tells actors when their file was renamed away, and restarts a crashed
// actor with a growing backoff.
//
// The producer is built on sarama's protocol layer (its Client, record
// batches and Broker.AsyncProduce), not on its AsyncProducer, whose
// per-message structs, copies and goroutine hops cost more than reading
// and cutting the lines. Lines go straight into a per-partition batch (a
// key's partition is the one sarama's hash partitioner picks; lines without
// a key fill one partition's batch, then the next, like Kafka's sticky
// partitioner); a batch is sent once it holds BatchBytes or BatchLines or
// is Linger old, idempotently with up to five batches in flight per
// partition, and Kafka's answer acknowledges all its lines at once. Files are identified by inode, so a
// file renamed by log rotation keeps its place and is read to its end before
// the file that took its name is started; a file that shrinks below the
// offset read (copy-truncate rotation), or no longer has a newline just
// before it, is read again from its start; a deleted file is closed once
// read to its end.
//
// No line is lost: the position file records, per inode, only the offset
// below which Kafka acknowledged every line, and is replaced atomically.
// After a crash the next run starts from there, so the lines sent after it
// may be produced twice; nothing before it is. While Kafka is unreachable
// or a partition's leader moves, the producer sends the same batches again,
// in order and with the same sequence numbers, so that they arrive neither
// twice nor out of order; lines wait in the producer up to
// Config.MaxBufferedBytes, then reading waits. Lines in a batch Kafka
// refuses for good are read from the file and sent again, with a backoff:
// those may then come after later lines that got through (and some twice),
// never missing.
//
// Copy-truncate rotation has a window no tailer can close: lines written
// after the agent's last read and before the truncation exist only in the
// copy, which the globs should not match. Rename rotation has none, as long
// as a poll sees each file before it is rotated away in turn.
package ingest
