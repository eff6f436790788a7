package agent

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	netbootv1 "github.com/netbootlab/terraform-provider-netboot/internal/wire/netbootv1"
)

// progressInterval is how often a long operation logs its progress.
const progressInterval = 2 * time.Second

// keptOperations is how many finished operations ListOperations still shows.
const keptOperations = 32

// Operation kinds (Progress.operation).
const (
	opArtifactFetch     = "artifact_fetch"
	opNFSRootImageBuild = "nfs_root_image_build"
)

// Final phases.
const (
	phaseDone   = "done"
	phaseFailed = "failed"
)

// operations tracks long operations (downloads, image builds) under its own
// mutex, so an operator can watch one while it holds the service's.
type operations struct {
	interval time.Duration

	mu       sync.Mutex
	active   map[*operation]struct{}
	finished []*netbootv1.Progress          // oldest first, at most keptOperations
	last     map[string]*netbootv1.Progress // the last finished one per operation and object
}

func newOperations(interval time.Duration) *operations {
	return &operations{interval: interval, active: map[*operation]struct{}{}, last: map[string]*netbootv1.Progress{}}
}

// operation is one running operation. It logs each phase and, at most every
// interval, its progress; the log records are also `agent logs` events.
type operation struct {
	ops    *operations
	logger *slog.Logger
	noun   string // "artifact download", "NFS root image build": how log messages start

	// guarded by ops.mu
	p          *netbootv1.Progress
	phaseStart time.Time
	lastLog    time.Time
}

func opKey(kind, object string) string { return kind + "\x00" + object }

// start begins an operation on object; logger carries its attributes.
func (o *operations) start(kind, object, noun string, logger *slog.Logger) *operation {
	now := time.Now()
	op := &operation{
		ops: o, logger: logger, noun: noun, phaseStart: now, lastLog: now,
		p: &netbootv1.Progress{Operation: kind, Object: object, StartedUnixNano: now.UnixNano(), UpdatedUnixNano: now.UnixNano()},
	}
	o.mu.Lock()
	o.active[op] = struct{}{}
	o.mu.Unlock()
	return op
}

// phase ends the current phase (recording how long it took) and starts the
// next.
func (op *operation) phase(name string) {
	op.ops.mu.Lock()
	now := time.Now()
	op.endPhaseLocked(now)
	op.p.Phase, op.p.DoneBytes, op.p.TotalBytes, op.p.Message = name, 0, 0, ""
	op.p.UpdatedUnixNano = now.UnixNano()
	op.phaseStart, op.lastLog = now, now
	op.ops.mu.Unlock()
	op.logger.Info(op.noun+" phase", "phase", name)
}

func (op *operation) endPhaseLocked(now time.Time) {
	if op.p.Phase == "" {
		return
	}
	line := fmt.Sprintf("%s: %s", op.p.Phase, now.Sub(op.phaseStart).Round(time.Millisecond))
	if op.p.Message != "" {
		line += " (" + op.p.Message + ")"
	}
	op.p.Log = append(op.p.Log, line)
}

// note sets what the current phase did, for the phase's log line.
func (op *operation) note(format string, args ...any) {
	op.ops.mu.Lock()
	defer op.ops.mu.Unlock()
	op.p.Message = fmt.Sprintf(format, args...)
	op.p.UpdatedUnixNano = time.Now().UnixNano()
}

// bytes records done of total bytes (total 0: unknown) and logs progress
// when an interval has passed since the last time.
func (op *operation) bytes(done, total int64) {
	op.ops.mu.Lock()
	now := time.Now()
	op.p.DoneBytes, op.p.TotalBytes = uint64(max(done, 0)), uint64(max(total, 0))
	op.p.Message = progressMessage(done, total, now.Sub(op.phaseStart))
	op.p.UpdatedUnixNano = now.UnixNano()
	due := now.Sub(op.lastLog) >= op.ops.interval
	if due {
		op.lastLog = now
	}
	msg, phase := op.p.Message, op.p.Phase
	op.ops.mu.Unlock()
	if due {
		attrs := []any{"phase", phase, "done_bytes", done, "message", msg}
		if total > 0 {
			attrs = append(attrs, "total_bytes", total, "percent", done*100/total)
		}
		op.logger.Info(op.noun+" progress", attrs...)
	}
}

