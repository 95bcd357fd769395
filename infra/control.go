package infra

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
	"time"

	"github.com/vectorstream/vectorstream/infra/qdrantfake"
)

// Kinds of misbehaviour of a Qdrant endpoint (Injection.Kind).
const (
	InjectDown   = "down"   // every RPC fails with UNAVAILABLE, as if the server were gone
	InjectSlow   = "slow"   // every RPC waits Latency before it is served
	InjectErrors = "errors" // a share Ratio of the RPCs fail with UNAVAILABLE
)

// Injection is a misbehaviour of the Qdrant endpoint, shown until it is cleared.
// It is infra's own term, whatever sits behind the endpoint; as JSON it is what
// the control endpoint of `vectorstream infra serve` accepts (ControlHandler).
type Injection struct {
	Kind    string        `json:"kind"`
	Latency time.Duration `json:"latency,omitempty"`
	Ratio   float64       `json:"ratio,omitempty"`
}

// fake translates the injection into the stand-in's terms; the stand-in rejects
// a kind it does not know.
func (in Injection) fake() qdrantfake.Injection {
	return qdrantfake.Injection{Kind: in.Kind, Latency: in.Latency, Ratio: in.Ratio}
}

// injectionOf translates the stand-in's injection back into infra's terms.
func injectionOf(in qdrantfake.Injection) Injection {
	return Injection{Kind: in.Kind, Latency: in.Latency, Ratio: in.Ratio}
}

// QdrantFaults makes the Qdrant endpoint misbehave on command, for fault scenarios.
// Env.QdrantFaults is nil where nothing can be told to misbehave (a real Qdrant).
type QdrantFaults interface {
	// Inject starts a misbehaviour, replacing any in force.
	Inject(ctx context.Context, in Injection) error
	// Clear ends the misbehaviour in force.
	Clear(ctx context.Context) error
}

// localFaults drives an in-process stand-in.
type localFaults struct{ srv *qdrantfake.Server }

func (l localFaults) Inject(_ context.Context, in Injection) error {
	if err := l.srv.Inject(in.fake()); err != nil {
		return fmt.Errorf("infra: qdrant fault: %w", err)
	}
	return nil
}
func (l localFaults) Clear(context.Context) error { l.srv.Clear(); return nil }

// RemoteFaults drives the stand-in of a `vectorstream infra serve` process over its
// control endpoint (ServeInfo.ControlURL), e.g. "http://127.0.0.1:41234".
type RemoteFaults struct {
	URL    string
	Client *http.Client
}

// Inject implements QdrantFaults.
func (r RemoteFaults) Inject(ctx context.Context, in Injection) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("infra: encode injection: %w", err)
	}
	return r.do(ctx, http.MethodPut, body)
}

// Clear implements QdrantFaults.
func (r RemoteFaults) Clear(ctx context.Context) error { return r.do(ctx, http.MethodDelete, nil) }

func (r RemoteFaults) do(ctx context.Context, method string, body []byte) error {
	hc := r.Client
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	url := strings.TrimSuffix(r.URL, "/") + faultPath
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("infra: qdrant fault %s %s: %w", method, url, err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("infra: qdrant fault %s %s: %w", method, url, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("infra: qdrant fault %s %s: %s: %s", method, url, resp.Status, bytes.TrimSpace(msg))
	}
	return nil
}

const faultPath = "/qdrant/fault"

// FaultStatus is what GET on the control endpoint answers.
type FaultStatus struct {
	Active    bool      `json:"active"`
	Injection Injection `json:"injection"`
	// Failed is how many RPCs injections have failed since the server started.
	Failed uint64 `json:"failed"`
}

// ControlHandler serves the stand-in's fault control: PUT /qdrant/fault with an
// Injection as JSON starts one, DELETE ends it, GET reports a FaultStatus.
func ControlHandler(srv *qdrantfake.Server) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(faultPath, func(w http.ResponseWriter, r *http.Request) {
		if srv == nil {
			http.Error(w, "the Qdrant engine server takes no fault injections: use the stand-in (infra.qdrant_store: standin)", http.StatusNotImplemented)
			return
		}
		switch r.Method {
		case http.MethodPut, http.MethodPost:
			dec := json.NewDecoder(io.LimitReader(r.Body, 1<<16))
			dec.DisallowUnknownFields()
			var in Injection
			if err := dec.Decode(&in); err != nil {
				http.Error(w, "decode injection: "+err.Error(), http.StatusBadRequest)
				return
			}
			if err := srv.Inject(in.fake()); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		case http.MethodDelete:
			srv.Clear()
			w.WriteHeader(http.StatusNoContent)
		case http.MethodGet:
			in, on, failed := srv.Injected()
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(FaultStatus{Active: on, Injection: injectionOf(in), Failed: failed})
		default:
			w.Header().Set("Allow", "GET, PUT, POST, DELETE")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		}
	})
	return mux
}

// serveControl listens on addr and serves ControlHandler until ctx ends. It
// returns the base URL.
func serveControl(ctx context.Context, addr string, srv *qdrantfake.Server) (string, func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, listenErr(fmt.Errorf("infra: control endpoint: listen on %s: %w", addr, err))
	}
	mux := http.NewServeMux()
	mux.Handle("/", ControlHandler(srv))
	// The stand-ins' own profiles (heap, CPU, goroutines), for a run that asks why
	// they grew: go tool pprof <control_url>/debug/pprof/heap.
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Serve returns http.ErrServerClosed on Shutdown; the control endpoint has no
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
