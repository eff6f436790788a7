package agent

import (
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/netbootlab/terraform-provider-netboot/internal/agent/histogram"
	"github.com/netbootlab/terraform-provider-netboot/internal/agent/lease"
	"github.com/netbootlab/terraform-provider-netboot/internal/agent/serve/otherserver"
)

// metricsHandler serves the agent's metrics in the Prometheus formats on
// the opt-in --metrics-listen address: the Go runtime and process
// collectors, and the agent's own counters read at scrape time.
func (s *core) metricsHandler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		agentCollector{s},
	)
	// A broken sample must not hide the others from the scrape.
	metrics := promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		metrics.ServeHTTP(w, r)
	})
}

// agentCollector reads the agent's counters at each scrape. It describes
// nothing up front (an unchecked collector) because the set of metrics
// follows the servers' Stats structs and the boot servers configured.
type agentCollector struct{ s *core }

func (agentCollector) Describe(chan<- *prometheus.Desc) {}

func (c agentCollector) Collect(ch chan<- prometheus.Metric) {
	c.s.collectMetrics(sink{
		counter: func(name, help string, v uint64, labels ...label) {
			ch <- constMetric(name, help, v, labels)
		},
		histogram: func(name, help string, h histogram.Snapshot, labels ...label) {
			ch <- constHistogram(name, help, h, labels)
		},
	})
}

// label is one label of a sample, in the order the sample lists them.
type label struct{ name, value string }

// emitFunc adds one sample; a name ending in _total is a counter, any
// other a gauge.
type emitFunc func(name, help string, v uint64, labels ...label)

// sink receives the samples of one scrape.
type sink struct {
	counter   emitFunc
	histogram func(name, help string, h histogram.Snapshot, labels ...label)
}

func splitLabels(labels []label) (names, values []string) {
	names = make([]string, len(labels))
	values = make([]string, len(labels))
	for i, l := range labels {
		names[i], values[i] = l.name, l.value
	}
	return names, values
}

// constHistogram is h in Prometheus's form.
func constHistogram(name, help string, h histogram.Snapshot, labels []label) prometheus.Metric {
	names, values := splitLabels(labels)
	desc := prometheus.NewDesc(name, help, names, nil)
	buckets, sum := h.Cumulative()
	m, err := prometheus.NewConstHistogram(desc, h.Count, sum, buckets, values...)
	if err != nil {
		return prometheus.NewInvalidMetric(desc, err)
	}
	return m
}

func constMetric(name, help string, v uint64, labels []label) prometheus.Metric {
	names, values := splitLabels(labels)
	kind := prometheus.GaugeValue
	if strings.HasSuffix(name, "_total") {
		kind = prometheus.CounterValue
	}
	m, err := prometheus.NewConstMetric(prometheus.NewDesc(name, help, names, nil), kind, float64(v), values...)
	if err != nil {
		return prometheus.NewInvalidMetric(prometheus.NewDesc(name, help, names, nil), err)
	}
	return m
}

