package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"

	"github.com/qdrant/go-client/qdrant"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/vectorstream/vectorstream/embed"
	"github.com/vectorstream/vectorstream/infra"
	"github.com/vectorstream/vectorstream/internal/childproc"
	"github.com/vectorstream/vectorstream/internal/envvars"
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
	a := &appConfigFlags{config: fs.String(childproc.FlagConfig, "configs/app_config.yaml", configUse)}
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
			ovs = yamlconf.EnvOverrides(&cfg, envvars.Prefix, os.LookupEnv)
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

// qdrantEndpoint splits a --qdrant address (infra.ParseQdrantAddr).
func qdrantEndpoint(addr string) (string, int, error) {
	host, port, err := infra.ParseQdrantAddr(addr)
	if err != nil {
		return "", 0, usageErr("--qdrant %v", err)
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

// pipelineFlags are the flags of `vectorstream pipeline`; the harness builds its argv
// with childproc.PipelineArgs.
type pipelineFlags struct {
	acf                                               *appConfigFlags
	brokers, qdrantAddr, modelPath, backend, security *string
	announce                                          *bool
}

func newPipelineFlags() (*flag.FlagSet, *pipelineFlags) {
	fs := flag.NewFlagSet(childproc.CmdPipeline, flag.ContinueOnError)
	return fs, &pipelineFlags{
		acf:        addAppConfigFlags(fs, "pipeline configuration", "batch.max_size=500"),
		brokers:    fs.String(childproc.FlagBrokers, "127.0.0.1:9092", "Kafka bootstrap brokers, comma-separated"),
		qdrantAddr: fs.String(childproc.FlagQdrant, "127.0.0.1:6334", "Qdrant gRPC address (port 6334; 6333 is the REST port)"),
		modelPath:  fs.String(childproc.FlagModel, "", "embedding model file from `vectorstream fit` (required)"),
		backend:    fs.String(childproc.FlagBackend, "cpu", "embedding backend: cpu, cuda or auto"),
		security:   fs.String(childproc.FlagSecurity, "", "YAML file with TLS, SASL and Qdrant API key settings (the keys of a scenario's infra: section: kafka_tls, kafka_sasl, qdrant_tls, qdrant_api_key_env, qdrant_api_key_file, timeout)"),
		announce:   fs.Bool(childproc.FlagAnnounce, false, `print {"health_addr": "host:port"} on stdout once the health server listens (for a harness that started this process)`),
	}
}

func runPipeline(ctx context.Context, args []string) error {
	fs, f := newPipelineFlags()
	if err := fs.Parse(interspersed(fs, args)); err != nil {
		return flagErr(err)
	}
	if *f.modelPath == "" {
		return usageErr("pipeline needs --model (make one with `vectorstream fit scenario.yaml -o model.vsm`)")
	}
	cfg, err := f.acf.load()
	if err != nil {
		return err
	}
	if *f.announce && cfg.HealthAddr == "" {
		return usageErr("--announce needs health_addr")
	}
	level := new(slog.LevelVar)
	log := newLogger(level)
	model, err := embed.Load(*f.modelPath)
	if err != nil {
		return fmt.Errorf("%w: --model: %w", exitcode.ErrConfig, err)
	}
	be, err := embed.SelectBackend(*f.backend)
	if err != nil {
		return fmt.Errorf("%w: --backend: %w", exitcode.ErrConfig, err)
	}
	defer be.Close()
	log.Info("embedding backend", "selection", be.Selection.String())
	env, qc, err := connectServices(ctx, f)
	if err != nil {
		return err
	}
	defer qc.Close()
	fault, err := pipeline.ParseFault(os.Getenv("VECTORSTREAM_FAULT"))
	if err != nil {
		return fmt.Errorf("%w: %w", exitcode.ErrConfig, err)
	}
	fault.Exit = os.Exit
	p, err := pipeline.Wire(cfg, pipeline.Wiring{
		KafkaOpts: append([]kgo.Opt{kgo.SeedBrokers(env.KafkaBrokers...)}, env.KafkaOpts...),
		Qdrant:    qc, Model: model, Backend: be,
	}, pipeline.WithLogger(log, level), pipeline.WithFault(fault))
	if err != nil {
		return fmt.Errorf("%w: %w", exitcode.ErrConfig, err)
	}

	defer reloadOnSIGHUP(ctx, log, func() *pipeline.Pipeline { return p }, f.acf.load)()
	return runServed(ctx, p, cfg.HealthAddr, *f.announce, log)
}

// connectServices connects to the brokers and the Qdrant the flags name, once both
// answer (infra.Check).
func connectServices(ctx context.Context, f *pipelineFlags) (*infra.Env, *qdrant.Client, error) {
	host, port, err := qdrantEndpoint(*f.qdrantAddr)
	if err != nil {
		return nil, nil, err
	}
	sec, err := loadSecurity(*f.security)
	if err != nil {
		return nil, nil, err
	}
	env := infra.Connect(infra.External{Brokers: strings.Split(*f.brokers, ","), QdrantHost: host, QdrantPort: port, Security: sec})
	if err := infra.Check(ctx, env, sec.EffectiveTimeout()); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", exitcode.ErrUnreachable, err)
	}
	qc, err := infra.NewQdrantClient(env)
	if err != nil {
		return nil, nil, err
	}
	return env, qc, nil
}

// runServed runs p, with its health server on healthAddr ("" for none) up before the
// first poll; with announce it prints the bound address for a harness that started
// this process. A health server that fails stops the pipeline.
func runServed(ctx context.Context, p *pipeline.Pipeline, healthAddr string, announce bool, log *slog.Logger) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	if healthAddr != "" {
		bound := make(chan struct{})
		wg.Go(func() {
			err := serveHealth(ctx, p, healthAddr, func(a net.Addr) {
				defer close(bound)
				log.Info("health and metrics", "addr", "http://"+a.String()+"/health")
				if announce {
					if err := childproc.Announce(os.Stdout, a.String()); err != nil {
						log.Error("announce the health address", "err", err)
					}
				}
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
	err := p.Run(ctx)
	cancel()
	wg.Wait()
	return err
}

// serveHealth serves the pipeline's health routes and metrics and, for a harness that
// started this process, the child-process protocol (childproc) on addr until ctx ends;
// bound is told the address once it listens.
func serveHealth(ctx context.Context, p *pipeline.Pipeline, addr string, bound func(net.Addr)) error {
	mux := http.NewServeMux()
	p.Register(mux)
	childproc.Register(mux, p)
	return pipeline.ListenAndServe(ctx, addr, mux, bound)
}
