// Package dashboard is the web app at the end of the order pipeline: it
// reads the analysed orders from Redis and shows them live, and shows the
// running topology's metrics as the Storm UI does. The Go binary serves it;
// its pages are embedded, so it needs no build step at run time.
//
// Endpoints:
//
//	/                      the orders page
//	/topology              the topology page
//	/api/orders/summary    the order figures (JSON)
//	/api/topologies        per-component metrics of each topology (JSON)
//	/api/events            both, pushed every second (server-sent events)
//	/metrics               Prometheus, when Options.Prometheus is set
package dashboard
