package link

import (
	"encoding/hex"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// Flags from linux/if_addr.h.
const (
	flagTemporary  = 0x01
	flagDeprecated = 0x20
	flagTentative  = 0x40
	flagPermanent  = 0x80
)

// readIfInet6 reads the calling thread's network namespace: /proc/net is
// the main thread's, which differs in a thread that switched namespace.
func readIfInet6(name string) ([]Addr, error) {
	data, err := os.ReadFile("/proc/thread-self/net/if_inet6")
	if os.IsNotExist(err) {
		return nil, nil // no IPv6 on this host
	}
	if err != nil {
		return nil, err
	}
	return ParseIfInet6(data, name), nil
}

// ParseIfInet6 reads the lines of /proc/net/if_inet6 for one interface:
// "20010db8000100000000000000000001 03 40 00 80 eth0" (address, index,
// prefix length, scope, flags, name, all hexadecimal). Malformed lines are
// skipped.
func ParseIfInet6(data []byte, name string) []Addr {
	var out []Addr
	for line := range strings.SplitSeq(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) != 6 || f[5] != name || len(f[0]) != 32 {
			continue
		}
		raw, err := hex.DecodeString(f[0])
		if err != nil {
			continue
		}
		plen, err := strconv.ParseUint(f[2], 16, 8)
		if err != nil || plen > 128 {
			continue
		}
		flags, err := strconv.ParseUint(f[4], 16, 32)
		if err != nil {
			continue
		}
		out = append(out, Addr{
			Addr:       netip.AddrFrom16([16]byte(raw)),
			PrefixLen:  int(plen),
			Permanent:  flags&flagPermanent != 0,
			Temporary:  flags&flagTemporary != 0,
			Tentative:  flags&flagTentative != 0,
			Deprecated: flags&flagDeprecated != 0,
		})
	}
	return out
}
