package infra_test

import (
	"crypto/rand"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/vectorstream/vectorstream/infra"
)

// TestKafkaDataDirKeepsLogsOffTheHeap: with KafkaDataDir the embedded broker writes
// its logs to a directory of its own under it (its heap then holds only their
// indexes: 200 MB produced leave it under 64 MiB, where in memory it would hold all
// of them), serves them back, and removes the directory when it stops.
func TestKafkaDataDirKeepsLogsOffTheHeap(t *testing.T) {
	parent := t.TempDir()
	env, err := infra.StartEmbedded(t.Context(), infra.EmbeddedConfig{Partitions: 4, Topics: []string{"raw_data"}, KafkaDataDir: parent})
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	cl := kafkaClient(t, env, kgo.DefaultProduceTopic("raw_data"))
	ctx := t.Context()
	const n, size = 400_000, 500 // 200 MB, incompressible
	for i := range n {
		v := make([]byte, size)
		rand.Read(v)
		cl.Produce(ctx, &kgo.Record{Key: []byte{byte(i)}, Value: v}, nil)
	}
	if err := cl.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if ms.HeapInuse > 64<<20 {
		t.Errorf("heap in use %d MiB after producing %d MB to an on-disk broker", ms.HeapInuse>>20, n*size>>20)
	}
	recs := consume(t, ctx, kafkaClient(t, env, kgo.ConsumeTopics("raw_data"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())), 1000)
	if len(recs) < 1000 || len(recs[0].Value) != size {
		t.Fatalf("read back %d records", len(recs))
	}
	dirs, err := os.ReadDir(parent)
	if err != nil || len(dirs) != 1 || !strings.HasPrefix(dirs[0].Name(), "kfake-") {
		t.Fatalf("data dir holds %v (%v), want one kfake-* directory", dirs, err)
	}
	env.Close()
	if dirs, _ := os.ReadDir(parent); len(dirs) != 0 {
		t.Fatalf("after Close the data dir still holds %v", dirs)
	}
}
