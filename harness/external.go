package harness

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/qdrant/go-client/qdrant"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/vectorstream/vectorstream/infra"
	"github.com/vectorstream/vectorstream/internal/exitcode"
	"github.com/vectorstream/vectorstream/pipeline"
)

// ScopeToRun gives a run against shared infrastructure names of its own, so it never
// reads an earlier run's events or verifies against an earlier run's points: the
// topics, the consumer group and the collections carry the run id unless the scenario
// pinned them (set them to something other than the defaults).
func ScopeToRun(sc *Scenario, runID string) {
	def := pipeline.DefaultConfig()
	suffix := "-" + strings.NewReplacer("/", "-", "=", "-", ".", "-").Replace(runID)
	k, q := &sc.Pipeline.Kafka, &sc.Pipeline.Qdrant
	if k.Topic == def.Kafka.Topic {
		k.Topic += suffix
	}
	if k.DLQTopic == def.Kafka.DLQTopic {
		k.DLQTopic = def.Kafka.Topic + suffix + ".dlq"
	}
	if k.Group == def.Kafka.Group {
		k.Group += suffix
	}
	if q.EventsCollection == def.Qdrant.EventsCollection {
		q.EventsCollection += strings.ReplaceAll(suffix, "-", "_")
	}
	if q.ProfilesCollection == def.Qdrant.ProfilesCollection {
		q.ProfilesCollection += strings.ReplaceAll(suffix, "-", "_")
	}
}

// prepareExternal names the services in the labels, creates the run's topics with the
// scenario's partitions (an existing topic with another partition count is refused,
// not silently used) and refuses collections that already hold points: verification
// by identity needs empty ones. With recreate, existing topics and collections of
// those names are deleted first — nothing is dropped without it.
func prepareExternal(ctx context.Context, sc *Scenario, env *infra.Env, qc *qdrant.Client, recreate bool) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	hc, err := qc.HealthCheck(ctx)
	if err != nil {
		return exitcode.WithIfNone(fmt.Errorf("qdrant at %s does not answer: %w", env.QdrantAddr(), err), exitcode.Unreachable)
	}
	if t := hc.GetTitle(); strings.Contains(t, "stand-in") || strings.Contains(t, "not a Qdrant server") {
		// The stand-in of a `vectorstream infra serve` process, or the engine server
		// (qdrant-engine): say so wherever its numbers appear.
		env.QdrantLabel = hc.GetTitle() + " " + hc.GetVersion() + " at " + env.QdrantAddr()
	} else {
		env.QdrantLabel = "Qdrant " + hc.GetVersion() + " at " + env.QdrantAddr()
	}
	cl, err := infra.NewKafkaClient(env)
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	if err := cl.Ping(ctx); err != nil {
		return exitcode.WithIfNone(fmt.Errorf("kafka at %s does not answer: %w", strings.Join(env.KafkaBrokers, ","), err), exitcode.Unreachable)
	}
	labelKafka(ctx, adm, env)
	topics := []string{sc.Pipeline.Kafka.Topic, sc.Pipeline.Kafka.DLQTopic}
	if recreate {
		if err := dropExisting(ctx, adm, qc, topics, sc); err != nil {
			return err
		}
	}
	if err := prepareTopics(ctx, adm, sc, topics); err != nil {
		return err
	}
	return checkCollectionsEmpty(ctx, qc, sc)
}

// labelKafka names the external cluster in env's label: its version (a guess from the
// API versions the broker speaks), brokers and cluster id.
func labelKafka(ctx context.Context, adm *kadm.Client, env *infra.Env) {
	bm, err := adm.BrokerMetadata(ctx)
	if err != nil {
		return
	}
	version := "version unknown"
	if vs, err := adm.ApiVersions(ctx); err == nil {
		for _, v := range vs.Sorted() {
			version = v.VersionGuess()
			break
		}
	}
	env.KafkaLabel = fmt.Sprintf("Kafka %s (external, %d broker(s), cluster %s, at %s)", version, len(bm.Brokers), bm.Cluster, strings.Join(env.KafkaBrokers, ","))
}

