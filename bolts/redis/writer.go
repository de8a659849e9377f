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
	// Logger receives errors, once per burst. Default slog.Default().
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

// ErrNoClient and ErrNoMapper are returned by Prepare for an incomplete config.
var (
	ErrNoClient = errors.New("redis bolt: no client")
	ErrNoMapper = errors.New("redis writer: no mapper")
)

// applyOnce runs a tuple's commands only if its event id was not applied:
// KEYS[1] is the id key, ARGV[1] the TTL in ms; then per command its name,
// its argument count, and its arguments (the command's key first, also in
// KEYS for Cluster's slot check). Redis does not roll a script back, so the
// keys' types are checked before anything is written: a wrong-type key fails
// the tuple with nothing applied and the id not marked. (A HyperLogLog is a
// string to Redis, an "hll" to miniredis, the demo's fallback.)
var applyOnce = goredis.NewScript(`
local want = {HINCRBY='hash', HINCRBYFLOAT='hash', HSET='hash', ZINCRBY='zset', ZREMRANGEBYRANK='zset',
  INCRBY='string', PFADD='string', LPUSH='list', LTRIM='list', XADD='stream'}
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local i = 2
while i <= #ARGV do
  local n = tonumber(ARGV[i + 1])
  local w = want[ARGV[i]]
  if w then
    local t = redis.call('TYPE', ARGV[i + 2]).ok
    if t ~= 'none' and t ~= w and not (t == 'hll' and ARGV[i] == 'PFADD') then
      return redis.error_reply('WRONGTYPE key ' .. ARGV[i + 2] .. ' holds a ' .. t .. ', ' .. ARGV[i] .. ' needs a ' .. w)
    end
  end
  i = i + 2 + n
end
redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
i = 2
while i <= #ARGV do
  local n = tonumber(ARGV[i + 1])
  redis.call(ARGV[i], unpack(ARGV, i + 2, i + 1 + n))
  i = i + 2 + n
end
return 1
`)

// NewWriter returns a factory of writer bolts for SetBolt.
func NewWriter(cfg WriterConfig) func() topology.Bolt {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
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

func (w *writer) Prepare(tc *topology.TopologyContext, out topology.OutputCollector) error {
	if w.cfg.Client == nil {
		return ErrNoClient
	}
	if w.cfg.Mapper == nil {
		return ErrNoMapper
	}
	w.out = out
	w.b = newBatcher(w.cfg.BatchSize, w.cfg.Linger)
	w.cmds = make(map[*topology.Tuple]*Commands)
	w.name = fmt.Sprintf("%s[%d]", tc.ComponentID, tc.TaskID)
	w.errs = burstLog{log: w.cfg.Logger.With("component", tc.ComponentID, "task", tc.TaskID)}
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
	results := make([][]goredis.Cmder, len(tuples))
	failed := make([]error, len(tuples))
	pipe := w.cfg.Client.Pipeline()
	for i, t := range tuples {
		cmds := w.cmds[t]
		if id := w.cfg.Idempotent; id != nil {
			event, err := stringField(t, id.EventField)
			if err != nil {
				failed[i] = err
				continue
			}
			keys := []string{id.IDPrefix + event}
			args := []any{id.TTL.Milliseconds()}
			for _, c := range cmds.cmds {
				keys = append(keys, c.key)
				args = append(args, c.name, len(c.args)+1, c.key)
				args = append(args, c.args...)
			}
			results[i] = []goredis.Cmder{applyOnce.EvalSha(ctx, pipe, keys, args...)}
			continue
		}
		for _, c := range cmds.cmds {
			results[i] = append(results[i], pipe.Do(ctx, c.argv()...))
		}
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
	for i, t := range tuples {
		err := failed[i]
		for _, r := range results[i] {
			if err == nil && r.Err() != nil {
				err = r.Err()
			}
		}
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

func (w *writer) Cleanup() error {
	w.Flush()
	return nil
}

func isNoScript(err error) bool { return err != nil && strings.Contains(err.Error(), "NOSCRIPT") }
