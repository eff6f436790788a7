package benchlab

import (
	"errors"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// Perfdhcp is what one `perfdhcp -6` run reports. Index 0 of the arrays is
// Solicit→Advertise, 1 is Request→Reply.
type Perfdhcp struct {
	// Rate is the 4-way exchanges per second achieved.
	Rate           float64
	Sent, Received [2]int
	// AvgDelay and MaxDelay are in milliseconds; NaN when no answer came.
	AvgDelay, MaxDelay [2]float64
}

var (
	perfdhcpRate     = regexp.MustCompile(`(?m)^Rate: ([0-9.]+) 4-way exchanges/second`)
	perfdhcpSent     = regexp.MustCompile(`(?m)^sent packets: (\d+)`)
	perfdhcpReceived = regexp.MustCompile(`(?m)^received packets: (\d+)`)
	perfdhcpAvg      = regexp.MustCompile(`(?m)^avg delay: ([0-9.]+) ms`)
	perfdhcpMax      = regexp.MustCompile(`(?m)^max delay: ([0-9.]+) ms`)
)

var perfdhcpExchanges = [2]string{"***Statistics for: SOLICIT-ADVERTISE***", "***Statistics for: REQUEST-REPLY***"}

// ParsePerfdhcp reads the report perfdhcp prints at exit.
func ParsePerfdhcp(out string) (Perfdhcp, error) {
	var p Perfdhcp
	m := perfdhcpRate.FindStringSubmatch(out)
	if m == nil {
		return p, errors.New("no \"Rate:\" line in perfdhcp's output")
	}
	p.Rate, _ = strconv.ParseFloat(m[1], 64)
	for i, header := range perfdhcpExchanges {
		start := strings.Index(out, header)
		if start < 0 {
			return p, errors.New("no " + header + " in perfdhcp's output")
		}
		stats := out[start+len(header):]
		if i == 0 {
			if end := strings.Index(stats, perfdhcpExchanges[1]); end >= 0 {
				stats = stats[:end]
			}
		}
		sent, received := perfdhcpSent.FindStringSubmatch(stats), perfdhcpReceived.FindStringSubmatch(stats)
		if sent == nil || received == nil {
			return p, errors.New("no packet counts under " + header)
		}
		p.Sent[i], _ = strconv.Atoi(sent[1])
		p.Received[i], _ = strconv.Atoi(received[1])
		p.AvgDelay[i], p.MaxDelay[i] = math.NaN(), math.NaN()
		if m := perfdhcpAvg.FindStringSubmatch(stats); m != nil {
			p.AvgDelay[i], _ = strconv.ParseFloat(m[1], 64)
		}
		if m := perfdhcpMax.FindStringSubmatch(stats); m != nil {
			p.MaxDelay[i], _ = strconv.ParseFloat(m[1], 64)
		}
	}
	return p, nil
}

// DropPercent is the share of Solicits that never got their Reply: the
// 4-way exchanges that failed, whichever of their two answers was lost.
func (p Perfdhcp) DropPercent() float64 {
	if p.Sent[0] == 0 {
		return math.NaN()
	}
	return 100 * float64(p.Sent[0]-p.Received[1]) / float64(p.Sent[0])
}

// AvgDelayMs is the mean time from a client's message to the server's
// answer, over every answered Solicit and Request, in milliseconds.
func (p Perfdhcp) AvgDelayMs() float64 {
	var sum float64
	var n int
	for i := range 2 {
		if p.Received[i] > 0 && !math.IsNaN(p.AvgDelay[i]) {
			sum += p.AvgDelay[i] * float64(p.Received[i])
			n += p.Received[i]
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return sum / float64(n)
}

// MaxDelayMs is the longest wait for any answer, in milliseconds.
func (p Perfdhcp) MaxDelayMs() float64 {
	m := math.NaN()
	for _, d := range p.MaxDelay {
		if !math.IsNaN(d) && (math.IsNaN(m) || d > m) {
			m = d
		}
	}
	return m
}