// result is the progress finish(nil) would return, for storing with the
// object before the operation's last step.
func (op *operation) result() *netbootv1.Progress {
	op.ops.mu.Lock()
	defer op.ops.mu.Unlock()
	saved := op.p
	op.p = proto.Clone(saved).(*netbootv1.Progress)
	op.endPhaseLocked(time.Now())
	op.p.Phase = phaseDone
	final := op.p
	op.p = saved
	return final
}

// finish ends the operation, done or failed, logs it and returns its final
// progress.
func (op *operation) finish(err error) *netbootv1.Progress {
	o := op.ops
	o.mu.Lock()
	now := time.Now()
	op.endPhaseLocked(now)
	op.p.Phase = phaseDone
	if err != nil {
		op.p.Phase, op.p.Error = phaseFailed, err.Error()
	}
	op.p.UpdatedUnixNano = now.UnixNano()
	final := proto.Clone(op.p).(*netbootv1.Progress)
	delete(o.active, op)
	o.finished = append(o.finished, final)
	if len(o.finished) > keptOperations {
		o.finished = o.finished[len(o.finished)-keptOperations:]
	}
	o.last[opKey(final.Operation, final.Object)] = final
	o.mu.Unlock()
	took := now.Sub(time.Unix(0, final.StartedUnixNano)).Round(time.Millisecond)
	if err != nil {
		op.logger.Warn(op.noun+" failed", "duration", took, "error", err)
	} else {
		op.logger.Info(op.noun+" done", "duration", took, "message", final.Message)
	}
	return proto.Clone(final).(*netbootv1.Progress)
}

// list returns the finished and the running operations, by operationKey.
func (o *operations) list() []*netbootv1.Progress {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []*netbootv1.Progress
	for _, p := range o.finished {
		out = append(out, proto.Clone(p).(*netbootv1.Progress))
	}
	for op := range o.active {
		out = append(out, proto.Clone(op.p).(*netbootv1.Progress))
	}
	slices.SortFunc(out, func(a, b *netbootv1.Progress) int { return slices.Compare(operationKey(a), operationKey(b)) })
	return out
}

// operationKey orders operations oldest first, and is their page key.
func operationKey(p *netbootv1.Progress) []string {
	return []string{fmt.Sprintf("%020d", max(p.GetStartedUnixNano(), 0)), p.GetOperation(), p.GetObject()}
}

// lastOf returns the last finished operation on object, or nil.
func (o *operations) lastOf(kind, object string) *netbootv1.Progress {
	o.mu.Lock()
	defer o.mu.Unlock()
	if p := o.last[opKey(kind, object)]; p != nil {
		return proto.Clone(p).(*netbootv1.Progress)
	}
	return nil
}

// progressMessage says how far a transfer is: "12.0 MiB of 48.0 MiB (25%),
// 4.1 MiB/s".
func progressMessage(done, total int64, elapsed time.Duration) string {
	msg := FormatBytes(done)
	if total > 0 {
		msg += fmt.Sprintf(" of %s (%d%%)", FormatBytes(total), done*100/total)
	}
	if secs := elapsed.Seconds(); secs > 0 {
		msg += ", " + FormatBytes(int64(float64(done)/secs)) + "/s"
	}
	return msg
}

// FormatBytes writes a size in binary units: "512 B", "4.0 KiB", "1.5 GiB".
func FormatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}

func (s *core) ListOperations(_ context.Context, req *netbootv1.ListOperationsRequest) (*netbootv1.ListOperationsResponse, error) {
	pg, err := newPage("operations", "", 3, req, time.Now())
	if err != nil {
		return nil, err
	}
	resp := &netbootv1.ListOperationsResponse{}
	for _, p := range s.operations.list() {
		key := operationKey(p)
		if pg.seen(key...) {
			continue
		}
		if !pg.add(p, key...) {
			break
		}
		resp.Operations = append(resp.Operations, p)
	}
	resp.NextPageToken = pg.nextToken()
	return resp, nil
}
