package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/vectorstream/vectorstream/pipeline"
)

// reloadOnSIGHUP is the one SIGHUP handler of the binary (`vectorstream pipeline` and
// `vectorstream bench`): on every SIGHUP until ctx ends it reads the configuration
// again with next and applies it to the pipeline target returns (nil: none yet), which
// takes only the settings that may change live (pipeline.Reload) and logs each change.
// A refused reload is logged and changes nothing. The returned stop ends the handler
// and waits for it.
func reloadOnSIGHUP(ctx context.Context, log *slog.Logger, target func() *pipeline.Pipeline, next func() (pipeline.Config, error)) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
			}
			p := target()
			if p == nil {
				continue
			}
			cfg, err := next()
			if err == nil {
				err = p.Reload(cfg)
			}
			if err != nil {
				log.Error("SIGHUP reload refused", "err", err)
			}
		}
	})
	return func() {
		signal.Stop(hup)
		cancel()
		wg.Wait()
	}
}
