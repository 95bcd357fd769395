package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strings"

	"github.com/vectorstream/vectorstream/embed"
	"github.com/vectorstream/vectorstream/event"
	"github.com/vectorstream/vectorstream/infra"
	"github.com/vectorstream/vectorstream/internal/childproc"
	"github.com/vectorstream/vectorstream/internal/exitcode"
	"github.com/vectorstream/vectorstream/workloads"
)

// startInfra starts or connects to the scenario's Kafka and Qdrant.
// kafkaAdvertise, when set, is the address the embedded broker advertises (the
// Kafka fault proxy's). dir is the run's folder ("" for none) and runID its id:
// the containers mode keeps the containers' output there and labels them so.
func startInfra(ctx context.Context, sc *Scenario, self string, procs *procTable, kafkaAdvertise, dir, runID string) (*infra.Env, error) {
	// The stand-ins keep their data on disk under the user's cache directory (the
	// broker its logs, bounded by retention; Qdrant its points), so their memory
	// does not grow with the run (the estimate counts that disk).
	emb := infra.EmbeddedConfig{Partitions: sc.Kafka.Partitions, Topics: []string{sc.Pipeline.Kafka.Topic, sc.Pipeline.Kafka.DLQTopic},
		QdrantDataDir: infra.DataRoot(), KafkaDataDir: infra.DataRoot(), QdrantEngine: sc.Infra.qdrantEngine, KafkaAdvertise: kafkaAdvertise}
	var ext infra.External
	mode, picked := sc.Infra.Mode, ""
	if mode == infra.ModeAuto {
		ok, why := autoPicksContainers(ctx, sc)
		mode = map[bool]string{true: infra.ModeContainers, false: infra.ModeEmbedded}[ok]
		picked = infra.ModeAuto + ": " + mode + ": " + why
	}
	switch {
	case mode == infra.ModeContainers:
		env, err := startContainers(ctx, sc, procs, dir, runID)
		if err != nil {
			return nil, err
		}
		env.Picked = picked
		return env, nil
	case sc.Infra.Mode == infra.ModeExternal:
		host, port, err := infra.ParseQdrantAddr(sc.Infra.QdrantAddr)
		if err != nil {
			return nil, fmt.Errorf("%w: infra.qdrant_addr %w", exitcode.ErrConfig, err)
		}
		ext = infra.External{Brokers: sc.Infra.Brokers, QdrantHost: host, QdrantPort: port, Security: sc.Infra.Security}
	case sc.Infra.Process:
		env, err := serveChild(ctx, sc, self, procs, kafkaAdvertise)
		if env != nil {
			env.Picked = picked
		}
		return env, err
	}
	env, err := infra.Start(ctx, mode, emb, ext)
	if err != nil {
		return nil, fmt.Errorf("infra: %w", err)
	}
	env.Picked = picked
	if env.QdrantEngine {
		procs.started(procQdrantEngine, env.QdrantPid)
		env.OnClose(func() { procs.ended(procQdrantEngine) })
	}
	if env.Mode == infra.ModeExternal {
		// One clear error per service that does not answer, within the timeout.
		if err := infra.Check(ctx, env, sc.Infra.Security.EffectiveTimeout()); err != nil {
			env.Close()
			return nil, fmt.Errorf("%w: %w", exitcode.ErrUnreachable, err)
		}
	}
	return env, nil
}

// serveChild runs the embedded services as `vectorstream infra serve` in a child
// process and connects to them. Closing the Env stops the child.
func serveChild(ctx context.Context, sc *Scenario, self string, procs *procTable, kafkaAdvertise string) (*infra.Env, error) {
	if self == "" {
		return nil, errors.New("infra.process: the harness was not told where the vectorstream binary is")
	}
	args := childproc.InfraServeArgs{Kafka: "127.0.0.1:0", Qdrant: "127.0.0.1:0",
		Partitions: sc.Kafka.Partitions, Topics: []string{sc.Pipeline.Kafka.Topic, sc.Pipeline.Kafka.DLQTopic},
		QdrantDataDir: infra.DataRoot(), KafkaDataDir: infra.DataRoot(), QdrantEngine: sc.Infra.qdrantEngine, KafkaAdvertise: kafkaAdvertise}
	cmd := exec.Command(self, args.Argv()...)
	cmd.Env = childproc.Env(os.Environ(), childproc.CmdInfra)
	cmd.Stderr = io.Discard
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("infra serve: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("infra serve: %w", err)
	}
	procs.started(procInfra, cmd.Process.Pid)
	stop := func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
		procs.ended(procInfra)
	}
	si, err := infra.ReadServeInfo(out)
	if err != nil {
		stop()
		return nil, fmt.Errorf("infra serve: %w", err)
	}
	env, err := si.Connect()
	if err != nil {
		stop()
		return nil, err
	}
	if env.QdrantEngine {
		procs.started(procQdrantEngine, env.QdrantPid)
		env.OnClose(func() { procs.ended(procQdrantEngine) })
	}
	for _, l := range []*string{&env.KafkaLabel, &env.QdrantLabel} {
		if strings.Contains(*l, "in-process") || strings.HasPrefix(*l, "qdrantfake") {
			*l = strings.Replace(*l, "in-process", "own process", 1)
			*l = strings.TrimSuffix(*l, ")") + ", vectorstream infra serve)"
		}
	}
	env.OnClose(stop)
	return env, nil
}

// loadOrFit loads the scenario's model file or fits one on the catalog.
func loadOrFit(ctx context.Context, sc *Scenario, gen *workloads.Generator, be *embed.Backend) (*embed.Model, error) {
	if sc.Embedding.Model != "" {
		m, err := embed.Load(sc.Embedding.Model)
		if err != nil {
			return nil, fmt.Errorf("%w: embedding.model: %w", exitcode.ErrConfig, err)
		}
		if m.Dim() != sc.Embedding.Dim {
			return nil, fmt.Errorf("%w: embedding.model %s has %d dimensions, embedding.dimensions is %d", exitcode.ErrConfig, sc.Embedding.Model, m.Dim(), sc.Embedding.Dim)
		}
		return m, nil
	}
	m, err := embed.Fit(ctx, CatalogDocs(gen), sc.Embedding.Fit(sc.Seed), be.Backend)
	if err != nil {
		return nil, fmt.Errorf("fit model: %w", err)
	}
	return m, nil
}

// CatalogDocs returns the documents a model is fitted on: every product's embedding
// text as the users of each configured locale see it, in that locale's language.
func CatalogDocs(gen *workloads.Generator) []embed.Doc {
	locales := slices.Sorted(maps.Keys(gen.Config().Locales))
	var docs []embed.Doc
	for _, loc := range locales {
		cat := gen.CatalogFor(loc)
		for i := range cat {
			docs = append(docs, embed.Doc{Text: event.ProductText(&cat[i]), Lang: loc})
		}
	}
	return docs
}
