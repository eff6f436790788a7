package nfsroot

import (
	"net/netip"
	"strings"
	"testing"
)

func TestValidateNFSRootHost(t *testing.T) {
	tests := []struct {
		host    string
		wantErr string // substring; empty means valid
	}{
		{"nfs.boot.example", ""},
		{"nfs", ""},
		{"NFS-1.Boot.Example.", ""},
		{"a1.b2.c3x", ""},
		{"2001:db8:1::1", "literal IPv6"},
		{"[2001:db8:1::1]", "literal IPv6"},
		{"fe80::1%eth0", "literal IPv6"},
		{"::ffff:192.0.2.1", "literal IPv6"},
		{"nfs:2049", "literal IPv6"},
		{"192.0.2.1", "IPv4"},
		{"10.1.2", "all digits"},
		{"", "empty"},
		{".", "empty"},
		{"nfs..example", "1 to 63"},
		{"-nfs.example", "hyphen"},
		{"nfs-.example", "hyphen"},
		{"nfs_1.example", "not allowed"},
		{"nfs example", "not allowed"},
		{"nfs/srv", "not allowed"},
		{strings.Repeat("a", 64) + ".example", "1 to 63"},
		{strings.Repeat("abcdefg.", 32) + "example", "253"},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			err := ValidateNFSRootHost(tt.host)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("ValidateNFSRootHost(%q) = %v, want nil", tt.host, err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("ValidateNFSRootHost(%q) = %v, want an error containing %q", tt.host, err, tt.wantErr)
			}
		})
	}
	// The refusal explains itself: it is the trap the seed fell into.
	err := ValidateNFSRootHost("[2001:db8::1]")
	if err == nil || !strings.Contains(err.Error(), "split at its first colon") || !strings.Contains(err.Error(), "DNS name") {
		t.Errorf("literal IPv6 refusal %v does not say why or what to do instead", err)
	}
}

func TestKernelArgs(t *testing.T) {
	dns1, dns2 := netip.MustParseAddr("2001:db8:1::53"), netip.MustParseAddr("fd00::53")
	base := ArgsOptions{Hostname: "nfs.boot.example", ExportPath: "/srv/root", DNSServers: []netip.Addr{dns1}}
	with := func(f func(*ArgsOptions)) ArgsOptions {
		o := base
		f(&o)
		return o
	}
	tests := []struct {
		name    string
		opts    ArgsOptions
		want    string
		wantErr string
	}{
		{"defaults", base,
			"ip=:::::eth0:off ip6=eth0 nfsroot=nfs.boot.example:/srv/root nbdns=2001:db8:1::53 ro", ""},
		{"everything", ArgsOptions{Interface: "ens3", Hostname: "nfs", ExportPath: "/", DNSServers: []netip.Addr{dns1, dns2}, ReadWrite: true, Console: "ttyS0,115200n8"},
			"ip=:::::ens3:off ip6=ens3 nfsroot=nfs:/ nbdns=2001:db8:1::53,fd00::53 rw console=ttyS0,115200n8", ""},
		{"console", with(func(o *ArgsOptions) { o.Console = "ttyS0" }),
			"ip=:::::eth0:off ip6=eth0 nfsroot=nfs.boot.example:/srv/root nbdns=2001:db8:1::53 ro console=ttyS0", ""},
		{"literal IPv6 host", with(func(o *ArgsOptions) { o.Hostname = "2001:db8:1::1" }), "", "literal IPv6"},
		{"bracketed IPv6 host", with(func(o *ArgsOptions) { o.Hostname = "[2001:db8:1::1]" }), "", "literal IPv6"},
		{"IPv4 host", with(func(o *ArgsOptions) { o.Hostname = "192.0.2.1" }), "", "IPv4"},
		{"no host", with(func(o *ArgsOptions) { o.Hostname = "" }), "", "empty"},
		{"relative path", with(func(o *ArgsOptions) { o.ExportPath = "srv/root" }), "", "absolute"},
		{"empty path", with(func(o *ArgsOptions) { o.ExportPath = "" }), "", "absolute"},
		{"comma in path", with(func(o *ArgsOptions) { o.ExportPath = "/srv/a,b" }), "", "commas"},
		{"space in path", with(func(o *ArgsOptions) { o.ExportPath = "/srv/a b" }), "", "spaces"},
		{"no DNS", with(func(o *ArgsOptions) { o.DNSServers = nil }), "", "no DNS servers"},
		{"IPv4 DNS", with(func(o *ArgsOptions) { o.DNSServers = []netip.Addr{netip.MustParseAddr("192.0.2.53")} }), "", "IPv6 address"},
		{"link-local DNS", with(func(o *ArgsOptions) { o.DNSServers = []netip.Addr{netip.MustParseAddr("fe80::53")} }), "", "link-local"},
		{"zero DNS", with(func(o *ArgsOptions) { o.DNSServers = []netip.Addr{{}} }), "", "DNS server"},
		{"bad interface", with(func(o *ArgsOptions) { o.Interface = "eth0:1" }), "", "interface"},
		{"long interface", with(func(o *ArgsOptions) { o.Interface = "enp0s31f6abcdefgh" }), "", "interface"},
		{"bad console", with(func(o *ArgsOptions) { o.Console = "ttyS0 init=/bin/sh" }), "", "console"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := KernelArgs(tt.opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("KernelArgs = %q, %v; want an error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("KernelArgs =\n %q\nwant\n %q", got, tt.want)
			}
		})
	}
}
