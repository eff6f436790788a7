// Package benchlab measures the agent against the reference peers it
// replaces (Kea, tftpd-hpa, python's http.server, busybox httpd, radvd) on
// the same namespace link in the same run, and renders the figures as the
// Markdown of docs/benchmarks.md. The measurements are TestBenchmarks
// (NETBOOT_BENCH=1, run by `make bench`); this file and perfdhcp.go hold
// what can be tested apart from sockets: summarising repeated runs,
// comparing them and parsing perfdhcp.
package benchlab

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Cell is one server's figure in one row: the values of its runs, a figure
// that is not a number, or why there is none.
type Cell struct {
	Runs []float64
	// Text is shown instead of a number when Runs is empty (e.g. whether
	// Range requests are honoured).
	Text string
	// Failures say why runs gave no value; a cell with no Runs and no
	// Text reads "n/a (first failure)".
	Failures []string
}

// Add records the value of one run.
func (c *Cell) Add(v float64) { c.Runs = append(c.Runs, v) }

// Fail records why a run gave no value.
func (c *Cell) Fail(reason string) { c.Failures = append(c.Failures, reason) }

// Summary is the median, minimum and maximum of repeated runs.
type Summary struct {
	Median, Min, Max float64
	N                int
}

// Summarize returns the summary of xs; the median of an even count is the
// mean of the middle two.
func Summarize(xs []float64) Summary {
	if len(xs) == 0 {
		return Summary{Median: math.NaN(), Min: math.NaN(), Max: math.NaN()}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return Summary{Median: m, Min: s[0], Max: s[len(s)-1], N: len(s)}
}

// Better says which way a figure improves.
type Better int

const (
	// HigherIsBetter: throughput, exchanges per second.
	HigherIsBetter Better = iota
	// LowerIsBetter: delays, drops, times.
	LowerIsBetter
)

// Row is one figure measured for every server of its section.
type Row struct {
	Figure string
	// Digits after the decimal point.
	Digits int
	Better Better
	// Cells has one entry per Section.Servers, the agent's first.
	Cells []Cell
}

// Section is one table: the agent against one or more reference peers.
type Section struct {
	Title string
	// Intro paragraphs come before the table, Notes after it.
	Intro []string
	// Servers names the table's columns; Servers[0] is the agent.
	Servers []string
	// Runs is how many runs each figure was planned with; a cell with
	// another count says so.
	Runs  int
	Rows  []Row
	Notes []string
}

// Report is the whole of docs/benchmarks.md.
type Report struct {
	Preamble []string
	// Machine lists what the figures were measured on: cores, kernel,
	// versions of every peer.
	Machine  [][2]string
	Sections []Section
}

// Similar is how close two medians must be to count as a draw.
const Similar = 0.05

// Markdown renders the report.
func (r Report) Markdown() string {
	var b strings.Builder
	b.WriteString("# Benchmarks\n\n")
	for _, p := range r.Preamble {
		b.WriteString(p + "\n\n")
	}
	if len(r.Machine) > 0 {
		b.WriteString("## Machine and peers\n\n| | |\n|---|---|\n")
		for _, kv := range r.Machine {
			fmt.Fprintf(&b, "| %s | %s |\n", escape(kv[0]), escape(kv[1]))
		}
		b.WriteString("\n")
	}
	for _, s := range r.Sections {
		s.markdown(&b)
	}
	return b.String()
}

func (s Section) markdown(b *strings.Builder) {
	fmt.Fprintf(b, "## %s\n\n", s.Title)
	for _, p := range s.Intro {
		b.WriteString(p + "\n\n")
	}
	b.WriteString("| Figure | " + escape(s.Servers[0]))
	for _, peer := range s.Servers[1:] {
		fmt.Fprintf(b, " | %s | agent ÷ %s", escape(peer), escape(shortName(peer)))
	}
	b.WriteString(" |\n|---|---:")
	for range s.Servers[1:] {
		b.WriteString("|---:|---")
	}
	b.WriteString("|\n")
	for _, row := range s.Rows {
		b.WriteString("| " + escape(row.Figure) + " | " + row.cell(0, s.Runs))
		for i := 1; i < len(s.Servers); i++ {
			b.WriteString(" | " + row.cell(i, s.Runs) + " | " + Ratio(row, i))
		}
		b.WriteString(" |\n")
	}
	b.WriteString("\n")
	for _, n := range s.Notes {
		b.WriteString(n + "\n\n")
	}
}

// shortName is a column name up to its first parenthesis or comma, for the
// ratio columns' headers.
func shortName(name string) string {
	if i := strings.IndexAny(name, "(,"); i > 0 {
		return strings.TrimSpace(name[:i])
	}
	return name
}

// cell renders "median [min–max]" of server i, with the run count when it
// differs from the plan.
func (r Row) cell(i, planned int) string {
	if i >= len(r.Cells) {
		return "n/a (not measured)"
	}
	c := r.Cells[i]
	if len(c.Runs) == 0 {
		if c.Text != "" {
			return escape(c.Text)
		}
		if len(c.Failures) > 0 {
			return "n/a (" + escape(brief(c.Failures[0])) + ")"
		}
		return "n/a (not measured; see the test log)"
	}
	s := Summarize(c.Runs)
	out := FormatNumber(s.Median, r.Digits)
	if s.N > 1 {
		out += " [" + FormatNumber(s.Min, r.Digits) + "–" + FormatNumber(s.Max, r.Digits) + "]"
	}
	if s.N != planned {
		out += fmt.Sprintf(" n=%d", s.N)
	}
	if len(c.Failures) > 0 {
		out += fmt.Sprintf(" (%d failed: %s)", len(c.Failures), escape(brief(c.Failures[0])))
	}
	return out
}

// Ratio compares the agent's median with server i's: "1.52× better",
// "0.80× worse", or "≈" when they are within Similar of each other.
func Ratio(r Row, i int) string {
	if len(r.Cells) <= i || len(r.Cells[0].Runs) == 0 || len(r.Cells[i].Runs) == 0 {
		return "–"
	}
	a, p := Summarize(r.Cells[0].Runs).Median, Summarize(r.Cells[i].Runs).Median
	switch {
	case a == 0 && p == 0:
		return "≈ (both 0)"
	case p == 0:
		if r.Better == LowerIsBetter {
			return "worse (peer 0)"
		}
		return "better (peer 0)"
	}
	ratio := a / p
	text := strconv.FormatFloat(ratio, 'f', 2, 64) + "×"
	if math.Abs(ratio-1) < Similar {
		return text + " ≈"
	}
	if (ratio > 1) == (r.Better == HigherIsBetter) {
		return text + " better"
	}
	return text + " worse"
}

// FormatNumber formats v with digits after the point and thousands
// separators: 12345.678 with 1 digit is "12,345.7".
func FormatNumber(v float64, digits int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "?"
	}
	s := strconv.FormatFloat(v, 'f', digits, 64)
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	whole, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	for i, d := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(d)
	}
	if frac != "" {
		return sign + b.String() + "." + frac
	}
	return sign + b.String()
}

// brief keeps a failure reason to one short line.
func brief(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 120 {
		return string(r[:117]) + "..."
	}
	return s
}

// escape keeps text from breaking a Markdown table row.
func escape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "|", `\|`), "\n", " ")
}
