package topology

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Settings keys that set Config fields, under the names Storm gives them,
// so that any topology can be tuned when it is submitted (`squall submit
// NAME --set topology.max.spout.pending=10000`), as with Storm's `-c`.
// Other keys are the topology's own.
const (
	// SettingMessageTimeout sets MessageTimeout, in seconds ("30", "2.5").
	SettingMessageTimeout = "topology.message.timeout.secs"
	// SettingMaxSpoutPending sets MaxSpoutPending.
	SettingMaxSpoutPending = "topology.max.spout.pending"
	// SettingTickFrequency sets TickFrequency, in seconds.
	SettingTickFrequency = "topology.tick.tuple.freq.secs"
	// SettingAckers = 0 sets DisableAcking. squall has no acker tasks (a
	// spout task keeps its own trees), so no other number is taken.
	SettingAckers = "topology.acker.executors"
	// SettingBatchSize sets BatchSize (Storm 2's transfer batch).
	SettingBatchSize = "topology.transfer.batch.size"
	// SettingBatchLinger sets BatchLinger, in milliseconds.
	SettingBatchLinger = "topology.batch.flush.interval.millis"
)

// SettingKeys returns the Setting keys, for listing them.
func SettingKeys() []string {
	return []string{SettingMessageTimeout, SettingMaxSpoutPending, SettingTickFrequency, SettingAckers, SettingBatchSize, SettingBatchLinger}
}

// settingPrefix marks the keys that are Storm's and squall's, not the
// topology's own: a key under it that is not one of the Setting keys is
// refused, so a misspelt one is not silently ignored.
const settingPrefix = "topology."

// ErrBadSetting means a Setting key with a value it cannot take, or an
// unknown key under "topology.".
var ErrBadSetting = errors.New("bad topology setting")

// ApplySettings returns c with the fields the Setting keys of settings set.
// An error names the key and the value.
func (c Config) ApplySettings(settings map[string]string) (Config, error) {
	keys := make([]string, 0, len(settings))
	for k := range settings {
		if strings.HasPrefix(k, settingPrefix) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys) // the same error first, whatever the map order
	for _, k := range keys {
		if err := c.applySetting(k, settings[k]); err != nil {
			return c, fmt.Errorf("%w %s=%q: %v", ErrBadSetting, k, settings[k], err)
		}
	}
	return c, nil
}

func (c *Config) applySetting(key, v string) error {
	switch key {
	case SettingMessageTimeout:
		return setSeconds(&c.MessageTimeout, v)
	case SettingTickFrequency:
		return setSeconds(&c.TickFrequency, v)
	case SettingMaxSpoutPending:
		return setCount(&c.MaxSpoutPending, v)
	case SettingBatchSize:
		return setCount(&c.BatchSize, v)
	case SettingBatchLinger:
		ms, ok := positive(v)
		if !ok {
			return errors.New("want a positive number of milliseconds")
		}
		c.BatchLinger = time.Duration(ms * float64(time.Millisecond))
		return nil
	case SettingAckers:
		if v != "0" {
			return errors.New("squall keeps ack trees in the spout tasks, not in acker tasks; only 0 (acking off) is taken")
		}
		c.DisableAcking = true
		return nil
	}
	return fmt.Errorf("unknown key; known: %s", strings.Join(SettingKeys(), ", "))
}

func setSeconds(d *time.Duration, v string) error {
	s, ok := positive(v)
	if !ok {
		return errors.New("want a positive number of seconds")
	}
	*d = time.Duration(s * float64(time.Second))
	return nil
}

// positive parses a number above 0 and below 10^9 (some 31 years in
// seconds), so that it converts to a Duration without overflow.
func positive(v string) (float64, bool) {
	f, err := strconv.ParseFloat(v, 64)
	return f, err == nil && f > 0 && f < 1e9
}

func setCount(n *int, v string) error {
	i, err := strconv.Atoi(v)
	if err != nil || i < 1 {
		return errors.New("want a positive whole number")
	}
	*n = i
	return nil
}
