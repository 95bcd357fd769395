package pipeline

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vectorstream/vectorstream/event"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// DefaultReplayGroup is the consumer group ReplayDLQ remembers its progress in unless
// ReplayOptions.Group names another.
const DefaultReplayGroup = "vectorstream-dlq-replay"

// DefaultSampleBytes is how much of a dead letter's value a DLQSample keeps.
const DefaultSampleBytes = 200

// DLQReport is what InspectDLQ found in a dead-letter topic, from each partition's
// log start to its high watermark at the time of the call.
type DLQReport struct {
	Topic string `json:"topic"`
	// Total is the number of dead letters read.
	Total int64 `json:"total"`
	// ByReason counts dead letters by their dlq-reason header.
	ByReason map[string]int64 `json:"by_reason"`
	// ByField counts them by reason, then by their dlq-field header ("" for problems of
	// the document as a whole).
	ByField map[string]map[string]int64 `json:"by_field"`
	// BySourceTopic counts them by the topic they were consumed from.
	BySourceTopic map[string]int64 `json:"by_source_topic"`
	// Earliest and Latest are the smallest and largest record timestamps (the time
	// each was dead-lettered); zero when the topic is empty.
	Earliest time.Time `json:"earliest,omitzero"`
	Latest   time.Time `json:"latest,omitzero"`
	// Samples holds up to the asked number of dead letters per reason, the first ones
	// read in each partition order.
	Samples map[string][]DLQSample `json:"samples"`
}

// DLQSample is one dead letter, as an operator needs to see it.
type DLQSample struct {
	Reason string `json:"reason"`
	Field  string `json:"field,omitempty"`
	Detail string `json:"detail,omitempty"`
	// EventID is the vs-event-id header, when the producer set one.
	EventID         string    `json:"event_id,omitempty"`
	SourceTopic     string    `json:"source_topic"`
	SourcePartition int32     `json:"source_partition"`
	SourceOffset    int64     `json:"source_offset"`
	Partition       int32     `json:"partition"` // in the dead-letter topic
	Offset          int64     `json:"offset"`    // in the dead-letter topic
	Timestamp       time.Time `json:"timestamp"`
	Key             string    `json:"key,omitempty"`
	// Value is the first DefaultSampleBytes bytes of the record's value; ValueBytes is
	// its whole length.
	Value      string `json:"value"`
	ValueBytes int    `json:"value_bytes"`
}

// InspectDLQ reads the dead-letter topic from the start of each partition to its
// high watermark at the time of the call and counts what it holds. samples is how many
// records per reason the report keeps (0 for none). kafkaOpts connect to the cluster
// (seed brokers, TLS, SASL), as Deps.KafkaOpts. It returns at once for an empty topic
// and fails for one that does not exist.
func InspectDLQ(ctx context.Context, kafkaOpts []kgo.Opt, topic string, samples int) (DLQReport, error) {
	rep := DLQReport{Topic: topic, ByReason: map[string]int64{}, ByField: map[string]map[string]int64{},
		BySourceTopic: map[string]int64{}, Samples: map[string][]DLQSample{}}
	if topic == "" {
		return rep, errors.New("dlq inspect: no topic")
	}
	cl, err := kgo.NewClient(kafkaOpts...)
	if err != nil {
		return rep, fmt.Errorf("dlq inspect: kafka client: %w", err)
	}
	defer cl.Close()
	starts, ends, err := dlqBounds(ctx, kadm.NewClient(cl), topic)
	if err != nil {
		return rep, fmt.Errorf("dlq inspect: %w", err)
	}
	err = readRange(ctx, cl, span{topic: topic, starts: starts, ends: ends}, func(recs []*kgo.Record) (bool, error) {
		for _, r := range recs {
			rep.add(r, samples)
		}
		return true, nil
	})
	if err != nil {
		return rep, fmt.Errorf("dlq inspect %s: %w", topic, err)
	}
	return rep, nil
}

