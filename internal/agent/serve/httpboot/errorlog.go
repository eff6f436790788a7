package httpboot

import (
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// How many of net/http's own messages are logged: a scanner, or a client
// that does not trust the certificate retrying in a loop, fails a TLS
// handshake per connection and must not flood the log. Messages beyond
// are counted, and the count goes with the next one logged.
const (
	errorLogEvery = time.Second
	errorLogBurst = 10
)

// limitedLog is the io.Writer behind http.Server.ErrorLog: each message
// becomes a warning, up to the rate above.
type limitedLog struct {
	logger     *slog.Logger
	limit      *rate.Limiter
	suppressed atomic.Int64
}

func newLimitedLog(logger *slog.Logger) *limitedLog {
	return &limitedLog{logger: logger, limit: rate.NewLimiter(rate.Every(errorLogEvery), errorLogBurst)}
}

func (l *limitedLog) Write(p []byte) (int, error) {
	if !l.limit.Allow() {
		l.suppressed.Add(1)
		return len(p), nil
	}
	var attrs []any
	if n := l.suppressed.Swap(0); n > 0 {
		attrs = append(attrs, "not_logged_since", n)
	}
	l.logger.Warn(strings.TrimSpace(string(p)), attrs...)
	return len(p), nil
}
