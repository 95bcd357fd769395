package infra

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"runtime/debug"
	"slices"
	"strconv"
	"sync"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/vectorstream/vectorstream/infra/qdrantengine"
	"github.com/vectorstream/vectorstream/infra/qdrantfake"
	"github.com/vectorstream/vectorstream/internal/scratch"
)

// DefaultAddr is where embedded services listen unless told otherwise: a free
// loopback port.
const DefaultAddr = "127.0.0.1:0"

// DefaultPartitions is the partition count of seeded and auto-created topics
// unless EmbeddedConfig says otherwise.
const DefaultPartitions = 4

// kfakeModule is kfake's module path; kfakeVersion is its version in go.mod,
// used when the binary carries no build information (test binaries). A test
// keeps it in step with go.mod.
const (
	kfakeModule  = "github.com/twmb/franz-go/pkg/kfake"
	kfakeVersion = "v0.0.0-20260918054303-01f206a7e32c"
)

// QdrantFakeLabel is the label of the embedded Qdrant stand-in with its points in
// memory; QdrantFakeDiskLabel with them on disk (EmbeddedConfig.QdrantDataDir).
const (
	QdrantFakeLabel     = "qdrantfake (the exact embedded stand-in for Qdrant 1.17: no indexing, points in memory)"
	QdrantFakeDiskLabel = "qdrantfake (the exact embedded stand-in for Qdrant 1.17: no indexing, points on disk)"
)

// KfakeLabel returns the label of the embedded Kafka stand-in, with kfake's
// module version.
func KfakeLabel() string {
	return "kfake " + moduleVersion(kfakeModule, kfakeVersion) + " (embedded stand-in, in-process)"
}

func moduleVersion(path, fallback string) string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path != path {
				continue
			}
			if d.Replace != nil && d.Replace.Version != "" {
				return d.Replace.Version
			}
			if d.Version != "" && d.Version != "(devel)" {
				return d.Version
			}
		}
	}
	return fallback
}

// EmbeddedConfig configures StartEmbedded and Serve.
type EmbeddedConfig struct {
	// Partitions is the partition count of Topics and of auto-created topics;
	// zero means DefaultPartitions.
	Partitions int `json:"partitions" yaml:"partitions"`
	// Topics are created at start. Topics a client asks for later are
	// auto-created, as Kafka does by default.
	Topics []string `json:"topics" yaml:"topics"`
	// TopicConfigs are Kafka topic configs given to every topic in Topics,
	// on top of the retention.bytes that RetentionBytes sets.
	TopicConfigs map[string]string `json:"topic_configs,omitempty" yaml:"topic_configs,omitempty"`
	// RetentionBytes bounds every topic's log, per partition, as Kafka's
	// log.retention.bytes does: the oldest record batches are trimmed once a
	// partition holds more, checked every second. kfake keeps its logs in
	// memory, so this bounds the embedded broker's memory whatever the run's
	// length. Zero means DefaultRetentionBytes, -1 no limit (Kafka's default);
	// a retention.bytes in TopicConfigs takes precedence for those topics. A
	// consumer lagging by more than this loses the trimmed records, as it
	// would on Kafka: verification then counts them as lost.
	RetentionBytes int64 `json:"retention_bytes,omitempty" yaml:"retention_bytes,omitempty"`
	// KafkaAddr and QdrantAddr are the listen addresses; empty means
	// DefaultAddr. The Kafka broker advertises the address it listens on, so
	// it must be one clients can dial (not 0.0.0.0).
	KafkaAddr  string `json:"kafka_addr" yaml:"kafka_addr"`
	QdrantAddr string `json:"qdrant_addr" yaml:"qdrant_addr"`
	// KafkaAdvertise, when set, is the address the broker advertises instead
	// of the one it listens on, as Kafka's advertised.listeners: the address
	// of a proxy in front of it (a fault proxy), which every client then goes
	// through once it has read the broker's metadata. Env.KafkaListen keeps
	// the address the broker listens on.
	KafkaAdvertise string `json:"kafka_advertise,omitempty" yaml:"kafka_advertise,omitempty"`

	// QdrantDataDir, when set, makes the Qdrant stand-in keep its points on
	// disk, in a fresh directory under it that is removed when the stand-in
	// stops (qdrantfake.WithDataDir), so its memory stays bounded however
	// long the run. Empty keeps them in memory.
	QdrantDataDir string `json:"qdrant_data_dir,omitempty" yaml:"qdrant_data_dir,omitempty"`
	// KafkaDataDir, when set, makes the embedded broker keep its logs on disk
	// (kfake.DataDir), in a fresh directory under it removed when it stops,
	// as Kafka does: its memory then holds only the logs' indexes, and
	// retention bounds the disk. Empty keeps the logs in memory.
	KafkaDataDir string `json:"kafka_data_dir,omitempty" yaml:"kafka_data_dir,omitempty"`

	// QdrantEngine, when set, is the path of a built Qdrant engine server
	// (infra/qdrant-engine, Qdrant's storage engine qdrant-edge behind a
	// gRPC server): StartEmbedded runs it as a child process on a loopback
	// port instead of the Go stand-in, its storage in a fresh directory under
	// QdrantDataDir (or DataRoot when that is empty). Env.QdrantServer stays
	// nil.
	QdrantEngine string `json:"qdrant_engine,omitempty" yaml:"qdrant_engine,omitempty"`

	// KafkaOpts are extra kfake options, applied last (for example
	// kfake.BrokerConfigs or kfake.GroupMinSessionTimeout).
	KafkaOpts []kfake.Opt `json:"-" yaml:"-"`
	// QdrantOpts are extra qdrantfake options.
	QdrantOpts []qdrantfake.Opt `json:"-" yaml:"-"`
}

