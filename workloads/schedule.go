package workloads

import (
	"fmt"
	"math"
	"sort"
	"time"
)

// Never is what Schedule.At returns for an event that the profile never
// reaches (its rate falls to zero for good before it).
const Never = time.Duration(math.MaxInt64)

// Schedule is the open-loop send plan of a profile over a run: event i is
// due at At(i) after the start, whatever happened to earlier sends, so a
// slow producer shows up as latency instead of hiding it. At inverts the
// cumulative count N(t) = ∫₀ᵗ rate, in closed form per segment: event i is
// due at the first instant where N reaches i while events flow (rate > 0).
// A Schedule is immutable and safe for concurrent use.
type Schedule struct {
	profile  Profile
	duration time.Duration
	segs     []segment
	count    int64
}

// segment is a stretch where the rate is linear: rate(t) = r0 + k·(t-start).
type segment struct {
	start  time.Duration
	end    time.Duration // Never for the last segment
	r0, k  float64       // events/s at start, events/s²
	cum0   float64       // N(start)
	cumEnd float64       // N(end); +Inf when the last segment keeps a positive rate
}

// NewSchedule validates p and plans it over [0, duration).
func NewSchedule(p Profile, duration time.Duration) (*Schedule, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("workloads: profile: %w", err)
	}
	if duration <= 0 {
		return nil, fmt.Errorf("workloads: schedule: duration: must be > 0, got %s", duration)
	}
	s := &Schedule{profile: p, duration: duration}
	type piece struct {
		at    time.Duration
		r0, k float64
	}
	var pieces []piece
	switch p.Kind {
	case ProfileConstant:
		pieces = []piece{{0, p.Rate, 0}}
	case ProfileRamp:
		over := p.Over.D()
		if over == 0 {
			over = duration
		}
		pieces = []piece{{0, p.From, (p.To - p.From) / over.Seconds()}, {over, p.To, 0}}
	case ProfileStep:
		pieces = []piece{{0, p.Rate, 0}}
		for _, st := range p.Steps {
			pieces = append(pieces, piece{st.At.D(), st.Rate, 0})
		}
	case ProfileSpike:
		at, end := p.SpikeAt.D(), p.SpikeAt.D()+p.SpikeFor.D()
		pieces = []piece{{0, p.Rate, 0}, {at, p.SpikeRate, 0}, {end, p.Rate, 0}}
	}
	// Later pieces starting at the same instant replace earlier ones.
	cum := 0.0
	for i, pc := range pieces {
		end := Never
		if i+1 < len(pieces) {
			end = pieces[i+1].at
		}
		if end <= pc.at {
			continue
		}
		sg := segment{start: pc.at, end: end, r0: pc.r0, k: pc.k, cum0: cum}
		if end == Never {
			if pc.r0 > 0 || pc.k > 0 {
				sg.cumEnd = math.Inf(1)
			} else {
				sg.cumEnd = cum
			}
		} else {
			sg.cumEnd = cum + sg.countIn((end - pc.at).Seconds())
		}
		cum = sg.cumEnd
		s.segs = append(s.segs, sg)
	}
	s.count = s.CountBefore(duration)
	return s, nil
}

// countIn is the number of events in the first u seconds of the segment.
func (sg *segment) countIn(u float64) float64 { return sg.r0*u + sg.k*u*u/2 }

// cumAt is N(t).
func (s *Schedule) cumAt(t time.Duration) float64 {
	sg := s.segAt(t)
	return sg.cum0 + sg.countIn((t - sg.start).Seconds())
}

func (s *Schedule) segAt(t time.Duration) *segment {
	i := sort.Search(len(s.segs), func(i int) bool { return s.segs[i].end > t })
	if i == len(s.segs) {
		i = len(s.segs) - 1
	}
	return &s.segs[i]
}

// CountBefore is the number of events i with At(i) < d: the stream position of the
// first event at or after d.
func (s *Schedule) CountBefore(d time.Duration) int64 {
	n := math.Ceil(s.cumAt(d))
	if n > math.MaxInt64/2 {
		n = math.MaxInt64 / 2
	}
	c := int64(n)
	// Correct float rounding so that Count agrees with At exactly.
	for c > 0 && s.At(c-1) >= d {
		c--
	}
	for s.At(c) < d {
		c++
	}
	return c
}

// Profile returns the profile the schedule was built from.
func (s *Schedule) Profile() Profile { return s.profile }

// Duration returns the length of the run.
func (s *Schedule) Duration() time.Duration { return s.duration }

// Count returns the number of events due in [0, duration).
func (s *Schedule) Count() int64 { return s.count }

// At returns the intended send offset of event i (0-based) from the start,
// rounded to the nanosecond; At is non-decreasing in i. It does not stop at
// the run's duration: At(Count()) is the first offset >= duration. If the
// rate drops to zero for good before event i, At returns Never.
func (s *Schedule) At(i int64) time.Duration {
	if i <= 0 {
		return 0
	}
	c := float64(i)
	k := sort.Search(len(s.segs), func(k int) bool { return s.segs[k].cumEnd > c })
	if k == len(s.segs) {
		return Never
	}
	sg := &s.segs[k]
	x := c - sg.cum0
	var u float64
	switch {
	case x <= 0:
		u = 0
	case sg.k == 0:
		u = x / sg.r0
	default:
		// Root of k/2·u² + r0·u − x = 0 in the form that stays accurate
		// when k is small and that also holds for k < 0.
		u = 2 * x / (sg.r0 + math.Sqrt(sg.r0*sg.r0+2*sg.k*x))
	}
	ns := math.Round(u * 1e9)
	if ns >= float64(Never-sg.start) {
		return Never
	}
	t := sg.start + time.Duration(ns)
	if sg.end != Never && t > sg.end {
		t = sg.end
	}
	return t
}

// RateAt returns the offered rate (events/s) at offset t.
func (s *Schedule) RateAt(t time.Duration) float64 {
	if t < 0 {
		return 0
	}
	sg := s.segAt(t)
	return sg.r0 + sg.k*(t-sg.start).Seconds()
}
