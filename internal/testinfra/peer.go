package testinfra

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"
)

// Peer speaks protoactor remote's wire protocol to a squall node by hand,
// as an attacker on the network or a broken node would: it claims any
// address, and sends message batches a test builds, well-formed or not.
type Peer struct {
	conn   *grpc.ClientConn
	stream remote.Remoting_ReceiveClient
	cancel context.CancelFunc
}

// DialPeer connects to the node transport at addr, over tlsConf when not
// nil, and introduces itself as the node at claim. It returns once the node
// answered the connect request, or with the error that ended the stream.
func DialPeer(addr, claim string, tlsConf *tls.Config) (*Peer, error) {
	creds := insecure.NewCredentials()
	if tlsConf != nil {
		creds = credentials.NewTLS(tlsConf)
	}
	conn, err := grpc.Dial(addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		return nil, fmt.Errorf("peer to %s: %w", addr, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Peer{conn: conn, cancel: cancel}
	if p.stream, err = remote.NewRemotingClient(conn).Receive(ctx); err != nil {
		p.Close()
		return nil, fmt.Errorf("peer to %s: %w", addr, err)
	}
	hello := &remote.RemoteMessage{MessageType: &remote.RemoteMessage_ConnectRequest{ConnectRequest: &remote.ConnectRequest{
		ConnectionType: &remote.ConnectRequest_ServerConnection{ServerConnection: &remote.ServerConnection{SystemId: "peer", Address: claim}},
	}}}
	if err := p.stream.Send(hello); err != nil {
		p.Close()
		return nil, fmt.Errorf("peer to %s: connect: %w", addr, err)
	}
	reply, err := p.recv(10 * time.Second)
	if err != nil {
		p.Close()
		return nil, fmt.Errorf("peer to %s: connect: %w", addr, err)
	}
	if reply.GetConnectResponse() == nil {
		p.Close()
		return nil, fmt.Errorf("peer to %s: connect answered with %v", addr, reply)
	}
	return p, nil
}

// errNoAnswer means the node neither answered nor closed the stream in time.
var errNoAnswer = errors.New("no answer")

func (p *Peer) recv(d time.Duration) (*remote.RemoteMessage, error) {
	type result struct {
		m   *remote.RemoteMessage
		err error
	}
	ch := make(chan result, 1)
	go func() {
		m, err := p.stream.Recv()
		ch <- result{m, err}
	}()
	select {
	case r := <-ch:
		return r.m, r.err
	case <-time.After(d):
		return nil, errNoAnswer
	}
}

// Send sends a message batch as it is.
func (p *Peer) Send(b *remote.MessageBatch) error {
	return p.stream.Send(&remote.RemoteMessage{MessageType: &remote.RemoteMessage_MessageBatch{MessageBatch: b}})
}

// SendMessage sends msg to the actor target in a well-formed batch.
func (p *Peer) SendMessage(target *actor.PID, msg proto.Message) error {
	return p.Send(Batch(target, msg))
}

// Batch is a well-formed message batch carrying msg to target, as
// protoactor's endpoint writer builds one.
func Batch(target *actor.PID, msg proto.Message) *remote.MessageBatch {
	data, err := proto.Marshal(msg)
	if err != nil {
		panic(fmt.Sprintf("testinfra.Batch: %v", err))
	}
	return &remote.MessageBatch{
		TypeNames: []string{string(proto.MessageName(msg))},
		Targets:   []*actor.PID{target},
		Envelopes: []*remote.MessageEnvelope{{MessageData: data, Target: 0, TypeId: 0, SerializerId: 0}},
	}
}

// Closed reports whether the node closed the stream within d, as it does
// after refusing a connection.
func (p *Peer) Closed(d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		m, err := p.recv(time.Until(deadline))
		if errors.Is(err, errNoAnswer) {
			return false
		}
		if err != nil || m.GetDisconnectRequest() != nil {
			return true
		}
	}
	return false
}

// Close ends the connection.
func (p *Peer) Close() {
	p.cancel()
	_ = p.conn.Close()
}
