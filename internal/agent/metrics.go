package agent

import (
	"fmt"
	"io"
	"net/http"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/serve/otherserver"
)

// metricsHandler serves the agent's counters in the Prometheus text format
// on the opt-in --metrics-listen address. Every protocol server's Stats
// struct becomes one counter per field, labelled by boot server, so a new
// counter in a server shows up here without code.
func (s *core) metricsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		s.writeMetrics(w)
	})
}

type sample struct {
	labels string
	value  uint64
}

func (s *core) writeMetrics(w io.Writer) {
	families := map[string][]sample{}
	add := func(name, labels string, v uint64) { families[name] = append(families[name], sample{labels, v}) }

	s.mu.Lock()
	for _, name := range sortedKeys(s.sites) {
		st := s.sites[name]
		server := fmt.Sprintf("boot_server=%q", name)
		serving := uint64(0)
		if st.serving() {
			serving = 1
		}
		add("netboot_boot_server_serving", server, serving)
		add("netboot_dhcpv6_active_leases", server, uint64(s.countLeases(st, time.Now())))
		if st.ra != nil {
			addStruct(add, "netboot_ra", server, st.ra.Stats())
		}
		if st.dhcp != nil {
			stats := st.dhcp.Stats()
			for msgType, m := range stats.ByType {
				labels := fmt.Sprintf("%s,message_type=%q", server, msgType)
				add("netboot_dhcpv6_received_total", labels, m.Received)
				add("netboot_dhcpv6_replied_total", labels, m.Replied)
				add("netboot_dhcpv6_dropped_total", labels, m.Dropped)
				// The part of the drops by dhcpv6.rate_limit.
				add("netboot_dhcpv6_dropped_by_reason_total", labels+`,reason="rate_limited"`, m.RateLimited)
			}
			add("netboot_dhcpv6_malformed_total", server, stats.Malformed)
			// Part of the RELAY-FORW drops: a relay of a link not
			// configured in dhcpv6.relayed_links, a relay loop, or a
			// relay over dhcpv6.rate_limit.per_relay_per_second.
			add("netboot_dhcpv6_relay_dropped_total", server+`,reason="unknown_link"`, stats.RelayUnknownLink)
			add("netboot_dhcpv6_relay_dropped_total", server+`,reason="hop_limit"`, stats.RelayHopLimit)
			add("netboot_dhcpv6_relay_dropped_total", server+`,reason="rate_limited"`, stats.RelayRateLimited)
		}
		if st.probe != nil {
			addStruct(add, "netboot_dhcpv6_probe", server, st.probe.Stats())
		}
		// Other servers heard on the link in the last hour, by protocol:
		// anything above 0 deserves a look (README, "Other servers").
		others := map[string]uint64{string(otherserver.RouterAdvertisement): 0, string(otherserver.DHCPv6): 0}
		for _, o := range st.otherServers() {
			others[string(o.Protocol)]++
		}
		for _, p := range sortedKeys(others) {
			add("netboot_other_servers", fmt.Sprintf("%s,protocol=%q", server, p), others[p])
		}
		if st.claims != nil {
			add("netboot_claimed_machine_warnings_suppressed_total", server, st.claims.suppressedTotal())
		}
		if st.tftp != nil {
			addStruct(add, "netboot_tftp", server, st.tftp.Stats())
		}
		// One family for both schemes: they serve the same files.
		if st.http != nil {
			addStruct(add, "netboot_http", server+`,scheme="http"`, st.http.Stats())
		}
		if st.https != nil {
			addStruct(add, "netboot_http", server+`,scheme="https"`, st.https.Stats())
		}
		if st.nfs != nil {
			addStruct(add, "netboot_nfs", server, st.nfs.Stats())
		}
		if st.dns != nil {
			addStruct(add, "netboot_dns", server, st.dns.Stats())
		}
	}
	s.mu.Unlock()
	add("netboot_artifacts", "", uint64(len(s.artifacts.List())))
	if s.leaseDB != nil {
		// 0 while the lease database is unreachable: no new leases then.
		up := uint64(1)
		if s.leaseDB.Err() != nil {
			up = 0
		}
		add("netboot_lease_database_up", "", up)
		add("netboot_lease_database_errors_total", "", s.leaseDB.Failures())
	}

	names := make([]string, 0, len(families))
	for name := range families {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		kind := "gauge"
		if strings.HasSuffix(name, "_total") {
			kind = "counter"
		}
		fmt.Fprintf(w, "# TYPE %s %s\n", name, kind)
		samples := families[name]
		sort.Slice(samples, func(i, j int) bool { return samples[i].labels < samples[j].labels })
		for _, smp := range samples {
			if smp.labels == "" {
				fmt.Fprintf(w, "%s %d\n", name, smp.value)
			} else {
				fmt.Fprintf(w, "%s{%s} %d\n", name, smp.labels, smp.value)
			}
		}
	}
}

var camelBoundary = regexp.MustCompile(`([a-z0-9])([A-Z])`)

// addStruct adds every uint64 field of stats as prefix_field_total.
func addStruct(add func(name, labels string, v uint64), prefix, labels string, stats any) {
	v := reflect.ValueOf(stats)
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		if v.Field(i).Kind() != reflect.Uint64 {
			continue
		}
		field := strings.ToLower(camelBoundary.ReplaceAllString(t.Field(i).Name, "${1}_${2}"))
		add(prefix+"_"+field+"_total", labels, v.Field(i).Uint())
	}
}
