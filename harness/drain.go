package harness

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/vectorstream/vectorstream/infra"
)

// waitDrainedKafka waits until the group's committed offsets reach the topic's end
// offsets, the topic holds every record the load generator had acknowledged, and the
// running pipeline's spool is empty. It asks every 250 ms.
func waitDrainedKafka(ctx context.Context, env *infra.Env, ph pipelineHandle, group, topic string, lg *loadGen, timeout time.Duration) error {
	cl, err := infra.NewKafkaClient(env)
	if err != nil {
		return fmt.Errorf("drain: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	deadline := time.After(timeout)
	var lag, total int64
	var pending int64
	var lastErr error
	for {
		lag, total, lastErr = groupLag(ctx, adm, group, topic)
		if lastErr == nil {
			c, err := ph.Counters(ctx)
			pending, lastErr = c.SpoolPending, err
			if lastErr == nil && lag == 0 && total >= lg.acked.Load() && pending == 0 {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ph.Done():
			return fmt.Errorf("drain: pipeline stopped with %d records not committed", lag)
		case <-deadline:
			return errors.Join(fmt.Errorf("drain: %d of %d records not committed, %d spooled batches waiting, after %v", lag, total, pending, timeout), lastErr)
		case <-t.C:
		}
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
