package pipeline

import (
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/vectorstream/vectorstream/internal/measure"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Stage names one step an event passes through. The stages of a valid event add up to
// its end-to-end latency: SendDelay + KafkaTransit + BatchWait + Validate + Embed +
// Upsert = E2E. Commit happens after Qdrant acknowledged and is timed on its own.
type Stage int

// The stages, in the order an event meets them.
const (
	StageSendDelay    Stage = iota // intended send time → producer handed the record to the client
	StageKafkaTransit              // producer send → pipeline poll returned the record
	StageBatchWait                 // consumed → micro-batch closed
	StageValidate                  // batch closed → batch validated (and dead letters acknowledged)
	StageEmbed                     // validated → batch embedded
	StageUpsert                    // embedded → Qdrant acknowledged events and profiles
	StageCommit                    // Qdrant ack → offsets committed (not part of e2e)
	StageE2E                       // intended send → Qdrant ack
	StageDLQ                       // intended send → dead letter acknowledged by Kafka
	numStages
)

var stageNames = [numStages]string{"send_delay", "kafka_transit", "batch_wait", "validate", "embed", "upsert", "commit", "e2e", "dlq"}

// Stages lists every stage in order.
func Stages() []Stage {
	out := make([]Stage, numStages)
	for i := range out {
		out[i] = Stage(i)
	}
	return out
}

// BreakdownStages are the stages that add up to E2E, in order.
func BreakdownStages() []Stage {
	return []Stage{StageSendDelay, StageKafkaTransit, StageBatchWait, StageValidate, StageEmbed, StageUpsert}
}

func (s Stage) String() string {
	if s < 0 || s >= numStages {
		return fmt.Sprintf("stage(%d)", int(s))
	}
	return stageNames[s]
}

// EventTimes are the wall-clock instants (Unix nanoseconds) one event reached each
// stage boundary. Intended and Sent come from record headers written by the load
// generator; the rest are taken by the pipeline.
type EventTimes struct {
	EventID                                  string
	Partition                                int32
	Offset                                   int64
	Intended, Sent, Consumed, Closed         int64
	Validated, Embedded, Upserted, Committed int64
	DeadLettered                             bool
}

// StageDurations holds one duration per stage, indexed by Stage.
type StageDurations [numStages]time.Duration

// Durations returns the time spent in each stage (DLQ, which is not a stage of a valid
// event, stays zero).
func (t EventTimes) Durations() StageDurations {
	return StageDurations{
		StageSendDelay:    time.Duration(t.Sent - t.Intended),
		StageKafkaTransit: time.Duration(t.Consumed - t.Sent),
		StageBatchWait:    time.Duration(t.Closed - t.Consumed),
		StageValidate:     time.Duration(t.Validated - t.Closed),
		StageEmbed:        time.Duration(t.Embedded - t.Validated),
		StageUpsert:       time.Duration(t.Upserted - t.Embedded),
		StageCommit:       time.Duration(t.Committed - t.Upserted),
		StageE2E:          time.Duration(t.Upserted - t.Intended),
	}
}

// Counters are the pipeline's running totals.
type Counters struct {
	Consumed        int64 `json:"consumed"`
	Valid           int64 `json:"valid"`
	DeadLettered    int64 `json:"dead_lettered"`
	Written         int64 `json:"written"`
	ProfilesWritten int64 `json:"profiles_written"`
	ProfileSkips    int64 `json:"profile_skips"`
	Batches         int64 `json:"batches"`
	Commits         int64 `json:"commits"`
	Retries         int64 `json:"retries"`
	MissingHeaders  int64 `json:"missing_headers"`
	// Spooled and Replayed count the valid events written to the backup spool (their
	// offsets committed before Qdrant had them) and replayed from it into Qdrant;
	// SpooledBatches and ReplayedBatches count the spool's records.
	Spooled         int64 `json:"spooled"`
	Replayed        int64 `json:"replayed"`
	SpooledBatches  int64 `json:"spooled_batches"`
	ReplayedBatches int64 `json:"replayed_batches"`
	// SpoolPending is how many spooled batches wait for replay now (a level, not a
	// total; summed over a group's members).
	SpoolPending int64 `json:"spool_pending"`
	// Held counts the batches held in memory while Qdrant or the DLQ was
	// unavailable and no spool was configured (backpressure).
	Held int64 `json:"held"`
	// BreakerOpens counts CLOSED/HALF_OPEN → OPEN transitions of the circuit breakers.
	BreakerOpens int64 `json:"breaker_opens"`
	// BackendFallbacks counts switches from the GPU backend to the CPU one.
	BackendFallbacks int64 `json:"backend_fallbacks"`
	// ExpireSweeps counts the retention's completed deletes (qdrant.retention);
	// ExpireCutoff is the latest one's cutoff in Unix nanoseconds (the newest of
	// a group's members'); ExpirePending is 1 while an event write has landed
	// since the last completed sweep began (a level, summed over a group's
	// members).
	ExpireSweeps  int64 `json:"expire_sweeps,omitempty"`
	ExpireCutoff  int64 `json:"expire_cutoff_ns,omitempty"`
	ExpirePending int64 `json:"expire_pending,omitempty"`
}

// Add adds o's totals to c.
func (c *Counters) Add(o Counters) {
	c.Consumed += o.Consumed
	c.Valid += o.Valid
	c.DeadLettered += o.DeadLettered
	c.Written += o.Written
	c.ProfilesWritten += o.ProfilesWritten
	c.ProfileSkips += o.ProfileSkips
	c.Batches += o.Batches
	c.Commits += o.Commits
	c.Retries += o.Retries
	c.MissingHeaders += o.MissingHeaders
	c.Spooled += o.Spooled
	c.Replayed += o.Replayed
	c.SpooledBatches += o.SpooledBatches
	c.ReplayedBatches += o.ReplayedBatches
	c.SpoolPending += o.SpoolPending
	c.Held += o.Held
	c.BreakerOpens += o.BreakerOpens
	c.BackendFallbacks += o.BackendFallbacks
	c.ExpireSweeps += o.ExpireSweeps
	c.ExpireCutoff = max(c.ExpireCutoff, o.ExpireCutoff)
	c.ExpirePending += o.ExpirePending
}

// Stats collects latency histograms and counters. Events whose intended send time lies
// before the measurement start (warm-up) are counted but not recorded in histograms.
// Safe for concurrent use.
type Stats struct {
	mu          sync.Mutex
	measureFrom int64
	hist        [numStages]*hdrhistogram.Histogram
	interval    *hdrhistogram.Histogram
	counters    Counters
	bd          StageSums
	commits     []Commit
}

// Commit is one committed batch: when, and how many records had been committed in all
// by then.
type Commit struct {
	At         time.Time `json:"at"`
	Cumulative int64     `json:"cumulative"`
}

// StageSums keeps, for events grouped by e2e latency in buckets 10% wide, the sum of
// the time each spent in every stage, so the mean stage times of the events near any
// e2e percentile can be read off at the end. Percentiles of stages do not add up to a
// percentile of e2e; these means do.
type StageSums struct {
	Counts []int64              `json:"counts"`
	Sums   [][numStages]float64 `json:"sums_us"`
}

const breakdownRatio = 1.1

func breakdownBucket(e2e time.Duration) int {
	us := max(float64(e2e.Microseconds()), 1)
	return int(math.Log(us) / math.Log(breakdownRatio))
}

func (b *StageSums) add(durs StageDurations) {
	k := breakdownBucket(durs[StageE2E])
	for len(b.Counts) <= k {
		b.Counts = append(b.Counts, 0)
		b.Sums = append(b.Sums, [numStages]float64{})
	}
	b.Counts[k]++
	for st, d := range durs {
		b.Sums[k][st] += float64(d.Microseconds())
	}
}

func (b *StageSums) merge(o StageSums) {
	for len(b.Counts) < len(o.Counts) {
		b.Counts = append(b.Counts, 0)
		b.Sums = append(b.Sums, [numStages]float64{})
	}
	for k := range o.Counts {
		b.Counts[k] += o.Counts[k]
		for st := range o.Sums[k] {
			b.Sums[k][st] += o.Sums[k][st]
		}
	}
}

// Breakdown returns the mean time in each stage, in milliseconds, of the events whose
// e2e latency lies in the 10%-wide bucket holding the e2e value v (and the buckets
// either side, so a few events always contribute). It is empty when no event was timed.
func (s *Snapshot) Breakdown(v time.Duration) map[string]float64 {
	b := s.Stages
	k := breakdownBucket(v)
	var n int64
	var sums [numStages]float64
	for j := k - 1; j <= k+1; j++ {
		if j < 0 || j >= len(b.Counts) {
			continue
		}
		n += b.Counts[j]
		for st := range sums {
			sums[st] += b.Sums[j][st]
		}
	}
	out := map[string]float64{}
	if n == 0 {
		return out
	}
	for _, st := range BreakdownStages() {
		out[st.String()] = sums[st] / float64(n) / 1000
	}
	out[StageE2E.String()] = sums[StageE2E] / float64(n) / 1000
	return out
}

// NewStats returns empty statistics.
func NewStats() *Stats {
	s := &Stats{interval: measure.NewHistogram()}
	for i := range s.hist {
		s.hist[i] = measure.NewHistogram()
	}
	return s
}

// MeasureFrom makes histograms ignore events intended before t (the warm-up).
func (s *Stats) MeasureFrom(t time.Time) {
	s.mu.Lock()
	s.measureFrom = t.UnixNano()
	s.mu.Unlock()
}

func (s *Stats) addCounters(c Counters) {
	s.mu.Lock()
	s.counters.Add(c)
	s.mu.Unlock()
}

// Commits returns the batch commits so far, in order.
func (s *Stats) Commits() []Commit {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Commit(nil), s.commits...)
}

