package cluster

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"runtime/debug"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"github.com/squall-stream/squall/actors"
	"github.com/squall-stream/squall/internal/refusal"
	"github.com/squall-stream/squall/proto"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	protobuf "google.golang.org/protobuf/proto"
)

// The peer gate stands in front of protoactor remote's endpoint reader,
// which trusts what it reads: an envelope naming a target or type index past
// its batch's lists, an unknown type or serializer, panics there and kills
// the node; a protoactor system message (Stop, Poison, Watch) reaches any
// actor it names. The gate reads every message of a stream before the
// reader does and lets through only what squall's runtime sends between
// nodes, to this node, from a peer whose address it has checked.
//
// Past the gate, every envelope's sender is the peer's checked address
// (actors.PeerPID): the runtime checks that the tasks a message speaks for
// are placed on that node.

// gatedMessages are the message types nodes send each other; the runtime
// checks each of them further. Anything else is refused.
var gatedMessages = map[string]bool{
	string(protobuf.MessageName(&proto.TupleFrame{})): true,
	string(protobuf.MessageName(&proto.Credit{})):     true,
	string(protobuf.MessageName(&proto.AckBatch{})):   true,
}

// protoSerializerID is protoactor remote's serializer for protobuf
// messages, the only one squall's messages use.
const protoSerializerID = 0

// receiveMethod is protoactor remote's one streaming RPC, that carries
// every message between nodes.
const receiveMethod = "/remote.Remoting/Receive"

// peerGate checks the streams of one node's transport.
type peerGate struct {
	self     string // this node's transport address
	refusals *refusal.Log
}

// errRefusedStream closes a stream the gate refused; the peer reconnects
// and is checked again.
var errRefusedStream = status.Error(codes.PermissionDenied, "refused by the squall node")

// serverOptions installs the gate on protoactor remote's gRPC server.
func (g *peerGate) serverOptions() []grpc.ServerOption {
	return []grpc.ServerOption{grpc.StreamInterceptor(g.stream), grpc.UnaryInterceptor(g.unary)}
}

// unary refuses protoactor remote's unary calls: squall uses none, and
// protoactor answers them with a panic ("implement me") that would end
// the node.
func (g *peerGate) unary(ctx context.Context, _ any, info *grpc.UnaryServerInfo, _ grpc.UnaryHandler) (any, error) {
	from := tcpPeer(ctx)
	g.refusals.Refuse(peerHost(from), "unsupported call", "method", info.FullMethod, "conn", from)
	return nil, status.Errorf(codes.Unimplemented, "%s is not served", info.FullMethod)
}

// stream checks a Receive stream's messages as protoactor reads them, and
// turns a panic of the reader into the end of that stream rather than of
// the node.
func (g *peerGate) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
	from := tcpPeer(ss.Context())
	if info.FullMethod != receiveMethod {
		g.refusals.Refuse(peerHost(from), "unsupported call", "method", info.FullMethod, "conn", from)
		return status.Errorf(codes.Unimplemented, "%s is not served", info.FullMethod)
	}
	gs := &gatedStream{ServerStream: ss, gate: g, from: from}
	defer func() {
		if p := recover(); p != nil {
			gs.refuse("message that crashed the transport's reader", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			err = errRefusedStream
		}
	}()
	err = handler(srv, gs)
	if err != nil && !errors.Is(err, errRefusedStream) && status.Code(err) != codes.Canceled {
		// The reader ends a stream on a message it cannot deserialize.
		gs.refuse("stream ended by an unreadable message", "err", err)
	}
	return err
}

// tcpPeer is the remote address of a call's connection.
func tcpPeer(ctx context.Context) string {
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		return p.Addr.String()
	}
	return "unknown"
}

