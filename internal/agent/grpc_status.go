package agent

import (
	"context"
	"errors"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// statusOf is the one place the core's errors become gRPC statuses: each
// class its code, attributes at fault a BadRequest detail with one field
// violation each. An error that already is a status (a stream's own) passes
// unchanged; any other is Unknown, as gRPC would make it.
func statusOf(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	var ce *coreError
	switch {
	case errors.As(err, &ce):
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, err.Error())
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	default:
		return status.Error(codes.Unknown, err.Error())
	}
	code := codes.Unknown
	switch ce.class {
	case errNotFound:
		code = codes.NotFound
	case errInvalidArgument:
		code = codes.InvalidArgument
	case errFailedPrecondition:
		code = codes.FailedPrecondition
	case errPermissionDenied:
		code = codes.PermissionDenied
	case errUnavailable:
		code = codes.Unavailable
	case errInternal:
		code = codes.Internal
	}
	st := status.New(code, err.Error())
	if len(ce.fields) == 0 {
		return st.Err()
	}
	br := &errdetails.BadRequest{}
	for _, f := range ce.fields {
		br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{Field: f.Field, Description: f.Description})
	}
	if withDetails, derr := st.WithDetails(br); derr == nil {
		st = withDetails
	}
	return st.Err()
}
