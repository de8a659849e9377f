package ordersui

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/squall-stream/squall/dashboard"
	"github.com/squall-stream/squall/examples/orders"
	"github.com/squall-stream/squall/internal/testinfra"
)

// The seeded figures.
const seedOrders, seedGMV = 1234, 9876550 // ¥98,765.50

// seed writes a few minutes of analysed orders under k, as the analysis
// would have.
func seed(t *testing.T, rc *goredis.Client, k orders.Keys, now time.Time) {
	t.Helper()
	ctx := t.Context()
	p := rc.Pipeline()
	p.HSet(ctx, k.Totals(), "orders", seedOrders, "gmv", seedGMV)
	p.HSet(ctx, k.ProvinceOrders(), "广东", 700, "北京", 534)
	p.HSet(ctx, k.ProvinceGMV(), "广东", 6000000, "北京", 3876550)
	p.HSet(ctx, k.CategoryOrders(), "手机数码", 900, "服饰鞋包", 334)
	p.HSet(ctx, k.CategoryGMV(), "手机数码", 8000000, "服饰鞋包", 1876550)
	p.HSet(ctx, k.Payments(), "支付宝", 800, "微信支付", 434)
	p.ZAdd(ctx, k.TopProducts(), goredis.Z{Member: "华为 Mate 60 Pro 手机", Score: 699900}, goredis.Z{Member: "小米 14 手机", Score: 399900})
	p.PFAdd(ctx, k.Buyers(now), "U1", "U2", "U3")
	p.HSet(ctx, k.Minute(now), "orders", 42, "gmv", 420000)
	p.HSet(ctx, k.Minute(now.Add(-time.Minute)), "orders", 17, "gmv", 170000)
	p.HSet(ctx, k.Window5m(), "gmv", 590000)
	p.HSet(ctx, k.Errors(), "malformed", 3)
	p.LPush(ctx, k.RecentErrors(), "not json")
	if _, err := p.Exec(ctx); err != nil {
		t.Fatal(err)
	}
}

// readSummary gets the summary from the dashboard at url.
func readSummary(t *testing.T, url string) (int, Summary, string) {
	t.Helper()
	resp, err := http.Get(url + "/api/orders/summary")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		Summary
		Error string `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, doc.Summary, doc.Error
}

func TestSummaryReadsTheOrderFiguresFromRedis(t *testing.T) {
	r := testinfra.StartRedis(t)
	rc := goredis.NewClient(&goredis.Options{Addr: r.Addr()})
	defer rc.Close()
	k := orders.Keys{Prefix: "test:orders:"}
	seed(t, rc, k, time.Now())
	srv := httptest.NewServer(dashboard.New(dashboard.Options{Pages: []dashboard.Page{Page(Options{Redis: rc, Keys: k})}}).Handler())
	defer srv.Close()

	code, s, _ := readSummary(t, srv.URL)
	if code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	if !s.Redis || s.Orders != seedOrders || s.GMV != 98765.5 || s.BuyersDay != 3 || s.Malformed != 3 || s.Window5m != 5900 {
		t.Fatalf("summary: %+v", s)
	}
	if len(s.Provinces) != 2 || s.Provinces[0] != (Share{Name: "广东", Orders: 700, GMV: 60000}) {
		t.Fatalf("provinces: %+v", s.Provinces)
	}
	if len(s.Payments) != 2 || s.Payments[0] != (Share{Name: "支付宝", Orders: 800}) {
		t.Fatalf("payments: %+v", s.Payments)
	}
	if len(s.Top) != 2 || s.Top[0] != (Share{Name: "华为 Mate 60 Pro 手机", GMV: 6999}) {
		t.Fatalf("top products: %+v", s.Top)
	}
	if len(s.Minutes) != minutesShown || s.Minutes[minutesShown-1].Orders != 42 || s.Minutes[minutesShown-2].Orders != 17 {
		t.Fatalf("minutes: last two %+v of %d", s.Minutes[len(s.Minutes)-2:], len(s.Minutes))
	}
	if len(s.Recent) != 1 || s.Recent[0] != "not json" {
		t.Fatalf("recent errors: %v", s.Recent)
	}

	// Redis down: a clear error, no panic, no hang.
	r.Stop()
	if code, _, msg := readSummary(t, srv.URL); code != http.StatusBadGateway || !strings.Contains(msg, "Redis") {
		t.Fatalf("with Redis down: %d %q", code, msg)
	}
}

// The page is at /, its assets beside the dashboard's, and the topology
// page links to it; without Redis its summary says so.
func TestPageOnTheDashboard(t *testing.T) {
	srv := httptest.NewServer(dashboard.New(dashboard.Options{Pages: []dashboard.Page{Page(Options{})}, Every: 20 * time.Millisecond}).Handler())
	defer srv.Close()
	for path, want := range map[string]string{
		"/": "实时订单", "/static/orders/orders.js": "summary", "/static/orders/orders.css": ".kpi",
		"/static/app.js": "EventSource", "/topology": `<a href="/">Orders</a>`,
	} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
			t.Fatalf("GET %s: %d, body lacks %q", path, resp.StatusCode, want)
		}
	}
	if code, s, msg := readSummary(t, srv.URL); code != http.StatusOK || s.Redis || msg != "" {
		t.Fatalf("summary without Redis: %d %+v %q", code, s, msg)
	}
}
