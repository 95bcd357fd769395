package infra

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vectorstream/vectorstream/internal/exitcode"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
	tcqdrant "github.com/testcontainers/testcontainers-go/modules/qdrant"
	"github.com/testcontainers/testcontainers-go/wait"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// Pinned images of the containers mode. The Qdrant image matches the version
// of the Qdrant client in go.mod; the Kafka image is Apache Kafka's own, run
// as a single KRaft node (broker and controller in one process).
const (
	DefaultKafkaImage  = "apache/kafka:4.1.0"
	DefaultQdrantImage = "qdrant/qdrant:v1.17.1"
)

// DefaultContainersTimeout bounds StartContainers unless ContainersConfig says
// otherwise: image pulls, container starts, readiness waits and topic creation
// together.
const DefaultContainersTimeout = 5 * time.Minute

// dockerCheckTimeout bounds DockerAvailable.
const dockerCheckTimeout = 2 * time.Second

// defaultDockerHost is where Docker listens unless DOCKER_HOST says otherwise.
const defaultDockerHost = "unix:///var/run/docker.sock"

// Ports inside the containers. The Kafka container listens for clients on
// kafkaClientPort (advertised with the host's mapped port), for the broker
// itself on kafkaBrokerPort and for the KRaft controller on
// kafkaControllerPort; only kafkaClientPort is published.
const (
	kafkaClientPort     = "9092/tcp"
	kafkaBrokerPort     = 9093
	kafkaControllerPort = 9094
	qdrantGRPCPort      = "6334/tcp"
	qdrantRESTPort      = "6333/tcp"
	// kafkaStarter is where StartContainers copies the script that sets the
	// advertised listener, once the mapped port is known, and starts Kafka.
	kafkaStarter = "/tmp/vectorstream_kafka_start.sh"
)

// ContainersConfig configures StartContainers. Its zero value is usable.
type ContainersConfig struct {
	// Partitions is the partition count of Topics and of auto-created topics;
	// zero means DefaultPartitions.
	Partitions int
	// Topics are created at start, with replication factor 1.
	Topics []string
	// TopicConfigs are Kafka topic configs given to every topic in Topics,
	// nil for none.
	TopicConfigs map[string]string
	// KafkaImage and QdrantImage override DefaultKafkaImage and
	// DefaultQdrantImage. The Kafka image must behave like apache/kafka
	// (configured by KAFKA_* variables, started by /etc/kafka/docker/run).
	KafkaImage, QdrantImage string
	// Timeout bounds the whole start; zero means DefaultContainersTimeout.
	Timeout time.Duration
	// Logf receives testcontainers' messages (image pulls, container
	// lifecycle); nil discards them.
	Logf func(format string, args ...any)
}

func (cfg ContainersConfig) withDefaults() ContainersConfig {
	if cfg.Partitions == 0 {
		cfg.Partitions = DefaultPartitions
	}
	if cfg.KafkaImage == "" {
		cfg.KafkaImage = DefaultKafkaImage
	}
	if cfg.QdrantImage == "" {
		cfg.QdrantImage = DefaultQdrantImage
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultContainersTimeout
	}
	return cfg
}

// Validate reports every problem with cfg at once.
func (cfg ContainersConfig) Validate() error {
	cfg = cfg.withDefaults()
	var errs []error
	if cfg.Partitions < 0 || cfg.Partitions > 1<<16 {
		errs = append(errs, fmt.Errorf("infra: containers: partitions %d out of range", cfg.Partitions))
	}
	for i, t := range cfg.Topics {
		if t == "" {
			errs = append(errs, fmt.Errorf("infra: containers: topics[%d] is empty", i))
		}
	}
	if cfg.Timeout < 0 {
		errs = append(errs, fmt.Errorf("infra: containers: timeout %s is negative", cfg.Timeout))
	}
	return errors.Join(errs...)
}

