// Package keyset picks one page of a collection by key (keyset
// pagination): the n smallest keys after the last one a client saw. It
// keeps only those n while the caller visits the collection in any order,
// so a page of a million-item map costs one pass and no sort of the rest.
package keyset

import "slices"

// Smallest keeps the n smallest distinct keys offered, each with the value
// first offered with it. The zero value keeps nothing; use New.
type Smallest[K comparable, V any] struct {
	n    int
	cmp  func(a, b K) int
	heap []K // a max-heap by cmp: heap[0] is the largest kept key
	vals map[K]V
}

// New keeps the n smallest keys by cmp.
func New[K comparable, V any](n int, cmp func(a, b K) int) *Smallest[K, V] {
	return &Smallest[K, V]{n: max(n, 0), cmp: cmp, vals: make(map[K]V, min(max(n, 0), 1024))}
}

// Full reports whether n keys are kept: then only a key below Max is kept.
func (s *Smallest[K, V]) Full() bool { return len(s.heap) >= s.n }

// Max is the largest kept key; the zero K when none is kept.
func (s *Smallest[K, V]) Max() K {
	if len(s.heap) == 0 {
		var zero K
		return zero
	}
	return s.heap[0]
}

// Offer keeps k with v if k is among the n smallest keys offered so far. A
// key already kept keeps its first value.
func (s *Smallest[K, V]) Offer(k K, v V) {
	if s.n == 0 {
		return
	}
	if _, ok := s.vals[k]; ok {
		return
	}
	if len(s.heap) < s.n {
		s.vals[k] = v
		s.heap = append(s.heap, k)
		s.up(len(s.heap) - 1)
		return
	}
	if s.cmp(k, s.heap[0]) >= 0 {
		return
	}
	delete(s.vals, s.heap[0])
	s.vals[k] = v
	s.heap[0] = k
	s.down(0)
}

// Value is the value kept with k, if k is kept.
func (s *Smallest[K, V]) Value(k K) (V, bool) {
	v, ok := s.vals[k]
	return v, ok
}

// Sorted returns the kept keys in ascending order and their values.
func (s *Smallest[K, V]) Sorted() ([]K, map[K]V) {
	keys := slices.Clone(s.heap)
	slices.SortFunc(keys, s.cmp)
	return keys, s.vals
}

func (s *Smallest[K, V]) up(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if s.cmp(s.heap[i], s.heap[parent]) <= 0 {
			return
		}
		s.heap[i], s.heap[parent] = s.heap[parent], s.heap[i]
		i = parent
	}
}

func (s *Smallest[K, V]) down(i int) {
	for {
		largest := i
		for _, c := range []int{2*i + 1, 2*i + 2} {
			if c < len(s.heap) && s.cmp(s.heap[c], s.heap[largest]) > 0 {
				largest = c
			}
		}
		if largest == i {
			return
		}
		s.heap[i], s.heap[largest] = s.heap[largest], s.heap[i]
		i = largest
	}
}
