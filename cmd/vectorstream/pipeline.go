package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/vectorstream/vectorstream/embed"
	"github.com/vectorstream/vectorstream/infra"
	"github.com/vectorstream/vectorstream/internal/exitcode"
	"github.com/vectorstream/vectorstream/internal/yamlconf"
	"github.com/vectorstream/vectorstream/pipeline"
)

// appConfigFlags are --config, --overlay and --set of the commands that read the
// pipeline's configuration (configs/app_config.yaml).
type appConfigFlags struct {
	config         *string
	overlays, sets stringsFlag
}

// addAppConfigFlags registers the flags on fs; configUse and setExample describe them
// for the command at hand.
func addAppConfigFlags(fs *flag.FlagSet, configUse, setExample string) *appConfigFlags {
	a := &appConfigFlags{config: fs.String("config", "configs/app_config.yaml", configUse)}
	fs.Var(&a.overlays, "overlay", "configuration applied over --config, e.g. configs/production.yaml (repeatable)")
	fs.Var(&a.sets, "set", "override a field, e.g. --set "+setExample+" (repeatable)")
	return a
}

// load reads the configuration the flags name (see loadAppConfig).
func (a *appConfigFlags) load() (pipeline.Config, error) {
	return loadAppConfig(*a.config, a.overlays, a.sets)
}

// loadAppConfig reads the base configuration, then each overlay over it, then
// VECTORSTREAM_* variables and --set flags, strictly, and validates the result.
func loadAppConfig(base string, overlays, sets []string) (pipeline.Config, error) {
	cfg := pipeline.DefaultConfig()
	files := append([]string{base}, overlays...)
	var doc *yamlconf.Doc
	for i, f := range files {
		var ovs []yamlconf.Override
		if i == len(files)-1 {
			ovs = yamlconf.EnvOverrides(&cfg, "VECTORSTREAM_", os.LookupEnv)
			for _, s := range sets {
				o, err := yamlconf.ParseSet(s)
				if err != nil {
					return cfg, fmt.Errorf("%w: %w", exitcode.ErrConfig, err)
				}
				ovs = append(ovs, o)
			}
		}
		d, err := yamlconf.LoadFile(f, &cfg, ovs)
		if err != nil {
			return cfg, fmt.Errorf("%w: %w", exitcode.ErrConfig, err)
		}
		doc = d
	}
	var errs []error
	for _, p := range cfg.Problems() {
		errs = append(errs, doc.Errorf(p.Path, "%s", p.Msg))
	}
	if len(errs) > 0 {
		return cfg, fmt.Errorf("%w: %w", exitcode.ErrConfig, errors.Join(errs...))
	}
	return cfg, nil
}

// qdrantEndpoint splits a --qdrant address, refusing Qdrant's REST port.
func qdrantEndpoint(addr string) (string, int, error) {
	host, portS, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, usageErr("--qdrant %q: %v", addr, err)
	}
	port, err := strconv.Atoi(portS)
	if err != nil {
		return "", 0, usageErr("--qdrant %q: port: %v", addr, err)
	}
	if port == 6333 {
		return "", 0, usageErr("--qdrant %q: 6333 is Qdrant's REST port; VectorStream speaks gRPC, on 6334 by default", addr)
	}
	return host, port, nil
}

// loadSecurity reads a --security file strictly; "" means no security settings.
func loadSecurity(path string) (infra.Security, error) {
	var sec infra.Security
	if path == "" {
		return sec, nil
	}
	doc, err := yamlconf.LoadFile(path, &sec, nil)
	if err != nil {
		return sec, fmt.Errorf("%w: --security: %w", exitcode.ErrConfig, err)
	}
	var errs []error
	for _, p := range sec.Validate() {
		errs = append(errs, doc.Errorf(p.Path, "%s", p.Msg))
	}
	if len(errs) > 0 {
		return sec, fmt.Errorf("%w: --security: %w", exitcode.ErrConfig, errors.Join(errs...))
	}
	return sec, nil
}

