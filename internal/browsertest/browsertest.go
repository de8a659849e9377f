// Package browsertest drives a headless Chromium for the tests of the
// dashboard's pages: it starts the browser, records what a page reports as
// broken, and waits for what a page shows. The pages redraw on server-sent
// events, so there is no moment to wait for but the result.
package browsertest

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Browser is a headless Chromium with one tab.
type Browser struct {
	// Ctx is the tab's context, for chromedp.Run and chromedp.Do.
	Ctx      context.Context
	cancel   []context.CancelFunc
	problems problems
}

// Start starts Chromium under ctx, so that ctx's end also stops it. It fails
// rather than skips when no browser is installed: a browser test that
// quietly passes without one would hide a broken page. Close it before
// closing the server the page reads: the server waits for the page's event
// stream to end.
func Start(t *testing.T, ctx context.Context) *Browser {
	t.Helper()
	path := find(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox, // CI runs as root, where Chrome's sandbox refuses to start
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-dev-shm-usage", true), // containers have a small /dev/shm
		chromedp.WindowSize(1280, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	tabCtx, cancelTab := chromedp.NewContext(allocCtx)
	b := &Browser{Ctx: tabCtx, cancel: []context.CancelFunc{cancelTab, cancelAlloc}}
	if err := chromedp.Listen(tabCtx, b.problems.listen); err != nil {
		b.Close()
		t.Fatalf("start %s: %v", path, err)
	}
	return b
}

// Close stops the browser.
func (b *Browser) Close() {
	for _, cancel := range b.cancel {
		cancel()
	}
}

func find(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	t.Fatal("no chromium, chromium-browser or google-chrome on PATH: run `make deps`")
	return ""
}

// Navigate opens url in the tab.
func (b *Browser) Navigate(t *testing.T, url string) {
	t.Helper()
	if err := chromedp.Do(b.Ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
}

// Do runs statements on the page for their effects, such as a click.
func (b *Browser) Do(t *testing.T, statements string) {
	t.Helper()
	if _, err := chromedp.Run(b.Ctx, chromedp.Evaluate[bool]("(() => { "+statements+"; return true; })()")); err != nil {
		t.Fatalf("%s: %v", statements, err)
	}
}

// WaitFor polls the page until pred(args...) is truthy. On timeout it fails
// with what show(args...) evaluates to.
func (b *Browser) WaitFor(t *testing.T, what, pred, show string, args ...any) {
	t.Helper()
	_, err := chromedp.Run(b.Ctx, chromedp.PollFunction[bool](pred,
		chromedp.WithPollingArgs(args...),
		chromedp.WithPollingInterval(50*time.Millisecond),
		chromedp.WithPollingTimeout(15*time.Second)))
	if err != nil {
		got, showErr := chromedp.Run(b.Ctx, chromedp.PollFunction[string]("(...args) => String(("+show+")(...args))",
			chromedp.WithPollingArgs(args...), chromedp.WithPollingTimeout(time.Second)))
		if showErr != nil {
			got = showErr.Error()
		}
		t.Fatalf("waiting for %s: %v; the page shows %q", what, err, got)
	}
}

// WaitText waits until the element with the id shows exactly want.
func (b *Browser) WaitText(t *testing.T, id, want string) {
	t.Helper()
	b.WaitFor(t, fmt.Sprintf("#%s to show %q", id, want),
		`(id, want) => document.getElementById(id).textContent === want`,
		`(id) => document.getElementById(id).textContent`, id, want)
}

// WaitPageText waits until the page's visible text contains each of want.
func (b *Browser) WaitPageText(t *testing.T, want ...string) {
	t.Helper()
	args := make([]any, len(want))
	for i, w := range want {
		args[i] = w
	}
	b.WaitFor(t, fmt.Sprintf("the page to show %q", want),
		`(...want) => want.every((w) => document.body.innerText.includes(w))`,
		`() => document.body.innerText`, args...)
}

// CheckProblems fails the test if a page reported anything as broken since
// the browser started.
func (b *Browser) CheckProblems(t *testing.T) {
	t.Helper()
	b.problems.mu.Lock()
	defer b.problems.mu.Unlock()
	if len(b.problems.seen) > 0 {
		t.Fatalf("the page reported problems:\n%s", strings.Join(b.problems.seen, "\n"))
	}
}

// problems records what pages report as broken: console.error and failed
// console.assert calls, uncaught exceptions, and browser log errors (a
// failed fetch of a script or stylesheet shows up only there).
type problems struct {
	mu   sync.Mutex
	seen []string
}

func (p *problems) add(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seen = append(p.seen, s)
}

// listen must return fast and must not call back into chromedp: it runs on
// the goroutine that reads the browser's messages.
func (p *problems) listen(ev any) {
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
		p.add(fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(args, " ")))
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		msg := d.Text
		if d.Exception != nil {
			msg += " " + d.Exception.Description
		}
		p.add(fmt.Sprintf("exception at %s:%d: %s", d.URL, d.LineNumber, msg))
	case *cdplog.EventEntryAdded:
		if ev.Entry.Level == cdplog.EntryLevelError {
			p.add(fmt.Sprintf("browser log (%s): %s %s", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL))
		}
	}
}
