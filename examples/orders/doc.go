// Package orders is squall's reference job: the real-time analysis of an
// e-commerce site's orders. It holds the order model, a generator of
// realistic orders (Chinese provinces, cities and products), and the
// analysis topology.
package orders