// prepareTopics creates the topics that do not exist and refuses existing ones of
// another partition count or that hold records.
func prepareTopics(ctx context.Context, adm *kadm.Client, sc *Scenario, topics []string) error {
	details, err := adm.ListTopics(ctx, topics...)
	if err != nil {
		return fmt.Errorf("kafka: list topics: %w", err)
	}
	held, err := recordsHeld(ctx, adm, topics)
	if err != nil {
		return err
	}
	for _, t := range topics {
		if d, ok := details[t]; ok && d.Err == nil {
			if n := len(d.Partitions); n != sc.Kafka.Partitions {
				return fmt.Errorf("%w: kafka topic %s exists with %d partitions, the scenario asks for %d (kafka.partitions): use another topic, or --recreate to delete it", exitcode.ErrConfig, t, n, sc.Kafka.Partitions)
			}
			if held[t] > 0 {
				// An earlier run's records would be consumed and verified as this run's.
				return fmt.Errorf("%w: kafka topic %s already holds %d records; verification by identity needs an empty one: use another topic, or --recreate to delete it", exitcode.ErrConfig, t, held[t])
			}
			continue
		}
		resp, err := adm.CreateTopic(ctx, int32(sc.Kafka.Partitions), int16(sc.Kafka.ReplicationFactor), nil, t)
		if err == nil {
			err = resp.Err
		}
		if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
			return fmt.Errorf("kafka: create topic %s (%d partitions, replication %d): %w", t, sc.Kafka.Partitions, sc.Kafka.ReplicationFactor, err)
		}
	}
	return nil
}

// recordsHeld returns how many records each topic holds (end − start offsets).
func recordsHeld(ctx context.Context, adm *kadm.Client, topics []string) (map[string]int64, error) {
	starts, err := adm.ListStartOffsets(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("kafka: start offsets: %w", err)
	}
	ends, err := adm.ListEndOffsets(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("kafka: end offsets: %w", err)
	}
	held := map[string]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if so, ok := starts.Lookup(o.Topic, o.Partition); ok {
			held[o.Topic] += o.Offset - so.Offset
		}
	})
	return held, nil
}

// checkCollectionsEmpty refuses collections that already hold points: verification by
// identity needs empty ones.
func checkCollectionsEmpty(ctx context.Context, qc *qdrant.Client, sc *Scenario) error {
	for _, name := range []string{sc.Pipeline.Qdrant.EventsCollection, sc.Pipeline.Qdrant.ProfilesCollection} {
		exists, err := qc.CollectionExists(ctx, name)
		if err != nil {
			return fmt.Errorf("qdrant: collection %s: %w", name, err)
		}
		if !exists {
			continue
		}
		n, err := qc.Count(ctx, &qdrant.CountPoints{CollectionName: name, Exact: qdrant.PtrOf(true)})
		if err != nil {
			return fmt.Errorf("qdrant: count %s: %w", name, err)
		}
		if n > 0 {
			return fmt.Errorf("%w: qdrant collection %s already holds %d points; verification by identity needs an empty one: pick other names, or --recreate to delete it", exitcode.ErrConfig, name, n)
		}
	}
	return nil
}

// dropExisting deletes the named topics and the scenario's collections where they exist.
func dropExisting(ctx context.Context, adm *kadm.Client, qc *qdrant.Client, topics []string, sc *Scenario) error {
	resp, err := adm.DeleteTopics(ctx, topics...)
	if err != nil {
		return fmt.Errorf("kafka: delete topics %v: %w", topics, err)
	}
	for _, r := range resp {
		if r.Err != nil && !errors.Is(r.Err, kerr.UnknownTopicOrPartition) {
			return fmt.Errorf("kafka: delete topic %s: %w", r.Topic, r.Err)
		}
	}
	// Deletion is asynchronous on a real cluster: wait until the names are free.
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		details, err := adm.ListTopics(ctx, topics...)
		if err != nil {
			return fmt.Errorf("kafka: list topics: %w", err)
		}
		gone := true
		for _, t := range topics {
			if d, ok := details[t]; ok && d.Err == nil {
				gone = false
			}
		}
		if gone {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("kafka: topics %v still exist after deletion: %w", topics, ctx.Err())
		case <-tick.C:
		}
	}
	for _, name := range []string{sc.Pipeline.Qdrant.EventsCollection, sc.Pipeline.Qdrant.ProfilesCollection} {
		exists, err := qc.CollectionExists(ctx, name)
		if err != nil {
			return fmt.Errorf("qdrant: collection %s: %w", name, err)
		}
		if exists {
			if err := qc.DeleteCollection(ctx, name); err != nil {
				return fmt.Errorf("qdrant: delete collection %s: %w", name, err)
			}
		}
	}
	return nil
}