func (rep *DLQReport) add(r *kgo.Record, samples int) {
	s := sampleOf(r)
	rep.Total++
	rep.ByReason[s.Reason]++
	if rep.ByField[s.Reason] == nil {
		rep.ByField[s.Reason] = map[string]int64{}
	}
	rep.ByField[s.Reason][s.Field]++
	rep.BySourceTopic[s.SourceTopic]++
	if ts := r.Timestamp; !ts.IsZero() {
		if rep.Earliest.IsZero() || ts.Before(rep.Earliest) {
			rep.Earliest = ts
		}
		if ts.After(rep.Latest) {
			rep.Latest = ts
		}
	}
	if len(rep.Samples[s.Reason]) < samples {
		rep.Samples[s.Reason] = append(rep.Samples[s.Reason], s)
	}
}

func sampleOf(r *kgo.Record) DLQSample {
	s := DLQSample{
		Reason:      headerString(r, event.HeaderDLQReason),
		Field:       headerString(r, event.HeaderDLQField),
		Detail:      headerString(r, event.HeaderDLQDetail),
		EventID:     headerString(r, event.HeaderEventID),
		SourceTopic: headerString(r, event.HeaderDLQTopic),
		Partition:   r.Partition,
		Offset:      r.Offset,
		Timestamp:   r.Timestamp,
		Key:         string(r.Key),
		ValueBytes:  len(r.Value),
	}
	if s.Reason == "" {
		s.Reason = "(none)" // not written by the pipeline
	}
	if p, ok := headerInt(r, event.HeaderDLQPartition); ok {
		s.SourcePartition = int32(p)
	}
	s.SourceOffset, _ = headerInt(r, event.HeaderDLQOffset)
	v := r.Value
	if len(v) > DefaultSampleBytes {
		v = v[:DefaultSampleBytes]
	}
	s.Value = string(v)
	return s
}

// ReplayOptions configure ReplayDLQ.
type ReplayOptions struct {
	// DLQTopic is the dead-letter topic to replay (required).
	DLQTopic string
	// Target is the topic records that now pass are produced to; empty means each
	// record's source topic (its dlq-source-topic header).
	Target string
	// Group is the consumer group whose committed offsets remember how far replays got;
	// empty means DefaultReplayGroup.
	Group string
	// Validator is the validator configuration records are checked against again,
	// typically the fixed one (Config.Validator).
	Validator event.ValidatorConfig
	// DryRun validates and counts but produces and commits nothing.
	DryRun bool
	// Limit is the most dead letters one call reads; 0 means all up to the high
	// watermarks at the start of the call.
	Limit int
	// Now is the validator's reference time; nil means time.Now.
	Now func() time.Time
	// Metrics, when not nil, counts re-injected and still-invalid records once their
	// batch is committed (never in a dry run).
	Metrics *DLQMetrics
}

// ReplayReport is what one ReplayDLQ call did.
type ReplayReport struct {
	DLQTopic string `json:"dlq_topic"`
	Group    string `json:"group"`
	Target   string `json:"target,omitempty"`
	DryRun   bool   `json:"dry_run"`
	// Read is the number of dead letters read.
	Read int64 `json:"read"`
	// Reinjected is how many now pass and were produced (with DryRun: would be).
	Reinjected        int64            `json:"reinjected"`
	ReinjectedByTopic map[string]int64 `json:"reinjected_by_topic"`
	// StillInvalid is how many the validator still rejects, left in the dead-letter
	// topic; StillInvalidByReason counts them by their new reason.
	StillInvalid         int64            `json:"still_invalid"`
	StillInvalidByReason map[string]int64 `json:"still_invalid_by_reason"`
	// Unroutable is how many pass but name no source topic (or the dead-letter topic
	// itself) while Target is empty; they stay where they are.
	Unroutable int64 `json:"unroutable"`
	// Committed is the group's next offset per partition after the call (unchanged
	// with DryRun).
	Committed map[int32]int64 `json:"committed"`
	// Remaining is how many dead letters were left unread below the high watermarks
	// because of Limit.
	Remaining int64 `json:"remaining"`
}