func (s *core) collectMetrics(out sink) {
	emit := out.counter
	// The lock only long enough to see which servers each site has: the
	// servers' counters are atomics or under their own locks, and
	// counting leases can take a while, so the rest runs without it and
	// a scrape never holds up the gRPC or DHCPv6 paths.
	s.mu.Lock()
	names := sortedKeys(s.sites)
	views := make([]*site, len(names))
	for i, name := range names {
		views[i] = s.sites[name].metricsView()
	}
	s.mu.Unlock()
	for i, name := range names {
		st := views[i]
		server := label{"boot_server", name}
		serving := uint64(0)
		if st.serving() {
			serving = 1
		}
		emit("netboot_boot_server_serving", "1 while the boot server serves, 0 while it waits for its interface or address.", serving, server)
		byState := s.leasesByState(st, time.Now())
		var active uint64
		for _, kind := range []lease.Kind{lease.NA, lease.TA, lease.PD} {
			for _, state := range []string{"preferred", "deprecated"} {
				n := byState[leaseState{kind, state}]
				active += n
				emit("netboot_dhcpv6_leases", "DHCPv6 leases not yet expired, by kind (na, ta, pd) and state: preferred, or deprecated (past its preferred lifetime, still valid).", n, server, label{"kind", string(kind)}, label{"state", state})
			}
		}
		emit("netboot_dhcpv6_active_leases", "DHCPv6 leases not yet expired.", active, server)
		if st.ra != nil {
			addStruct(out, "netboot_ra", "Router advertisement server", st.ra.Stats(), server)
		}
		if st.dhcp != nil {
			stats := st.dhcp.Stats()
			for msgType, m := range stats.ByType {
				msg := label{"message_type", msgType}
				emit("netboot_dhcpv6_received_total", "DHCPv6 messages received, by message type.", m.Received, server, msg)
				emit("netboot_dhcpv6_replied_total", "DHCPv6 replies sent, by the type of the message answered.", m.Replied, server, msg)
				emit("netboot_dhcpv6_dropped_total", "DHCPv6 messages received and not answered, by message type.", m.Dropped, server, msg)
				out.histogram("netboot_dhcpv6_reply_duration_seconds", "Time from the read that brought a DHCPv6 message to the send of its reply, including the lease commit a Reply waits for, by the type of the message answered.", m.Latency, server, msg)
				const byReason = "The part of netboot_dhcpv6_dropped_total by reason: rate_limited by dhcpv6.rate_limit, not_stored a Reply withheld because its lease could not be stored, send_failed one the socket refused, refused a message RFC 8415 says to drop (e.g. naming another server) or one needing a lease while the lease database is unreachable, failed one the server could not handle (see the log)."
				emit("netboot_dhcpv6_dropped_by_reason_total", byReason, m.RateLimited, server, msg, label{"reason", "rate_limited"})
				emit("netboot_dhcpv6_dropped_by_reason_total", byReason, m.NotStored, server, msg, label{"reason", "not_stored"})
				emit("netboot_dhcpv6_dropped_by_reason_total", byReason, m.SendFailed, server, msg, label{"reason", "send_failed"})
				emit("netboot_dhcpv6_dropped_by_reason_total", byReason, m.Refused, server, msg, label{"reason", "refused"})
				emit("netboot_dhcpv6_dropped_by_reason_total", byReason, m.Failed, server, msg, label{"reason", "failed"})
			}
			out.histogram("netboot_dhcpv6_lease_commit_duration_seconds", "Time to store one batch of DHCPv6 lease changes (a journal append, or a lease database round trip), failed attempts included.", stats.Commit, server)
			emit("netboot_dhcpv6_malformed_total", "DHCPv6 messages that could not be parsed.", stats.Malformed, server)
			const relayHelp = "RELAY-FORW messages dropped: unknown_link is a relay of a link not in dhcpv6.relayed_links, hop_limit a relay loop, rate_limited over dhcpv6.rate_limit.per_relay_per_second."
			emit("netboot_dhcpv6_relay_dropped_total", relayHelp, stats.RelayUnknownLink, server, label{"reason", "unknown_link"})
			emit("netboot_dhcpv6_relay_dropped_total", relayHelp, stats.RelayHopLimit, server, label{"reason", "hop_limit"})
			emit("netboot_dhcpv6_relay_dropped_total", relayHelp, stats.RelayRateLimited, server, label{"reason", "rate_limited"})
		}
		if st.probe != nil {
			addStruct(out, "netboot_dhcpv6_probe", "DHCPv6 probe for other servers", st.probe.Stats(), server)
		}
		others := map[string]uint64{string(otherserver.RouterAdvertisement): 0, string(otherserver.DHCPv6): 0}
		for _, o := range st.otherServers() {
			others[string(o.Protocol)]++
		}
		for _, p := range sortedKeys(others) {
			emit("netboot_other_servers", "Other servers heard on the link in the last hour, by protocol; above 0 deserves a look.", others[p], server, label{"protocol", p})
		}
		if st.claims != nil {
			emit("netboot_claimed_machine_warnings_suppressed_total", "Repeated warnings about a machine claimed by another boot server that were not logged.", st.claims.suppressedTotal(), server)
		}
		if st.tftp != nil {
			addStruct(out, "netboot_tftp", "TFTP server", st.tftp.Stats(), server)
		}
		// One family for both schemes: they serve the same files.
		if st.http != nil {
			addStruct(out, "netboot_http", "HTTP and HTTPS boot server", st.http.Stats(), server, label{"scheme", "http"})
		}
		if st.https != nil {
			addStruct(out, "netboot_http", "HTTP and HTTPS boot server", st.https.Stats(), server, label{"scheme", "https"})
		}
		if st.nfs != nil {
			addStruct(out, "netboot_nfs", "NFS server", st.nfs.Stats(), server)
		}
		if st.dns != nil {
			addStruct(out, "netboot_dns", "DNS server", st.dns.Stats(), server)
		}
	}
	emit("netboot_artifacts", "Artifacts the agent keeps.", uint64(len(s.artifacts.List())))
	if s.leaseDB != nil {
		up := uint64(0)
		if s.leaseDB.Err() == nil {
			up = 1
		}
		emit("netboot_lease_database_up", "1 while the lease database (--lease-db) answers; 0 means no new leases.", up)
		emit("netboot_lease_database_errors_total", "Failed lease database operations.", s.leaseDB.Failures())
	}
}