func (cfg EmbeddedConfig) withDefaults() EmbeddedConfig {
	if cfg.Partitions == 0 {
		cfg.Partitions = DefaultPartitions
	}
	if cfg.KafkaAddr == "" {
		cfg.KafkaAddr = DefaultAddr
	}
	if cfg.QdrantAddr == "" {
		cfg.QdrantAddr = DefaultAddr
	}
	if cfg.RetentionBytes == 0 {
		cfg.RetentionBytes = DefaultRetentionBytes
	}
	if cfg.RetentionBytes > 0 {
		tc := map[string]string{"retention.bytes": strconv.FormatInt(cfg.RetentionBytes, 10), "segment.bytes": strconv.Itoa(segmentBytes)}
		maps.Copy(tc, cfg.TopicConfigs)
		cfg.TopicConfigs = tc
	}
	return cfg
}

// DefaultRetentionBytes is the embedded broker's log.retention.bytes: 64 MiB
// per partition (256 MiB of record batches on the default 4 partitions), in
// memory or, with KafkaDataDir, on disk. Raise it (EmbeddedConfig.RetentionBytes) for runs whose consumer
// may lag for longer, e.g. a long Qdrant outage with the batch held.
const DefaultRetentionBytes = 64 << 20

// segmentBytes is the embedded broker's segment size (see kafkaRetentionOpts).
const segmentBytes = 8 << 20

// kafkaRetentionOpts make kfake trim by retention every second (it checks once
// an hour by default) and apply the limit to topics created later, too. kfake
// frees memory a whole segment at a time, so segments are 8 MiB, not Kafka's
// 1 GiB (kfake's 100 MiB).
func (cfg EmbeddedConfig) kafkaRetentionOpts() []kfake.Opt {
	if cfg.RetentionBytes < 0 {
		return nil
	}
	return []kfake.Opt{kfake.BrokerConfigs(map[string]string{
		"log.cleaner.backoff.ms": "1000",
		"log.retention.bytes":    strconv.FormatInt(cfg.RetentionBytes, 10),
		"log.segment.bytes":      strconv.Itoa(segmentBytes),
	})}
}

