package window

import (
	"errors"
	"fmt"
	"time"

	"github.com/squall-stream/squall/topology"
)

// ErrBadConfig means a window Config that cannot work: no length, both a
// duration and a count, or a negative value.
var ErrBadConfig = errors.New("bad window config")

// Config says how a windowed bolt's input is cut into windows. Set the
// durations (windows of processing time) or the counts (windows of the last
// tuples), not both.
type Config struct {
	// Length is the time a window covers: a window ending at E holds the
	// tuples that arrived in (E-Length, E].
	Length time.Duration
	// Slide is the time from one window's end to the next's; windows end on
	// multiples of Slide. Default Length: tumbling windows.
	Slide time.Duration
	// LengthCount is the number of tuples a count window holds: the last
	// LengthCount to arrive.
	LengthCount int
	// SlideCount is the number of tuples that arrive between two count
	// windows. Default LengthCount: tumbling windows.
	SlideCount int
}

func (c Config) withDefaults() (Config, error) {
	timed, counted := c.Length != 0 || c.Slide != 0, c.LengthCount != 0 || c.SlideCount != 0
	switch {
	case timed && counted:
		return c, fmt.Errorf("%w: set Length and Slide, or LengthCount and SlideCount, not both", ErrBadConfig)
	case c.Length < 0 || c.Slide < 0 || c.LengthCount < 0 || c.SlideCount < 0:
		return c, fmt.Errorf("%w: negative length or slide", ErrBadConfig)
	case timed && c.Length == 0:
		return c, fmt.Errorf("%w: Slide without Length", ErrBadConfig)
	case counted && c.LengthCount == 0:
		return c, fmt.Errorf("%w: SlideCount without LengthCount", ErrBadConfig)
	case !timed && !counted:
		return c, fmt.Errorf("%w: no Length or LengthCount", ErrBadConfig)
	}
	if c.Slide == 0 {
		c.Slide = c.Length
	}
	if c.SlideCount == 0 {
		c.SlideCount = c.LengthCount
	}
	return c, nil
}

// Window is one window of a windowed bolt's input, as Storm's TupleWindow.
// Its slices belong to the bolt's runtime and are valid during Execute only.
type Window struct {
	// Start and End bound a time window: it holds the tuples that arrived
	// in (Start, End]. For a count window they are the arrival times of its
	// oldest and newest tuple.
	Start, End time.Time
	// Tuples are the tuples in the window, oldest first.
	Tuples []*topology.Tuple
	// New are the tuples that arrived since the previous window.
	New []*topology.Tuple
	// Expired are the tuples of the previous window that this one no
	// longer holds; they were acked already, or are after Execute returns.
	Expired []*topology.Tuple
}

// Bolt is a bolt that works on windows (Storm's IWindowedBolt). Wrap one
// with New to get a topology.Bolt factory.
type Bolt interface {
	DeclareOutputFields(d *topology.OutputDeclarer)
	Prepare(tc *topology.TopologyContext) error
	// Execute processes one window. An error fails every tuple of the
	// window, so that its spouts replay them.
	Execute(w *Window, out Collector) error
	Cleanup() error
}

// Collector emits a window's results.
type Collector interface {
	// Emit emits on the default stream anchored to every tuple of the
	// window, as Storm does: a failure downstream replays the window's input.
	Emit(values topology.Values) error
	// EmitTo is Emit on a named stream.
	EmitTo(stream string, values topology.Values) error
	// EmitAnchored emits on a stream anchored to the given tuples of the
	// window only: those a result was computed from (one key's tuples, say),
	// which keeps the ack trees of a large window small.
	EmitAnchored(stream string, values topology.Values, anchors []*topology.Tuple) error
	ReportError(err error)
}

