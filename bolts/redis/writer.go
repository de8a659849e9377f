package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/squall-stream/squall/topology"
)

// WriterConfig configures a Writer. Zero fields take the defaults given.
type WriterConfig struct {
	// Client is shared by the bolt's tasks (go-redis pools connections).
	Client goredis.UniversalClient
	// Mapper makes each tuple's commands.
	Mapper Mapper
	// BatchSize is how many tuples one pipeline carries. Default 1024; a
	// task whose input runs dry flushes sooner, so this bounds the batch
	// under load, not the latency.
	BatchSize int
	// Linger is how long a partial batch may wait while input keeps
	// coming. Default 5ms. (An idle task flushes at once.)
	Linger time.Duration
	// Timeout bounds one pipeline round trip. Default 5s.
	Timeout time.Duration
	// Idempotent, when set, applies each tuple's commands at most once per
	// event id.
	Idempotent *Idempotence
	// Logger receives errors, once per burst, with the task's topology,
	// component and task attached. Default: the task's logger
	// (TopologyContext.Logger), which on a cluster node names the node too.
	Logger *slog.Logger
}

// Idempotence configures the writer's effectively-once mode.
type Idempotence struct {
	// EventField names the tuple field holding the event id (order id).
	EventField string
	// IDPrefix prefixes the keys that remember applied ids. Default "squall:applied:".
	IDPrefix string
	// TTL is how long an id is remembered; it must outlast the replay
	// horizon. Default 24h.
	TTL time.Duration
}

// ErrNoClient and ErrNoMapper are an incomplete config, which Build reports
// against the bolt (they implement topology.Validator).
var (
	ErrNoClient = errors.New("redis bolt: no client")
	ErrNoMapper = errors.New("redis writer: no mapper")
)

// applyOnce runs the commands of a chunk of tuples, each tuple's only if
// its event id was not applied (SET NX of the id marks it and tells, in one
// call). ARGV[1] is the TTL in ms; then per tuple its
// id key, the count of its remaining arguments, and per command its name,
// its argument count and its arguments (the command's key first). KEYS holds
// every key touched, for Redis Cluster's slot check (a cluster client sends
// one tuple a call). It returns per tuple 1 (applied), 0 (applied before) or
// an error text. Redis does not roll a script back, so a tuple's key types
// are checked before anything of it is written: a wrong-type key fails that
// tuple with nothing applied and its id not marked. (A HyperLogLog is a
// string to Redis, an "hll" to miniredis, the demo's fallback.)
var applyOnce = goredis.NewScript(`
local want = {HINCRBY='hash', HINCRBYFLOAT='hash', HSET='hash', ZINCRBY='zset', ZREMRANGEBYRANK='zset',
  INCRBY='string', PFADD='string', LPUSH='list', LTRIM='list', XADD='stream'}
local out = {}
local types = {} -- key types seen in this call: a chunk touches the same keys again and again
local i = 2
while i <= #ARGV do
  local id, first, last = ARGV[i], i + 2, i + 1 + tonumber(ARGV[i + 1])
  i = last + 1
  local bad = false
  local j = first
  while j <= last do
    local w = want[ARGV[j]]
    if w then
      local t = types[ARGV[j + 2]]
      if not t then
        t = redis.call('TYPE', ARGV[j + 2]).ok
        types[ARGV[j + 2]] = t
      end
      if t ~= 'none' and t ~= w and not (t == 'hll' and ARGV[j] == 'PFADD') then
        bad = 'WRONGTYPE key ' .. ARGV[j + 2] .. ' holds a ' .. t .. ', ' .. ARGV[j] .. ' needs a ' .. w
        break
      end
    end
    j = j + 2 + tonumber(ARGV[j + 1])
  end
  if bad then
    if redis.call('EXISTS', id) == 1 then
      out[#out + 1] = 0
    else
      out[#out + 1] = bad
    end
  elseif not redis.call('SET', id, '1', 'PX', ARGV[1], 'NX') then
    out[#out + 1] = 0
  else
    j = first
    while j <= last do
      local n = tonumber(ARGV[j + 1])
      redis.call(ARGV[j], unpack(ARGV, j + 2, j + 1 + n))
      if not want[ARGV[j]] then
        types[ARGV[j + 2]] = nil -- SET, PEXPIRE...: look again
      elseif types[ARGV[j + 2]] == 'none' then
        types[ARGV[j + 2]] = want[ARGV[j]]
      end
      j = j + 2 + n
    end
    out[#out + 1] = 1
  end
end
return out
`)

// scriptChunk is how many tuples one applyOnce call carries: enough to
// amortize the call, few enough that Redis is not blocked for long.
const scriptChunk = 64

// NewWriter returns a factory of writer bolts for SetBolt.
func NewWriter(cfg WriterConfig) func() topology.Bolt {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if id := cfg.Idempotent; id != nil {
		c := *id
		if c.IDPrefix == "" {
			c.IDPrefix = "squall:applied:"
		}
		if c.TTL <= 0 {
			c.TTL = 24 * time.Hour
		}
		cfg.Idempotent = &c
	}
	return func() topology.Bolt { return &writer{cfg: cfg} }
}

// writer is the Writer bolt.
type writer struct {
	cfg  WriterConfig
	out  topology.OutputCollector
	b    batcher
	cmds map[*topology.Tuple]*Commands
	errs burstLog
	name string
}

func (w *writer) DeclareOutputFields(*topology.OutputDeclarer) {}

