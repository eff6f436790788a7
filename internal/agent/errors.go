package agent

import (
	"errors"
	"fmt"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/artifact"
	"github.com/netbootlab/terraform-provider-netboot/internal/boot/config"
)

// The classes of failure the core reports. Every error a core method
// returns for a caller to act on is a *coreError whose class errors.Is
// finds; the gRPC adapter (grpc_status.go) turns each class into its
// status code. Context errors (a cancelled or timed-out call) keep their
// own identity, wrapped or not.
var (
	errNotFound           = errors.New("not found")
	errInvalidArgument    = errors.New("invalid argument")
	errFailedPrecondition = errors.New("failed precondition")
	errPermissionDenied   = errors.New("permission denied")
	errUnavailable        = errors.New("unavailable")
	errInternal           = errors.New("internal error")
)

// coreError is a failure of one class with the message the caller sees.
type coreError struct {
	class error
	msg   string
	// fields are the attributes at fault (invalid argument, refused
	// source), so a client can show the error against each.
	fields []fieldViolation
}

// fieldViolation is one attribute at fault and why.
type fieldViolation struct {
	Field, Description string
}

func (e *coreError) Error() string { return e.msg }

// Is matches the class, so callers test errors.Is(err, errNotFound).
func (e *coreError) Is(target error) bool { return target == e.class }

func classError(class error, format string, args ...any) error {
	return &coreError{class: class, msg: fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) error { return classError(errNotFound, format, args...) }

func failedPrecondition(format string, args ...any) error {
	return classError(errFailedPrecondition, format, args...)
}

func unavailable(format string, args ...any) error {
	return classError(errUnavailable, format, args...)
}

func internalError(format string, args ...any) error { return classError(errInternal, format, args...) }

// invalidArgumentf is an invalid argument that names no attribute.
func invalidArgumentf(format string, args ...any) error {
	return classError(errInvalidArgument, format, args...)
}

// invalidArgument is err, a validation error of the noun, as an invalid
// argument with one field violation per attribute config's field errors
// name, so clients can point at each.
func invalidArgument(noun string, err error) error {
	fes, ok := config.AsFieldErrors(err)
	if !ok {
		return invalidArgumentf("%s", err.Error())
	}
	e := &coreError{class: errInvalidArgument, msg: "invalid " + noun + ": " + fes.Error()}
	for _, fe := range fes {
		e.fields = append(e.fields, fieldViolation{Field: fe.Field(), Description: fe.Reason})
	}
	return e
}

// refused is permission denied naming the attribute the agent's operator
// does not allow, so the provider shows it against that attribute.
func refused(object string, r *artifact.RefusedError) error {
	return &coreError{
		class:  errPermissionDenied,
		msg:    object + ": " + r.Error(),
		fields: []fieldViolation{{Field: r.Field, Description: fmt.Sprintf("%q is refused by the agent: %s", r.Value, r.Reason)}},
	}
}
