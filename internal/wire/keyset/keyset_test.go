package keyset

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestSmallestKeepsTheNSmallestDistinctKeys(t *testing.T) {
	for _, tc := range []struct {
		name   string
		n      int
		offers []int
		want   []int
	}{
		{"none kept", 0, []int{3, 1, 2}, []int{}},
		{"fewer offered than n", 5, []int{3, 1, 2}, []int{1, 2, 3}},
		{"smallest of many", 3, []int{9, 4, 7, 1, 8, 2, 6}, []int{1, 2, 4}},
		{"duplicates count once", 3, []int{5, 5, 1, 1, 5, 3, 3, 2}, []int{1, 2, 3}},
		{"descending input", 2, []int{5, 4, 3, 2, 1}, []int{1, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := New[int, int](tc.n, cmp.Compare[int])
			for i, k := range tc.offers {
				s.Offer(k, i)
			}
			got, _ := s.Sorted()
			if !slices.Equal(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
				t.Errorf("Sorted() = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSmallestKeepsFirstValueAndMatchesASort(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	keys := make([]int, 10000)
	for i := range keys {
		keys[i] = r.IntN(5000)
	}
	s := New[int, int](100, cmp.Compare[int])
	first := map[int]int{}
	for i, k := range keys {
		s.Offer(k, i)
		if _, ok := first[k]; !ok {
			first[k] = i
		}
	}
	want := slices.Compact(slices.Sorted(slices.Values(keys)))[:100]
	got, vals := s.Sorted()
	if !slices.Equal(got, want) {
		t.Fatalf("Sorted() = %v, want %v", got, want)
	}
	for _, k := range got {
		if vals[k] != first[k] {
			t.Errorf("value of %d = %d, want the first offered, %d", k, vals[k], first[k])
		}
	}
	if !s.Full() || s.Max() != want[99] {
		t.Errorf("Full() = %t, Max() = %d; want true, %d", s.Full(), s.Max(), want[99])
	}
}
