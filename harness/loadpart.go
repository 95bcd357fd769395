package harness

import (
	"bufio"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/vectorstream/vectorstream/infra"
	"github.com/vectorstream/vectorstream/internal/childproc"
	"github.com/vectorstream/vectorstream/internal/exitcode"
	"gopkg.in/yaml.v3"
)

// LoadPart is what one load generator process reports when it is done: its share of
// the stream and where Kafka put each of its records.
type LoadPart struct {
	Part, Parts   int64
	Sent, Acked   int64
	Failed        int64
	FirstErr      string
	Measured      int64
	Late          int64
	OfferedInWin  int64
	ProducedInWin int64
	SendDelay     []byte // HdrHistogram V2, compressed, base64
	// Seqs, Partitions and Offsets list the acknowledged records of this part.
	Seqs       []int64
	Partitions []int32
	Offsets    []int64
}

// LoadPartSpec says which part of a scenario's load one load process sends, where to,
// and where it reports (see RunLoadPart).
type LoadPartSpec struct {
	// Brokers are the raw topic's cluster.
	Brokers []string
	// Part and Parts: this process sends the events whose sequence number is Part
	// modulo Parts.
	Part, Parts int64
	// Start is the load's start, shared by all parts so that their schedules line up.
	Start time.Time
	// Out is the file the LoadPart report is written to.
	Out string
}

// RunLoadPart offers part p.Part of p.Parts of the scenario's load to the raw topic on
// p.Brokers, starting at p.Start, and writes its LoadPart to p.Out. It is
// `vectorstream load --part k/M`.
func RunLoadPart(ctx context.Context, sc *Scenario, p LoadPartSpec) error {
	brokers, part, parts, start, out := p.Brokers, p.Part, p.Parts, p.Start, p.Out
	if parts < 1 || part < 0 || part >= parts {
		return fmt.Errorf("%w: --part %d/%d: want k/M with 0 ≤ k < M", exitcode.ErrConfig, part, parts)
	}
	gen, _, err := sc.NewGenerator()
	if err != nil {
		return err
	}
	sched, err := workloadsSchedule(sc)
	if err != nil {
		return err
	}
	env := infra.Connect(infra.External{Brokers: brokers, Security: sc.Infra.Security})
	cl, err := infra.NewKafkaClient(env, kgo.ProducerLinger(sc.Kafka.ProducerLinger), kgo.MaxBufferedRecords(1<<16),
		kgo.DefaultProduceTopic(sc.Pipeline.Kafka.Topic))
	if err != nil {
		return err
	}
	defer cl.Close()
	measureFrom := start.Add(sc.Warmup)
	lg := newLoadGen(cl, gen, loadPlan{topic: sc.Pipeline.Kafka.Topic, sched: sched, late: sc.Validity.LateThreshold,
		window: window{start: start, measureFrom: measureFrom, measureTo: measureFrom.Add(sc.Duration)}})
	lg.part, lg.parts = part, parts
	runErr := lg.run(ctx)
	rep := LoadPart{Part: part, Parts: parts, Sent: lg.sent.Load(), Acked: lg.acked.Load(), Failed: lg.failed.Load(),
		Measured: lg.measured, Late: lg.lateCount, OfferedInWin: lg.offeredInWin, ProducedInWin: lg.producedInWin.Load()}
	if runErr != nil {
		rep.FirstErr = runErr.Error()
	}
	if rep.SendDelay, err = lg.sendDelay.Encode(hdrhistogram.V2CompressedEncodingCookieBase); err != nil {
		return fmt.Errorf("load part: %w", err)
	}
	for i := part; i < int64(len(lg.pos)); i += parts {
		if p := lg.pos[i]; p.partition >= 0 {
			rep.Seqs = append(rep.Seqs, i)
			rep.Partitions = append(rep.Partitions, p.partition)
			rep.Offsets = append(rep.Offsets, p.offset)
		}
	}
	f, err := os.Create(out)
	if err != nil {
		return fmt.Errorf("load part: %w", err)
	}
	w := bufio.NewWriter(f)
	if err := gob.NewEncoder(w).Encode(rep); err != nil {
		f.Close()
		return fmt.Errorf("load part: encode %s: %w", out, err)
	}
	if err := errors.Join(w.Flush(), f.Close()); err != nil {
		return fmt.Errorf("load part: %w", err)
	}
	return runErr
}

