package topology

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestApplySettingsSetsTheRuntimeFields(t *testing.T) {
	c, err := Config{MaxSpoutPending: 10}.ApplySettings(map[string]string{
		SettingMessageTimeout:  "2.5",
		SettingMaxSpoutPending: "50000",
		SettingTickFrequency:   "1",
		SettingAckers:          "0",
		SettingBatchSize:       "512",
		SettingBatchLinger:     "0.5",
		"brokers":              "127.0.0.1:9092", // the topology's own
	})
	if err != nil {
		t.Fatal(err)
	}
	want := Config{MessageTimeout: 2500 * time.Millisecond, MaxSpoutPending: 50000, TickFrequency: time.Second,
		DisableAcking: true, BatchSize: 512, BatchLinger: 500 * time.Microsecond}
	if c.MessageTimeout != want.MessageTimeout || c.MaxSpoutPending != want.MaxSpoutPending || c.TickFrequency != want.TickFrequency ||
		c.DisableAcking != want.DisableAcking || c.BatchSize != want.BatchSize || c.BatchLinger != want.BatchLinger {
		t.Fatalf("config %+v, want %+v", c, want)
	}
}

func TestApplySettingsRefusesWhatItCannotTake(t *testing.T) {
	for _, tc := range []struct{ key, value, says string }{
		{SettingMessageTimeout, "30s", "seconds"},
		{SettingMessageTimeout, "0", "seconds"},
		{SettingMessageTimeout, "NaN", "seconds"},
		{SettingMessageTimeout, "1e300", "seconds"},
		{SettingMaxSpoutPending, "-1", "whole number"},
		{SettingBatchSize, "2.5", "whole number"},
		{SettingBatchLinger, "soon", "milliseconds"},
		{SettingAckers, "2", "acker tasks"},
		{"topology.max.spout.pendng", "10", "unknown key"},
	} {
		_, err := Config{}.ApplySettings(map[string]string{tc.key: tc.value})
		if !errors.Is(err, ErrBadSetting) || !strings.Contains(err.Error(), tc.key+"=") || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s=%s: %v", tc.key, tc.value, err)
		}
	}
}
