package tftp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strconv"
	"strings"
	"time"
)

// TFTP opcodes (RFC 1350, RFC 2347).
const (
	opRRQ   = 1
	opWRQ   = 2
	opDATA  = 3
	opACK   = 4
	opERROR = 5
	opOACK  = 6
)

// TFTP error codes (RFC 1350, RFC 2347).
const (
	errCodeUndefined       = 0
	errCodeNotFound        = 1
	errCodeAccessViolation = 2
	errCodeIllegal         = 4
)

// Option bounds. maxWindowSize keeps a transfer's buffers under 100 KiB at
// the default block size; RFC 7440 measured no gain beyond 16–64.
const (
	minBlockSize  = 8 // RFC 2348
	maxBlockSize  = 65464
	maxWindowSize = 64
	maxTimeoutOpt = 255 // seconds, RFC 2349
)

// request is a parsed RRQ or WRQ. Option names are lower-cased; a repeated
// option keeps its first value.
type request struct {
	write    bool
	filename string
	mode     string // lower-cased: "octet" or "netascii"
	options  map[string]string
}

// parseRequest parses an RRQ or WRQ datagram: opcode, file name, mode, then
// name/value option pairs (RFC 2347), every string NUL-terminated.
func parseRequest(p []byte) (request, error) {
	if len(p) < 2 {
		return request{}, errors.New("datagram shorter than an opcode")
	}
	var req request
	switch binary.BigEndian.Uint16(p) {
	case opRRQ:
	case opWRQ:
		req.write = true
	default:
		return request{}, errors.New("not a read or write request")
	}
	fields := bytes.Split(p[2:], []byte{0})
	// A well-formed request ends with a NUL, so the last field is empty.
	if len(fields) < 3 || len(fields[len(fields)-1]) != 0 {
		return request{}, errors.New("request is not NUL-terminated file name and mode")
	}
	fields = fields[:len(fields)-1]
	if len(fields)%2 != 0 {
		return request{}, errors.New("option without a value")
	}
	req.filename = string(fields[0])
	req.mode = strings.ToLower(string(fields[1]))
	if req.mode != "octet" && req.mode != "netascii" {
		return request{}, errors.New("unsupported transfer mode " + strconv.Quote(string(fields[1])))
	}
	for i := 2; i < len(fields); i += 2 {
		name := strings.ToLower(string(fields[i]))
		if req.options == nil {
			req.options = make(map[string]string)
		}
		if _, dup := req.options[name]; !dup {
			req.options[name] = string(fields[i+1])
		}
	}
	return req, nil
}

// transferOptions are what a read transfer runs with.
type transferOptions struct {
	blockSize  int
	windowSize int
	timeout    time.Duration
	// oack lists the accepted options in the order they go into the OACK;
	// empty means no OACK: the transfer starts with DATA 1 (RFC 2347).
	oack []string
}

// negotiate picks the options for a read of a size-byte file: those the
// client asked for within what the server allows; anything else is left
// out of the OACK, which RFC 2347 lets a server do.
func negotiate(req request, size int64, maxBlock int, timeout time.Duration) transferOptions {
	opts := transferOptions{blockSize: 512, windowSize: 1, timeout: timeout}
	accept := func(name string, value int64) {
		opts.oack = append(opts.oack, name, strconv.FormatInt(value, 10))
	}
	// A fixed order keeps OACKs reproducible.
	for _, name := range []string{"blksize", "tsize", "timeout", "windowsize"} {
		raw, ok := req.options[name]
		if !ok {
			continue
		}
		v, err := strconv.Atoi(raw)
		if err != nil || v < 0 {
			continue
		}
		switch name {
		case "blksize":
			if v >= minBlockSize && v <= maxBlockSize {
				opts.blockSize = min(v, maxBlock)
				accept(name, int64(opts.blockSize))
			}
		case "tsize":
			// A netascii transfer's size on the wire differs from the
			// file's; tftpd-hpa likewise answers tsize in octet mode only.
			if req.mode == "octet" {
				accept(name, size)
			}
		case "timeout":
			if v >= 1 && v <= maxTimeoutOpt {
				opts.timeout = time.Duration(v) * time.Second
				accept(name, int64(v))
			}
		case "windowsize":
			if v >= 1 {
				opts.windowSize = min(v, maxWindowSize)
				accept(name, int64(opts.windowSize))
			}
		}
	}
	return opts
}

// packOACK builds an OACK datagram from name/value pairs.
func packOACK(pairs []string) []byte {
	p := binary.BigEndian.AppendUint16(nil, opOACK)
	for _, s := range pairs {
		p = append(append(p, s...), 0)
	}
	return p
}

// packError builds an ERROR datagram.
func packError(code uint16, msg string) []byte {
	p := binary.BigEndian.AppendUint16(nil, opERROR)
	p = binary.BigEndian.AppendUint16(p, code)
	return append(append(p, msg...), 0)
}