// Validate reports every problem with cfg at once.
func (cfg EmbeddedConfig) Validate() error {
	cfg = cfg.withDefaults()
	var errs []error
	if cfg.Partitions < 0 || cfg.Partitions > 1<<16 {
		errs = append(errs, fmt.Errorf("infra: embedded: partitions %d out of range", cfg.Partitions))
	}
	for i, t := range cfg.Topics {
		if t == "" {
			errs = append(errs, fmt.Errorf("infra: embedded: topics[%d] is empty", i))
		}
	}
	for field, addr := range map[string]string{"kafka_addr": cfg.KafkaAddr, "qdrant_addr": cfg.QdrantAddr, "kafka_advertise": cfg.KafkaAdvertise} {
		if addr == "" && field == "kafka_advertise" {
			continue
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			errs = append(errs, fmt.Errorf("infra: embedded: %s %q: %w", field, addr, err))
		}
	}
	return errors.Join(errs...)
}

// StartEmbedded starts one kfake broker and a qdrantfake server on loopback,
// with cfg.Topics created. Consumer groups, offset commits, idempotent and
// transactional producers work as on Kafka. Env.Close stops both.
func StartEmbedded(ctx context.Context, cfg EmbeddedConfig) (*Env, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("infra: start embedded: %w", err)
	}
	cfg = cfg.withDefaults()
	cluster, kafkaListen, closeKafka, err := startKfake(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.QdrantEngine != "" {
		return startWithEngine(ctx, cfg, cluster, kafkaListen, closeKafka)
	}
	qopts := cfg.QdrantOpts
	if cfg.QdrantDataDir != "" {
		qopts = append([]qdrantfake.Opt{qdrantfake.WithDataDir(cfg.QdrantDataDir)}, qopts...)
	}
	srv, err := qdrantfake.Listen(cfg.QdrantAddr, qopts...)
	if err != nil {
		closeKafka()
		return nil, listenErr(fmt.Errorf("infra: start qdrantfake: %w", err))
	}
	host, port, err := splitAddr(srv.Addr())
	if err != nil {
		closeKafka()
		_ = srv.Close()
		return nil, fmt.Errorf("infra: qdrantfake address: %w", err)
	}
	env := &Env{
		Mode:         ModeEmbedded,
		KafkaBrokers: cluster.ListenAddrs(),
		KafkaListen:  kafkaListen,
		QdrantHost:   host,
		QdrantPort:   port,
		KafkaLabel:   KfakeLabel(),
		QdrantLabel:  map[bool]string{false: QdrantFakeLabel, true: QdrantFakeDiskLabel}[cfg.QdrantDataDir != ""],
		KafkaCluster: cluster,
		QdrantServer: srv,
	}
	env.closers = append(env.closers, closeKafka, func() { _ = srv.Close() })
	return env, nil
}

// startWithEngine completes StartEmbedded with the Qdrant engine server as
// Qdrant.
func startWithEngine(ctx context.Context, cfg EmbeddedConfig, cluster *kfake.Cluster, kafkaListen []string, closeKafka func()) (*Env, error) {
	dataDir := cfg.QdrantDataDir
	if dataDir == "" {
		dataDir = DataRoot()
	}
	srv, err := qdrantengine.Start(ctx, qdrantengine.Config{Binary: cfg.QdrantEngine, DataDir: dataDir, Addr: cfg.QdrantAddr, Stderr: os.Stderr})
	if err != nil {
		closeKafka()
		return nil, listenErr(fmt.Errorf("infra: start the Qdrant engine: %w", err))
	}
	host, port, err := splitAddr(srv.Addr())
	if err != nil {
		closeKafka()
		_ = srv.Close()
		return nil, fmt.Errorf("infra: Qdrant engine address: %w", err)
	}
	env := &Env{
		Mode:          ModeEmbedded,
		KafkaBrokers:  cluster.ListenAddrs(),
		KafkaListen:   kafkaListen,
		QdrantHost:    host,
		QdrantPort:    port,
		KafkaLabel:    KfakeLabel(),
		QdrantLabel:   qdrantengine.Label,
		QdrantEngine:  true,
		QdrantPid:     srv.Pid(),
		QdrantMetrics: "http://" + srv.MetricsAddr() + "/metrics",
		KafkaCluster:  cluster,
	}
	env.closers = append(env.closers, closeKafka, func() { _ = srv.Close() })
	return env, nil
}

