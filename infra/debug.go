package infra

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// serveDebug listens on addr and serves the stand-ins' own profiles (heap, CPU,
// goroutines) until stop is called, for a run that asks why they grew:
// go tool pprof <debug_url>/debug/pprof/heap. It returns the base URL.
func serveDebug(ctx context.Context, addr string) (string, func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, listenErr(fmt.Errorf("infra: debug endpoint: listen on %s: %w", addr, err))
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Serve returns http.ErrServerClosed on Shutdown; the debug endpoint has no
		// caller to report another error to, and infra serve goes on without it.
		_ = hs.Serve(ln)
	}()
	stop := func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(sctx)
		<-done
	}
	return "http://" + ln.Addr().String(), stop, nil
}