// commitBatch adds a committed batch's counters and event times in one step, so a
// snapshot never holds the counters of a batch without its latencies.
func (s *Stats) commitBatch(c Counters, events []EventTimes) { s.record(c, events, true) }

// replayedBatch records a batch replayed from the spool: its events' latencies end
// when Qdrant acknowledged the replay; its offsets were committed when it was spooled.
func (s *Stats) replayedBatch(c Counters, events []EventTimes) { s.record(c, events, false) }

func (s *Stats) record(c Counters, events []EventTimes, commit bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counters.Add(c)
	if commit {
		s.commits = append(s.commits, Commit{At: time.Now(), Cumulative: s.counters.Consumed})
	}
	for _, e := range events {
		if e.Intended < s.measureFrom {
			continue
		}
		if e.DeadLettered {
			measure.RecordDuration(s.hist[StageDLQ], time.Duration(e.Validated-e.Intended))
			continue
		}
		durs := e.Durations()
		for st, d := range durs {
			if Stage(st) != StageDLQ {
				measure.RecordDuration(s.hist[st], d)
			}
		}
		s.bd.add(durs)
		measure.RecordDuration(s.interval, time.Duration(e.Upserted-e.Intended))
	}
}

// Counters returns the running totals.
func (s *Stats) Counters() Counters {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counters
}

