package benchlab

import (
	"math"
	"strings"
	"testing"
)

func TestSummarize(t *testing.T) {
	tests := []struct {
		in   []float64
		want Summary
	}{
		{[]float64{3, 1, 2}, Summary{Median: 2, Min: 1, Max: 3, N: 3}},
		{[]float64{4, 1, 2, 3}, Summary{Median: 2.5, Min: 1, Max: 4, N: 4}},
		{[]float64{7}, Summary{Median: 7, Min: 7, Max: 7, N: 1}},
	}
	for _, tt := range tests {
		if got := Summarize(tt.in); got != tt.want {
			t.Errorf("Summarize(%v) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
	if got := Summarize(nil); got.N != 0 || !math.IsNaN(got.Median) {
		t.Errorf("Summarize(nil) = %+v, want N 0 and NaN median", got)
	}
}

func TestFormatNumber(t *testing.T) {
	tests := []struct {
		v      float64
		digits int
		want   string
	}{
		{12345.678, 1, "12,345.7"},
		{999, 0, "999"},
		{1000, 0, "1,000"},
		{-1234567, 0, "-1,234,567"},
		{0.0456, 3, "0.046"},
		{math.NaN(), 2, "?"},
	}
	for _, tt := range tests {
		if got := FormatNumber(tt.v, tt.digits); got != tt.want {
			t.Errorf("FormatNumber(%v, %d) = %q, want %q", tt.v, tt.digits, got, tt.want)
		}
	}
}

func TestRatio(t *testing.T) {
	cell := func(v ...float64) Cell { return Cell{Runs: v} }
	tests := []struct {
		name string
		row  Row
		want string
	}{
		{"higher wins", Row{Better: HigherIsBetter, Cells: []Cell{cell(200), cell(100)}}, "2.00× better"},
		{"higher loses", Row{Better: HigherIsBetter, Cells: []Cell{cell(50), cell(100)}}, "0.50× worse"},
		{"lower wins", Row{Better: LowerIsBetter, Cells: []Cell{cell(1), cell(4)}}, "0.25× better"},
		{"draw", Row{Better: LowerIsBetter, Cells: []Cell{cell(1.02), cell(1)}}, "1.02× ≈"},
		{"both zero", Row{Better: LowerIsBetter, Cells: []Cell{cell(0, 0), cell(0)}}, "≈ (both 0)"},
		{"peer zero", Row{Better: LowerIsBetter, Cells: []Cell{cell(0.5), cell(0)}}, "worse (peer 0)"},
		{"peer missing", Row{Cells: []Cell{cell(1), {Failures: []string{"kea-dhcp6 not installed"}}}}, "–"},
	}
	for _, tt := range tests {
		if got := Ratio(tt.row, 1); got != tt.want {
			t.Errorf("%s: Ratio = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestMarkdownCells(t *testing.T) {
	r := Report{Sections: []Section{{
		Title: "T", Servers: []string{"agent", "Kea 2.2 (memfile)"}, Runs: 3,
		Rows: []Row{
			{Figure: "a|b", Digits: 1, Cells: []Cell{{Runs: []float64{1, 3, 2}}, {Failures: []string{"kea-dhcp6 not\ninstalled"}}}},
			{Figure: "n", Cells: []Cell{{Runs: []float64{5}, Failures: []string{"timeout"}}, {Text: "yes (206, 100 bytes)"}}},
			{Figure: "none", Cells: []Cell{{}, {Runs: []float64{1, 1, 1}}}},
		},
	}}}
	md := r.Markdown()
	for _, want := range []string{
		"| Figure | agent | Kea 2.2 (memfile) | agent ÷ Kea 2.2 |",
		`| a\|b | 2.0 [1.0–3.0] | n/a (kea-dhcp6 not installed) | – |`,
		"| n | 5 n=1 (1 failed: timeout) | yes (206, 100 bytes) | – |",
		"| none | n/a (not measured; see the test log) | 1 [1–1] | – |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q:\n%s", want, md)
		}
	}
}
