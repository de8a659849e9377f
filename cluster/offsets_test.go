package cluster

import (
	"errors"
	"testing"
)

func TestParseOffsetTarget(t *testing.T) {
	for _, s := range []string{"earliest", "latest", "2026-11-25T08:00:00Z", "0=5,3=70"} {
		if _, err := ParseOffsetTarget(s); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	for _, s := range []string{"", "first", "0=", "=5", "0=-1", "a=1", "2026-13-01"} {
		if _, err := ParseOffsetTarget(s); !errors.Is(err, ErrBadOffsetTarget) {
			t.Errorf("%q: %v, want ErrBadOffsetTarget", s, err)
		}
	}
}
