// Package ipv6types holds Terraform attribute types for IPv6 addresses and
// prefixes. They compare by value, not by spelling, so "2001:DB8::1" in a
// configuration and the agent's canonical "2001:db8::1" never show a diff.
//
// The types only compare: the resource checks the values with the agent's
// own validation (internal/boot/config), one function per rule.
package ipv6types
