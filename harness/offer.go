package harness

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/vectorstream/vectorstream/infra"
	"github.com/vectorstream/vectorstream/internal/exitcode"
	"github.com/vectorstream/vectorstream/workloads"
)

// offer runs the open-loop load: it schedules every event, starts the faults and the
// per-second sampler, sends (from this process or from load processes) and returns
// when the load is over. Why a load stopped early is kept for collect, which reports
// it once the pipeline is stopped.
func (r *run) offer(ctx context.Context) error {
	sc := r.sc
	sched, err := workloadsSchedule(sc)
	if err != nil {
		return err
	}
	producer, err := infra.NewKafkaClient(r.env,
		kgo.ProducerLinger(sc.Kafka.ProducerLinger),
		kgo.MaxBufferedRecords(1<<16),
		kgo.DefaultProduceTopic(sc.Pipeline.Kafka.Topic),
	)
	if err != nil {
		return err
	}
	r.onClose(producer.Close)
	lead := 100 * time.Millisecond
	loadProcs := max(1, sc.Infra.LoadProcesses)
	if loadProcs > 1 {
		lead = 2 * time.Second // the load processes start and build their generators first
	}
	start := time.Now().Add(lead).Truncate(time.Millisecond)
	win := window{start: start, measureFrom: start.Add(sc.Warmup)}
	win.measureTo = win.measureFrom.Add(sc.Duration)
	if err := r.pl.handle.MeasureFrom(ctx, win.measureFrom); err != nil {
		return err
	}
	r.res.MeasureStart, r.res.MeasureEnd = win.measureFrom.UTC(), win.measureTo.UTC()
	r.lg = newLoadGen(producer, r.gen, loadPlan{topic: sc.Pipeline.Kafka.Topic, sched: sched, window: win, late: sc.Validity.LateThreshold})
	if err := r.startFaults(ctx, start); err != nil {
		return err
	}
	if loadProcs > 1 {
		release, err := r.lg.countFromEndOffsets(ctx, r.env, sc.Pipeline.Kafka.Topic)
		if err != nil {
			return err
		}
		r.onClose(release)
	}
	r.smp = startSampler(ctx, samplerConfig{lg: r.lg, ph: r.pl.handle, sc: sc, progress: r.o.Progress, every: r.o.ProgressEvery, backend: r.backend.Name(), procs: r.procs, ctrs: r.env.Containers})
	r.onClose(r.smp.stop)
	r.host = startHostSampler(ctx, start, nil)
	r.onClose(r.host.stop)
	r.log.Info("load started", "events", sched.Count(), "profile", sc.Load.Kind, "warmup", sc.Warmup, "duration", sc.Duration)
	if loadProcs > 1 {
		r.loadErr = r.runLoadProcesses(ctx, loadProcs)
		r.note("the load came from %d load generator processes, each sending one event in %d of the one seeded stream", loadProcs, loadProcs)
	} else {
		r.loadErr = r.lg.run(ctx)
	}
	if r.loadErr != nil {
		r.stopFaults() // the run is over: end the faults now
	}
	return nil
}

// startFaults checks that the scenario's faults can run here and starts injecting
// them at their times, counted from start.
func (r *run) startFaults(ctx context.Context, start time.Time) error {
	qp, kp := r.wire.targets()
	targets := faultTargets{qdrant: qp, kafka: kp, pipeline: r.pl.crash}
	if r.env.Containers != nil {
		targets.broker = containerBroker{env: r.env, procs: r.procs}
	}
	r.faults = newFaultRunner(r.sc.Faults, targets, start, r.log)
	if err := r.faults.check(); err != nil {
		return err
	}
	fctx, stop := context.WithCancel(ctx)
	r.stopFaults = stop
	r.onClose(stop)
	r.faults.run(fctx)
	return nil
}

// window is the load's time frame: the first event is due at start; the measurement
// covers [measureFrom, measureTo), after the warm-up.
type window struct {
	start, measureFrom, measureTo time.Time
}

// workloadsSchedule is the scenario's open-loop schedule over warm-up and duration.
func workloadsSchedule(sc *Scenario) (*workloads.Schedule, error) {
	sched, err := workloads.NewSchedule(sc.Load, sc.Warmup+sc.Duration)
	if err != nil {
		return nil, fmt.Errorf("%w: load: %w", exitcode.ErrConfig, err)
	}
	return sched, nil
}
