package nfsserve

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"

	nfs "github.com/willscott/go-nfs"
)

// go-nfs logs through one package-level logger, by default to the standard
// library's log package. The first Start replaces it with libraryLog, which
// passes its lines to the logger of the server started last.
var (
	routeOnce  sync.Once
	libraryLog = &slogAdapter{}
)

func routeLibraryLogs(logger *slog.Logger) {
	libraryLog.target.Store(logger.With("source", "go-nfs"))
	routeOnce.Do(func() { nfs.SetLogger(libraryLog) })
}

// slogAdapter is go-nfs's Logger on top of slog. go-nfs logs at its error
// level what is mostly a client's doing (a bad request, a missing file), so
// that becomes a warning here.
type slogAdapter struct {
	target atomic.Pointer[slog.Logger]
	level  atomic.Int32
}

var _ nfs.Logger = (*slogAdapter)(nil)

// Lines go-nfs logs as errors that need no operator, logged at debug
// level: a client probing the NFS_ACL side protocol (100227), which go-nfs
// does not serve (clients mounting with noacl do not probe, those that do
// carry on without ACLs); and attributes it could not read for a reply,
// which it then leaves out (a file removed meanwhile, or one it names by a
// path with a slash after CREATE in a sub-directory), so the client asks
// for them.
var routine = []string{"No handler for 100227.", "err loading attrs for "}

func (a *slogAdapter) log(level slog.Level, msg string) {
	for _, prefix := range routine {
		if strings.HasPrefix(msg, prefix) {
			level = slog.LevelDebug
		}
	}
	if l := a.target.Load(); l != nil {
		l.Log(context.Background(), level, "nfs: "+strings.TrimSpace(msg))
	}
}

func (a *slogAdapter) enabled(level slog.Level) bool {
	l := a.target.Load()
	return l != nil && l.Enabled(context.Background(), level)
}

func (a *slogAdapter) logf(level slog.Level, format string, args ...any) {
	if a.enabled(level) {
		a.log(level, fmt.Sprintf(format, args...))
	}
}

func (a *slogAdapter) logln(level slog.Level, args ...any) {
	if a.enabled(level) {
		a.log(level, fmt.Sprint(args...))
	}
}

func (a *slogAdapter) SetLevel(level nfs.LogLevel) { a.level.Store(int32(level)) }
func (a *slogAdapter) GetLevel() nfs.LogLevel      { return nfs.LogLevel(a.level.Load()) }

func (a *slogAdapter) ParseLevel(level string) (nfs.LogLevel, error) {
	return (&nfs.DefaultLogger{}).ParseLevel(level)
}

func (a *slogAdapter) Panic(args ...any) { a.logln(slog.LevelError, args...) }
func (a *slogAdapter) Fatal(args ...any) { a.logln(slog.LevelError, args...) }
func (a *slogAdapter) Error(args ...any) { a.logln(slog.LevelWarn, args...) }
func (a *slogAdapter) Warn(args ...any)  { a.logln(slog.LevelWarn, args...) }
func (a *slogAdapter) Info(args ...any)  { a.logln(slog.LevelInfo, args...) }
func (a *slogAdapter) Debug(args ...any) { a.logln(slog.LevelDebug, args...) }
func (a *slogAdapter) Trace(args ...any) { a.logln(slog.LevelDebug-4, args...) }
func (a *slogAdapter) Print(args ...any) { a.logln(slog.LevelInfo, args...) }

func (a *slogAdapter) Panicf(f string, args ...any) { a.logf(slog.LevelError, f, args...) }
func (a *slogAdapter) Fatalf(f string, args ...any) { a.logf(slog.LevelError, f, args...) }
func (a *slogAdapter) Errorf(f string, args ...any) { a.logf(slog.LevelWarn, f, args...) }
func (a *slogAdapter) Warnf(f string, args ...any)  { a.logf(slog.LevelWarn, f, args...) }
func (a *slogAdapter) Infof(f string, args ...any)  { a.logf(slog.LevelInfo, f, args...) }
func (a *slogAdapter) Debugf(f string, args ...any) { a.logf(slog.LevelDebug, f, args...) }
func (a *slogAdapter) Tracef(f string, args ...any) { a.logf(slog.LevelDebug-4, f, args...) }
func (a *slogAdapter) Printf(f string, args ...any) { a.logf(slog.LevelInfo, f, args...) }
