package ordersui

import (
	"bytes"
	"context"
	"log/slog"
	"math"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	goredis "github.com/redis/go-redis/v9"
	"github.com/squall-stream/squall/dashboard"
	"github.com/squall-stream/squall/examples/orders"
	"github.com/squall-stream/squall/internal/browsertest"
	"github.com/squall-stream/squall/internal/testinfra"
)

// zhNum formats n as the page's Number.toLocaleString("zh-CN") does.
func zhNum(n int64) string {
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// zhYuan formats an amount Redis keeps in fen as the page's yuan() does:
// whole yuan, rounded half away from zero like Intl's default halfExpand.
func zhYuan(fen int64) string {
	return "¥" + zhNum(int64(math.Round(float64(fen)/100)))
}

func TestBrowserShowsTheOrders(t *testing.T) {
	if testing.Short() {
		t.Skip("starts redis-server and chromium")
	}
	r := testinfra.StartRedis(t)
	rc := goredis.NewClient(&goredis.Options{Addr: r.Addr()})
	defer rc.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	k := orders.Keys{Prefix: orders.DefaultPrefix}
	seed(t, rc, k, time.Now())

	// httptest binds 127.0.0.1 on a free port. Every is short so an update in
	// Redis reaches the page quickly.
	srv := httptest.NewServer(dashboard.New(dashboard.Options{Pages: []dashboard.Page{Page(Options{Redis: rc})},
		Every: 100 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)}).Handler())
	defer srv.Close()
	b := browsertest.Start(t, ctx)
	defer b.Close()

	start := time.Now()
	b.Navigate(t, srv.URL+"/")
	b.WaitText(t, "orders", zhNum(seedOrders))
	b.WaitText(t, "gmv", zhYuan(seedGMV)) // ¥98,765.50 shows rounded up
	b.WaitText(t, "buyers", "3")
	b.WaitText(t, "malformed", "3")
	b.WaitPageText(t, "广东", "北京", "手机数码", "微信支付", "华为 Mate 60 Pro 手机", "not json")
	t.Logf("orders page showed the seeded figures %v after navigating", time.Since(start).Round(time.Millisecond))

	// New orders arrive: the page must follow over its event stream, without
	// a reload.
	const moreOrders, moreGMV = 998766, 123456789
	if err := rc.HIncrBy(ctx, k.Totals(), "orders", moreOrders).Err(); err != nil {
		t.Fatal(err)
	}
	if err := rc.HIncrBy(ctx, k.Totals(), "gmv", moreGMV).Err(); err != nil {
		t.Fatal(err)
	}
	b.WaitText(t, "orders", zhNum(seedOrders+moreOrders))
	b.WaitText(t, "gmv", zhYuan(seedGMV+moreGMV))
	if nav, err := chromedp.Run(b.Ctx, chromedp.Evaluate[int](`performance.getEntriesByType("navigation").length`)); err != nil || nav != 1 {
		t.Fatalf("navigation entries: %d, %v; the page reloaded", nav, err)
	}

	png, err := chromedp.Run(b.Ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(t.TempDir(), "orders.png")
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s: %d bytes", shot, len(png))
	if len(png) == 0 || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Fatalf("screenshot is not a PNG: %d bytes", len(png))
	}

	// Redis going away must show as a Redis error, not as "no Redis".
	r.Stop()
	b.WaitFor(t, "the status to report the Redis error",
		`() => document.getElementById("status").textContent.startsWith("Redis: ")`,
		`() => document.getElementById("status").textContent`)

	// The topology page leads back here.
	b.Navigate(t, srv.URL+"/topology")
	b.WaitFor(t, "the topology page's link to the orders",
		`() => document.querySelector('nav a[href="/"]')?.textContent === "Orders"`,
		`() => document.querySelector("nav").innerHTML`)

	b.CheckProblems(t)
}
