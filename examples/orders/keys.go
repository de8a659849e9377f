package orders

import "time"

// Keys is where the order analysis keeps its results in Redis, under a
// prefix per topology: the contract between the Redis writer bolts and the
// orders page (ordersui). Amounts (GMV, sales) are integers in fen (分), so
// that any number of increments stays exact.
type Keys struct{ Prefix string }

// DefaultPrefix is the key prefix of the reference topology.
const DefaultPrefix = "squall:orders:"

// Totals is a hash: "orders" (count) and "gmv".
func (k Keys) Totals() string { return k.Prefix + "totals" }

// ProvinceOrders and ProvinceGMV are hashes keyed by province.
func (k Keys) ProvinceOrders() string { return k.Prefix + "province:orders" }

// ProvinceGMV is a hash of GMV by province.
func (k Keys) ProvinceGMV() string { return k.Prefix + "province:gmv" }

// CategoryOrders and CategoryGMV are hashes keyed by category.
func (k Keys) CategoryOrders() string { return k.Prefix + "category:orders" }

// CategoryGMV is a hash of GMV by category.
func (k Keys) CategoryGMV() string { return k.Prefix + "category:gmv" }

// Payments is a hash of order counts by payment method.
func (k Keys) Payments() string { return k.Prefix + "payment:orders" }

// TopProducts is a sorted set of product names scored by sales.
func (k Keys) TopProducts() string { return k.Prefix + "top:products" }

// Buyers is the HyperLogLog of the day's unique buyers.
func (k Keys) Buyers(day time.Time) string {
	return k.Prefix + "buyers:" + day.UTC().Format("20060102")
}

// Minute is a hash ("orders", "gmv") for one minute, kept for a day.
func (k Keys) Minute(t time.Time) string {
	return k.Prefix + "minute:" + t.UTC().Format("200601021504")
}

// Window5m is a hash with the sliding five-minute "gmv" and "orders", and
// the window's bounds "from" and "to" (RFC 3339).
func (k Keys) Window5m() string { return k.Prefix + "window:5m" }

// Errors is a hash: "malformed" counts malformed order lines.
func (k Keys) Errors() string { return k.Prefix + "errors" }

// RecentErrors is a list of the latest malformed lines, newest first.
func (k Keys) RecentErrors() string { return k.Prefix + "errors:recent" }
