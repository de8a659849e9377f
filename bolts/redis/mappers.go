package redis

import (
	"fmt"
	"time"

	"github.com/squall-stream/squall/topology"
)

// Mapper turns a tuple into the Redis commands that store it. An error
// fails the tuple.
type Mapper interface {
	Map(t *topology.Tuple, c *Commands) error
}

// MapperFunc is a Mapper made of a function.
type MapperFunc func(t *topology.Tuple, c *Commands) error

// Map calls f.
func (f MapperFunc) Map(t *topology.Tuple, c *Commands) error { return f(t, c) }

// Mappers runs several mappers on each tuple, in order.
func Mappers(ms ...Mapper) Mapper {
	return MapperFunc(func(t *topology.Tuple, c *Commands) error {
		for _, m := range ms {
			if err := m.Map(t, c); err != nil {
				return err
			}
		}
		return nil
	})
}

// Key names a key: Prefix + Name, then ":" + the tuple's KeyField value when
// set, then ":" + a time bucket of TimeField when Bucket is set (per minute:
// 200601021504, per hour: 2006010215, per day: 20060102, in UTC).
type Key struct {
	Prefix    string
	Name      string
	KeyField  string
	TimeField string
	Bucket    time.Duration
}

// For builds the key for a tuple.
func (k Key) For(t *topology.Tuple) (string, error) {
	key := k.Prefix + k.Name
	if k.KeyField != "" {
		v, err := stringField(t, k.KeyField)
		if err != nil {
			return "", err
		}
		key += ":" + v
	}
	if k.Bucket > 0 {
		at, err := timeField(t, k.TimeField)
		if err != nil {
			return "", err
		}
		key += ":" + BucketOf(at, k.Bucket)
	}
	return key, nil
}

// BucketOf formats the bucket a time falls in: per minute, hour or day.
func BucketOf(at time.Time, bucket time.Duration) string {
	at = at.UTC().Truncate(bucket)
	switch {
	case bucket >= 24*time.Hour:
		return at.Format("20060102")
	case bucket >= time.Hour:
		return at.Format("2006010215")
	default:
		return at.Format("200601021504")
	}
}

func stringField(t *topology.Tuple, name string) (string, error) {
	switch v := t.ValueByField(name).(type) {
	case string:
		return v, nil
	case []byte:
		return string(v), nil
	case int64, int, float64, bool:
		return fmt.Sprint(v), nil
	case nil:
		return "", fmt.Errorf("tuple has no field %q (fields %v)", name, t.Fields())
	default:
		return "", fmt.Errorf("field %q is a %T, not a key part", name, v)
	}
}

func numberField(t *topology.Tuple, name string) (int64, float64, bool, error) {
	switch v := t.ValueByField(name).(type) {
	case int64:
		return v, 0, true, nil
	case int:
		return int64(v), 0, true, nil
	case float64:
		return 0, v, false, nil
	case nil:
		return 0, 0, false, fmt.Errorf("tuple has no field %q (fields %v)", name, t.Fields())
	default:
		return 0, 0, false, fmt.Errorf("field %q is a %T, not a number", name, v)
	}
}

func timeField(t *topology.Tuple, name string) (time.Time, error) {
	if name == "" {
		return time.Now(), nil
	}
	v, ok := t.ValueByField(name).(time.Time)
	if !ok {
		return time.Time{}, fmt.Errorf("field %q is not a time.Time (fields %v)", name, t.Fields())
	}
	return v, nil
}

// HashIncrement adds the AmountField (int64: HINCRBY; float64:
// HINCRBYFLOAT; empty: 1) to the hash field named by FieldField's value.
// TTL, when set, is (re)applied to the key, for time-bucketed hashes.
type HashIncrement struct {
	Key         Key
	FieldField  string
	Field       string // a fixed field, when FieldField is empty
	AmountField string
	TTL         time.Duration
}

// Map implements Mapper.
func (m HashIncrement) Map(t *topology.Tuple, c *Commands) error {
	key, err := m.Key.For(t)
	if err != nil {
		return err
	}
	field := m.Field
	if m.FieldField != "" {
		if field, err = stringField(t, m.FieldField); err != nil {
			return err
		}
	}
	if m.AmountField == "" {
		c.HIncrBy(key, field, 1)
	} else {
		n, f, isInt, err := numberField(t, m.AmountField)
		if err != nil {
			return err
		}
		if isInt {
			c.HIncrBy(key, field, n)
		} else {
			c.HIncrByFloat(key, field, f)
		}
	}
	if m.TTL > 0 {
		c.Expire(key, m.TTL)
	}
	return nil
}

