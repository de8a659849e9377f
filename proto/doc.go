// Package proto holds what crosses a process boundary between squall nodes:
// the generated protobuf messages (tuple batches, ack-tree operations,
// flow-control credits) and the codec that turns
// tuple field values into protobuf Values and back. Inside one process the
// runtime passes tuples as Go values and never encodes them.
//
// The runtime checks every emitted value with CheckValue, in one process as
// on a cluster, so a topology that runs locally also runs distributed and an
// unserializable value is an error at emit time, not a crash on another node.
//
// What the codec carries, and what comes out on the other side:
//
//   - nil → nil.
//   - string → string, byte for byte: Go strings need not be UTF-8, so they
//     travel as protobuf bytes.
//   - int64 → int64; int is sent as int64 and decodes as int64.
//   - float64 → float64, including NaN, ±Inf and -0.
//   - bool → bool.
//   - []byte → []byte; nil and empty both decode as an empty, non-nil slice.
//   - time.Time → time.Time to the nanosecond, in UTC: the location and the
//     monotonic reading are dropped. Only the years 1 to 9999 (the range of
//     google.protobuf.Timestamp) are carried; others are ErrTimeOutOfRange.
//   - any proto.Message → the same message type, packed in a
//     google.protobuf.Any. Decoding needs the type linked into the receiving
//     binary (ErrUnknownMessageType otherwise). A nil message pointer
//     decodes as an empty message.
//   - types registered with RegisterCodec → the same type, by the codec's
//     name. Named types (type Price float64) and pointers to supported types
//     need a codec too.
//
// Anything else is ErrUnsupportedType. Decoding is strict: bytes that
// EncodeValue could not have produced are an error, never a panic.
//
// Regenerate squall.pb.go with `make proto`; a build needs no protoc.
package proto