func runPipeline(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("pipeline", flag.ContinueOnError)
	acf := addAppConfigFlags(fs, "pipeline configuration", "batch.max_size=500")
	brokers := fs.String("brokers", "127.0.0.1:9092", "Kafka bootstrap brokers, comma-separated")
	qdrantAddr := fs.String("qdrant", "127.0.0.1:6334", "Qdrant gRPC address (port 6334; 6333 is the REST port)")
	modelPath := fs.String("model", "", "embedding model file from `vectorstream fit` (required)")
	backend := fs.String("backend", "cpu", "embedding backend: cpu, cuda or auto")
	securityPath := fs.String("security", "", "YAML file with TLS, SASL and Qdrant API key settings (the keys of a scenario's infra: section: kafka_tls, kafka_sasl, qdrant_tls, qdrant_api_key_env, qdrant_api_key_file, timeout)")
	announce := fs.Bool("announce", false, `print {"health_addr": "host:port"} on stdout once the health server listens (for a harness that started this process)`)
	if err := fs.Parse(args); err != nil {
		return flagErr(err)
	}
	if *modelPath == "" {
		return usageErr("pipeline needs --model (make one with `vectorstream fit scenario.yaml -o model.vsm`)")
	}
	cfg, err := acf.load()
	if err != nil {
		return err
	}
	level := new(slog.LevelVar)
	log := newLogger(level)
	model, err := embed.Load(*modelPath)
	if err != nil {
		return fmt.Errorf("%w: --model: %w", exitcode.ErrConfig, err)
	}
	be, sel, err := embed.SelectBackend(*backend)
	if err != nil {
		return fmt.Errorf("%w: --backend: %w", exitcode.ErrConfig, err)
	}
	defer be.Close()
	log.Info("embedding backend", "selection", sel.String())
	host, port, err := qdrantEndpoint(*qdrantAddr)
	if err != nil {
		return err
	}
	sec, err := loadSecurity(*securityPath)
	if err != nil {
		return err
	}
	env := infra.Connect(infra.External{Brokers: strings.Split(*brokers, ","), QdrantHost: host, QdrantPort: port, Security: sec})
	if err := infra.Check(ctx, env, sec.EffectiveTimeout()); err != nil {
		return fmt.Errorf("%w: %w", exitcode.ErrUnreachable, err)
	}
	qc, err := infra.NewQdrantClient(env)
	if err != nil {
		return err
	}
	defer qc.Close()
	fault, err := pipeline.ParseFault(os.Getenv("VECTORSTREAM_FAULT"))
	if err != nil {
		return fmt.Errorf("%w: %w", exitcode.ErrConfig, err)
	}
	fault.Exit = os.Exit
	p, err := pipeline.New(cfg, pipeline.Deps{
		KafkaOpts: append([]kgo.Opt{kgo.SeedBrokers(env.KafkaBrokers...)}, env.KafkaOpts...),
		Qdrant:    qc,
		Dim:       model.Dim(),
		NewEmbedder: func(onFallback func(error)) (pipeline.Embedder, error) {
			return embed.NewEncoder(model, be, embed.OnFallback(onFallback)), nil
		},
		EmbedCalls: embed.Calls(sel),
	}, pipeline.WithLogger(log, level), pipeline.WithFault(fault))
	if err != nil {
		return fmt.Errorf("%w: %w", exitcode.ErrConfig, err)
	}

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for range hup {
			next, err := acf.load()
			if err == nil {
				err = p.Reload(next)
			}
			if err != nil {
				log.Error("SIGHUP reload refused", "err", err)
			}
		}
	}()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	if *announce && cfg.HealthAddr == "" {
		return usageErr("--announce needs health_addr")
	}
	if cfg.HealthAddr != "" {
		bound := make(chan struct{})
		wg.Go(func() {
			err := p.Serve(ctx, cfg.HealthAddr, func(a net.Addr) {
				log.Info("health and metrics", "addr", "http://"+a.String()+"/health")
				if *announce {
					b, _ := json.Marshal(map[string]string{"health_addr": a.String()})
					fmt.Fprintf(os.Stdout, "%s\n", b)
				}
				close(bound)
			})
			if err != nil {
				log.Error("health server", "err", err)
				cancel()
			}
		})
		select {
		case <-bound:
		case <-ctx.Done():
		}
	}
	err = p.Run(ctx)
	cancel()
	wg.Wait()
	return err
}