// startAuto starts the containers when a Docker daemon answers and the
// embedded services otherwise, and records which in Env.Picked. It does not
// fall back to embedded when the containers fail to start: a daemon that
// answers but cannot run them is a problem to report, not to hide.
func startAuto(ctx context.Context, emb EmbeddedConfig) (*Env, error) {
	ok, why := DockerAvailable(ctx)
	if !ok {
		env, err := StartEmbedded(ctx, emb)
		if err != nil {
			return nil, fmt.Errorf("infra mode auto: embedded (%s): %w", why, err)
		}
		env.Picked = ModeAuto + ": " + ModeEmbedded + ": " + why
		return env, nil
	}
	env, err := StartContainers(ctx, containersConfigFrom(emb))
	if err != nil {
		return nil, fmt.Errorf("infra mode auto: containers (%s): %w", why, err)
	}
	env.Picked = ModeAuto + ": " + ModeContainers + ": " + why
	return env, nil
}

// containersConfigFrom carries what the embedded config says about topics
// over to the containers mode, so that a scenario runs the same in both.
func containersConfigFrom(emb EmbeddedConfig) ContainersConfig {
	return ContainersConfig{Partitions: emb.Partitions, Topics: emb.Topics, TopicConfigs: emb.TopicConfigs}
}

// logfLogger adapts ContainersConfig.Logf to testcontainers' logger.
type logfLogger func(format string, args ...any)

func (f logfLogger) Printf(format string, args ...any) { f(format, args...) }

// quietOnce silences testcontainers' package-wide default logger, which writes
// to stderr (infra does not log; see the package doc). Loggers given per
// container through ContainersConfig.Logf are unaffected.
var quietOnce sync.Once

func quietTestcontainers() {
	quietOnce.Do(func() { tclog.SetDefault(tclog.NewNoopLogger()) })
}

// DockerAvailable reports whether a Docker daemon answers, within 2 s or ctx,
// whichever ends first, and says where it looked. Testcontainers finds the
// daemon through DOCKER_HOST, ~/.testcontainers.properties, the Docker
// context and the default sockets; it remembers the first answer for the
// life of the process.
func DockerAvailable(ctx context.Context) (bool, string) {
	quietTestcontainers()
	ctx, cancel := context.WithTimeout(ctx, dockerCheckTimeout)
	defer cancel()
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		where := os.Getenv("DOCKER_HOST")
		if where == "" {
			where = defaultDockerHost
		}
		return false, "no Docker daemon answers at " + where + " (" + oneLine(err) + ")"
	}
	defer func() { _ = cli.Close() }()
	host := cli.DaemonHost()
	if _, err := cli.Ping(ctx, client.PingOptions{}); err != nil {
		return false, "no Docker daemon answers at " + host + " (" + oneLine(err) + ")"
	}
	return true, "a Docker daemon answers at " + host
}

// oneLine joins the lines of err's message (errors.Join separates with
// newlines) so that it fits in a label or a one-line error.
func oneLine(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
}

