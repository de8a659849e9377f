package redis

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/squall-stream/squall/topology"
)

// LookupConfig configures a Lookup bolt (Storm's RedisLookupBolt).
type LookupConfig struct {
	Client goredis.UniversalClient
	// Key names the key to read for each tuple.
	Key Key
	// HashFields, when set, reads those fields of a hash (HMGET) and emits
	// one value per field; otherwise the key is read as a string (GET) and
	// emitted as Output[0]. A missing key or field is emitted as "".
	HashFields []string
	// InputFields are the input fields passed on, in order.
	InputFields []string
	// Output names the emitted looked-up fields (default: HashFields, or
	// "value").
	Output    []string
	BatchSize int
	Linger    time.Duration
	Timeout   time.Duration
	// Logger receives errors, as WriterConfig.Logger.
	Logger *slog.Logger
}

// NewLookup returns a factory of lookup bolts: each tuple is emitted,
// anchored to its input, with InputFields followed by the looked-up values.
// Lookups of a batch share one pipeline.
func NewLookup(cfg LookupConfig) func() topology.Bolt {
	if len(cfg.Output) == 0 {
		cfg.Output = cfg.HashFields
		if len(cfg.Output) == 0 {
			cfg.Output = []string{"value"}
		}
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	return func() topology.Bolt { return &lookup{cfg: cfg} }
}

type lookup struct {
	cfg  LookupConfig
	out  topology.OutputCollector
	b    batcher
	errs burstLog
}

func (l *lookup) DeclareOutputFields(d *topology.OutputDeclarer) {
	d.Declare(append(append(topology.Fields{}, l.cfg.InputFields...), l.cfg.Output...))
}

// Validate reports an incomplete or inconsistent config to Build.
func (l *lookup) Validate() error {
	if l.cfg.Client == nil {
		return ErrNoClient
	}
	if len(l.cfg.HashFields) > 0 && len(l.cfg.Output) != len(l.cfg.HashFields) {
		return fmt.Errorf("redis lookup: %d output fields for %d hash fields", len(l.cfg.Output), len(l.cfg.HashFields))
	}
	return nil
}

func (l *lookup) Prepare(tc *topology.TopologyContext, out topology.OutputCollector) error {
	l.out = out
	l.b = newBatcher(l.cfg.BatchSize, l.cfg.Linger)
	l.errs = burstLog{log: tc.TaskLogger(l.cfg.Logger)}
	return nil
}

func (l *lookup) Execute(t *topology.Tuple) {
	if t.IsTick() {
		l.Flush()
		return
	}
	l.b.add(t)
	if l.b.due() {
		l.Flush()
	}
}

// Flush looks up the buffered tuples in one pipeline and emits them.
func (l *lookup) Flush() {
	tuples := l.b.take()
	if len(tuples) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), l.cfg.Timeout)
	defer cancel()
	pipe := l.cfg.Client.Pipeline()
	keys := make([]string, len(tuples))
	cmds := make([]goredis.Cmder, len(tuples))
	for i, t := range tuples {
		key, err := l.cfg.Key.For(t)
		if err != nil {
			l.out.ReportError(fmt.Errorf("redis lookup: %w", err))
			continue
		}
		keys[i] = key
		if len(l.cfg.HashFields) > 0 {
			cmds[i] = pipe.HMGet(ctx, key, l.cfg.HashFields...)
		} else {
			cmds[i] = pipe.Get(ctx, key)
		}
	}
	_, _ = pipe.Exec(ctx)
	for i, t := range tuples {
		if cmds[i] == nil {
			l.out.Fail(t)
			continue
		}
		vals, err := lookedUp(cmds[i], len(l.cfg.Output))
		if err != nil {
			l.errs.error("redis lookup failed; the tuple will replay", tupleError([]string{keys[i]}, err))
			l.out.Fail(t)
			continue
		}
		row := make(topology.Values, 0, len(l.cfg.InputFields)+len(vals))
		for _, f := range l.cfg.InputFields {
			row = append(row, t.ValueByField(f))
		}
		if err := l.out.Emit(append(row, vals...), t); err != nil {
			l.out.ReportError(err)
			l.out.Fail(t)
			continue
		}
		l.out.Ack(t)
	}
}

