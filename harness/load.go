package harness

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/vectorstream/vectorstream/internal/exitcode"
	"github.com/vectorstream/vectorstream/internal/measure"

	"github.com/vectorstream/vectorstream/event"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/vectorstream/vectorstream/workloads"
)

// position is where Kafka put one produced record; partition -1 means not produced.
type position struct {
	partition int32
	offset    int64
}

// loadGen offers the scenario's load open-loop: event i is due at start + At(i), and
// that intended time, not the moment it was actually sent, is stamped into the event
// and its headers, so a stalled producer shows up as latency instead of hiding it.
type loadGen struct {
	cl          *kgo.Client
	topic       string
	gen         *workloads.Generator
	sched       *workloads.Schedule
	start       time.Time
	measureFrom time.Time
	measureTo   time.Time
	late        time.Duration
	// part and parts split the stream between load generators: this one sends the
	// events whose sequence number is part modulo parts (all of them when parts ≤ 1).
	// Every generator still generates every event, so the stream stays the one seed.
	part, parts int64
	// ackedNow, when set, reports acknowledged records while other processes send
	// (the sum of the raw topic's end offsets); otherwise acked is used.
	ackedNow func() int64

	pos      []position
	sent     atomic.Int64 // records handed to the client
	acked    atomic.Int64 // records Kafka acknowledged
	failed   atomic.Int64
	firstErr atomic.Pointer[error]

	// Written by the send loop only; read after run returns.
	sendDelay     *hdrhistogram.Histogram
	measured      int64
	lateCount     int64
	offeredInWin  int64
	producedInWin atomic.Int64
}

// loadPlan is what a load generator sends: to topic, on sched, over window, counting
// an event sent more than late after its intended time as late.
type loadPlan struct {
	topic string
	sched *workloads.Schedule
	window
	late time.Duration
}

// newLoadGen returns the load generator that sends gen's events through cl as p says.
func newLoadGen(cl *kgo.Client, gen *workloads.Generator, p loadPlan) *loadGen {
	n := p.sched.Count()
	l := &loadGen{cl: cl, topic: p.topic, gen: gen, sched: p.sched, start: p.start, measureFrom: p.measureFrom,
		measureTo: p.measureTo, late: p.late, pos: make([]position, n), sendDelay: measure.NewHistogram()}
	for i := range l.pos {
		l.pos[i].partition = -1
	}
	return l
}

// record is what verification needs of the load once it is over (see runRecord).
func (l *loadGen) record(gcfg workloads.GeneratorConfig) runRecord {
	return runRecord{gcfg: gcfg, sched: l.sched, start: l.start, sent: l.sent.Load(), pos: l.pos}
}

// offeredBefore returns how many events are due before t.
func (l *loadGen) offeredBefore(t time.Time) int64 {
	n := l.sched.Count()
	d := t.Sub(l.start)
	return int64(sort.Search(int(n), func(i int) bool { return l.sched.At(int64(i)) >= d }))
}

// run sends every scheduled event, then waits for Kafka to acknowledge them all.
func (l *loadGen) run(ctx context.Context) error {
	n := l.sched.Count()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for i := int64(0); i < n; i++ {
		due := l.start.Add(l.sched.At(i))
		if l.parts > 1 && i%l.parts != l.part {
			l.gen.Next(due) // another generator's event: keep the stream in step
			continue
		}
		if wait := time.Until(due); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return l.flush(ctx)
			case <-timer.C:
			}
		} else if ctx.Err() != nil {
			return l.flush(ctx)
		}
		rec := l.gen.Next(due)
		sent := time.Now()
		inWin := !due.Before(l.measureFrom) && due.Before(l.measureTo)
		if inWin {
			l.offeredInWin++
			l.measured++
			delay := sent.Sub(due)
			measure.RecordDuration(l.sendDelay, delay)
			if delay > l.late {
				l.lateCount++
			}
		}
		kr := &kgo.Record{
			Topic: l.topic,
			Key:   rec.Key,
			Value: rec.Value,
			Headers: []kgo.RecordHeader{
				{Key: event.HeaderEventID, Value: []byte(rec.EventID)},
				{Key: event.HeaderIntended, Value: strconv.AppendInt(nil, due.UnixNano(), 10)},
				{Key: event.HeaderSent, Value: strconv.AppendInt(nil, sent.UnixNano(), 10)},
			},
		}
		seq := i
		l.sent.Add(1)
		l.cl.Produce(ctx, kr, func(r *kgo.Record, err error) {
			if err != nil {
				l.failed.Add(1)
				l.firstErr.CompareAndSwap(nil, &err)
				return
			}
			l.pos[seq] = position{r.Partition, r.Offset}
			l.acked.Add(1)
			if inWin {
				l.producedInWin.Add(1)
			}
		})
	}
	return l.flush(ctx)
}

func (l *loadGen) flush(ctx context.Context) error {
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := l.cl.Flush(fctx); err != nil {
		err = fmt.Errorf("load: flush producer: %w", err)
		if errors.Is(err, context.DeadlineExceeded) {
			// Kafka did not acknowledge what was sent within the flush timeout.
			err = exitcode.With(err, exitcode.Unreachable)
		}
		return err
	}
	if ep := l.firstErr.Load(); ep != nil {
		return fmt.Errorf("load: %d records not produced, first: %w", l.failed.Load(), *ep)
	}
	return ctx.Err()
}

// ackedSoFar returns how many records Kafka has acknowledged so far.
func (l *loadGen) ackedSoFar() int64 {
	if l.ackedNow != nil {
		return l.ackedNow()
	}
	return l.acked.Load()
}
