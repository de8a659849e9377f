package ordersui

import (
	"embed"
	"io/fs"
	"net/http"

	goredis "github.com/redis/go-redis/v9"
	"github.com/squall-stream/squall/dashboard"
	"github.com/squall-stream/squall/examples/orders"
)

// index is the page; static holds its script and stylesheet, served
// under /static/orders/ beside the dashboard's own in /static/.
var (
	//go:embed index.html
	index []byte
	//go:embed static
	static embed.FS
)

// Options configure the orders page. Zero fields take the documented
// defaults.
type Options struct {
	// Redis holds the analysed orders. Nil: the page says so.
	Redis goredis.UniversalClient
	// Keys is the Redis key layout. Default prefix orders.DefaultPrefix.
	Keys orders.Keys
}

// Page returns the orders page, for dashboard.Options.Pages.
func Page(opts Options) dashboard.Page {
	if opts.Keys.Prefix == "" {
		opts.Keys.Prefix = orders.DefaultPrefix
	}
	sums := &summaries{redis: opts.Redis, keys: opts.Keys}
	assets, _ := fs.Sub(static, "static")
	return dashboard.Page{
		Path:  "/",
		Title: "Orders",
		Handlers: map[string]http.Handler{
			"GET /{$}": http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				_, _ = w.Write(index)
			}),
			"GET /static/orders/": http.StripPrefix("/static/orders/", http.FileServerFS(assets)),
		},
		Feeds: []dashboard.Feed{{Path: "/api/orders/summary", Event: "summary", Read: sums.read}},
	}
}
