package redis

import (
	"fmt"
	"strconv"
	"time"
)

// command is one Redis command on one key.
type command struct {
	name string
	key  string
	args []any
}

// Commands collects the commands a Mapper makes for one tuple.
type Commands struct{ cmds []command }

func (c *Commands) add(name, key string, args ...any) {
	c.cmds = append(c.cmds, command{name: name, key: key, args: args})
}

// HIncrBy adds n to a hash field.
func (c *Commands) HIncrBy(key, field string, n int64) { c.add("HINCRBY", key, field, n) }

// HIncrByFloat adds f to a hash field.
func (c *Commands) HIncrByFloat(key, field string, f float64) {
	c.add("HINCRBYFLOAT", key, field, strconv.FormatFloat(f, 'f', -1, 64))
}

// IncrBy adds n to a string counter.
func (c *Commands) IncrBy(key string, n int64) { c.add("INCRBY", key, n) }

// ZIncrBy adds score to a sorted-set member.
func (c *Commands) ZIncrBy(key, member string, score float64) {
	c.add("ZINCRBY", key, strconv.FormatFloat(score, 'f', -1, 64), member)
}

// ZKeepTop trims a sorted set to its n highest members.
func (c *Commands) ZKeepTop(key string, n int) { c.add("ZREMRANGEBYRANK", key, 0, -n-1) }

// Set stores a string, with a TTL when ttl > 0.
func (c *Commands) Set(key string, value any, ttl time.Duration) {
	if ttl > 0 {
		c.add("SET", key, value, "PX", ttl.Milliseconds())
		return
	}
	c.add("SET", key, value)
}

// HSet stores a hash field.
func (c *Commands) HSet(key, field string, value any) { c.add("HSET", key, field, value) }

// Expire sets a key's TTL.
func (c *Commands) Expire(key string, ttl time.Duration) { c.add("PEXPIRE", key, ttl.Milliseconds()) }

// LPush pushes onto a list, keeping its newest maxLen entries when maxLen > 0.
func (c *Commands) LPush(key string, value any, maxLen int) {
	c.add("LPUSH", key, value)
	if maxLen > 0 {
		c.add("LTRIM", key, 0, maxLen-1)
	}
}

// XAdd appends to a stream, capped at about maxLen entries when maxLen > 0.
func (c *Commands) XAdd(key string, maxLen int64, fieldValues ...any) {
	args := []any{}
	if maxLen > 0 {
		args = append(args, "MAXLEN", "~", maxLen)
	}
	args = append(args, "*")
	c.add("XADD", key, append(args, fieldValues...)...)
}

// PFAdd adds members to a HyperLogLog.
func (c *Commands) PFAdd(key string, members ...any) { c.add("PFADD", key, members...) }

// keys lists the keys of the commands, for error messages.
func (c *Commands) keys() []string {
	var out []string
	seen := map[string]bool{}
	for _, cmd := range c.cmds {
		if !seen[cmd.key] {
			seen[cmd.key] = true
			out = append(out, cmd.key)
		}
	}
	return out
}

func (cmd command) argv() []any {
	return append([]any{cmd.name, cmd.key}, cmd.args...)
}

func (cmd command) String() string { return fmt.Sprintf("%s %s", cmd.name, cmd.key) }