// advertisedListener is a listener whose Addr is the address the broker
// advertises (EmbeddedConfig.KafkaAdvertise).
type advertisedListener struct {
	net.Listener
	advertise string
}

// Addr returns the advertised address.
func (l advertisedListener) Addr() net.Addr { return advertisedAddr(l.advertise) }

// advertisedAddr is a TCP address as host:port.
type advertisedAddr string

func (advertisedAddr) Network() string  { return "tcp" }
func (a advertisedAddr) String() string { return string(a) }

// startKfake starts the embedded broker of cfg (with its defaults) and creates its
// topics; kafkaListen is where it listens (its advertised address may differ),
// closeKafka stops it and removes its data directory, if it has one.
func startKfake(cfg EmbeddedConfig) (cluster *kfake.Cluster, kafkaListen []string, closeKafka func(), err error) {
	kafkaAddr, advertise := cfg.KafkaAddr, cfg.KafkaAdvertise
	var (
		listenMu sync.Mutex
		listen   []string
	)
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		// kfake asks for 127.0.0.1:<port>; listen where configured instead.
		// kfake advertises its listener's Addr, so a listener that reports
		// another address advertises that one.
		kfake.ListenFn(func(network, _ string) (net.Listener, error) {
			ln, err := net.Listen(network, kafkaAddr)
			if err != nil {
				return nil, err
			}
			listenMu.Lock()
			listen = append(listen, ln.Addr().String())
			listenMu.Unlock()
			if advertise == "" {
				return ln, nil
			}
			return advertisedListener{ln, advertise}, nil
		}),
		kfake.DefaultNumPartitions(cfg.Partitions),
		kfake.AllowAutoTopicCreation(),
	}
	if len(cfg.Topics) > 0 && cfg.TopicConfigs == nil {
		opts = append(opts, kfake.SeedTopics(int32(cfg.Partitions), cfg.Topics...))
	}
	opts = append(opts, cfg.kafkaRetentionOpts()...)
	removeDir := func() {}
	if cfg.KafkaDataDir != "" {
		dir, err := scratch.Dir(cfg.KafkaDataDir, "kfake-")
		if err != nil {
			return nil, nil, nil, fmt.Errorf("infra: kafka data dir: %w", err)
		}
		removeDir = func() { _ = os.RemoveAll(dir) }
		opts = append(opts, kfake.DataDir(dir))
	}
	opts = append(opts, cfg.KafkaOpts...)
	cluster, err = kfake.NewCluster(opts...)
	if err != nil {
		removeDir()
		return nil, nil, nil, listenErr(fmt.Errorf("infra: start kfake on %s: %w", kafkaAddr, err))
	}
	closeKafka = func() {
		cluster.Close()
		removeDir()
	}
	listenMu.Lock()
	kafkaListen = slices.Clone(listen)
	listenMu.Unlock()
	if cfg.TopicConfigs != nil {
		for _, t := range cfg.Topics {
			if err := cluster.CreateTopic(t, int32(cfg.Partitions), cfg.TopicConfigs); err != nil {
				closeKafka()
				return nil, nil, nil, fmt.Errorf("infra: create topic %s: %w", t, err)
			}
		}
	}
	return cluster, kafkaListen, closeKafka, nil
}