// New wraps a windowed bolt factory for SetBolt. The bolt holds each tuple
// until the last window that can hold it was handed on, then acks it (a
// tumbling window's tuples right after their window), so a crash loses no
// tuple of a window: it times out and its spout replays it. Two things
// follow, as in Storm: the topology's MessageTimeout must be longer than
// Length+Slide (Prepare refuses otherwise), and MaxSpoutPending must allow
// every tuple of a window to be in flight at once.
//
// A count window closes only when its tuples have arrived: the tuples of one
// that does not fill within MessageTimeout time out and replay. The bolt
// forgets them then, so that their replays take their place instead of
// being counted with them.
//
// Time windows close on tick tuples the bolt asks for itself (a quarter of
// Slide); a tick frequency set on the declarer overrides that. A bad conf
// makes Build fail with ErrBadConfig.
func New(factory func() Bolt, conf Config) func() topology.Bolt {
	conf, err := conf.withDefaults()
	return func() topology.Bolt {
		return &windowedBolt{bolt: factory(), conf: conf, confErr: err}
	}
}

// arrival is a held tuple and when it arrived.
type arrival struct {
	t  *topology.Tuple
	at time.Time
}

// windowedBolt adapts a windowed Bolt to topology.Bolt: it holds the tuples
// in arrival order, hands the bolt its windows and acks what expired.
type windowedBolt struct {
	bolt    Bolt
	conf    Config
	confErr error
	out     topology.OutputCollector
	now     func() time.Time
	timeout time.Duration // the topology's MessageTimeout; 0 without acking

	held    []arrival // oldest first
	acked   int       // held[:acked] are acked: no later window holds them
	fresh   int       // count windows: tuples arrived since the last window
	nextEnd time.Time // time windows: the end of the next; zero while idle
	window  Window
	scratch []*topology.Tuple
}

func (w *windowedBolt) DeclareOutputFields(d *topology.OutputDeclarer) {
	w.bolt.DeclareOutputFields(d)
}

// Validate reports a bad Config to Build.
func (w *windowedBolt) Validate() error { return w.confErr }

// TickFrequency asks for ticks often enough to close time windows within a
// quarter of their slide; count windows need none.
func (w *windowedBolt) TickFrequency() time.Duration {
	if w.confErr != nil || w.conf.Length == 0 {
		return 0
	}
	return max(w.conf.Slide/4, time.Millisecond)
}

func (w *windowedBolt) Prepare(tc *topology.TopologyContext, out topology.OutputCollector) error {
	if w.confErr != nil {
		return w.confErr
	}
	if span := w.conf.Length + w.conf.Slide; w.conf.Length > 0 && tc.MessageTimeout > 0 && span >= tc.MessageTimeout {
		return fmt.Errorf("%w: window length + slide (%v) must be shorter than the topology's MessageTimeout (%v), or tuples time out inside their window and replay",
			ErrBadConfig, span, tc.MessageTimeout)
	}
	w.out, w.timeout = out, tc.MessageTimeout
	if w.now == nil {
		w.now = time.Now
	}
	return w.bolt.Prepare(tc)
}

func (w *windowedBolt) Execute(t *topology.Tuple) {
	now := w.now()
	w.forgetTimedOut(now)
	if !t.IsTick() {
		w.held = append(w.held, arrival{t: t, at: now})
		w.fresh++
	}
	if w.conf.LengthCount > 0 {
		if w.fresh >= w.conf.SlideCount {
			w.countWindow()
		}
		return
	}
	w.timeWindows(now)
}

func (w *windowedBolt) Cleanup() error { return w.bolt.Cleanup() }

// countWindow hands the bolt the last LengthCount tuples.
func (w *windowedBolt) countWindow() {
	n := min(len(w.held), w.conf.LengthCount)
	cut := len(w.held) - n
	in, expired := w.held[cut:], w.held[:cut]
	newFrom := n - min(w.fresh, n)
	w.fresh = 0
	ok := w.evaluate(in, expired, newFrom, in[0].at, in[n-1].at)
	w.ackUpTo(cut)
	if !ok {
		w.forget(len(w.held))
		return
	}
	w.forget(cut)
	// The next window holds the last LengthCount after SlideCount more.
	w.ackUpTo(len(w.held) + w.conf.SlideCount - w.conf.LengthCount)
}

