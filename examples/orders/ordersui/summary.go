package ordersui

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/squall-stream/squall/examples/orders"
)

// Summary is what the orders page shows: /api/orders/summary.
type Summary struct {
	// Redis is false when the page has no Redis to read.
	Redis  bool    `json:"redis"`
	Orders int64   `json:"orders"`
	GMV    float64 `json:"gmv"`
	// Rate is orders per second, over the time since the previous read.
	Rate       float64  `json:"rate"`
	BuyersDay  int64    `json:"buyersToday"`
	Window5m   float64  `json:"gmv5m"`
	Malformed  int64    `json:"malformed"`
	Provinces  []Share  `json:"provinces"`
	Categories []Share  `json:"categories"`
	Payments   []Share  `json:"payments"`
	Top        []Share  `json:"topProducts"`
	Minutes    []Minute `json:"minutes"`
	Recent     []string `json:"recentErrors"`
	At         string   `json:"at"`
}

// Share is one row of a breakdown.
type Share struct {
	Name   string  `json:"name"`
	Orders int64   `json:"orders"`
	GMV    float64 `json:"gmv"`
}

// Minute is one point of the orders-per-minute chart.
type Minute struct {
	At     string  `json:"at"`
	Orders int64   `json:"orders"`
	GMV    float64 `json:"gmv"`
}

// minutesShown is the length of the orders-per-minute chart.
const minutesShown = 30

// summaries reads the summary from Redis, and keeps what the rate is
// measured from.
type summaries struct {
	redis goredis.UniversalClient
	keys  orders.Keys

	mu        sync.Mutex
	lastCount int64
	lastAt    time.Time
	rate      float64
}

// read reads the figures from Redis in one pipeline.
func (s *summaries) read(ctx context.Context) (any, error) {
	now := time.Now()
	sum := &Summary{At: now.UTC().Format(time.RFC3339)}
	if s.redis == nil {
		return sum, nil
	}
	sum.Redis = true
	k := s.keys
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	pipe := s.redis.Pipeline()
	totals := pipe.HGetAll(ctx, k.Totals())
	provO, provG := pipe.HGetAll(ctx, k.ProvinceOrders()), pipe.HGetAll(ctx, k.ProvinceGMV())
	catO, catG := pipe.HGetAll(ctx, k.CategoryOrders()), pipe.HGetAll(ctx, k.CategoryGMV())
	pay := pipe.HGetAll(ctx, k.Payments())
	top := pipe.ZRevRangeWithScores(ctx, k.TopProducts(), 0, 9)
	buyers := pipe.PFCount(ctx, k.Buyers(now))
	win := pipe.HGet(ctx, k.Window5m(), "gmv")
	errs := pipe.HGet(ctx, k.Errors(), "malformed")
	recent := pipe.LRange(ctx, k.RecentErrors(), 0, 9)
	minutes := make([]*goredis.MapStringStringCmd, minutesShown)
	start := now.Truncate(time.Minute).Add(-(minutesShown - 1) * time.Minute)
	for i := range minutes {
		minutes[i] = pipe.HGetAll(ctx, k.Minute(start.Add(time.Duration(i)*time.Minute)))
	}
	if _, err := pipe.Exec(ctx); err != nil && err != goredis.Nil {
		return nil, fmt.Errorf("read orders from Redis: %w", err)
	}
	t := totals.Val()
	sum.Orders, sum.GMV = atoi(t["orders"]), yuan(t["gmv"])
	sum.Provinces = shares(provO.Val(), provG.Val())
	sum.Categories = shares(catO.Val(), catG.Val())
	sum.Payments = shares(pay.Val(), nil)
	for _, z := range top.Val() {
		sum.Top = append(sum.Top, Share{Name: fmt.Sprint(z.Member), GMV: z.Score / 100})
	}
	sum.BuyersDay = buyers.Val()
	sum.Window5m = yuan(win.Val())
	sum.Malformed = atoi(errs.Val())
	sum.Recent = recent.Val()
	for i, m := range minutes {
		v := m.Val()
		sum.Minutes = append(sum.Minutes, Minute{At: start.Add(time.Duration(i) * time.Minute).Format("15:04"), Orders: atoi(v["orders"]), GMV: yuan(v["gmv"])})
	}
	sum.Rate = s.observeRate(sum.Orders, now)
	return sum, nil
}

// observeRate turns the order total into orders per second since the last
// read, smoothed so one slow poll does not make the rate jump.
func (s *summaries) observeRate(total int64, now time.Time) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.lastAt.IsZero() && now.Sub(s.lastAt) >= 500*time.Millisecond && total >= s.lastCount {
		r := float64(total-s.lastCount) / now.Sub(s.lastAt).Seconds()
		s.rate = 0.5*s.rate + 0.5*r
		s.lastCount, s.lastAt = total, now
	} else if s.lastAt.IsZero() || total < s.lastCount {
		s.lastCount, s.lastAt = total, now
	}
	return s.rate
}

func shares(orders, gmv map[string]string) []Share {
	out := make([]Share, 0, len(orders))
	for name, n := range orders {
		out = append(out, Share{Name: name, Orders: atoi(n), GMV: yuan(gmv[name])})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].GMV != out[j].GMV {
			return out[i].GMV > out[j].GMV
		}
		if out[i].Orders != out[j].Orders {
			return out[i].Orders > out[j].Orders
		}
		return out[i].Name < out[j].Name
	})
	return out
}

func atoi(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

// yuan reads an amount Redis keeps in fen (see orders.Keys).
func yuan(s string) float64 { return float64(atoi(s)) / 100 }
