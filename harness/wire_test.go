package harness

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vectorstream/vectorstream/infra"
	"github.com/vectorstream/vectorstream/internal/exitcode"
)

// TestWireChecksTheAdvertisedListener runs the Kafka fault proxy of an external
// scenario in front of a broker that advertises its own address (refused before
// any load, naming advertised.listeners) and in front of one that advertises the
// proxy (accepted, clients pointed at the proxy, its overhead measured).
func TestWireChecksTheAdvertisedListener(t *testing.T) {
	t.Parallel()
	scenario := func(broker string) *Scenario {
		sc := DefaultScenario()
		sc.Infra.Mode, sc.Infra.Brokers, sc.Infra.KafkaProxy = infra.ModeExternal, []string{broker}, "127.0.0.1:0"
		sc.Faults = []FaultSpec{{Kind: FaultKafkaPartition, At: time.Second, Duration: time.Second}}
		return &sc
	}

	own, err := infra.StartEmbedded(t.Context(), infra.EmbeddedConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer own.Close()
	sc := scenario(own.KafkaBrokers[0])
	w, err := newWire(sc)
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	_, err = w.attach(t.Context(), sc, infra.Connect(infra.External{Brokers: sc.Infra.Brokers, QdrantHost: own.QdrantHost, QdrantPort: own.QdrantPort}))
	if !errors.Is(err, exitcode.ErrConfig) || !strings.Contains(err.Error(), "advertised.listeners=PLAINTEXT://"+w.kafka.Addr()) {
		t.Fatalf("a broker that advertises itself: %v, want a configuration error naming advertised.listeners", err)
	}

	// The proxy first, then a broker that advertises it, as a user would start it.
	// The proxy is made as an embedded run makes it (no upstream yet), then
	// attached as an external run's.
	sc2 := scenario("")
	proxied, err := newWire(&Scenario{Faults: sc2.Faults, Infra: InfraConfig{Mode: infra.ModeEmbedded}})
	if err != nil {
		t.Fatal(err)
	}
	defer proxied.close()
	adv, err := infra.StartEmbedded(t.Context(), infra.EmbeddedConfig{KafkaAdvertise: proxied.kafka.Addr()})
	if err != nil {
		t.Fatal(err)
	}
	defer adv.Close()
	if err := proxied.kafka.SetUpstream(adv.KafkaListen[0]); err != nil {
		t.Fatal(err)
	}
	w2 := &wire{external: true, kafka: proxied.kafka}
	env := infra.Connect(infra.External{Brokers: adv.KafkaListen, QdrantHost: adv.QdrantHost, QdrantPort: adv.QdrantPort})
	rs, err := w2.attach(t.Context(), sc2, env)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || rs[0].Service != wireKafka || rs[0].Overhead.Samples != overheadSamples || env.KafkaBrokers[0] != proxied.kafka.Addr() {
		t.Fatalf("attach: %+v, brokers %v", rs, env.KafkaBrokers)
	}
}
