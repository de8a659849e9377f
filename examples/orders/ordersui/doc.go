// Package ordersui is the orders page of squall's dashboard: the live
// figures the order analysis (package orders) writes to Redis, as a
// dashboard.Page that squall demo and squall ui add beside the topology
// page. It is the one part of the web app that knows the orders' Redis
// layout (orders.Keys).
//
// Endpoints:
//
//	/                        the orders page
//	/static/orders/          its script and stylesheet
//	/api/orders/summary      the order figures (JSON), also pushed as the
//	                         "summary" event of the dashboard's /api/events
package ordersui