// Validate reports an incomplete config to Build.
func (w *writer) Validate() error {
	if w.cfg.Client == nil {
		return ErrNoClient
	}
	if w.cfg.Mapper == nil {
		return ErrNoMapper
	}
	return nil
}

func (w *writer) Prepare(tc *topology.TopologyContext, out topology.OutputCollector) error {
	w.out = out
	w.b = newBatcher(w.cfg.BatchSize, w.cfg.Linger)
	w.cmds = make(map[*topology.Tuple]*Commands)
	w.name = fmt.Sprintf("%s[%d]", tc.ComponentID, tc.TaskID)
	w.errs = burstLog{log: tc.TaskLogger(w.cfg.Logger)}
	return nil
}

func (w *writer) Execute(t *topology.Tuple) {
	if t.IsTick() {
		w.Flush()
		return
	}
	cmds := &Commands{}
	if err := w.cfg.Mapper.Map(t, cmds); err != nil {
		w.out.ReportError(fmt.Errorf("%s: map tuple: %w", w.name, err))
		w.out.Fail(t)
		return
	}
	if len(cmds.cmds) == 0 {
		w.out.Ack(t)
		return
	}
	w.cmds[t] = cmds
	w.b.add(t)
	if w.b.due() {
		w.Flush()
	}
}

// Flush sends the buffered tuples' commands in one pipeline and acks the
// tuples whose commands all succeeded, failing the others.
func (w *writer) Flush() { w.flush(false) }

func (w *writer) flush(reloaded bool) {
	tuples := w.b.take()
	if len(tuples) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), w.cfg.Timeout)
	defer cancel()
	pipe := w.cfg.Client.Pipeline()
	var finish func() []error
	if w.cfg.Idempotent != nil {
		finish = w.queueOnce(ctx, pipe, tuples)
	} else {
		finish = w.queuePlain(ctx, pipe, tuples)
	}
	_, execErr := pipe.Exec(ctx)
	if !reloaded && isNoScript(execErr) && w.cfg.Idempotent != nil {
		// The script cache is empty (first use, or Redis restarted): load
		// the script and resend the batch once.
		if err := applyOnce.Load(ctx, w.cfg.Client).Err(); err == nil {
			w.b.tuples = tuples
			w.flush(true)
			return
		}
	}
	for i, err := range finish() {
		t := tuples[i]
		keys := w.cmds[t].keys()
		delete(w.cmds, t)
		if err != nil {
			err = tupleError(keys, err)
			w.errs.error("redis write failed; the tuple will replay", err)
			w.out.Fail(t)
			continue
		}
		w.out.Ack(t)
	}
}

// queuePlain queues every tuple's commands; the returned function gives
// each tuple's first error once the pipeline ran.
func (w *writer) queuePlain(ctx context.Context, pipe goredis.Pipeliner, tuples []*topology.Tuple) func() []error {
	results := make([][]goredis.Cmder, len(tuples))
	for i, t := range tuples {
		for _, c := range w.cmds[t].cmds {
			results[i] = append(results[i], pipe.Do(ctx, c.argv()...))
		}
	}
	return func() []error {
		errs := make([]error, len(tuples))
		for i, rs := range results {
			for _, r := range rs {
				if errs[i] == nil {
					errs[i] = r.Err()
				}
			}
		}
		return errs
	}
}

// queueOnce queues applyOnce calls of up to scriptChunk tuples (one for a
// cluster client, whose script keys must share a slot).
func (w *writer) queueOnce(ctx context.Context, pipe goredis.Pipeliner, tuples []*topology.Tuple) func() []error {
	id := w.cfg.Idempotent
	chunk := scriptChunk
	if _, single := w.cfg.Client.(*goredis.Client); !single {
		chunk = 1
	}
	errs := make([]error, len(tuples))
	type call struct {
		cmd    *goredis.Cmd
		tuples []int // indexes into tuples
	}
	var calls []*call
	var cur *call
	var keys []string
	var args []any
	send := func() {
		if cur != nil && len(cur.tuples) > 0 {
			cur.cmd = applyOnce.EvalSha(ctx, pipe, keys, args...)
			calls = append(calls, cur)
		}
		cur, keys, args = &call{}, nil, []any{id.TTL.Milliseconds()}
	}
	send()
	for i, t := range tuples {
		event, err := stringField(t, id.EventField)
		if err != nil {
			errs[i] = err
			continue
		}
		n := 0
		for _, c := range w.cmds[t].cmds {
			n += 2 + 1 + len(c.args)
		}
		args = append(args, id.IDPrefix+event, n)
		keys = append(keys, id.IDPrefix+event)
		for _, c := range w.cmds[t].cmds {
			keys = append(keys, c.key)
			args = append(args, c.name, len(c.args)+1, c.key)
			args = append(args, c.args...)
		}
		cur.tuples = append(cur.tuples, i)
		if len(cur.tuples) == chunk {
			send()
		}
	}
	send()
	return func() []error {
		for _, c := range calls {
			res, err := c.cmd.Slice()
			for k, i := range c.tuples {
				switch {
				case err != nil:
					errs[i] = err
				case k >= len(res):
					errs[i] = fmt.Errorf("applyOnce answered %d results for %d tuples", len(res), len(c.tuples))
				default:
					if msg, ok := res[k].(string); ok {
						errs[i] = errors.New(msg)
					}
				}
			}
		}
		return errs
	}
}

func (w *writer) Cleanup() error {
	w.Flush()
	return nil
}

func isNoScript(err error) bool { return err != nil && strings.Contains(err.Error(), "NOSCRIPT") }
