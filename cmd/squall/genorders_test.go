package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/squall-stream/squall/examples/orders"
)

func TestGenOrdersWritesLinesAndTruth(t *testing.T) {
	dir := t.TempDir()
	log, truthPath := filepath.Join(dir, "logs", "orders.log"), filepath.Join(dir, "truth.json")
	out, err := runSquall(t, "gen-orders", "--out", log, "--count", "2000", "--rate", "0", "--malformed", "0.05", "--seed", "3", "--truth", truthPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "wrote 2000 order lines") {
		t.Fatalf("output: %s", out)
	}
	f, err := os.Open(log)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var good, bad int64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if _, err := orders.ParseOrder(sc.Bytes()); errors.Is(err, orders.ErrMalformedOrder) {
			bad++
		} else if err == nil {
			good++
		} else {
			t.Fatal(err)
		}
	}
	var truth orders.Truth
	b, err := os.ReadFile(truthPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &truth); err != nil {
		t.Fatal(err)
	}
	if good+bad != 2000 || truth.Orders != good || truth.Malformed != bad || bad == 0 {
		t.Fatalf("log has %d good and %d bad lines; truth says %d and %d", good, bad, truth.Orders, truth.Malformed)
	}
}

func TestGenOrdersRejectsBadFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"gen-orders"}, "--out is required"},
		{[]string{"gen-orders", "--out", "x", "--rate", "-1"}, "--rate must not be negative"},
		{[]string{"gen-orders", "--out", "x", "--malformed", "2"}, "--malformed must be a fraction"},
	} {
		if _, err := runSquall(t, c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("squall %s: %v, want %q", strings.Join(c.args, " "), err, c.want)
		}
	}
}