// SortedSetIncrement adds ScoreField (1 when empty) to the member named by
// MemberField: a top-N leaderboard when KeepTop > 0.
type SortedSetIncrement struct {
	Key         Key
	MemberField string
	ScoreField  string
	KeepTop     int
}

// Map implements Mapper.
func (m SortedSetIncrement) Map(t *topology.Tuple, c *Commands) error {
	key, err := m.Key.For(t)
	if err != nil {
		return err
	}
	member, err := stringField(t, m.MemberField)
	if err != nil {
		return err
	}
	score := 1.0
	if m.ScoreField != "" {
		n, f, isInt, err := numberField(t, m.ScoreField)
		if err != nil {
			return err
		}
		if score = f; isInt {
			score = float64(n)
		}
	}
	c.ZIncrBy(key, member, score)
	if m.KeepTop > 0 {
		c.ZKeepTop(key, m.KeepTop)
	}
	return nil
}

// Store writes ValueField as a string (FieldField empty) or as the hash
// field named by FieldField's value, with a TTL when set.
type Store struct {
	Key        Key
	FieldField string
	ValueField string
	TTL        time.Duration
}

// Map implements Mapper.
func (m Store) Map(t *topology.Tuple, c *Commands) error {
	key, err := m.Key.For(t)
	if err != nil {
		return err
	}
	v := redisValue(t.ValueByField(m.ValueField))
	if v == nil {
		return fmt.Errorf("tuple has no field %q (fields %v)", m.ValueField, t.Fields())
	}
	if m.FieldField == "" {
		c.Set(key, v, m.TTL)
		return nil
	}
	field, err := stringField(t, m.FieldField)
	if err != nil {
		return err
	}
	c.HSet(key, field, v)
	if m.TTL > 0 {
		c.Expire(key, m.TTL)
	}
	return nil
}

// ListPush pushes ValueField onto a list, keeping the newest MaxLen.
type ListPush struct {
	Key        Key
	ValueField string
	MaxLen     int
}

// Map implements Mapper.
func (m ListPush) Map(t *topology.Tuple, c *Commands) error {
	key, err := m.Key.For(t)
	if err != nil {
		return err
	}
	v := redisValue(t.ValueByField(m.ValueField))
	if v == nil {
		return fmt.Errorf("tuple has no field %q (fields %v)", m.ValueField, t.Fields())
	}
	c.LPush(key, v, m.MaxLen)
	return nil
}

// StreamAdd appends the named fields (all when empty) to a stream capped at
// about MaxLen entries.
type StreamAdd struct {
	Key    Key
	Fields []string
	MaxLen int64
}

// Map implements Mapper.
func (m StreamAdd) Map(t *topology.Tuple, c *Commands) error {
	key, err := m.Key.For(t)
	if err != nil {
		return err
	}
	names := m.Fields
	if len(names) == 0 {
		names = t.Fields()
	}
	var fv []any
	for _, n := range names {
		v := redisValue(t.ValueByField(n))
		if v == nil {
			return fmt.Errorf("tuple has no field %q (fields %v)", n, t.Fields())
		}
		fv = append(fv, n, v)
	}
	c.XAdd(key, m.MaxLen, fv...)
	return nil
}

// UniqueCount adds MemberField's value to a HyperLogLog (unique buyers),
// with a TTL when set.
type UniqueCount struct {
	Key         Key
	MemberField string
	TTL         time.Duration
}

// Map implements Mapper.
func (m UniqueCount) Map(t *topology.Tuple, c *Commands) error {
	key, err := m.Key.For(t)
	if err != nil {
		return err
	}
	member, err := stringField(t, m.MemberField)
	if err != nil {
		return err
	}
	c.PFAdd(key, member)
	if m.TTL > 0 {
		c.Expire(key, m.TTL)
	}
	return nil
}

// redisValue formats a tuple value for Redis: times as RFC 3339 in UTC
// rather than go-redis's binary time encoding.
func redisValue(v any) any {
	if tm, ok := v.(time.Time); ok {
		return tm.UTC().Format(time.RFC3339Nano)
	}
	return v
}
