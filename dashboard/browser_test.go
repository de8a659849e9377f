package dashboard

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	goredis "github.com/redis/go-redis/v9"
	"github.com/squall-stream/squall/actors"
	"github.com/squall-stream/squall/examples/orders"
	"github.com/squall-stream/squall/internal/testinfra"
	"github.com/squall-stream/squall/topology"
)

// findBrowser fails rather than skips: a browser test that quietly passes
// without a browser would hide a broken page.
func findBrowser(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	t.Fatal("no chromium, chromium-browser or google-chrome on PATH: run `make deps`")
	return ""
}

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

// consoleProblems records what the page reports as broken: console.error and
// failed console.assert calls, uncaught exceptions, and browser log errors
// (a failed fetch of a script or stylesheet shows up only there).
type consoleProblems struct {
	mu   sync.Mutex
	seen []string
}

func (c *consoleProblems) add(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen = append(c.seen, s)
}

func (c *consoleProblems) check(t *testing.T) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.seen) > 0 {
		t.Fatalf("the page reported problems:\n%s", strings.Join(c.seen, "\n"))
	}
}

// listen must return fast and must not call back into chromedp: it runs on
// the goroutine that reads the browser's messages.
func (c *consoleProblems) listen(ev any) {
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type != runtime.ConsoleAPICalledTypeError && ev.Type != runtime.ConsoleAPICalledTypeAssert {
			return
		}
		var args []string
		for _, a := range ev.Args {
			if a.Description != "" {
				args = append(args, a.Description)
			} else {
				args = append(args, string(a.Value))
			}
		}
		c.add(fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(args, " ")))
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		msg := d.Text
		if d.Exception != nil {
			msg += " " + d.Exception.Description
		}
		c.add(fmt.Sprintf("exception at %s:%d: %s", d.URL, d.LineNumber, msg))
	case *cdplog.EventEntryAdded:
		if ev.Entry.Level == cdplog.EntryLevelError {
			c.add(fmt.Sprintf("browser log (%s): %s %s", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL))
		}
	}
}

// waitFor polls the page until pred(args...) is truthy. The page redraws on
// each server-sent event, so there is no moment to wait for but the result.
// On timeout it fails with what show(args...) evaluates to.
func waitFor(t *testing.T, ctx context.Context, what, pred, show string, args ...any) {
	t.Helper()
	_, err := chromedp.Run(ctx, chromedp.PollFunction[bool](pred,
		chromedp.WithPollingArgs(args...),
		chromedp.WithPollingInterval(50*time.Millisecond),
		chromedp.WithPollingTimeout(15*time.Second)))
	if err != nil {
		got, showErr := chromedp.Run(ctx, chromedp.PollFunction[string]("(...args) => String(("+show+")(...args))",
			chromedp.WithPollingArgs(args...), chromedp.WithPollingTimeout(time.Second)))
		if showErr != nil {
			got = showErr.Error()
		}
		t.Fatalf("waiting for %s: %v; the page shows %q", what, err, got)
	}
}

// waitText waits until the element with the id shows exactly want.
func waitText(t *testing.T, ctx context.Context, id, want string) {
	t.Helper()
	waitFor(t, ctx, fmt.Sprintf("#%s to show %q", id, want),
		`(id, want) => document.getElementById(id).textContent === want`,
		`(id) => document.getElementById(id).textContent`, id, want)
}

