// Package ingest is squall's log shipper, the first hop of a pipeline: it
// follows log files the way Flume's TAILDIR source does and produces each
// line as a Kafka record, from where squall topologies (through their Kafka
// spouts) consume them. `squall tail` runs it as a command.
//
// An Agent is a small protoactor-go actor tree: one actor per followed file
// reads it and hands its lines to a shared sarama AsyncProducer; a
// supervisor above them globs for files on every poll, spawns an actor per
// new file, tells actors when their file was renamed away, and restarts a
// crashed actor with a growing backoff. Files are identified by inode, so a
// file renamed by log rotation keeps its place and is read to its end before
// the file that took its name is started; a file that shrinks below the
// offset read (copy-truncate rotation), or no longer has a newline just
// before it, is read again from its start; a deleted file is closed once
// read to its end.
//
// No line is lost: the position file records, per inode, only the offset
// below which Kafka acknowledged every line, and is replaced atomically.
// After a crash the next run starts from there, so the lines sent after it
// may be produced twice; nothing before it is. When Kafka is unreachable,
// lines wait in the producer up to Config.MaxBufferedBytes, then reading
// waits; lines Kafka refused are read and sent again, with a backoff. Those
// then come after later lines that got through, so around an outage a
// file's lines may arrive out of order (and some twice), never missing.
//
// Copy-truncate rotation has a window no tailer can close: lines written
// after the agent's last read and before the truncation exist only in the
// copy, which the globs should not match. Rename rotation has none, as long
// as a poll sees each file before it is rotated away in turn.
package ingest
