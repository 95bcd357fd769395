package childproc

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/vectorstream/vectorstream/internal/measure"
	"github.com/vectorstream/vectorstream/pipeline"
)

// Source is what the server reads: a pipeline's statistics. *pipeline.Pipeline
// satisfies it.
type Source interface {
	Stats() *pipeline.Stats
}

// Register adds the protocol's endpoints over src to mux: GET PathStats, GET
// PathCounters, POST PathInterval and POST PathMeasure. A pipeline process registers
// them beside the pipeline's own health routes (pipeline.Pipeline.Register).
func Register(mux *http.ServeMux, src Source) {
	s := server{src: src}
	mux.HandleFunc(http.MethodGet+" "+PathStats, s.stats)
	mux.HandleFunc(http.MethodGet+" "+PathCounters, s.counters)
	mux.HandleFunc(http.MethodPost+" "+PathInterval, s.interval)
	mux.HandleFunc(http.MethodPost+" "+PathMeasure, s.measure)
}

// Handler returns a handler of the protocol's endpoints alone (see Register).
func Handler(src Source) http.Handler {
	mux := http.NewServeMux()
	Register(mux, src)
	return mux
}

type server struct{ src Source }

func (s server) stats(w http.ResponseWriter, _ *http.Request) {
	st := s.src.Stats()
	snap, err := st.Snapshot()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeJSON(w, RemoteStats{Snapshot: snap, Commits: st.Commits()})
}

func (s server) counters(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, s.src.Stats().Counters())
}

func (s server) interval(w http.ResponseWriter, _ *http.Request) {
	st := s.src.Stats()
	enc, err := st.TakeInterval().Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeJSON(w, RemoteInterval{Counters: st.Counters(), E2E: string(enc), Process: measure.SampleProcess()})
}

func (s server) measure(w http.ResponseWriter, r *http.Request) {
	ns, err := strconv.ParseInt(r.URL.Query().Get(ParamFrom), 10, 64)
	if err != nil {
		http.Error(w, ParamFrom+": want Unix nanoseconds", http.StatusBadRequest)
		return
	}
	s.src.Stats().MeasureFrom(time.Unix(0, ns))
	w.WriteHeader(http.StatusNoContent)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
