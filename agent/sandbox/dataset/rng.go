package dataset

import "math/bits"

// rng is a small deterministic generator (SplitMix64). Every record draws
// from its own rng seeded from (dataset seed, record kind, index), so any
// record can be generated on demand, in any order, without generating the
// ones before it.
type rng struct{ s uint64 }

// Record kinds mixed into the seed so that contact 7 and company 7 differ.
const (
	kindContact uint64 = iota + 1
	kindCompany
	kindConversation
	kindEvents
	kindMembership
)

func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

func newRNG(seed, kind uint64, index int) *rng {
	return &rng{s: mix(seed ^ mix(kind<<56^uint64(index)))}
}

func (r *rng) u64() uint64 {
	r.s += 0x9e3779b97f4a7c15
	return mix(r.s)
}

// intn returns a uniform int in [0, n); n must be positive.
func (r *rng) intn(n int) int {
	hi, _ := bits.Mul64(r.u64(), uint64(n))
	return int(hi)
}

// between returns a uniform int64 in [lo, hi] (lo when hi < lo).
func (r *rng) between(lo, hi int64) int64 {
	if hi <= lo {
		return lo
	}
	h, _ := bits.Mul64(r.u64(), uint64(hi-lo+1))
	return lo + int64(h)
}

// float returns a uniform float64 in [0, 1).
func (r *rng) float() float64 { return float64(r.u64()>>11) / (1 << 53) }

// chance reports true with probability p.
func (r *rng) chance(p float64) bool { return r.float() < p }

func pick[T any](r *rng, xs []T) T { return xs[r.intn(len(xs))] }

// distinct draws k distinct ints from [0, n) (k ≤ n), in draw order.
func (r *rng) distinct(k, n int) []int {
	k = min(k, n)
	out := make([]int, 0, k)
	for len(out) < k {
		v := r.intn(n)
		dup := false
		for _, o := range out {
			if o == v {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, v)
		}
	}
	return out
}
