package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"

	"github.com/vectorstream/vectorstream/embed"
	"github.com/vectorstream/vectorstream/infra"
	"github.com/vectorstream/vectorstream/internal/exitcode"
	"github.com/vectorstream/vectorstream/pipeline"
)

func runBackup(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "replay" {
		return usageErr("backup needs a subcommand: backup replay --config app_config.yaml --dim 128 [--qdrant host:6334] [--spool-dir DIR]")
	}
	fs := flag.NewFlagSet("backup replay", flag.ContinueOnError)
	acf := addAppConfigFlags(fs, "pipeline configuration (collections, profiles, retry, breaker, spool.dir)", "spool.dir=/var/lib/vectorstream/spool")
	qdrantAddr := fs.String("qdrant", "127.0.0.1:6334", "Qdrant gRPC address")
	securityPath := fs.String("security", "", "YAML file with Qdrant TLS and API key settings (as for `vectorstream pipeline`)")
	spoolDir := fs.String("spool-dir", "", "spool directory (default: the configuration's spool.dir, else <user cache dir>/vectorstream/spool/<kafka.group>)")
	modelPath := fs.String("model", "", "the pipeline's model file, for its dimension (or give --dim)")
	dim := fs.Int("dim", 0, "embedding dimension of the spooled vectors (or give --model)")
	asJSON := fs.Bool("json", false, "print what was replayed as JSON (an error is reported as an error only)")
	if err := fs.Parse(interspersed(fs, args[1:])); err != nil {
		return flagErr(err)
	}
	cfg, err := acf.load()
	if err != nil {
		return err
	}
	cfg.Spool.Enabled = true
	if *spoolDir != "" {
		cfg.Spool.Dir = *spoolDir
	}
	// The spool must exist: a replay creates nothing, in the working directory or
	// elsewhere, and a mistyped directory is not an empty spool.
	if cfg.Spool.Dir, err = cfg.SpoolDir(); err != nil {
		return fmt.Errorf("%w: backup replay: %w", exitcode.ErrConfig, err)
	}
	if _, err := os.Stat(cfg.Spool.Dir); err != nil {
		return fmt.Errorf("%w: backup replay: no spool at %s (--spool-dir, spool.dir): %w", exitcode.ErrConfig, cfg.Spool.Dir, err)
	}
	if *modelPath != "" {
		m, err := embed.Load(*modelPath)
		if err != nil {
			return fmt.Errorf("%w: --model: %w", exitcode.ErrConfig, err)
		}
		*dim = m.Dim()
	}
	if *dim < 1 {
		return usageErr("backup replay needs --model or --dim (the dimension of the spooled vectors)")
	}
	host, port, err := qdrantEndpoint(*qdrantAddr)
	if err != nil {
		return err
	}
	sec, err := loadSecurity(*securityPath)
	if err != nil {
		return err
	}
	env := infra.Connect(infra.External{QdrantHost: host, QdrantPort: port, Security: sec})
	qc, err := infra.NewQdrantClient(env)
	if err != nil {
		return err
	}
	defer qc.Close()
	level := new(slog.LevelVar)
	store := pipeline.NewQdrantStore(qc, cfg.Qdrant)
	batches, events, err := pipeline.ReplaySpool(ctx, cfg, store, *dim, pipeline.WithLogger(newLogger(level), level))
	switch {
	case err != nil && batches > 0:
		// Only the error is reported; it says what was replayed before it.
		return fmt.Errorf("backup replay: %d batches (%d events) from %s replayed into %s, then: %w", batches, events, cfg.Spool.Dir, env.QdrantAddr(), err)
	case err != nil:
		return fmt.Errorf("backup replay: %w", err)
	case *asJSON:
		return json.NewEncoder(os.Stdout).Encode(map[string]any{"spool_dir": cfg.Spool.Dir, "batches": batches, "events": events})
	}
	fmt.Printf("replayed %d batches (%d events) from %s into %s\n", batches, events, cfg.Spool.Dir, env.QdrantAddr())
	return nil
}
