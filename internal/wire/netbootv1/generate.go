// Package netbootv1 holds the agent's gRPC API, generated from netboot.proto.
package netbootv1

//go:generate protoc --proto_path=. --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative netboot.proto
