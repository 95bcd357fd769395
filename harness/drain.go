package harness

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/vectorstream/vectorstream/infra"
)

// drain is the phase after the load: the faults have ended (they end before the load
// does) and the pipeline is given until drain_timeout to commit every record Kafka
// acknowledged and to replay its spool. A drain that does not finish is noted; the
// verification then says what is missing.
func (r *run) drain(ctx context.Context) error {
	r.res.Faults = r.faults.finish()
	progress := counterProgress(r.pl.handle)
	pause := 100 * time.Millisecond
	if r.pl.crash != nil {
		// A killed process's counters stop at its last report; Kafka's committed
		// offsets are the truth.
		cl, err := infra.NewKafkaClient(r.env)
		if err != nil {
			r.drainErr = fmt.Errorf("drain: %w", err)
			return nil
		}
		defer cl.Close()
		progress = committedProgress(kadm.NewClient(cl), r)
		pause = 250 * time.Millisecond
	}
	r.drainErr = waitDrained(ctx, drainWait{ph: r.pl.handle, progress: progress, acked: r.lg.acked.Load, pause: pause, timeout: r.sc.DrainTimeout})
	return nil
}

// drainWait is what waitDrained waits for: progress (the pipeline's counters, or the
// consumer group's committed offsets) to reach acked records with no spooled batch
// pending, asking every pause, within timeout, while the pipeline ph runs.
type drainWait struct {
	ph       pipelineHandle
	progress func(ctx context.Context) (drainState, error)
	acked    func() int64
	pause    time.Duration
	timeout  time.Duration
}

// drainState is how far the pipeline has got: the records it has committed, the
// spooled batches that still wait for replay, and whether event writes wait for
// the retention's next sweep (pipeline.qdrant.retention).
type drainState struct {
	committed, spoolPending int64
	expirePending           int64
	lag                     int64 // records of the raw topic the group has not committed
}

// waitDrained is the one drain loop. A failed question is asked again until the
// deadline.
func waitDrained(ctx context.Context, w drainWait) error {
	t := time.NewTicker(w.pause)
	defer t.Stop()
	deadline := time.After(w.timeout)
	var st drainState
	var lastErr error
	for {
		if got, err := w.progress(ctx); err != nil {
			lastErr = err
		} else {
			st, lastErr = got, nil
			if st.committed >= w.acked() && st.spoolPending == 0 && st.lag == 0 && st.expirePending == 0 {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-w.ph.Done():
			return fmt.Errorf("drain: pipeline stopped with %d of %d records committed", st.committed, w.acked())
		case <-deadline:
			return errors.Join(fmt.Errorf("drain: %d of %d records committed, %d spooled batches waiting, %d pipelines' writes waiting for the retention's sweep, after %v",
				st.committed, w.acked(), st.spoolPending, st.expirePending, w.timeout), lastErr)
		case <-t.C:
		}
	}
}

// counterProgress is the pipeline's own count of committed records.
func counterProgress(ph pipelineHandle) func(context.Context) (drainState, error) {
	return func(ctx context.Context) (drainState, error) {
		c, err := ph.Counters(ctx)
		return drainState{committed: c.Consumed, spoolPending: c.SpoolPending, expirePending: c.ExpirePending}, err
	}
}

// committedProgress is the consumer group's committed offsets: the records of the raw
// topic committed, and those not yet (a restarted member consumes records again, so
// the pipeline's own count may pass the records produced before it is done).
func committedProgress(adm *kadm.Client, r *run) func(context.Context) (drainState, error) {
	group, topic := r.sc.Pipeline.Kafka.Group, r.sc.Pipeline.Kafka.Topic
	return func(ctx context.Context) (drainState, error) {
		lag, total, err := groupLag(ctx, adm, group, topic)
		if err != nil {
			return drainState{}, err
		}
		c, err := r.pl.handle.Counters(ctx)
		return drainState{committed: total - lag, lag: lag, spoolPending: c.SpoolPending, expirePending: c.ExpirePending}, err
	}
}

// groupLag returns the records of topic not yet committed by group, and the records
// in the topic.
func groupLag(ctx context.Context, adm *kadm.Client, group, topic string) (lag, total int64, err error) {
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return 0, 0, fmt.Errorf("end offsets of %s: %w", topic, err)
	}
	offs, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		return 0, 0, fmt.Errorf("offsets of group %s: %w", group, err)
	}
	var errs []error
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			errs = append(errs, o.Err)
			return
		}
		total += o.Offset
		committed := int64(0)
		if c, ok := offs.Lookup(o.Topic, o.Partition); ok && c.Err == nil && c.At >= 0 {
			committed = c.At
		}
		lag += max(0, o.Offset-committed)
	})
	return lag, total, errors.Join(errs...)
}

// waitReady waits until the pipeline has joined its consumer group.
func waitReady(ctx context.Context, ph pipelineHandle, timeout time.Duration) error {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	deadline := time.After(timeout)
	for !ph.Ready(ctx) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ph.Done():
			return errors.New("pipeline stopped before it was ready")
		case <-deadline:
			return fmt.Errorf("pipeline not ready after %v", timeout)
		case <-t.C:
		}
	}
	return nil
}
