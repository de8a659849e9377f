// Package proto holds what crosses a process boundary between squall nodes:
// the generated protobuf messages (tuple batches, ack-tree operations,
// credits, control) and the codec that turns tuple field values into
// protobuf Values and back.
//
// The runtime checks every emitted value with CheckValue, in one process as
// on a cluster, so a topology that runs locally also runs distributed and an
// unserializable value is an error at emit time, not a crash on another node.
//
// Supported values: nil, string, int64, int (sent as int64, decoded as
// int64), float64, bool, []byte (nil decodes as an empty slice), time.Time
// (to the nanosecond; decoded in UTC), any proto.Message (decoded only where
// its type is linked into the binary), and types registered with
// RegisterCodec.
//
// Regenerate squall.pb.go with `make proto`.
package proto