// TakeInterval returns the e2e histogram of events acknowledged since the previous
// call, and starts a new interval. One caller (the per-second sampler) owns it.
func (s *Stats) TakeInterval() *hdrhistogram.Histogram {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.interval
	s.interval = measure.NewHistogram()
	return h
}

// Snapshot is the state of Stats in a form that crosses process boundaries: histograms
// in HdrHistogram's compressed V2 encoding (base64), counters as numbers. Snapshots from
// several pipeline processes are merged, never averaged.
type Snapshot struct {
	Counters   Counters          `json:"counters"`
	Histograms map[string]string `json:"histograms"`
	Stages     StageSums         `json:"stage_sums"`
}

// Snapshot encodes the cumulative histograms and counters.
func (s *Stats) Snapshot() (Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := Snapshot{Counters: s.counters, Histograms: map[string]string{}}
	out.Stages.merge(s.bd)
	for i, h := range s.hist {
		enc, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
		if err != nil {
			return Snapshot{}, fmt.Errorf("encode %s histogram: %w", Stage(i), err)
		}
		out.Histograms[Stage(i).String()] = string(enc)
	}
	return out, nil
}

// Histogram returns a copy of one stage's cumulative histogram.
func (s *Stats) Histogram(st Stage) *hdrhistogram.Histogram {
	s.mu.Lock()
	defer s.mu.Unlock()
	return hdrhistogram.Import(s.hist[st].Export())
}

// Merge adds o into s: counters are summed and histograms merged.
func (s *Snapshot) Merge(o Snapshot) error {
	s.Counters.Add(o.Counters)
	s.Stages.merge(o.Stages)
	if s.Histograms == nil {
		s.Histograms = map[string]string{}
	}
	for name, enc := range o.Histograms {
		theirs, err := hdrhistogram.Decode([]byte(enc))
		if err != nil {
			return fmt.Errorf("decode %s histogram: %w", name, err)
		}
		if mine, ok := s.Histograms[name]; ok {
			h, err := hdrhistogram.Decode([]byte(mine))
			if err != nil {
				return fmt.Errorf("decode %s histogram: %w", name, err)
			}
			h.Merge(theirs)
			theirs = h
		}
		b, err := theirs.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
		if err != nil {
			return fmt.Errorf("encode %s histogram: %w", name, err)
		}
		s.Histograms[name] = string(b)
	}
	return nil
}
