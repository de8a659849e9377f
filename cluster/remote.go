package cluster

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"github.com/squall-stream/squall/internal/refusal"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

// TransportOptions configure a node's remote transport.
//
// Peers are authenticated by mutual TLS, from certificates (TLS) or from a
// cluster secret (Secret). A transport without either accepts any peer that
// can connect, so it listens on a loopback address only, unless Insecure.
type TransportOptions struct {
	// Listen is the host:port to listen on; port 0 picks a free port. The
	// host is the address other nodes reach this one at.
	Listen string
	// TLS, when set, is mutual TLS: the server presents TLS.Certificates,
	// verifies clients against TLS.ClientCAs (tls.RequireAndVerifyClientCert)
	// and clients verify servers against TLS.RootCAs. A peer's certificate
	// must be valid for the host of the address it connects as.
	TLS *tls.Config
	// Secret, when set, gives mutual TLS from a secret all the cluster's
	// nodes share (SecretTLS); at least MinSecretLen bytes. Not with TLS.
	Secret []byte
	// Insecure allows a transport without TLS on an address that is not a
	// loopback one: any host that reaches it can then send it tuples.
	Insecure bool
	// Logger receives what the transport refuses (failed TLS handshakes,
	// peers' messages that do not fit), once per peer and reason a minute.
	// protoactor's own logs are discarded. Default slog.Default().
	Logger *slog.Logger
}

// Transport is a started actor system with protoactor remote.
type Transport struct {
	System *actor.ActorSystem
	// Addr is the address other nodes reach this one at.
	Addr string
	// Mode names the transport's security (TransportPlaintext, or mutual TLS
	// with the fingerprint of the node certificate's issuer): nodes of one
	// cluster have the same.
	Mode   string
	remote *remote.Remote
}

var (
	// ErrListen wraps a failure to listen on the transport address.
	ErrListen = errors.New("cannot listen")
	// ErrInsecure means a transport without TLS or a cluster secret on an
	// address other hosts may reach, without TransportOptions.Insecure.
	ErrInsecure = errors.New("no TLS or cluster secret for a transport that other hosts can reach")
)

// isLoopback reports whether host names this machine only.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// StartTransport starts an actor system with protoactor remote. Unlike
// protoactor's Start, a bad or taken address is an error, not a panic.
func StartTransport(opts TransportOptions) (*Transport, error) {
	host, portStr, err := net.SplitHostPort(opts.Listen)
	if err != nil {
		return nil, fmt.Errorf("transport address %q: %w", opts.Listen, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("transport address %q: bad port: %w", opts.Listen, err)
	}
	tlsConf := opts.TLS
	switch {
	case opts.TLS != nil && opts.Secret != nil:
		return nil, fmt.Errorf("transport %q: both TLS certificates and a cluster secret; give one", opts.Listen)
	case opts.Secret != nil:
		if tlsConf, err = SecretTLS(opts.Secret, host); err != nil {
			return nil, fmt.Errorf("transport %q: %w", opts.Listen, err)
		}
	case opts.TLS == nil && !opts.Insecure && !isLoopback(host):
		return nil, fmt.Errorf("transport %q: %w: give certificates or a cluster secret, or allow it explicitly (insecure)", opts.Listen, ErrInsecure)
	}
	mode, err := transportMode(tlsConf)
	if err != nil {
		return nil, fmt.Errorf("transport %q: %w", opts.Listen, err)
	}
	// Take a free port ourselves so the address is known before protoactor
	// listens, and a taken one is reported here.
	lis, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return nil, fmt.Errorf("transport %q: %w: %v", opts.Listen, ErrListen, err)
	}
	port = lis.Addr().(*net.TCPAddr).Port
	if err := lis.Close(); err != nil {
		return nil, fmt.Errorf("transport %q: %w", opts.Listen, err)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	// protoactor logs every connection attempt and retry; what matters of
	// it (refusals, failed handshakes) the gate and credentials log.
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) }))
	gate := &peerGate{self: addr, refusals: &refusal.Log{Logger: logger.With("transport", addr)}}
	serverOpts := gate.serverOptions()
	var ropts []remote.ConfigOption
	if tlsConf != nil {
		creds := loggedCredentials{TransportCredentials: credentials.NewTLS(tlsConf), refusals: gate.refusals}
		serverOpts = append(serverOpts, grpc.Creds(creds))
		ropts = append(ropts, remote.WithDialOptions(grpc.WithTransportCredentials(creds)))
	}
	ropts = append(ropts, remote.WithServerOptions(serverOpts...))
	r := remote.NewRemote(system, remote.Configure(host, port, ropts...))
	if err := startRemote(r); err != nil {
		system.Shutdown()
		return nil, fmt.Errorf("transport %s: %w", addr, err)
	}
	return &Transport{System: system, Addr: addr, Mode: mode, remote: r}, nil
}

// loggedCredentials logs failed TLS handshakes, which gRPC keeps to itself:
// a peer without the cluster's certificates (or without TLS at all) is
// otherwise refused without a word.
type loggedCredentials struct {
	credentials.TransportCredentials
	refusals *refusal.Log
}

func (c loggedCredentials) ServerHandshake(conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	out, info, err := c.TransportCredentials.ServerHandshake(conn)
	if err != nil {
		host, _, _ := net.SplitHostPort(conn.RemoteAddr().String())
		c.refusals.Refuse(host, "TLS handshake of an incoming connection", "conn", conn.RemoteAddr().String(), "err", err)
	}
	return out, info, err
}

func (c loggedCredentials) ClientHandshake(ctx context.Context, authority string, conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	out, info, err := c.TransportCredentials.ClientHandshake(ctx, authority, conn)
	if err != nil && ctx.Err() == nil {
		c.refusals.Refuse(authority, "TLS handshake with a node this one connects to", "err", err)
	}
	return out, info, err
}

func (c loggedCredentials) Clone() credentials.TransportCredentials {
	return loggedCredentials{TransportCredentials: c.TransportCredentials.Clone(), refusals: c.refusals}
}

// startRemote turns protoactor's panic on a failed listen into an error.
func startRemote(r *remote.Remote) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %v", ErrListen, p)
		}
	}()
	r.Start()
	return nil
}

// Stop stops the transport and the actor system. In-flight messages to
// other nodes are dropped; their tuples time out and replay.
func (t *Transport) Stop() {
	t.remote.Shutdown(false)
	t.System.Shutdown()
}