// ServeInfo is the one JSON line Serve writes: where the services listen and
// what they are.
type ServeInfo struct {
	KafkaBrokers []string `json:"kafka_brokers"`
	// KafkaListen is where the broker listens, when it advertises another
	// address (EmbeddedConfig.KafkaAdvertise).
	KafkaListen []string `json:"kafka_listen,omitempty"`
	QdrantAddr  string   `json:"qdrant_addr"`
	KafkaLabel  string   `json:"kafka_label"`
	QdrantLabel string   `json:"qdrant_label"`
	// DebugURL serves the stand-ins' Go profiles (/debug/pprof).
	DebugURL string `json:"debug_url,omitempty"`
	// QdrantEngine is true when Qdrant is the engine server, a process of
	// its own (QdrantPid) with Prometheus metrics at QdrantMetrics.
	QdrantEngine  bool   `json:"qdrant_engine,omitempty"`
	QdrantPid     int    `json:"qdrant_pid,omitempty"`
	QdrantMetrics string `json:"qdrant_metrics,omitempty"`
}

// External returns the External that connects to the served services, with
// their labels.
func (si ServeInfo) External() (External, error) {
	host, port, err := splitAddr(si.QdrantAddr)
	if err != nil {
		return External{}, fmt.Errorf("infra: serve info: qdrant_addr %w", err)
	}
	return External{
		Brokers:     si.KafkaBrokers,
		QdrantHost:  host,
		QdrantPort:  port,
		KafkaLabel:  si.KafkaLabel,
		QdrantLabel: si.QdrantLabel,
	}, nil
}

// Connect connects to the served services, as Connect(si.External()) does,
// and carries over what ServeInfo says of the engine server and where the
// broker listens.
func (si ServeInfo) Connect() (*Env, error) {
	ext, err := si.External()
	if err != nil {
		return nil, err
	}
	env := Connect(ext)
	env.Mode = ModeEmbedded
	env.KafkaListen = si.KafkaListen
	if si.QdrantEngine {
		env.QdrantEngine, env.QdrantPid, env.QdrantMetrics = true, si.QdrantPid, si.QdrantMetrics
	}
	return env, nil
}

// ReadServeInfo reads the line Serve writes, for a process that started
// `vectorstream infra serve` and reads its stdout.
func ReadServeInfo(r io.Reader) (ServeInfo, error) {
	line, err := bufio.NewReader(r).ReadBytes('\n')
	if err != nil && len(line) == 0 {
		return ServeInfo{}, fmt.Errorf("infra: read serve info: %w", err)
	}
	var si ServeInfo
	if err := json.Unmarshal(line, &si); err != nil {
		return ServeInfo{}, fmt.Errorf("infra: decode serve info %q: %w", line, err)
	}
	return si, nil
}

// Serve runs the embedded services for `vectorstream infra serve`: it starts
// them and their debug endpoint (pprof, on debugAddr; "" means
// 127.0.0.1:0), writes one ServeInfo JSON line to w, and runs until ctx is
// done, then shuts them down and returns nil.
func Serve(ctx context.Context, cfg EmbeddedConfig, debugAddr string, w io.Writer) error {
	env, err := StartEmbedded(ctx, cfg)
	if err != nil {
		return err
	}
	defer env.Close()
	if debugAddr == "" {
		debugAddr = "127.0.0.1:0"
	}
	debugURL, stopDebug, err := serveDebug(ctx, debugAddr)
	if err != nil {
		return err
	}
	defer stopDebug()
	line, err := json.Marshal(ServeInfo{
		KafkaBrokers:  env.KafkaBrokers,
		KafkaListen:   env.KafkaListen,
		QdrantAddr:    env.QdrantAddr(),
		KafkaLabel:    env.KafkaLabel,
		QdrantLabel:   env.QdrantLabel,
		DebugURL:      debugURL,
		QdrantEngine:  env.QdrantEngine,
		QdrantPid:     env.QdrantPid,
		QdrantMetrics: env.QdrantMetrics,
	})
	if err != nil {
		return fmt.Errorf("infra: encode serve info: %w", err)
	}
	if _, err := w.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("infra: write serve info: %w", err)
	}
	<-ctx.Done()
	return nil
}
