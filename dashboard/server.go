package dashboard

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/squall-stream/squall/examples/orders"
)

//go:embed static
var static embed.FS

// Options configure the dashboard. Zero fields take the documented defaults.
type Options struct {
	// Addr is where to listen. Default "127.0.0.1:8080"; port 0 picks one.
	Addr string
	// Redis holds the analysed orders. Nil: the orders page says so.
	Redis goredis.UniversalClient
	// Keys is the Redis key layout. Default prefix orders.DefaultPrefix.
	Keys orders.Keys
	// Topologies returns the topologies the topology page shows, with
	// their metrics: the one running in this process (squall demo), or a
	// cluster's (squall ui). Nil: the page says no topology runs.
	Topologies func(ctx context.Context) ([]Topology, error)
	// Actions, if set, are offered on the topology page. Nil: the page only
	// shows.
	Actions Actions
	// ActionHosts are host names (beyond IP addresses and localhost) that
	// requests for Actions may use: the names the dashboard is reached by.
	ActionHosts []string
	// Prometheus, if set, is served at /metrics (promexport.NewHandler).
	Prometheus http.Handler
	// Every is how often /api/events pushes. Default 1s.
	Every time.Duration
	// Logger receives errors. Default slog.Default().
	Logger *slog.Logger
}

// Server serves the dashboard.
type Server struct {
	opts Options
	mux  *http.ServeMux

	mu        sync.Mutex
	lastCount int64
	lastAt    time.Time
	rate      float64
}

// New makes a Server.
func New(opts Options) *Server {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:8080"
	}
	if opts.Keys.Prefix == "" {
		opts.Keys.Prefix = orders.DefaultPrefix
	}
	if opts.Every <= 0 {
		opts.Every = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Server{opts: opts, mux: http.NewServeMux()}
	pages, _ := fs.Sub(static, "static")
	files := http.FileServer(http.FS(pages))
	s.mux.Handle("GET /static/", http.StripPrefix("/static/", files))
	s.mux.HandleFunc("GET /{$}", s.page("index.html"))
	s.mux.HandleFunc("GET /topology", s.page("topology.html"))
	s.mux.HandleFunc("GET /api/orders/summary", s.serveSummary)
	s.mux.HandleFunc("GET /api/topologies", s.serveTopologies)
	s.mux.HandleFunc("GET /api/events", s.serveEvents)
	if opts.Prometheus != nil {
		s.mux.Handle("GET /metrics", opts.Prometheus)
	}
	if opts.Actions != nil {
		s.mux.HandleFunc("POST /api/topologies/{name}/{action}", s.serveAction)
	}
	return s
}

// Handler returns the dashboard's HTTP handler.
func (s *Server) Handler() http.Handler { return s.mux }

// ListenAndServe listens on Options.Addr, reports the address it got on
// ready, and serves until ctx is done.
func (s *Server) ListenAndServe(ctx context.Context, ready func(addr string)) error {
	lis, err := net.Listen("tcp", s.opts.Addr)
	if err != nil {
		return fmt.Errorf("dashboard on %s: %w", s.opts.Addr, err)
	}
	srv := &http.Server{Handler: s.mux, ReadHeaderTimeout: 5 * time.Second}
	if ready != nil {
		ready(lis.Addr().String())
	}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()
	if err := srv.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func (s *Server) page(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b, err := static.ReadFile("static/" + name)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(b)
	}
}

func (s *Server) serveSummary(w http.ResponseWriter, r *http.Request) {
	sum, err := s.summary(r.Context())
	if err != nil {
		writeJSON(w, http.StatusBadGateway, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, sum)
}

func (s *Server) serveTopologies(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.topologies(r.Context()))
}

// serveEvents pushes the summary and the topologies every Options.Every as
// server-sent events, until the client goes away.
func (s *Server) serveEvents(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	tick := time.NewTicker(s.opts.Every)
	defer tick.Stop()
	for {
		sum, err := s.summary(r.Context())
		if err != nil {
			sum = &Summary{Error: err.Error()}
		}
		for _, ev := range []struct {
			name string
			v    any
		}{{"summary", sum}, {"topologies", s.topologies(r.Context())}} {
			b, _ := json.Marshal(ev.v)
			if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", ev.name, b); err != nil {
				return
			}
		}
		flusher.Flush()
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
		}
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
