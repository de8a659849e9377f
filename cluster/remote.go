package cluster

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

// TransportOptions configure a node's remote transport.
type TransportOptions struct {
	// Listen is the host:port to listen on; port 0 picks a free port.
	Listen string
	// TLS, when set, secures the transport both ways: the server presents
	// TLS.Certificates and clients verify peers against TLS.RootCAs.
	TLS *tls.Config
	// Logger receives protoactor's own logs. Default: discarded, since
	// squall logs what matters with component and task.
	Logger *slog.Logger
}

// Transport is a started actor system with protoactor remote.
type Transport struct {
	System *actor.ActorSystem
	// Addr is the address other nodes reach this one at.
	Addr   string
	remote *remote.Remote
}

// ErrListen wraps a failure to listen on the transport address.
var ErrListen = errors.New("cannot listen")

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
		logger = slog.New(slog.DiscardHandler)
	}
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return logger }))
	var ropts []remote.ConfigOption
	if opts.TLS != nil {
		creds := credentials.NewTLS(opts.TLS)
		ropts = append(ropts, remote.WithServerOptions(grpc.Creds(creds)), remote.WithDialOptions(grpc.WithTransportCredentials(creds)))
	}
	r := remote.NewRemote(system, remote.Configure(host, port, ropts...))
	if err := startRemote(r); err != nil {
		system.Shutdown()
		return nil, fmt.Errorf("transport %s:%d: %w", host, port, err)
	}
	return &Transport{System: system, Addr: net.JoinHostPort(host, strconv.Itoa(port)), remote: r}, nil
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
