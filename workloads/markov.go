package workloads

import (
	"errors"
	"fmt"
	"math"

	"github.com/vectorstream/vectorstream/event"
)

// DefaultTransitions returns the default session chain: a browsing-heavy
// mix where roughly one product view in four leads to a cart addition and a
// quarter of cart additions end in a purchase. Each row sums to 1. The
// caller owns the returned map.
func DefaultTransitions() map[event.EventType]map[event.EventType]float64 {
	return map[event.EventType]map[event.EventType]float64{
		event.PageView:       {event.PageView: 0.30, event.ProductView: 0.45, event.Search: 0.25},
		event.ProductView:    {event.PageView: 0.15, event.ProductView: 0.40, event.Search: 0.20, event.AddToCart: 0.25},
		event.Search:         {event.PageView: 0.05, event.ProductView: 0.70, event.Search: 0.25},
		event.AddToCart:      {event.PageView: 0.20, event.ProductView: 0.35, event.Search: 0.10, event.AddToCart: 0.10, event.RemoveFromCart: 0.10, event.Purchase: 0.15},
		event.RemoveFromCart: {event.PageView: 0.30, event.ProductView: 0.50, event.Search: 0.20},
		event.Purchase:       {event.PageView: 0.60, event.ProductView: 0.15, event.Search: 0.25},
	}
}

const nTypes = 6

// chain is a dense, row-normalised transition matrix indexed like EventTypes.
type chain [nTypes][nTypes]float64

// denseChain validates transitions and normalises each row. Rows may sum to
// any positive value (they are weights); a state reachable with positive
// probability must have a row.
func denseChain(transitions map[event.EventType]map[event.EventType]float64) (chain, error) {
	var m chain
	var errs []error
	for from, row := range transitions {
		if !from.Valid() {
			errs = append(errs, fmt.Errorf("transitions[%q]: unknown event type", from))
			continue
		}
		for to, p := range row {
			if !to.Valid() {
				errs = append(errs, fmt.Errorf("transitions[%s][%q]: unknown event type", from, to))
				continue
			}
			if p < 0 || math.IsNaN(p) || math.IsInf(p, 0) {
				errs = append(errs, fmt.Errorf("transitions[%s][%s]: must be a finite probability >= 0, got %v", from, to, p))
				continue
			}
			m[from.Index()][to.Index()] = p
		}
	}
	if len(errs) > 0 {
		return m, joinSorted(errs)
	}
	var reach [nTypes]bool
	any := false
	for i := range nTypes {
		for j := range nTypes {
			if m[i][j] > 0 {
				reach[j] = true
				any = true
			}
		}
	}
	if !any {
		return m, errors.New("transitions: no positive probability")
	}
	for i, t := range event.EventTypes {
		sum := 0.0
		for j := range nTypes {
			sum += m[i][j]
		}
		if sum == 0 {
			if reach[i] {
				errs = append(errs, fmt.Errorf("transitions[%s]: reachable but has no outgoing transition", t))
			}
			continue
		}
		for j := range nTypes {
			m[i][j] /= sum
		}
	}
	return m, errors.Join(errs...)
}

// joinSorted joins errors in a deterministic order (map iteration is not).
func joinSorted(errs []error) error {
	for i := 1; i < len(errs); i++ {
		for j := i; j > 0 && errs[j].Error() < errs[j-1].Error(); j-- {
			errs[j], errs[j-1] = errs[j-1], errs[j]
		}
	}
	return errors.Join(errs...)
}

// stationary solves pi = pi*P, sum(pi) = 1 by Gaussian elimination with
// partial pivoting over the states that have rows. It fails when the
// solution is not unique (the chain is not irreducible over its states).
func (m *chain) stationary() ([nTypes]float64, error) {
	var pi [nTypes]float64
	var states []int
	for i := range nTypes {
		sum := 0.0
		for j := range nTypes {
			sum += m[i][j]
		}
		if sum > 0 {
			states = append(states, i)
		}
	}
	n := len(states)
	// Equations: for each state j (but the last), sum_i pi_i (P_ij - δ_ij) = 0;
	// the last equation is sum_i pi_i = 1.
	a := make([][]float64, n)
	for r := range n {
		a[r] = make([]float64, n+1)
	}
	for r := 0; r < n-1; r++ {
		j := states[r]
		for c, i := range states {
			a[r][c] = m[i][j]
			if i == j {
				a[r][c]--
			}
		}
	}
	for c := range n {
		a[n-1][c] = 1
	}
	a[n-1][n] = 1
	for col := range n {
		piv := col
		for r := col + 1; r < n; r++ {
			if math.Abs(a[r][col]) > math.Abs(a[piv][col]) {
				piv = r
			}
		}
		if math.Abs(a[piv][col]) < 1e-12 {
			return pi, errors.New("transitions: chain is not irreducible (stationary distribution not unique)")
		}
		a[col], a[piv] = a[piv], a[col]
		for r := range n {
			if r == col || a[r][col] == 0 {
				continue
			}
			f := a[r][col] / a[col][col]
			for c := col; c <= n; c++ {
				a[r][c] -= f * a[col][c]
			}
		}
	}
	for r, i := range states {
		v := a[r][n] / a[r][r]
		if v < -1e-9 {
			return pi, errors.New("transitions: chain is not irreducible (negative stationary mass)")
		}
		pi[i] = math.Max(v, 0)
	}
	// A state with a row but zero stationary mass is transient; that is
	// allowed (it is simply never visited in the long run).
	return pi, nil
}

// StationaryMix returns the long-run share of each event type implied by the
// transition weights (nil means DefaultTransitions). Rows are normalised
// first. The generator starts every session slot from this distribution and
// session boundaries do not change the chain, so it is also the expected mix
// of a generated stream from the first event on.
func StationaryMix(transitions map[event.EventType]map[event.EventType]float64) (map[event.EventType]float64, error) {
	if transitions == nil {
		transitions = DefaultTransitions()
	}
	m, err := denseChain(transitions)
	if err != nil {
		return nil, err
	}
	pi, err := m.stationary()
	if err != nil {
		return nil, err
	}
	out := make(map[event.EventType]float64, nTypes)
	for i, t := range event.EventTypes {
		if pi[i] > 0 {
			out[t] = pi[i]
		}
	}
	return out, nil
}