// peerHost is the host of a connection's remote address: refusals before a
// peer said who it is are logged by host, since every reconnection comes
// from a new port.
func peerHost(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

// gatedStream is one peer's Receive stream seen through the gate.
type gatedStream struct {
	grpc.ServerStream
	gate *peerGate
	from string // the connection's remote address, for logs
	addr string // the peer's checked transport address, once connected
	// senders holds the one sender every envelope gets: the checked peer
	// (actors.PeerPID), made once a stream.
	senders []*actor.PID
}

// refuse logs a refusal under the peer's checked address, or its host
// before it has one.
func (s *gatedStream) refuse(why string, attrs ...any) {
	key := s.addr
	if key == "" {
		key = peerHost(s.from)
	}
	s.gate.refusals.Refuse(key, why, append(attrs, "conn", s.from)...)
}

// RecvMsg reads the next message the gate lets through.
func (s *gatedStream) RecvMsg(m any) error {
	for {
		if err := s.ServerStream.RecvMsg(m); err != nil {
			return err
		}
		msg, ok := m.(*remote.RemoteMessage)
		if !ok {
			return errRefusedStream
		}
		switch t := msg.GetMessageType().(type) {
		case *remote.RemoteMessage_ConnectRequest:
			if err := s.connect(t.ConnectRequest); err != nil {
				s.refuse("connection", "err", err)
				return errRefusedStream
			}
			return nil
		case *remote.RemoteMessage_MessageBatch:
			if s.addr == "" {
				s.refuse("messages before a connect request")
				return errRefusedStream
			}
			if s.admit(t.MessageBatch) {
				return nil
			}
		case *remote.RemoteMessage_DisconnectRequest:
			return nil
		default:
			s.refuse("unknown remote message")
		}
	}
}

// errPeerAddr means a peer's claimed address is unusable or not its own.
var errPeerAddr = errors.New("peer address")

// connect checks the address a peer claims in its connect request: the
// address its tasks are placed at. Over mutual TLS, the peer's verified
// certificate must be valid for the address's host, as the peer's server
// certificate must be for nodes that dial it.
func (s *gatedStream) connect(c *remote.ConnectRequest) error {
	sc := c.GetServerConnection()
	if sc == nil {
		return fmt.Errorf("%w: a connect request that is not a server's", errPeerAddr)
	}
	host, port, err := net.SplitHostPort(sc.GetAddress())
	if err != nil || host == "" || port == "" {
		return fmt.Errorf("%w %q: not host:port", errPeerAddr, sc.GetAddress())
	}
	if cert := verifiedPeerCert(s.Context()); cert != nil {
		if err := cert.VerifyHostname(host); err != nil {
			return fmt.Errorf("%w %q: the peer's certificate is not for it: %v", errPeerAddr, sc.GetAddress(), err)
		}
	}
	if s.addr != "" && s.addr != sc.GetAddress() {
		return fmt.Errorf("%w: %q, after connecting as %q", errPeerAddr, sc.GetAddress(), s.addr)
	}
	s.addr = sc.GetAddress()
	s.senders = []*actor.PID{actors.PeerPID(s.addr)}
	return nil
}

// verifiedPeerCert is the certificate a peer proved it holds, or nil on a
// connection without TLS.
func verifiedPeerCert(ctx context.Context) *x509.Certificate {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return nil
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok || len(info.State.VerifiedChains) == 0 || len(info.State.VerifiedChains[0]) == 0 {
		return nil
	}
	return info.State.VerifiedChains[0][0]
}

// admit drops the envelopes of a batch that the reader must not see, and
// names the checked peer as every envelope's sender. It reports whether any
// envelope is left.
func (s *gatedStream) admit(b *remote.MessageBatch) bool {
	kept := b.Envelopes[:0]
	for _, env := range b.Envelopes {
		if why := s.check(b, env); why != "" {
			s.refuse(why)
			continue
		}
		env.Sender, env.SenderRequestId, env.MessageHeader = 1, 0, nil
		kept = append(kept, env)
	}
	clear(b.Envelopes[len(kept):])
	b.Envelopes = kept
	b.Senders = s.senders
	return len(kept) > 0
}

// check returns why an envelope is refused, or "".
func (s *gatedStream) check(b *remote.MessageBatch, env *remote.MessageEnvelope) string {
	if env == nil {
		return "empty envelope"
	}
	if env.TypeId < 0 || int(env.TypeId) >= len(b.TypeNames) {
		return fmt.Sprintf("type index %d of %d types", env.TypeId, len(b.TypeNames))
	}
	if name := b.TypeNames[env.TypeId]; !gatedMessages[name] {
		return fmt.Sprintf("message type %q, which nodes do not send each other", name)
	}
	if env.SerializerId != protoSerializerID {
		return fmt.Sprintf("serializer %d", env.SerializerId)
	}
	if env.Target < 0 || int(env.Target) >= len(b.Targets) || b.Targets[env.Target] == nil {
		return fmt.Sprintf("target index %d of %d targets", env.Target, len(b.Targets))
	}
	if env.TargetRequestId != 0 {
		return "a request id on the target"
	}
	if t := b.Targets[env.Target]; t.Address != s.gate.self {
		return fmt.Sprintf("a target on %q, not this node", t.Address)
	}
	return ""
}
