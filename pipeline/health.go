package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/vectorstream/vectorstream/internal/measure"
	"github.com/vectorstream/vectorstream/pipeline/breaker"
)

// Handler serves the health endpoints (/health, /health/live, /health/ready,
// /health/kafka, /health/qdrant, /health/system, all JSON) and the pipeline's
// Prometheus metrics at /metrics.
func (p *Pipeline) Handler() http.Handler {
	mux := http.NewServeMux()
	p.Register(mux)
	return mux
}

// Register adds Handler's routes to mux, so that a process can serve them beside
// routes of its own on one address.
func (p *Pipeline) Register(mux *http.ServeMux) {
	p.healthRoutes(mux)
	mux.Handle("GET /metrics", promhttp.HandlerFor(p.o.registry, promhttp.HandlerOpts{}))
}

// check asks one dependency ("kafka" or "qdrant") whether it answers.
func (p *Pipeline) check(ctx context.Context, name string) (bool, string) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var err error
	switch name {
	case "kafka":
		cl := p.live.Load()
		if cl == nil || !p.ready.Load() {
			return false, "not connected"
		}
		err = cl.Ping(ctx)
	case "qdrant":
		err = p.store.Ping(ctx)
	}
	if err != nil {
		return false, err.Error()
	}
	return true, "ok"
}

// reply writes a health answer: body with its status, 503 when not ok.
func reply(w http.ResponseWriter, ok bool, body map[string]any) {
	w.Header().Set("Content-Type", "application/json")
	if ok {
		body["status"] = "UP"
	} else {
		body["status"] = "DOWN"
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(body)
}

func (p *Pipeline) healthRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /health/live", func(w http.ResponseWriter, r *http.Request) {
		reply(w, true, map[string]any{})
	})
	// Ready: joined the group, and neither breaker is OPEN (an OPEN breaker means the
	// pipeline pulls nothing until its dependency answers).
	mux.HandleFunc("GET /health/ready", func(w http.ResponseWriter, r *http.Request) {
		q, d := p.guard.qdrant.b.Snapshot(), p.guard.kafka.b.Snapshot()
		ok := p.ready.Load() && q.State != breaker.Open && d.State != breaker.Open
		reply(w, ok, map[string]any{"joined": p.ready.Load(), "breakers": []breaker.Snapshot{q, d},
			"spool_pending": p.stats.Counters().SpoolPending})
	})
	for dep, br := range map[string]*breaker.Breaker{"kafka": p.guard.kafka.b, "qdrant": p.guard.qdrant.b} {
		mux.HandleFunc("GET /health/"+dep, func(w http.ResponseWriter, r *http.Request) {
			ok, detail := p.check(r.Context(), dep)
			snap := br.Snapshot()
			reply(w, ok && snap.State != breaker.Open, map[string]any{"detail": detail, "breaker": snap})
		})
	}
	mux.HandleFunc("GET /health/system", func(w http.ResponseWriter, r *http.Request) {
		reply(w, true, systemInfo())
	})
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		kOK, kDetail := p.check(r.Context(), "kafka")
		qOK, qDetail := p.check(r.Context(), "qdrant")
		ok := p.ready.Load() && kOK && qOK
		reply(w, ok, map[string]any{
			"ready":      p.ready.Load(),
			"components": map[string]any{"kafka": kDetail, "qdrant": qDetail},
			"counters":   p.stats.Counters(),
			"system":     systemInfo(),
		})
	})
}

func systemInfo() map[string]any {
	ps := measure.SampleProcess()
	return map[string]any{
		"goroutines":     ps.Goroutines,
		"heap_bytes":     ps.HeapBytes,
		"rss_bytes":      ps.RSSBytes,
		"cpu_seconds":    ps.CPU.Seconds(),
		"gc_cycles":      ps.GCCycles,
		"gc_pause_total": ps.GCPause.String(),
		"cpus":           runtime.NumCPU(),
		"go":             runtime.Version(),
	}
}

// Serve listens on addr and serves Handler until ctx ends. It reports the address it
// listens on (useful with port 0) through bound before serving.
func (p *Pipeline) Serve(ctx context.Context, addr string, bound func(net.Addr)) error {
	return ListenAndServe(ctx, addr, p.Handler(), bound)
}

// ListenAndServe listens on addr and serves h until ctx ends, as Serve does with
// Handler.
func ListenAndServe(ctx context.Context, addr string, h http.Handler, bound func(net.Addr)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("health: listen %s: %w", addr, err)
	}
	if bound != nil {
		bound(ln.Addr())
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		<-errc
		return nil
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("health: serve: %w", err)
	}
}
