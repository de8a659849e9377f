package orders

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/squall-stream/squall/bolts/redis"
)

// Truth is what the analysis must find in Redis for a set of order lines:
// the ground truth a generator writes beside its log (`squall gen-orders
// --truth`), and what end-to-end tests check. Amounts are in fen.
type Truth struct {
	Orders         int64            `json:"orders"`
	GMV            int64            `json:"gmv"`
	ProvinceOrders map[string]int64 `json:"provinceOrders"`
	ProvinceGMV    map[string]int64 `json:"provinceGmv"`
	CategoryOrders map[string]int64 `json:"categoryOrders"`
	CategoryGMV    map[string]int64 `json:"categoryGmv"`
	Payments       map[string]int64 `json:"payments"`
	Products       map[string]int64 `json:"products"`
	MinuteOrders   map[string]int64 `json:"minuteOrders"`
	MinuteGMV      map[string]int64 `json:"minuteGmv"`
	// Buyers are the unique buyers per day (20060102).
	Buyers    map[string]int64 `json:"buyers"`
	Malformed int64            `json:"malformed"`

	seenBuyers map[string]map[string]bool
}

// NewTruth returns an empty truth.
func NewTruth() *Truth {
	return &Truth{
		ProvinceOrders: map[string]int64{}, ProvinceGMV: map[string]int64{},
		CategoryOrders: map[string]int64{}, CategoryGMV: map[string]int64{},
		Payments: map[string]int64{}, Products: map[string]int64{},
		MinuteOrders: map[string]int64{}, MinuteGMV: map[string]int64{},
		Buyers: map[string]int64{}, seenBuyers: map[string]map[string]bool{},
	}
}

// Add counts an order.
func (t *Truth) Add(o Order) {
	fen := Fen(o.Amount)
	t.Orders++
	t.GMV += fen
	t.ProvinceOrders[o.Province]++
	t.ProvinceGMV[o.Province] += fen
	t.CategoryOrders[o.Category]++
	t.CategoryGMV[o.Category] += fen
	t.Payments[o.Payment]++
	t.Products[o.ProductName] += fen
	m := redis.BucketOf(o.CreatedAt, time.Minute)
	t.MinuteOrders[m]++
	t.MinuteGMV[m] += fen
	day := redis.BucketOf(o.CreatedAt, 24*time.Hour)
	if t.seenBuyers[day] == nil {
		t.seenBuyers[day] = map[string]bool{}
	}
	if !t.seenBuyers[day][o.UserID] {
		t.seenBuyers[day][o.UserID] = true
		t.Buyers[day]++
	}
}

// AddMalformed counts a malformed line.
func (t *Truth) AddMalformed() { t.Malformed++ }

// BuyersTolerance is the relative error allowed on unique buyers: Redis
// counts them with a HyperLogLog (standard error 0.81%).
const BuyersTolerance = 0.03

// Diff compares what Redis holds under keys with the truth and returns
// the differences, empty when everything matches (exactly, but for unique
// buyers: BuyersTolerance).
func (t *Truth) Diff(ctx context.Context, rc goredis.UniversalClient, keys Keys) ([]string, error) {
	var diffs []string
	hash := func(key string, want map[string]int64) error {
		got, err := rc.HGetAll(ctx, key).Result()
		if err != nil {
			return fmt.Errorf("read %s: %w", key, err)
		}
		diffs = append(diffs, compare(key, toInts(got), want)...)
		return nil
	}
	totals := map[string]int64{"orders": t.Orders, "gmv": t.GMV}
	checks := []struct {
		key  string
		want map[string]int64
	}{
		{keys.Totals(), totals},
		{keys.ProvinceOrders(), t.ProvinceOrders}, {keys.ProvinceGMV(), t.ProvinceGMV},
		{keys.CategoryOrders(), t.CategoryOrders}, {keys.CategoryGMV(), t.CategoryGMV},
		{keys.Payments(), t.Payments},
	}
	if t.Malformed > 0 {
		checks = append(checks, struct {
			key  string
			want map[string]int64
		}{keys.Errors(), map[string]int64{"malformed": t.Malformed}})
	}
	for _, c := range checks {
		if err := hash(c.key, c.want); err != nil {
			return nil, err
		}
	}
	for m, n := range t.MinuteOrders {
		at, err := time.Parse("200601021504", m)
		if err != nil {
			return nil, fmt.Errorf("truth minute %q: %w", m, err)
		}
		if err := hash(keys.Minute(at), map[string]int64{"orders": n, "gmv": t.MinuteGMV[m]}); err != nil {
			return nil, err
		}
	}
	zs, err := rc.ZRangeWithScores(ctx, keys.TopProducts(), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", keys.TopProducts(), err)
	}
	products := map[string]int64{}
	for _, z := range zs {
		products[fmt.Sprint(z.Member)] = int64(math.Round(z.Score))
	}
	diffs = append(diffs, compare(keys.TopProducts(), products, t.Products)...)
	for day, want := range t.Buyers {
		at, _ := time.Parse("20060102", day)
		got, err := rc.PFCount(ctx, keys.Buyers(at)).Result()
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", keys.Buyers(at), err)
		}
		if math.Abs(float64(got-want)) > BuyersTolerance*float64(want) {
			diffs = append(diffs, fmt.Sprintf("%s: %d unique buyers, truth %d (beyond the HyperLogLog's %.0f%%)", keys.Buyers(at), got, want, BuyersTolerance*100))
		}
	}
	return diffs, nil
}

func toInts(m map[string]string) map[string]int64 {
	out := make(map[string]int64, len(m))
	for k, v := range m {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			f, _ := strconv.ParseFloat(v, 64)
			n = int64(math.Round(f))
		}
		out[k] = n
	}
	return out
}

func compare(key string, got, want map[string]int64) []string {
	var diffs []string
	for k, w := range want {
		if got[k] != w {
			diffs = append(diffs, fmt.Sprintf("%s[%s] = %d, truth %d", key, k, got[k], w))
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s[%s] = %d, not in the truth", key, k, g))
		}
	}
	sort.Strings(diffs)
	return diffs
}