// timeWindows hands the bolt every window that ended by now.
func (w *windowedBolt) timeWindows(now time.Time) {
	if w.nextEnd.IsZero() {
		if len(w.held) == 0 {
			return
		}
		w.nextEnd = w.held[0].at.Truncate(w.conf.Slide).Add(w.conf.Slide)
	}
	for !w.nextEnd.After(now) {
		end := w.nextEnd
		start := end.Add(-w.conf.Length)
		first := 0
		for first < len(w.held) && !w.held[first].at.After(start) {
			first++
		}
		last, newFrom := first, first
		for last < len(w.held) && !w.held[last].at.After(end) {
			if !w.held[last].at.After(end.Add(-w.conf.Slide)) {
				newFrom = last + 1
			}
			last++
		}
		ok := w.evaluate(w.held[first:last], w.held[:first], newFrom-first, start, end)
		w.ackUpTo(first)
		if ok {
			w.forget(first)
			// The next window starts at start+Slide.
			done := 0
			for done < len(w.held) && !w.held[done].at.After(start.Add(w.conf.Slide)) {
				done++
			}
			w.ackUpTo(done)
		} else {
			w.forget(last)
		}
		w.nextEnd = end.Add(w.conf.Slide)
		if len(w.held) == 0 {
			// Idle: the next window starts with the next tuple.
			w.nextEnd = time.Time{}
			return
		}
	}
}

// evaluate calls the bolt with one window, unless it is empty (as Storm
// skips those); in[newFrom:] arrived since the previous window. An error
// fails the window's tuples, and evaluate reports false: the caller must
// forget them.
func (w *windowedBolt) evaluate(in, expired []arrival, newFrom int, start, end time.Time) bool {
	if len(in) == 0 {
		return true
	}
	s := w.scratch[:0]
	for _, a := range in {
		s = append(s, a.t)
	}
	for _, a := range expired {
		s = append(s, a.t)
	}
	w.scratch = s
	w.window = Window{Start: start, End: end, Tuples: s[:len(in)], New: s[newFrom:len(in)], Expired: s[len(in):]}
	err := w.bolt.Execute(&w.window, windowCollector{w})
	w.window = Window{}
	clear(s)
	if err != nil {
		w.out.ReportError(fmt.Errorf("window (%s, %s]: %w", start.Format(time.RFC3339Nano), end.Format(time.RFC3339Nano), err))
		for _, a := range in {
			w.out.Fail(a.t)
		}
		return false
	}
	return true
}

// forgetTimedOut drops the held tuples older than MessageTimeout: their
// trees were failed, and their spouts replay them.
func (w *windowedBolt) forgetTimedOut(now time.Time) {
	if w.timeout <= 0 {
		return
	}
	n := 0
	for n < len(w.held) && now.Sub(w.held[n].at) >= w.timeout {
		n++
	}
	if n > 0 {
		w.forget(n)
		w.fresh = min(w.fresh, len(w.held))
	}
}

// forget drops the first n held tuples: acked, or failed (their spouts
// replay them).
func (w *windowedBolt) forget(n int) {
	kept := copy(w.held, w.held[n:])
	clear(w.held[kept:])
	w.held = w.held[:kept]
	w.acked = max(w.acked-n, 0)
}

// ackUpTo acks the first n held tuples, those no later window can hold.
func (w *windowedBolt) ackUpTo(n int) {
	for ; w.acked < n; w.acked++ {
		w.out.Ack(w.held[w.acked].t)
	}
}

// windowCollector emits for the window being executed.
type windowCollector struct{ w *windowedBolt }

func (c windowCollector) Emit(values topology.Values) error {
	return c.w.out.Emit(values, c.w.window.Tuples...)
}

func (c windowCollector) EmitTo(stream string, values topology.Values) error {
	return c.w.out.EmitTo(stream, values, c.w.window.Tuples...)
}

func (c windowCollector) EmitAnchored(stream string, values topology.Values, anchors []*topology.Tuple) error {
	return c.w.out.EmitTo(stream, values, anchors...)
}

func (c windowCollector) ReportError(err error) { c.w.out.ReportError(err) }