// StartContainers starts Kafka (a single KRaft node of cfg.KafkaImage) and
// Qdrant (cfg.QdrantImage) in Docker containers with testcontainers-go,
// creates cfg.Topics, and returns an Env of ModeContainers addressing their
// ports mapped on the Docker host. Env.Close terminates both containers;
// testcontainers' reaper (Ryuk) removes them if the process dies first.
// It fails when no Docker daemon answers, and when cfg.Timeout (or ctx) ends
// before both services are ready; its errors name the container that failed,
// and those of a missing daemon or a deadline carry exitcode.Unreachable.
func StartContainers(ctx context.Context, cfg ContainersConfig) (*Env, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if ok, why := DockerAvailable(ctx); !ok {
		// A missing prerequisite, like a broker that does not answer: exit 3.
		return nil, exitcode.With(fmt.Errorf("infra mode containers: %s: use embedded or external", why), exitcode.Unreachable)
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()

	var logger tclog.Logger = tclog.NewNoopLogger()
	if cfg.Logf != nil {
		logger = logfLogger(cfg.Logf)
	}
	env := &Env{Mode: ModeContainers}
	fail := func(err error) (*Env, error) {
		env.Close()
		return nil, notReadyErr(err)
	}

	kafkaCtr, brokers, err := runKafka(ctx, cfg, logger)
	if kafkaCtr != nil {
		env.OnClose(terminator(kafkaCtr))
	}
	if err != nil {
		return fail(fmt.Errorf("infra: containers: kafka (%s): %w", cfg.KafkaImage, err))
	}
	env.KafkaBrokers = brokers
	env.KafkaLabel = imageLabel("Kafka", cfg.KafkaImage)

	qdrantCtr, err := tcqdrant.Run(ctx, cfg.QdrantImage,
		testcontainers.WithLogger(logger),
		testcontainers.WithWaitStrategyAndDeadline(cfg.Timeout,
			wait.ForListeningPort(qdrantGRPCPort),
			wait.ForHTTP("/readyz").WithPort(qdrantRESTPort),
		),
	)
	if qdrantCtr != nil {
		env.OnClose(terminator(qdrantCtr))
	}
	if err != nil {
		return fail(fmt.Errorf("infra: containers: qdrant (%s): %w", cfg.QdrantImage, err))
	}
	grpcAddr, err := qdrantCtr.GRPCEndpoint(ctx)
	if err != nil {
		return fail(fmt.Errorf("infra: containers: qdrant (%s): gRPC port: %w", cfg.QdrantImage, err))
	}
	host, port, err := splitAddr(grpcAddr)
	if err != nil {
		return fail(fmt.Errorf("infra: containers: qdrant (%s): gRPC address %w", cfg.QdrantImage, err))
	}
	env.QdrantHost, env.QdrantPort = host, port
	env.QdrantLabel = imageLabel("Qdrant", cfg.QdrantImage)

	if err := createTopics(ctx, env, cfg); err != nil {
		return fail(fmt.Errorf("infra: containers: kafka (%s): %w", cfg.KafkaImage, err))
	}
	return env, nil
}

// runKafka starts the Kafka container and returns it (also on failure, when
// it exists, so that it can be terminated) with its bootstrap address.
//
// Kafka must advertise the port Docker maps on the host, which is known only
// once the container runs: the container waits for a starter script that
// exports the advertised listeners and then runs the image's own start
// script; a post-start hook writes that script and waits until the broker is
// unfenced.
func runKafka(ctx context.Context, cfg ContainersConfig, logger tclog.Logger) (testcontainers.Container, []string, error) {
	controller := strconv.Itoa(kafkaControllerPort)
	broker := strconv.Itoa(kafkaBrokerPort)
	env := map[string]string{
		"KAFKA_NODE_ID":                                  "1",
		"KAFKA_PROCESS_ROLES":                            "broker,controller",
		"KAFKA_LISTENERS":                                "PLAINTEXT://0.0.0.0:9092,BROKER://0.0.0.0:" + broker + ",CONTROLLER://0.0.0.0:" + controller,
		"KAFKA_LISTENER_SECURITY_PROTOCOL_MAP":           "PLAINTEXT:PLAINTEXT,BROKER:PLAINTEXT,CONTROLLER:PLAINTEXT",
		"KAFKA_INTER_BROKER_LISTENER_NAME":               "BROKER",
		"KAFKA_CONTROLLER_LISTENER_NAMES":                "CONTROLLER",
		"KAFKA_CONTROLLER_QUORUM_VOTERS":                 "1@localhost:" + controller,
		"KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR":         "1",
		"KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS":             "1",
		"KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "1",
		"KAFKA_TRANSACTION_STATE_LOG_MIN_ISR":            "1",
		"KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS":         "0",
		"KAFKA_AUTO_CREATE_TOPICS_ENABLE":                "true",
		"KAFKA_NUM_PARTITIONS":                           strconv.Itoa(cfg.Partitions),
	}
	waitDeadline := cfg.Timeout
	if d, ok := ctx.Deadline(); ok {
		waitDeadline = time.Until(d)
	}
	start := func(ctx context.Context, c testcontainers.Container) error {
		if err := wait.ForMappedPort(kafkaClientPort).WaitUntilReady(ctx, c); err != nil {
			return fmt.Errorf("wait for mapped port %s: %w", kafkaClientPort, err)
		}
		endpoint, err := c.PortEndpoint(ctx, kafkaClientPort, "")
		if err != nil {
			return fmt.Errorf("mapped port %s: %w", kafkaClientPort, err)
		}
		script := "#!/bin/bash\n" +
			"export KAFKA_ADVERTISED_LISTENERS=PLAINTEXT://" + endpoint + ",BROKER://localhost:" + broker + "\n" +
			"exec /etc/kafka/docker/run\n"
		if err := c.CopyToContainer(ctx, []byte(script), kafkaStarter, 0o755); err != nil {
			return fmt.Errorf("copy starter script: %w", err)
		}
		ready := wait.ForLog(`Transitioning from RECOVERY to RUNNING|Kafka Server started`).
			AsRegexp().WithStartupTimeout(waitDeadline)
		if err := ready.WaitUntilReady(ctx, c); err != nil {
			return fmt.Errorf("broker not ready within %s: %w", waitDeadline.Round(time.Second), err)
		}
		return nil
	}
	ctr, err := testcontainers.Run(ctx, cfg.KafkaImage,
		testcontainers.WithLogger(logger),
		testcontainers.WithExposedPorts(kafkaClientPort),
		testcontainers.WithEnv(env),
		testcontainers.WithEntrypoint("sh"),
		testcontainers.WithCmd("-c", "while [ ! -f "+kafkaStarter+" ]; do sleep 0.1; done; exec bash "+kafkaStarter),
		testcontainers.WithLifecycleHooks(testcontainers.ContainerLifecycleHooks{
			PostStarts: []testcontainers.ContainerHook{start},
		}),
	)
	if ctr == nil {
		// A typed nil in the interface would defeat the caller's nil check.
		if err == nil {
			err = errors.New("no container")
		}
		return nil, nil, err
	}
	if err != nil {
		return ctr, nil, err
	}
	endpoint, err := ctr.PortEndpoint(ctx, kafkaClientPort, "")
	if err != nil {
		return ctr, nil, fmt.Errorf("mapped port %s: %w", kafkaClientPort, err)
	}
	return ctr, []string{endpoint}, nil
}

// createTopics creates cfg.Topics with kadm, retrying while the broker is
// still settling (e.g. the controller has not yet seen it) until ctx ends.
// A topic that already exists is fine.
func createTopics(ctx context.Context, env *Env, cfg ContainersConfig) error {
	if len(cfg.Topics) == 0 {
		return nil
	}
	cl, err := NewKafkaClient(env)
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	var configs map[string]*string
	if cfg.TopicConfigs != nil {
		configs = make(map[string]*string, len(cfg.TopicConfigs))
		for k, v := range cfg.TopicConfigs {
			configs[k] = &v
		}
	}
	pending := append([]string(nil), cfg.Topics...)
	for {
		resps, err := adm.CreateTopics(ctx, int32(cfg.Partitions), 1, configs, pending...)
		var failed []string
		var last error = err
		if err == nil {
			for _, t := range pending {
				r, ok := resps[t]
				switch {
				case !ok:
					failed, last = append(failed, t), fmt.Errorf("create topic %s: no response", t)
				case r.Err == nil || errors.Is(r.Err, kerr.TopicAlreadyExists):
				case kerr.IsRetriable(r.Err):
					failed, last = append(failed, t), fmt.Errorf("create topic %s: %w", t, r.Err)
				default:
					return fmt.Errorf("create topic %s: %w (%s)", t, r.Err, r.ErrMessage)
				}
			}
			if len(failed) == 0 {
				return nil
			}
			pending = failed
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("create topics %s: %w (last error: %v)", strings.Join(pending, ","), ctx.Err(), last)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// terminator returns an Env closer that terminates c, bounded in time. The
// error is dropped: closers have none, and the reaper removes what is left.
func terminator(c testcontainers.Container) func() {
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = testcontainers.TerminateContainer(c, testcontainers.StopContext(ctx))
	}
}

// imageLabel names the product and version an image runs, e.g.
// imageLabel("Kafka", "apache/kafka:4.1.0") is
// "Kafka 4.1.0 (apache/kafka container)".
func imageLabel(product, image string) string {
	name, tag := image, ""
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		name, tag = image[:i], strings.TrimPrefix(image[i+1:], "v")
	}
	if tag == "" || tag == "latest" {
		return product + " (" + image + " container, version unpinned)"
	}
	return product + " " + tag + " (" + name + " container)"
}