// waitPageText waits until the page's visible text contains each of want.
func waitPageText(t *testing.T, ctx context.Context, want ...string) {
	t.Helper()
	waitFor(t, ctx, fmt.Sprintf("the page to show %q", want),
		`(...want) => want.every((w) => document.body.innerText.includes(w))`,
		`() => document.body.innerText`, toAny(want)...)
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func TestBrowserShowsTheDashboard(t *testing.T) {
	if testing.Short() {
		t.Skip("starts redis-server and chromium")
	}
	browser := findBrowser(t)

	r := testinfra.StartRedis(t)
	rc := goredis.NewClient(&goredis.Options{Addr: r.Addr()})
	defer rc.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	k := orders.Keys{Prefix: orders.DefaultPrefix}
	now := time.Now()
	const seedOrders, seedGMV = 1234, 9876550 // ¥98,765.50 shows rounded up
	seed := rc.Pipeline()
	seed.HSet(ctx, k.Totals(), "orders", seedOrders, "gmv", seedGMV)
	seed.HSet(ctx, k.ProvinceOrders(), "广东", 700, "北京", 534)
	seed.HSet(ctx, k.ProvinceGMV(), "广东", 6000000, "北京", 3876550)
	seed.HSet(ctx, k.CategoryOrders(), "手机数码", 900, "服饰鞋包", 334)
	seed.HSet(ctx, k.CategoryGMV(), "手机数码", 8000000, "服饰鞋包", 1876550)
	seed.HSet(ctx, k.Payments(), "支付宝", 800, "微信支付", 434)
	seed.ZAdd(ctx, k.TopProducts(), goredis.Z{Member: "华为 Mate 60 Pro 手机", Score: 699900}, goredis.Z{Member: "小米 14 手机", Score: 399900})
	seed.PFAdd(ctx, k.Buyers(now), "U1", "U2", "U3")
	seed.HSet(ctx, k.Minute(now), "orders", 42, "gmv", 420000)
	seed.HSet(ctx, k.Minute(now.Add(-time.Minute)), "orders", 17, "gmv", 170000)
	seed.HSet(ctx, k.Window5m(), "gmv", 590000)
	seed.HSet(ctx, k.Errors(), "malformed", 3)
	seed.LPush(ctx, k.RecentErrors(), "not json")
	if _, err := seed.Exec(ctx); err != nil {
		t.Fatal(err)
	}

	// The spout emits 1000 tuples between two reads of its metrics.
	var reads atomic.Int64
	metrics := func() []actors.ComponentMetrics {
		emitted := 1234 + 1000*reads.Add(1)
		return []actors.ComponentMetrics{
			{Component: "kafka-orders", Spout: true, Tasks: make([]actors.TaskMetrics, 2),
				TaskMetrics: actors.TaskMetrics{Emitted: emitted, Acked: emitted - 4, Failed: 4, CompleteLatency: 3 * time.Millisecond,
					Streams: []actors.StreamMetrics{{Stream: "default", Emitted: emitted, Transferred: emitted}}}},
			{Component: "aggregate-redis", Tasks: make([]actors.TaskMetrics, 4),
				TaskMetrics: actors.TaskMetrics{Executed: 1234, Acked: 1234, ExecuteLatency: 250 * time.Microsecond, Capacity: 0.42,
					Errors: 1, LastError: "redis: dial <b>127.0.0.1:6379</b>: connection refused", LastErrorAt: now}},
		}
	}
	// httptest binds 127.0.0.1 on a free port. Every is short so an update in
	// Redis reaches the page quickly.
	actions := &fakeActions{}
	srv := httptest.NewServer(New(Options{Redis: rc, Topologies: withLostTopology(InProcess("orders", drawnTopology(t), metrics), drawnTopology(t)), Actions: actions,
		Every: 100 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)}).Handler())
	defer srv.Close()

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox, // CI runs as root, where Chrome's sandbox refuses to start
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-dev-shm-usage", true), // containers have a small /dev/shm
		chromedp.WindowSize(1280, 900),
	)
	// The browser lives under ctx, so the overall timeout also stops it. The
	// deferred cancels run before srv.Close, which waits for the page's
	// event stream to end.
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()

	var problems consoleProblems
	if err := chromedp.Listen(bctx, problems.listen); err != nil {
		t.Fatalf("start %s: %v", browser, err)
	}

	start := time.Now()
	if err := chromedp.Do(bctx, chromedp.Navigate(srv.URL+"/")); err != nil {
		t.Fatal(err)
	}
	waitText(t, bctx, "orders", zhNum(seedOrders))
	waitText(t, bctx, "gmv", zhYuan(seedGMV))
	waitText(t, bctx, "buyers", "3")
	waitText(t, bctx, "malformed", "3")
	waitPageText(t, bctx, "广东", "北京", "手机数码", "微信支付", "华为 Mate 60 Pro 手机", "not json")
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
	waitText(t, bctx, "orders", zhNum(seedOrders+moreOrders))
	waitText(t, bctx, "gmv", zhYuan(seedGMV+moreGMV))
	if nav, err := chromedp.Run(bctx, chromedp.Evaluate[int](`performance.getEntriesByType("navigation").length`)); err != nil || nav != 1 {
		t.Fatalf("navigation entries: %d, %v; the page reloaded", nav, err)
	}

	png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
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
	waitFor(t, bctx, "the status to report the Redis error",
		`() => document.getElementById("status").textContent.startsWith("Redis: ")`,
		`() => document.getElementById("status").textContent`)

	if err := chromedp.Do(bctx, chromedp.Navigate(srv.URL+"/topology")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, bctx, "the topology's panel",
		`() => [...document.querySelectorAll("#topologies h2")].some((h) => h.textContent === "orders")`,
		`() => document.getElementById("topologies").innerText`)
	waitFor(t, bctx, "the component rows",
		`(...ids) => ids.every((id) => [...document.querySelectorAll("#topologies tbody tr td:first-child")].some((td) => td.textContent === id))`,
		`() => document.getElementById("topologies").innerText`, "kafka-orders", "aggregate-redis")
	waitFor(t, bctx, "the component's last error, escaped",
		`() => [...document.querySelectorAll("#topologies table.components .lasterr")].some((e) => e.textContent.endsWith("redis: dial <b>127.0.0.1:6379</b>: connection refused"))`,
		`() => document.getElementById("topologies").innerText`)
	waitFor(t, bctx, "the drawing: a box per component and the stream between them",
		`() => document.querySelectorAll("#topologies svg.dag g.node").length === 2 &&
			[...document.querySelectorAll("#topologies svg.dag g.edge text")].some((e) => e.textContent.startsWith("fields(province)"))`,
		`() => document.querySelector("#topologies svg.dag")?.outerHTML ?? "no drawing"`)
	waitFor(t, bctx, "a row per task in the tasks table",
		`() => document.querySelectorAll("#topologies table.tasks tbody tr").length === 6`,
		`() => document.querySelectorAll("#topologies table.tasks tbody tr").length`)
	waitFor(t, bctx, "the stream's rate on its edge",
		`() => [...document.querySelectorAll("#topologies svg.dag g.edge text")].some((e) => /^fields\(province\) · [1-9][0-9,]*\/s$/.test(e.textContent))`,
		`() => [...document.querySelectorAll("#topologies svg.dag g.edge text")].map((e) => e.textContent).join(" | ")`)
	waitFor(t, bctx, "the spout's rate, tuples/s between updates",
		`() => { const row = [...document.querySelectorAll("#topologies table.components tbody tr")].find((r) => r.cells[0].textContent === "kafka-orders");
			return row && Number(row.cells[3].textContent.replace(/,/g, "")) > 0; }`,
		`() => document.querySelector("#topologies table.components").innerText`)
	// Storm UI's actions: a button posts the action, the page says it was done.
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`(() => { document.querySelector('#topologies button[data-act="deactivate"]').click(); return true; })()`)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, bctx, "the page to report the deactivation",
		`() => document.getElementById("action").textContent === "deactivate orders"`,
		`() => document.getElementById("action").textContent`)
	if got := actions.done(); !slices.Equal(got, []string{"deactivate orders"}) {
		t.Fatalf("actions done: %v", got)
	}
	// The page redraws at every update; a tasks table the user opened stays open.
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`(() => { document.querySelector("#topologies details summary").click(); return true; })()`)); err != nil {
		t.Fatal(err)
	}
	n0, err := chromedp.Run(bctx, chromedp.Evaluate[int](`(() => { window.redraws = 0; new MutationObserver(() => window.redraws++).observe(document.getElementById("topologies"), {childList: true}); return 0; })()`))
	if err != nil {
		t.Fatal(err, n0)
	}
	waitFor(t, bctx, "the tasks table still open after two redraws",
		`() => window.redraws >= 2 && document.querySelector("#topologies details[open]") !== null`,
		`() => "redraws " + window.redraws + ", open " + (document.querySelector("#topologies details[open]") !== null)`)

	problems.check(t)
}

