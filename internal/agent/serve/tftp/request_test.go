package tftp

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func rq(op byte, fields ...string) []byte {
	return []byte("\x00" + string(op) + strings.Join(fields, "\x00") + "\x00")
}

func TestParseRequest(t *testing.T) {
	tests := []struct {
		name    string
		p       []byte
		want    request
		wantErr string
	}{
		{name: "plain RRQ", p: rq(opRRQ, "undionly.kpxe", "octet"),
			want: request{filename: "undionly.kpxe", mode: "octet"}},
		{name: "options lower-cased, first value kept", p: rq(opRRQ, "f", "NetASCII", "BLKSIZE", "1428", "tsize", "0", "blksize", "512"),
			want: request{filename: "f", mode: "netascii", options: map[string]string{"blksize": "1428", "tsize": "0"}}},
		{name: "WRQ", p: rq(opWRQ, "up", "octet"), want: request{write: true, filename: "up", mode: "octet"}},
		{name: "empty", p: nil, wantErr: "shorter than an opcode"},
		{name: "ACK", p: []byte{0, opACK, 0, 1}, wantErr: "not a read or write request"},
		{name: "no mode", p: rq(opRRQ, "f"), wantErr: "not NUL-terminated"},
		{name: "unterminated", p: []byte("\x00\x01f\x00octet"), wantErr: "not NUL-terminated"},
		{name: "option without value", p: rq(opRRQ, "f", "octet", "blksize"), wantErr: "option without a value"},
		{name: "mail mode", p: rq(opRRQ, "f", "mail"), wantErr: "unsupported transfer mode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseRequest(tt.p)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestNegotiate(t *testing.T) {
	const timeout = 2 * time.Second
	tests := []struct {
		name     string
		mode     string
		options  map[string]string
		want     transferOptions
		wantOACK string
	}{
		{name: "no options: RFC 1350 defaults, no OACK", mode: "octet",
			want: transferOptions{blockSize: 512, windowSize: 1, timeout: timeout}},
		{name: "iPXE: blksize and tsize", mode: "octet", options: map[string]string{"blksize": "1432", "tsize": "0"},
			want: transferOptions{blockSize: 1432, windowSize: 1, timeout: timeout}, wantOACK: "blksize 1432 tsize 74213"},
		{name: "caps", mode: "octet", options: map[string]string{"blksize": "9000", "windowsize": "1000", "timeout": "7"},
			want:     transferOptions{blockSize: 1432, windowSize: maxWindowSize, timeout: 7 * time.Second},
			wantOACK: "blksize 1432 timeout 7 windowsize 64"},
		{name: "invalid values left out", mode: "octet",
			options: map[string]string{"blksize": "4", "timeout": "0", "windowsize": "0", "tsize": "x", "multicast": ""},
			want:    transferOptions{blockSize: 512, windowSize: 1, timeout: timeout}},
		{name: "no tsize in netascii", mode: "netascii", options: map[string]string{"tsize": "0", "blksize": "1024"},
			want: transferOptions{blockSize: 1024, windowSize: 1, timeout: timeout}, wantOACK: "blksize 1024"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := negotiate(request{mode: tt.mode, options: tt.options}, 74213, 1432, timeout)
			if oack := strings.Join(got.oack, " "); oack != tt.wantOACK {
				t.Errorf("OACK %q, want %q", oack, tt.wantOACK)
			}
			got.oack = nil
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// FuzzParseRequest checks the parser never panics and that what it
// accepts is a well-formed request.
func FuzzParseRequest(f *testing.F) {
	for _, p := range [][]byte{
		rq(opRRQ, "undionly.kpxe", "octet", "blksize", "1432", "tsize", "0"),
		rq(opWRQ, "f", "netascii"),
		rq(opRRQ, "../../etc/passwd", "octet", "windowsize", "8"),
		{0, 1}, {0, 4, 0, 1},
	} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		req, err := parseRequest(p)
		if err != nil {
			return
		}
		if req.mode != "octet" && req.mode != "netascii" {
			t.Errorf("accepted mode %q", req.mode)
		}
		if strings.Contains(req.filename, "\x00") {
			t.Errorf("file name %q contains NUL", req.filename)
		}
		_ = negotiate(req, 1<<20, 1432, time.Second)
	})
}