// countFromEndOffsets makes lg report acknowledged records from the raw topic's end
// offsets (what other processes produce), from now on. Call it before anything reads
// lg; the returned function releases the client it uses.
func (l *loadGen) countFromEndOffsets(ctx context.Context, env *infra.Env, topic string) (func(), error) {
	cl, err := infra.NewKafkaClient(env)
	if err != nil {
		return nil, err
	}
	adm := kadm.NewClient(cl)
	endSum := func() int64 {
		ends, err := adm.ListEndOffsets(ctx, topic)
		if err != nil {
			return -1
		}
		var n int64
		ends.Each(func(o kadm.ListedOffset) { n += o.Offset })
		return n
	}
	base := endSum()
	if base < 0 {
		cl.Close()
		return nil, fmt.Errorf("load processes: end offsets of %s unreadable", topic)
	}
	var last atomic.Int64
	l.ackedNow = func() int64 {
		if n := endSum(); n >= 0 {
			last.Store(n - base)
		}
		return last.Load()
	}
	return cl.Close, nil
}

// runLoadProcesses starts parts `vectorstream load --part k/M` processes against the
// run's Kafka, waits for them, and merges what they report into the run's load
// generator, as if it had sent it all.
func (r *run) runLoadProcesses(ctx context.Context, parts int) error {
	self, sc, env, lg := r.o.Self, r.sc, r.env, r.lg
	if self == "" {
		return errors.New("infra.load_processes: the harness was not told where the vectorstream binary is")
	}
	dir, err := os.MkdirTemp("", "vectorstream-load-")
	if err != nil {
		return fmt.Errorf("load processes: %w", err)
	}
	defer os.RemoveAll(dir)
	scenPath := filepath.Join(dir, "scenario.yaml")
	b, err := yaml.Marshal(sc)
	if err == nil {
		err = os.WriteFile(scenPath, b, 0o644)
	}
	if err != nil {
		return fmt.Errorf("load processes: scenario: %w", err)
	}
	cmds := make([]*exec.Cmd, parts)
	for k := range parts {
		args := childproc.LoadPartArgs{Part: k, Parts: parts, Start: lg.start, Brokers: env.KafkaBrokers,
			Out: filepath.Join(dir, fmt.Sprintf("part-%d.gob", k)), Scenario: scenPath}
		cmd := exec.CommandContext(ctx, self, args.Argv()...)
		cmd.Env = childproc.Env(os.Environ(), childproc.CmdLoad)
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			for _, started := range cmds[:k] {
				_ = started.Process.Kill()
				_ = started.Wait()
			}
			return fmt.Errorf("load process %d: %w", k, err)
		}
		cmds[k] = cmd
		r.procs.started(fmt.Sprintf("%s-%d", procLoad, k+1), cmd.Process.Pid)
	}
	var errs []error
	for k, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			errs = append(errs, fmt.Errorf("load process %d/%d: %w", k, parts, err))
		}
		r.procs.ended(fmt.Sprintf("%s-%d", procLoad, k+1))
	}
	for k := range parts {
		if err := lg.merge(filepath.Join(dir, fmt.Sprintf("part-%d.gob", k))); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// merge folds one load process's report into lg.
func (l *loadGen) merge(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("load part: %w", err)
	}
	defer f.Close()
	var rep LoadPart
	if err := gob.NewDecoder(bufio.NewReader(f)).Decode(&rep); err != nil {
		return fmt.Errorf("load part: decode %s: %w", path, err)
	}
	h, err := hdrhistogram.Decode(rep.SendDelay)
	if err != nil {
		return fmt.Errorf("load part %s: send delay: %w", path, err)
	}
	l.sendDelay.Merge(h)
	l.sent.Add(rep.Sent)
	l.acked.Add(rep.Acked)
	l.failed.Add(rep.Failed)
	l.producedInWin.Add(rep.ProducedInWin)
	l.measured += rep.Measured
	l.lateCount += rep.Late
	l.offeredInWin += rep.OfferedInWin
	for i, seq := range rep.Seqs {
		if seq < 0 || seq >= int64(len(l.pos)) {
			return fmt.Errorf("load part %s: sequence %d outside the schedule", path, seq)
		}
		l.pos[seq] = position{rep.Partitions[i], rep.Offsets[i]}
	}
	if rep.FirstErr != "" {
		return fmt.Errorf("load part %d/%d: %s", rep.Part, rep.Parts, rep.FirstErr)
	}
	return nil
}
