package benchlab

import (
	"math"
	"strings"
	"testing"
)

// keaOutput is what perfdhcp 2.2 printed against Kea on the lab link.
const keaOutput = `Running: perfdhcp -6 -l nbbxc -r 1000 -p 5 -R 1000000
Scenario: basic.
Multi-thread mode enabled.
***Rate statistics***
Rate: 999.655 4-way exchanges/second, expected rate: 1000

***Malformed Packets***
Malformed packets: 0
***Statistics for: SOLICIT-ADVERTISE***
sent packets: 5000
received packets: 4990
drops: 10
drops ratio: 0.2 %
orphans: 0
rejected leases: 0
non unique addresses: 0

min delay: 0.073 ms
avg delay: 0.400 ms
max delay: 27.166 ms
std deviation: 1.248 ms
collected packets: 0

***Statistics for: REQUEST-REPLY***
sent packets: 4990
received packets: 4980
drops: 10
drops ratio: 0.200 %
orphans: 0
rejected leases: 0
non unique addresses: 0

min delay: 0.080 ms
avg delay: 0.200 ms
max delay: 30.5 ms
std deviation: 0.537 ms
collected packets: 0
`

// silentOutput is perfdhcp's report when no server answered.
const silentOutput = `***Rate statistics***
Rate: 0 4-way exchanges/second, expected rate: 1000

***Statistics for: SOLICIT-ADVERTISE***
sent packets: 10000
received packets: 0
drops: 10000
drops ratio: 100 %

Delay summary unavailable! No packets received.
***Statistics for: REQUEST-REPLY***
sent packets: 0
received packets: 0
drops: 0

Delay summary unavailable! No packets received.
`

func TestParsePerfdhcp(t *testing.T) {
	tests := []struct {
		name                string
		out                 string
		wantErr             bool
		rate, drops, avg, m float64
		sent, received      [2]int
	}{
		{name: "answered", out: keaOutput, rate: 999.655, drops: 0.4, avg: (0.4*4990 + 0.2*4980) / (4990 + 4980), m: 30.5,
			sent: [2]int{5000, 4990}, received: [2]int{4990, 4980}},
		{name: "no server", out: silentOutput, rate: 0, drops: 100, avg: math.NaN(), m: math.NaN(),
			sent: [2]int{10000, 0}, received: [2]int{0, 0}},
		{name: "not a report", out: "perfdhcp: command not found", wantErr: true},
		{name: "cut short", out: "Rate: 10 4-way exchanges/second\n***Statistics for: SOLICIT-ADVERTISE***\nsent packets: 1\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParsePerfdhcp(tt.out)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			if p.Rate != tt.rate || p.Sent != tt.sent || p.Received != tt.received {
				t.Errorf("rate %v sent %v received %v, want %v %v %v", p.Rate, p.Sent, p.Received, tt.rate, tt.sent, tt.received)
			}
			for _, c := range []struct {
				name      string
				got, want float64
			}{{"drops", p.DropPercent(), tt.drops}, {"avg delay", p.AvgDelayMs(), tt.avg}, {"max delay", p.MaxDelayMs(), tt.m}} {
				if !(math.IsNaN(c.got) && math.IsNaN(c.want)) && math.Abs(c.got-c.want) > 1e-9 {
					t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
				}
			}
		})
	}
}

func TestPerExchange(t *testing.T) {
	out := `# started on Mon Dec  7 14:30:18 2026

125.00,msec,task-clock,125000000,100.00,,
11000,,context-switches,125000000,100.00,,
43000,,raw_syscalls:sys_enter,10010203040,100.00,,
22000,,syscalls:sys_enter_recvmmsg,10010203040,100.00,,
20000,,syscalls:sys_enter_sendmmsg,10010203040,100.00,,
0,,syscalls:sys_enter_sendmsg,10010203040,100.00,,
1000,,syscalls:sys_enter_fdatasync,10010203040,100.00,,
<not counted>,,syscalls:sys_enter_pselect6,0,0.00,,
9000,,sched:sched_switch,10010203040,100.00,,
`
	got := perExchange(out, 10000)
	want := "CPU µs 12.50, switches 1.10, sleeps 0.90, total 4.30, recvmmsg 2.20, sendmmsg 2.00, fdatasync 0.10"
	if got != want {
		t.Errorf("perExchange = %q, want %q", got, want)
	}
}

func TestFsyncLine(t *testing.T) {
	var c Cell
	for i := 1; i <= 10; i++ {
		c.Add(float64(i) / 10)
	}
	if got := fsyncLine(c, Cell{Runs: []float64{70}}); !strings.Contains(got, "took 0.55 ms (median of 10; 10th–90th percentile 0.20–1.00 ms)") {
		t.Errorf("fsyncLine = %q", got)
	}
	var failed Cell
	failed.Fail("fdatasync: input/output error")
	if got := fsyncLine(failed, Cell{}); !strings.Contains(got, "could not be measured (fdatasync: input/output error)") {
		t.Errorf("fsyncLine of a failure = %q", got)
	}
	if got := fsyncLine(c, Cell{Runs: []float64{70}}); !strings.Contains(got, "cost the writing thread 70 µs of CPU") {
		t.Errorf("fsyncLine without the CPU = %q", got)
	}
	var measured, cpu Cell
	if err := measureFsync(t.TempDir(), &measured, &cpu); err != nil || len(measured.Runs) != fsyncSamples || len(cpu.Runs) != 1 || cpu.Runs[0] <= 0 {
		t.Errorf("measureFsync: %v, %d samples, CPU %v", err, len(measured.Runs), cpu.Runs)
	}
}
