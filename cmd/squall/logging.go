package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	goredis "github.com/redis/go-redis/v9"
)

// commandLogger makes a command's logger, writing text to w at level and
// above, and hands go-redis's own log lines (a failed dial, a pool
// retry) to it too. Without that, go-redis prints them in a format of its
// own, through the standard log package, whatever the command's level.
// go-redis's logger is the process's: a binary runs one command.
func commandLogger(w io.Writer, level slog.Level) *slog.Logger {
	l := slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
	goredis.SetLogger(redisLogger{l})
	return l
}

// redisLogger is go-redis's Logging on a slog.Logger, at warning level:
// what go-redis logs is trouble reaching Redis.
type redisLogger struct{ log *slog.Logger }

func (r redisLogger) Printf(ctx context.Context, format string, v ...any) {
	r.log.WarnContext(ctx, strings.TrimSpace(fmt.Sprintf(format, v...)), "from", "go-redis")
}