// lookedUp turns a GET or HMGET reply into n string values.
func lookedUp(c goredis.Cmder, n int) ([]any, error) {
	switch c := c.(type) {
	case *goredis.StringCmd:
		v, err := c.Result()
		if err == goredis.Nil {
			return []any{""}, nil
		}
		return []any{v}, err
	case *goredis.SliceCmd:
		vs, err := c.Result()
		if err != nil {
			return nil, err
		}
		out := make([]any, n)
		for i := range out {
			out[i] = ""
			if i < len(vs) && vs[i] != nil {
				out[i] = fmt.Sprint(vs[i])
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("unexpected reply %T", c)
}

func (l *lookup) Cleanup() error {
	l.Flush()
	return nil
}

// FilterConfig configures a Filter bolt (Storm's RedisFilterBolt).
type FilterConfig struct {
	Client goredis.UniversalClient
	// Key names the key checked for each tuple.
	Key Key
	// MemberField, when set, passes tuples whose field value is a member of
	// the set at Key (SISMEMBER); otherwise tuples whose key exists pass.
	MemberField string
	// Fields are the passed tuples' fields, as the input's.
	Fields    []string
	BatchSize int
	Linger    time.Duration
	Timeout   time.Duration
	// Logger receives errors, as WriterConfig.Logger.
	Logger *slog.Logger
}

// NewFilter returns a factory of filter bolts: tuples that pass are emitted
// unchanged (anchored), the others acked and dropped.
func NewFilter(cfg FilterConfig) func() topology.Bolt {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	return func() topology.Bolt { return &filter{cfg: cfg} }
}

type filter struct {
	cfg  FilterConfig
	out  topology.OutputCollector
	b    batcher
	errs burstLog
}

func (f *filter) DeclareOutputFields(d *topology.OutputDeclarer) { d.Declare(f.cfg.Fields) }

// Validate reports an incomplete config to Build.
func (f *filter) Validate() error {
	if f.cfg.Client == nil {
		return ErrNoClient
	}
	return nil
}

func (f *filter) Prepare(tc *topology.TopologyContext, out topology.OutputCollector) error {
	f.out = out
	f.b = newBatcher(f.cfg.BatchSize, f.cfg.Linger)
	f.errs = burstLog{log: tc.TaskLogger(f.cfg.Logger)}
	return nil
}

func (f *filter) Execute(t *topology.Tuple) {
	if t.IsTick() {
		f.Flush()
		return
	}
	f.b.add(t)
	if f.b.due() {
		f.Flush()
	}
}

// Flush checks the buffered tuples in one pipeline.
func (f *filter) Flush() {
	tuples := f.b.take()
	if len(tuples) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), f.cfg.Timeout)
	defer cancel()
	pipe := f.cfg.Client.Pipeline()
	checks := make([]*goredis.BoolCmd, len(tuples))
	counts := make([]*goredis.IntCmd, len(tuples))
	keys := make([]string, len(tuples))
	for i, t := range tuples {
		key, err := f.cfg.Key.For(t)
		if err != nil {
			f.out.ReportError(fmt.Errorf("redis filter: %w", err))
			continue
		}
		keys[i] = key
		if f.cfg.MemberField != "" {
			member, err := stringField(t, f.cfg.MemberField)
			if err != nil {
				f.out.ReportError(fmt.Errorf("redis filter: %w", err))
				keys[i] = ""
				continue
			}
			checks[i] = pipe.SIsMember(ctx, key, member)
		} else {
			counts[i] = pipe.Exists(ctx, key)
		}
	}
	_, _ = pipe.Exec(ctx)
	for i, t := range tuples {
		var pass bool
		var err error
		switch {
		case keys[i] == "":
			f.out.Fail(t)
			continue
		case checks[i] != nil:
			pass, err = checks[i].Result()
		default:
			var n int64
			n, err = counts[i].Result()
			pass = n > 0
		}
		if err != nil {
			f.errs.error("redis filter failed; the tuple will replay", tupleError([]string{keys[i]}, err))
			f.out.Fail(t)
			continue
		}
		if pass {
			if err := f.out.Emit(t.Values(), t); err != nil {
				f.out.ReportError(err)
				f.out.Fail(t)
				continue
			}
		}
		f.out.Ack(t)
	}
}

func (f *filter) Cleanup() error {
	f.Flush()
	return nil
}
