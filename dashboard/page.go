package dashboard

import (
	"context"
	"net/http"
)

// Page is a page a program adds to the dashboard beside the topology page,
// as squall's binary adds the orders page of examples/orders: its handlers,
// the live documents it reads, and its place in the navigation.
type Page struct {
	// Path is the page's address and Title its name in the topology page's
	// navigation. A page at "/" replaces the redirect from there to the
	// topology page.
	Path, Title string
	// Handlers serve the page and its assets, by http.ServeMux pattern
	// ("GET /{$}", "GET /static/orders/"). They must not take the
	// dashboard's own: /topology, /static/ itself, /api/topologies,
	// /api/events, /metrics.
	Handlers map[string]http.Handler
	// Feeds are the documents the page shows live.
	Feeds []Feed
}

// Feed is a JSON document the dashboard serves at Path and pushes, as the
// server-sent event named Event, on /api/events at every refresh.
type Feed struct {
	Path  string
	Event string
	// Read returns the document, read anew for each request and push. An
	// error is sent as {"error": "…"}, with 502 Bad Gateway at Path: what
	// the page reads from could not be read.
	Read func(ctx context.Context) (any, error)
}
