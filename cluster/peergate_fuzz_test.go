package cluster

import (
	"log/slog"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"github.com/squall-stream/squall/actors"
	"github.com/squall-stream/squall/internal/refusal"
	"github.com/squall-stream/squall/proto"
	protobuf "google.golang.org/protobuf/proto"
)

// FuzzPeerGate feeds message batches, as bytes off the wire, through the
// gate and then through what protoactor remote's endpoint reader does with
// what the gate let through: index the batch's targets, senders and type
// names, deserialize. Nothing may panic, and nothing but squall's messages,
// to this node, from the checked peer, may come out.
func FuzzPeerGate(f *testing.F) {
	const self, peer = "127.0.0.1:7000", "127.0.0.2:7000"
	gs := &gatedStream{gate: &peerGate{self: self, refusals: &refusal.Log{Logger: slog.New(slog.DiscardHandler)}}, from: "127.0.0.2:50000", addr: peer, senders: []*actor.PID{actors.PeerPID(peer)}}
	for _, msg := range []protobuf.Message{&proto.TupleFrame{Batch: []byte{1}}, &proto.Credit{Batches: 1}, &proto.AckBatch{SpoutTask: 1}, &actor.Stop{}} {
		data, _ := protobuf.Marshal(msg)
		b, _ := protobuf.Marshal(&remote.MessageBatch{
			TypeNames: []string{string(protobuf.MessageName(msg))},
			Targets:   []*actor.PID{actor.NewPID(self, "t/x-1")},
			Envelopes: []*remote.MessageEnvelope{{MessageData: data}},
		})
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var b remote.MessageBatch
		if protobuf.Unmarshal(data, &b) != nil || !gs.admit(&b) {
			return
		}
		for _, env := range b.Envelopes {
			target := b.Targets[env.Target]
			sender := b.Senders[env.Sender-1]
			if target.Address != self || sender.Address != peer {
				t.Fatalf("admitted a message to %v from %v", target, sender)
			}
			msg, err := remote.Deserialize(env.MessageData, b.TypeNames[env.TypeId], env.SerializerId)
			if err != nil {
				continue // the reader ends the stream
			}
			switch msg.(type) {
			case *proto.TupleFrame, *proto.Credit, *proto.AckBatch:
			default:
				t.Fatalf("admitted a %T", msg)
			}
		}
	})
}
