package dashboard

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// static holds the script and stylesheet of every page, served in
// /static/.
//
//go:embed static
var static embed.FS

//go:embed topology.html
var topologyHTML string

// topologyPage is the topology page, with the added pages in its
// navigation.
var topologyPage = template.Must(template.New("topology").Parse(topologyHTML))

// Options configure the dashboard. Zero fields take the documented defaults.
type Options struct {
	// Addr is where to listen. Default "127.0.0.1:8080"; port 0 picks one.
	Addr string
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
	// Pages are added beside the topology page.
	Pages []Page
	// Every is how often /api/events pushes. Default 1s.
	Every time.Duration
	// Logger receives errors. Default slog.Default().
	Logger *slog.Logger
}

// Server serves the dashboard.
type Server struct {
	opts Options
	mux  *http.ServeMux
	// feeds are the topologies' and the pages', in the order /api/events
	// pushes them.
	feeds []Feed
}

// New makes a Server. It panics, as http.ServeMux does, when a page's
// handler takes a pattern already taken.
func New(opts Options) *Server {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:8080"
	}
	if opts.Every <= 0 {
		opts.Every = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Server{opts: opts, mux: http.NewServeMux()}
	assets, _ := fs.Sub(static, "static")
	s.mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(assets)))
	s.mux.HandleFunc("GET /topology", s.serveTopologyPage)
	s.mux.HandleFunc("GET /api/events", s.serveEvents)
	if opts.Prometheus != nil {
		s.mux.Handle("GET /metrics", opts.Prometheus)
	}
	if opts.Actions != nil {
		s.mux.HandleFunc("POST /api/topologies/{name}/{action}", s.serveAction)
	}
	s.addFeed(Feed{Path: "/api/topologies", Event: "topologies", Read: func(ctx context.Context) (any, error) { return s.topologies(ctx), nil }})
	home := false
	for _, p := range opts.Pages {
		for pattern, h := range p.Handlers {
			s.mux.Handle(pattern, h)
		}
		for _, f := range p.Feeds {
			s.addFeed(f)
		}
		home = home || p.Path == "/"
	}
	if !home {
		s.mux.Handle("GET /{$}", http.RedirectHandler("/topology", http.StatusFound))
	}
	return s
}

// addFeed serves f at its path and pushes it with the others.
func (s *Server) addFeed(f Feed) {
	s.feeds = append(s.feeds, f)
	s.mux.HandleFunc("GET "+f.Path, func(w http.ResponseWriter, r *http.Request) {
		v, err := f.Read(r.Context())
		if err != nil {
			writeJSON(w, http.StatusBadGateway, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, v)
	})
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

func (s *Server) serveTopologyPage(w http.ResponseWriter, _ *http.Request) {
	var b bytes.Buffer
	if err := topologyPage.Execute(&b, s.opts.Pages); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(b.Bytes())
}

// serveEvents pushes every feed every Options.Every as server-sent events,
// until the client goes away.
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
		for _, f := range s.feeds {
			v, err := f.Read(r.Context())
			if err != nil {
				v = map[string]string{"error": err.Error()}
			}
			b, _ := json.Marshal(v)
			if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", f.Event, b); err != nil {
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
