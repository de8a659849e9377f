// Package dashboard is squall's web UI, as Storm UI is Storm's: the
// topology page shows each running topology (drawn, with the metrics of its
// components and tasks), and offers its actions when given them. A program
// adds pages of its own beside it (Page), with the live documents they read
// pushed on the same event stream: squall demo and squall ui add the orders
// page of examples/orders/ordersui. The Go binary serves it; its pages are
// embedded, so it needs no build step at run time.
//
// Endpoints:
//
//	/topology                       the topology page
//	/                               a redirect to it, unless a page is there
//	/static/                        the pages' scripts and stylesheet
//	/api/topologies                 per-component metrics of each topology (JSON)
//	/api/topologies/{name}/{action} activate, deactivate or kill, with Options.Actions
//	/api/events                     every feed, pushed every second (server-sent events)
//	/metrics                        Prometheus, when Options.Prometheus is set
package dashboard