// metricsView is a site holding only what collectMetrics reads of st:
// its servers and lease store as they are now, so they can be read after
// the agent's lock is released while st changes. The caller holds s.mu.
func (st *site) metricsView() *site {
	return &site{leases: st.leases, ra: st.ra, dhcp: st.dhcp, probe: st.probe, claims: st.claims,
		tftp: st.tftp, http: st.http, https: st.https, nfs: st.nfs, dns: st.dns}
}

// leaseState is a label pair of netboot_dhcpv6_leases.
type leaseState struct {
	kind  lease.Kind
	state string
}

// leasesByState counts st's live leases by kind and by whether their
// preferred lifetime has passed.
func (s *core) leasesByState(st *site, now time.Time) map[leaseState]uint64 {
	out := map[leaseState]uint64{}
	live, err := s.liveLeases(st, now)
	if err != nil {
		return out
	}
	for l := range live {
		state := "preferred"
		if !now.Before(l.PreferredUntil) {
			state = "deprecated"
		}
		out[leaseState{l.Kind, state}]++
	}
	return out
}

var camelBoundary = regexp.MustCompile(`([a-z0-9])([A-Z])`)

var snapshotType = reflect.TypeFor[histogram.Snapshot]()

// addStruct adds every uint64 field of stats as the counter
// prefix_field_total and every histogram.Snapshot field as the histogram
// prefix_field, so a new statistic in a server's Stats shows up without
// code. Its help is the field's `help` tag, or else what and the field's
// name in words.
func addStruct(out sink, prefix, what string, stats any, labels ...label) {
	v := reflect.ValueOf(stats)
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := v.Field(i)
		if f.Kind() != reflect.Uint64 && f.Type() != snapshotType {
			continue
		}
		field := strings.ToLower(camelBoundary.ReplaceAllString(t.Field(i).Name, "${1}_${2}"))
		help := t.Field(i).Tag.Get("help")
		if help == "" {
			help = fmt.Sprintf("%s: %s.", what, strings.ReplaceAll(field, "_", " "))
		}
		if f.Kind() == reflect.Uint64 {
			out.counter(prefix+"_"+field+"_total", help, f.Uint(), labels...)
		} else {
			out.histogram(prefix+"_"+field, help, f.Interface().(histogram.Snapshot), labels...)
		}
	}
}
