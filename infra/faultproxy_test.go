package infra

import (
	"context"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/vectorstream/vectorstream/infra/faultproxy"
)

// TestKafkaPartitionStopsFetchesAndProduces puts a TCP fault proxy in front of
// the embedded broker, which advertises the proxy (EmbeddedConfig.KafkaAdvertise),
// and checks that a partition there stops both a producer's and a consumer's
// traffic while the broker itself keeps working, and that both go on, nothing
// lost, when it ends.
func TestKafkaPartitionStopsFetchesAndProduces(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	px, err := faultproxy.ListenTCP("kafka", "127.0.0.1:0", "")
	if err != nil {
		t.Fatal(err)
	}
	defer px.Close()
	env, err := StartEmbedded(ctx, EmbeddedConfig{Partitions: 1, Topics: []string{"t"}, KafkaAdvertise: px.Addr()})
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	if len(env.KafkaListen) != 1 || !slices.Equal(env.KafkaBrokers, []string{px.Addr()}) {
		t.Fatalf("brokers %v, listen %v; want the proxy %s advertised and one listener", env.KafkaBrokers, env.KafkaListen, px.Addr())
	}
	if err := px.SetUpstream(env.KafkaListen[0]); err != nil {
		t.Fatal(err)
	}
	through, err := NewKafkaClient(env, kgo.ConsumeTopics("t"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer through.Close()
	// direct bypasses the proxy whatever the broker advertises.
	real := env.KafkaListen[0]
	direct, err := kgo.NewClient(kgo.SeedBrokers(real), kgo.Dialer(func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, real)
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close()

	if err := through.ProduceSync(ctx, &kgo.Record{Topic: "t", Value: []byte("a")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	seen := consumeUntil(ctx, t, through, nil, "a")

	if err := px.Inject(faultproxy.TCPFault{Kind: faultproxy.TCPPartition}); err != nil {
		t.Fatal(err)
	}
	produced := make(chan error, 1)
	through.Produce(ctx, &kgo.Record{Topic: "t", Value: []byte("c")}, func(_ *kgo.Record, err error) { produced <- err })
	if err := direct.ProduceSync(ctx, &kgo.Record{Topic: "t", Value: []byte("b")}).FirstErr(); err != nil {
		t.Fatalf("produce straight to the broker during the partition: %v", err)
	}
	pollCtx, pollCancel := context.WithTimeout(ctx, 500*time.Millisecond)
	fs := through.PollFetches(pollCtx)
	pollCancel()
	if n := fs.NumRecords(); n != 0 {
		t.Fatalf("the consumer behind the partition fetched %d records", n)
	}
	select {
	case err := <-produced:
		t.Fatalf("a produce through the partition completed: %v", err)
	default:
	}

	if err := px.Clear(); err != nil {
		t.Fatal(err)
	}
	if err := <-produced; err != nil {
		t.Fatalf("the produce held by the partition: %v", err)
	}
	seen = consumeUntil(ctx, t, through, seen, "b", "c")
	if len(seen) != 3 {
		t.Fatalf("consumed %v, want a, b and c once each", seen)
	}
}

// consumeUntil polls c until every value in want was seen, adding to seen.
func consumeUntil(ctx context.Context, t *testing.T, c *kgo.Client, seen []string, want ...string) []string {
	t.Helper()
	for !containsAll(seen, want) {
		fs := c.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consumed %v, want %v: %v", seen, want, err)
		}
		fs.EachRecord(func(r *kgo.Record) { seen = append(seen, string(r.Value)) })
	}
	return seen
}

func containsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}
