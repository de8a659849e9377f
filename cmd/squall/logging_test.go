package main

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"

	goredis "github.com/redis/go-redis/v9"
)

// go-redis's own complaints come out through the command's logger, in its
// format, not through the standard log package.
func TestGoRedisLogsThroughTheCommandLogger(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := lis.Addr().String()
	lis.Close()
	var buf bytes.Buffer
	commandLogger(&buf, slog.LevelInfo)
	c := goredis.NewClient(&goredis.Options{Addr: closed, MaxRetries: -1})
	defer c.Close()
	if err := c.Ping(context.Background()).Err(); err == nil {
		t.Fatalf("ping of closed %s succeeded", closed)
	}
	if out := buf.String(); !strings.Contains(out, "level=WARN") || !strings.Contains(out, "from=go-redis") || !strings.Contains(out, closed) {
		t.Fatalf("command log: %q", out)
	}
}
