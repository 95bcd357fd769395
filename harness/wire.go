package harness

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/vectorstream/vectorstream/infra"
	"github.com/vectorstream/vectorstream/infra/faultproxy"
	"github.com/vectorstream/vectorstream/internal/exitcode"
)

// The services a fault on the wire acts on (onWire.wire).
const (
	wireQdrant = "qdrant"
	wireKafka  = "kafka"
)

// onWire is implemented by the faults that act on the wire to a service, through
// a fault proxy the run puts in front of it: wire names the service.
type onWire interface{ wire() string }

// wireFaults reports whether any of sc's faults acts on the wire to service.
func (s *Scenario) wireFaults(service string) bool {
	for _, spec := range s.Faults {
		if f, ps := newFault(spec); len(ps) == 0 {
			if w, ok := f.(onWire); ok && w.wire() == service {
				return true
			}
		}
	}
	return false
}

// overheadSamples is how many round trips each way a proxy's overhead is
// measured with, before the load.
const overheadSamples = 200

// ProxyResult is a fault proxy a run put in the path, and what it cost.
type ProxyResult struct {
	// Service is "qdrant" or "kafka".
	Service string `json:"service"`
	// What says what the proxy is and what is behind it.
	What     string `json:"what"`
	Listen   string `json:"listen"`
	Upstream string `json:"upstream"`
	// Overhead is what the hop adds to one round trip (a Qdrant HealthCheck, a
	// Kafka ApiVersions), measured before the load with no fault in force.
	Overhead faultproxy.Overhead `json:"overhead"`
	// RPCs and Failed are the Qdrant RPCs the proxy took from the run (the
	// overhead measurement's not counted) and those a fault failed (gRPC proxy
	// only).
	RPCs   int64 `json:"rpcs,omitempty"`
	Failed int64 `json:"failed,omitempty"`
}

// wire is the fault proxies a run puts between everything that talks to the
// services (the pipeline, the load generator, the harness's own clients) and the
// services, when its scenario has faults on the wire: a gRPC proxy in front of
// Qdrant, a TCP proxy in front of Kafka, whose broker advertises the proxy so
// that clients stay on it after reading the cluster's metadata. Faults are in
// force only during the load, so the harness's own checks before and after it
// pass through a well-behaved proxy. A scenario without such faults has no
// proxy in the path.
type wire struct {
	qdrant *faultproxy.GRPC
	// measured is the RPCs the overhead measurement sent through the Qdrant
	// proxy, not counted as the run's.
	measured int64
	kafka    *faultproxy.TCP
	// external is set in external mode: the proxy listens where
	// infra.kafka_proxy says, and the broker advertises that address itself.
	external bool
}

// newWire starts the Kafka proxy when sc has faults on the wire to Kafka, before
// the broker starts, so the embedded broker can advertise it (kafkaAdvertise).
func newWire(sc *Scenario) (*wire, error) {
	w := &wire{external: sc.Infra.Mode == infra.ModeExternal}
	if !sc.wireFaults(wireKafka) {
		return w, nil
	}
	listen, upstream := "127.0.0.1:0", ""
	if w.external {
		listen, upstream = sc.Infra.KafkaProxy, sc.Infra.Brokers[0]
	}
	px, err := faultproxy.ListenTCP("kafka", listen, upstream)
	if err != nil {
		return nil, fmt.Errorf("%w: infra.kafka_proxy: %w", exitcode.ErrConfig, err)
	}
	w.kafka = px
	return w, nil
}

// kafkaAdvertise is the address the embedded broker must advertise: the Kafka
// proxy's, "" when there is none (or the broker is not ours to start).
func (w *wire) kafkaAdvertise() string {
	if w.kafka == nil || w.external {
		return ""
	}
	return w.kafka.Addr()
}