// ReplayDLQ re-validates the dead letters the group has not replayed yet, up to the
// high watermarks at the start of the call, and produces the ones that now pass to
// their source topic (or opts.Target) with their original key, value and headers less
// the dlq-* ones, plus event.HeaderDLQReplayedFrom. Records the validator still rejects are
// counted by their new reason and left in the dead-letter topic; nothing is produced
// to it, so nothing loops. The group's offsets are committed only after the produced
// records were acknowledged, batch by batch, so a crash replays at most the batch in
// hand once more (the pipeline writes by event id, so a second copy changes nothing).
//
// The group is used for its committed offsets only (simple commits, without joining),
// so replays must not run concurrently under one group: Kafka refuses the commit while
// members are joined, but two replays of an empty group both re-inject.
func ReplayDLQ(ctx context.Context, kafkaOpts []kgo.Opt, opts ReplayOptions) (ReplayReport, error) {
	if opts.Group == "" {
		opts.Group = DefaultReplayGroup
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	rep := ReplayReport{DLQTopic: opts.DLQTopic, Group: opts.Group, Target: opts.Target, DryRun: opts.DryRun,
		ReinjectedByTopic: map[string]int64{}, StillInvalidByReason: map[string]int64{}, Committed: map[int32]int64{}}
	switch {
	case opts.DLQTopic == "":
		return rep, errors.New("dlq replay: no dead-letter topic")
	case opts.Target == opts.DLQTopic:
		return rep, fmt.Errorf("dlq replay: target %q is the dead-letter topic itself", opts.Target)
	case opts.Limit < 0:
		return rep, fmt.Errorf("dlq replay: limit must be >= 0, got %d", opts.Limit)
	}
	cl, err := kgo.NewClient(append(slices.Clone(kafkaOpts), kgo.ProducerLinger(0))...)
	if err != nil {
		return rep, fmt.Errorf("dlq replay: kafka client: %w", err)
	}
	defer cl.Close()
	r := &dlqReplay{opts: opts, rep: &rep, cl: cl, adm: kadm.NewClient(cl), v: event.NewValidator(opts.Validator)}
	sp, err := r.resume(ctx)
	if err != nil {
		return rep, fmt.Errorf("dlq replay: %w", err)
	}
	err = readRange(ctx, cl, sp, func(recs []*kgo.Record) (bool, error) { return r.batch(ctx, recs) })
	for p, end := range sp.ends {
		rep.Remaining += end - rep.Committed[p]
	}
	if opts.DryRun {
		rep.Remaining -= rep.Read
	}
	if err != nil {
		return rep, fmt.Errorf("dlq replay %s: %w", opts.DLQTopic, err)
	}
	return rep, nil
}

// dlqReplay is one ReplayDLQ call under way.
type dlqReplay struct {
	opts ReplayOptions
	rep  *ReplayReport
	cl   *kgo.Client
	adm  *kadm.Client
	v    *event.Validator
}

// resume returns the span of the dead-letter topic still to replay: from the group's
// committed offsets (or the log start) to the high watermarks.
func (r *dlqReplay) resume(ctx context.Context) (span, error) {
	topic, group := r.opts.DLQTopic, r.opts.Group
	starts, ends, err := dlqBounds(ctx, r.adm, topic)
	if err != nil {
		return span{}, err
	}
	committed, err := r.adm.FetchOffsets(ctx, group)
	if err == nil {
		err = committed.Error()
	}
	if errors.Is(err, kerr.GroupIDNotFound) {
		err = nil // no replay committed anything yet (kfake says so; Kafka answers with no offsets)
	}
	if err != nil {
		return span{}, fmt.Errorf("fetch offsets of group %s: %w", group, err)
	}
	for p, start := range starts {
		if o, ok := committed.Lookup(topic, p); ok && o.At > start {
			starts[p] = min(o.At, ends[p])
		}
		r.rep.Committed[p] = starts[p]
	}
	return span{topic: topic, starts: starts, ends: ends}, nil
}

// batch re-validates one polled batch of dead letters, re-injects those that now pass,
// then commits the group's offsets past the batch; it reports whether to read on.
func (r *dlqReplay) batch(ctx context.Context, recs []*kgo.Record) (bool, error) {
	rep, limit := r.rep, int64(r.opts.Limit)
	if limit > 0 && rep.Read+int64(len(recs)) > limit {
		recs = recs[:limit-rep.Read]
	}
	out, invalid, next := r.sort(recs)
	if !r.opts.DryRun {
		if len(out) > 0 {
			if err := r.cl.ProduceSync(ctx, out...).FirstErr(); err != nil {
				return false, fmt.Errorf("re-inject %d records: %w", len(out), err)
			}
		}
		resp, err := r.adm.CommitOffsets(ctx, r.opts.Group, next)
		if err == nil {
			err = resp.Error()
		}
		if err != nil {
			return false, fmt.Errorf("commit offsets of group %s: %w", r.opts.Group, err)
		}
		next.Each(func(o kadm.Offset) { rep.Committed[o.Partition] = o.At })
	}
	for _, rec := range out {
		rep.Reinjected++
		rep.ReinjectedByTopic[rec.Topic]++
	}
	if m := r.opts.Metrics; m != nil && !r.opts.DryRun {
		// Counted once the batch is committed, so a retried batch counts once.
		m.replayed.Add(float64(len(out)))
		for _, reason := range invalid {
			m.stillInvalid.WithLabelValues(reason).Inc()
		}
	}
	return limit == 0 || rep.Read < limit, nil
}

// sort validates recs again and returns the re-injections of those that pass, the
// reasons of those that do not, and the offsets past every record read.
func (r *dlqReplay) sort(recs []*kgo.Record) (out []*kgo.Record, invalid []string, next kadm.Offsets) {
	rep, now := r.rep, r.opts.Now()
	next = kadm.Offsets{}
	for _, rec := range recs {
		rep.Read++
		next.AddOffset(rec.Topic, rec.Partition, rec.Offset+1, -1)
		if _, rej := r.v.Validate(rec.Value, now); rej != nil {
			rep.StillInvalid++
			rep.StillInvalidByReason[string(rej.Reason)]++
			invalid = append(invalid, string(rej.Reason))
			continue
		}
		target := r.opts.Target
		if target == "" {
			target = headerString(rec, event.HeaderDLQTopic)
		}
		if target == "" || target == r.opts.DLQTopic {
			rep.Unroutable++
			continue
		}
		out = append(out, reinjection(rec, target))
	}
	return out, invalid, next
}

// reinjection is the record that puts dead letter r back on target.
func reinjection(r *kgo.Record, target string) *kgo.Record {
	hs := make([]kgo.RecordHeader, 0, len(r.Headers)+1)
	for _, h := range r.Headers {
		if !strings.HasPrefix(h.Key, "dlq-") {
			hs = append(hs, h)
		}
	}
	from := r.Topic + "/" + strconv.FormatInt(int64(r.Partition), 10) + "/" + strconv.FormatInt(r.Offset, 10)
	hs = append(hs, kgo.RecordHeader{Key: event.HeaderDLQReplayedFrom, Value: []byte(from)})
	return &kgo.Record{Topic: target, Key: r.Key, Value: r.Value, Headers: hs}
}

// dlqBounds returns each partition's log start and high watermark.
func dlqBounds(ctx context.Context, adm *kadm.Client, topic string) (starts, ends map[int32]int64, err error) {
	s, err := adm.ListStartOffsets(ctx, topic)
	if err == nil {
		err = s.Error()
	}
	if err != nil {
		return nil, nil, fmt.Errorf("list start offsets of %s: %w", topic, err)
	}
	e, err := adm.ListEndOffsets(ctx, topic)
	if err == nil {
		err = e.Error()
	}
	if err != nil {
		return nil, nil, fmt.Errorf("list end offsets of %s: %w", topic, err)
	}
	if len(e[topic]) == 0 {
		return nil, nil, fmt.Errorf("topic %s does not exist", topic)
	}
	starts, ends = map[int32]int64{}, map[int32]int64{}
	for p, o := range e[topic] {
		ends[p] = o.Offset
		starts[p] = o.Offset
		if so, ok := s.Lookup(topic, p); ok {
			starts[p] = min(so.Offset, o.Offset)
		}
	}
	return starts, ends, nil
}

// span is a range of a topic: from starts up to (not including) ends, by partition.
type span struct {
	topic        string
	starts, ends map[int32]int64
}

// readRange consumes sp and hands each polled batch, in partition order, to fn, until
// every partition reached its end or fn returns false. Partitions with nothing to read
// are not fetched, so an empty range returns at once.
func readRange(ctx context.Context, cl *kgo.Client, sp span, fn func([]*kgo.Record) (more bool, err error)) error {
	topic, ends := sp.topic, sp.ends
	want := map[int32]kgo.Offset{}
	for p, start := range sp.starts {
		if start < ends[p] {
			want[p] = kgo.NewOffset().At(start)
		}
	}
	if len(want) == 0 {
		return nil
	}
	cl.AddConsumePartitions(map[string]map[int32]kgo.Offset{topic: want})
	defer cl.RemoveConsumePartitions(map[string][]int32{topic: slices.Collect(maps.Keys(want))})
	for len(want) > 0 {
		fetches := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return err
		}
		if fetches.IsClientClosed() {
			return errors.New("kafka client closed")
		}
		var ferr error
		fetches.EachError(func(t string, p int32, err error) {
			ferr = errors.Join(ferr, fmt.Errorf("fetch %s/%d: %w", t, p, err))
		})
		if ferr != nil {
			return ferr
		}
		var batch []*kgo.Record
		fetches.EachPartition(func(fp kgo.FetchTopicPartition) {
			if _, ok := want[fp.Partition]; !ok {
				return
			}
			for _, r := range fp.Records {
				if r.Offset >= ends[fp.Partition] {
					break
				}
				batch = append(batch, r)
			}
			if n := len(fp.Records); n > 0 && fp.Records[n-1].Offset >= ends[fp.Partition]-1 {
				delete(want, fp.Partition)
			}
		})
		if len(batch) == 0 {
			continue
		}
		slices.SortStableFunc(batch, func(a, b *kgo.Record) int {
			return cmp.Or(cmp.Compare(a.Partition, b.Partition), cmp.Compare(a.Offset, b.Offset))
		})
		more, err := fn(batch)
		if err != nil {
			return err
		}
		if !more {
			return nil
		}
	}
	return nil
}

// DLQMetrics counts what dead-letter replays did. Register it on the registry that
// serves /metrics beside the pipeline's vectorstream_pipeline_dead_letters_total.
type DLQMetrics struct {
	replayed     prometheus.Counter
	stillInvalid *prometheus.CounterVec
}

// NewDLQMetrics makes the dead-letter replay metrics and registers them on reg:
// vectorstream_dlq_replayed_total and vectorstream_dlq_still_invalid_total{reason}.
func NewDLQMetrics(reg prometheus.Registerer) (*DLQMetrics, error) {
	m := &DLQMetrics{
		replayed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vectorstream_dlq_replayed_total",
			Help: "Dead letters that passed validation again and were re-injected into their source topic.",
		}),
		stillInvalid: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vectorstream_dlq_still_invalid_total",
			Help: "Dead letters a replay found still invalid and left in the dead-letter topic, by their new rejection reason.",
		}, []string{"reason"}),
	}
	for _, c := range []prometheus.Collector{m.replayed, m.stillInvalid} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("pipeline: register dlq metrics: %w", err)
		}
	}
	return m, nil
}