// drawnTopology is the shape of the metrics the browser test shows: a spout
// and a bolt fed by fields grouping.
func drawnTopology(t *testing.T) *topology.Topology {
	b := topology.NewBuilder()
	b.SetSpout("kafka-orders", func() topology.Spout { return provinceSpout{} }, 2)
	b.SetBolt("aggregate-redis", topology.Basic(func() topology.BasicBolt { return sinkBolt{} }), 4).FieldsGrouping("kafka-orders", "province")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

type provinceSpout struct{}

func (provinceSpout) DeclareOutputFields(d *topology.OutputDeclarer) {
	d.Declare(topology.NewFields("province"))
}
func (provinceSpout) Open(*topology.TopologyContext, topology.SpoutOutputCollector) error { return nil }
func (provinceSpout) NextTuple()                                                          {}
func (provinceSpout) Ack(any)                                                             {}
func (provinceSpout) Fail(any)                                                            {}
func (provinceSpout) Close() error                                                        { return nil }

type sinkBolt struct{}

func (sinkBolt) DeclareOutputFields(*topology.OutputDeclarer)                 {}
func (sinkBolt) Prepare(*topology.TopologyContext) error                      { return nil }
func (sinkBolt) Execute(*topology.Tuple, topology.BasicOutputCollector) error { return nil }
func (sinkBolt) Cleanup() error                                               { return nil }

// withLostTopology adds to topologies one whose every node failed to answer:
// it has streams to draw but no component figures.
func withLostTopology(topologies func(context.Context) ([]Topology, error), topo *topology.Topology) func(context.Context) ([]Topology, error) {
	return func(ctx context.Context) ([]Topology, error) {
		tops, err := topologies(ctx)
		return append(tops, Topology{Name: "lost", Status: "active", Unreachable: []string{"node-3"}, Topology: topo}), err
	}
}