// attach points the proxies at env's services, points env at the proxies, and
// measures what each hop costs. On error the caller closes w.
func (w *wire) attach(ctx context.Context, sc *Scenario, env *infra.Env) ([]ProxyResult, error) {
	var out []ProxyResult
	if w.kafka != nil {
		r, err := w.attachKafka(ctx, env)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	if sc.wireFaults(wireQdrant) {
		qp, err := faultproxy.ListenGRPC("127.0.0.1:0", env.QdrantAddr())
		if err != nil {
			return nil, err
		}
		w.qdrant = qp
		host, port, err := net.SplitHostPort(qp.Addr())
		if err != nil {
			return nil, fmt.Errorf("qdrant proxy address: %w", err)
		}
		env.QdrantHost = host
		if env.QdrantPort, err = strconv.Atoi(port); err != nil {
			return nil, fmt.Errorf("qdrant proxy port: %w", err)
		}
		mctx, cancel := context.WithTimeout(ctx, time.Minute)
		o, err := qp.Overhead(mctx, "/qdrant.Qdrant/HealthCheck", overheadSamples)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("qdrant proxy: %w", err)
		}
		w.measured, _ = qp.Counts()
		out = append(out, ProxyResult{Service: wireQdrant, Listen: qp.Addr(), Upstream: qp.Upstream(), Overhead: o,
			What: "gRPC fault proxy (VectorStream's, in the harness process) in front of " + env.QdrantLabel})
	}
	return out, nil
}

// attachKafka points the Kafka proxy at the broker and the run's clients at the
// proxy; in external mode it checks that the broker advertises the proxy.
func (w *wire) attachKafka(ctx context.Context, env *infra.Env) (ProxyResult, error) {
	switch {
	case w.external:
	case len(env.KafkaListen) != 1:
		return ProxyResult{}, fmt.Errorf("kafka proxy: the embedded broker listens on %v, want one address", env.KafkaListen)
	default:
		if err := w.kafka.SetUpstream(env.KafkaListen[0]); err != nil {
			return ProxyResult{}, err
		}
	}
	env.KafkaBrokers = []string{w.kafka.Addr()}
	if w.external {
		if err := checkAdvertised(ctx, env, w.kafka.Addr()); err != nil {
			return ProxyResult{}, err
		}
	}
	mctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	o, err := w.kafka.Overhead(mctx, overheadSamples, faultproxy.KafkaRoundTrip)
	if err != nil {
		return ProxyResult{}, fmt.Errorf("kafka proxy: %w", err)
	}
	return ProxyResult{Service: wireKafka, Listen: w.kafka.Addr(), Upstream: w.kafka.Upstream(), Overhead: o,
		What: "TCP fault proxy (Toxiproxy's, in the harness process) in front of " + env.KafkaLabel}, nil
}

// checkAdvertised fails unless every broker of env's cluster advertises proxy:
// a broker that advertises its own address would take clients past the proxy
// once they read the metadata, and the faults would miss them.
func checkAdvertised(ctx context.Context, env *infra.Env, proxy string) error {
	cl, err := infra.NewKafkaClient(env)
	if err != nil {
		return err
	}
	defer cl.Close()
	mctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	md, err := kadm.NewClient(cl).BrokerMetadata(mctx)
	if err != nil {
		return fmt.Errorf("%w: kafka proxy %s: broker metadata: %w", exitcode.ErrUnreachable, proxy, err)
	}
	var other []string
	for _, b := range md.Brokers {
		if a := net.JoinHostPort(b.Host, strconv.Itoa(int(b.Port))); a != proxy {
			other = append(other, a)
		}
	}
	if len(other) > 0 {
		return fmt.Errorf("%w: infra.kafka_proxy %s: the broker advertises %s, so clients would go past the fault proxy: start it advertising the proxy (advertised.listeners=PLAINTEXT://%s)",
			exitcode.ErrConfig, proxy, strings.Join(other, ", "), proxy)
	}
	return nil
}

// results adds the proxies' counts to what attach measured.
func (w *wire) results(rs []ProxyResult) []ProxyResult {
	for i := range rs {
		if rs[i].Service == wireQdrant && w.qdrant != nil {
			rpcs, failed := w.qdrant.Counts()
			rs[i].RPCs, rs[i].Failed = rpcs-w.measured, failed
		}
	}
	return rs
}

// targets are the proxies as the faults act on them; nil where there is none.
func (w *wire) targets() (qdrantWire, kafkaWire) {
	var q qdrantWire
	var k kafkaWire
	if w.qdrant != nil {
		q = w.qdrant
	}
	if w.kafka != nil {
		k = w.kafka
	}
	return q, k
}

// close stops the proxies.
func (w *wire) close() {
	if w.qdrant != nil {
		_ = w.qdrant.Close()
	}
	if w.kafka != nil {
		w.kafka.Close()
	}
}
