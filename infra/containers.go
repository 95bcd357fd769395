package infra

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vectorstream/vectorstream/internal/exitcode"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// The containers mode's default images: the project's own, built here from
// nothing pulled by deploy/images/build.sh (make images). Kafka is the version
// deploy/kafka/pom.xml resolves, a single KRaft node configured as apache/kafka
// is; Qdrant is the engine server of the embedded default. Where a registry is
// reachable, infra.containers.kafka_image and qdrant_image take apache/kafka and
// qdrant/qdrant instead, configured by the same variables.
const (
	DefaultKafkaImage  = "vectorstream/kafka:4.4.0"
	DefaultQdrantImage = "vectorstream/qdrant:edge-0.7.0"
)

// DefaultContainersTimeout bounds StartContainers unless ContainersConfig says
// otherwise: container starts, readiness waits and topic creation together.
const DefaultContainersTimeout = 5 * time.Minute

// dockerCheckTimeout bounds DockerAvailable.
const dockerCheckTimeout = 2 * time.Second

// defaultDockerHost is where Docker listens unless DOCKER_HOST says otherwise.
const defaultDockerHost = "unix:///var/run/docker.sock"

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
	// DefaultQdrantImage. The Kafka image must be configured as apache/kafka is
	// (KAFKA_* variables, its own start command), the Qdrant image as
	// qdrant/qdrant is (QDRANT__SERVICE__* variables).
	KafkaImage, QdrantImage string
	// KafkaLimits and QdrantLimits are the containers' resource limits.
	KafkaLimits, QdrantLimits Limits
	// Run labels the containers with the run they belong to.
	Run string
	// LogDir receives each container's output (kafka.log, qdrant.log) when
	// the Env closes; "" keeps none.
	LogDir string
	// Timeout bounds the whole start; zero means DefaultContainersTimeout.
	Timeout time.Duration
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
	for _, l := range []struct {
		name string
		l    Limits
	}{{"kafka", cfg.KafkaLimits}, {"qdrant", cfg.QdrantLimits}} {
		for _, p := range l.l.Validate() {
			errs = append(errs, fmt.Errorf("infra: containers: %s %s", l.name, p))
		}
	}
	return errors.Join(errs...)
}

// startAuto starts the containers when a Docker daemon answers and has the
// default images, and the embedded services otherwise, and records which in
// Env.Picked. It does not fall back to embedded when the containers fail to
// start: a daemon that answers but cannot run them is a problem to report, not
// to hide.
func startAuto(ctx context.Context, emb EmbeddedConfig) (*Env, error) {
	ok, why := ContainersUsable(ctx, DefaultKafkaImage, DefaultQdrantImage)
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

// ContainersUsable reports whether the containers mode can run here: a Docker
// daemon answers and has the images refs. It says why, or why not, in one line
// (infra.mode auto records it).
func ContainersUsable(ctx context.Context, refs ...string) (bool, string) {
	ok, why := DockerAvailable(ctx)
	if !ok {
		return false, why
	}
	d, err := ConnectDocker(ctx)
	if err != nil {
		return false, oneLine(err)
	}
	defer d.Close()
	for _, ref := range refs {
		if _, err := d.Image(ctx, ref); err != nil {
			return false, why + " but has no image " + ref + " (make images builds it)"
		}
	}
	return true, why + " and has the images " + strings.Join(refs, ", ")
}

// containersConfigFrom carries what the embedded config says about topics
// over to the containers mode, so that a scenario runs the same in both.
func containersConfigFrom(emb EmbeddedConfig) ContainersConfig {
	return ContainersConfig{Partitions: emb.Partitions, Topics: emb.Topics, TopicConfigs: emb.TopicConfigs}
}

// DockerAvailable reports whether a Docker daemon answers, within 2 s or ctx,
// whichever ends first, and says where it looked. Testcontainers finds the
// daemon through DOCKER_HOST, ~/.testcontainers.properties, the Docker
// context and the default sockets; it remembers the first answer for the
// life of the process.
func DockerAvailable(ctx context.Context) (bool, string) {
	ownCleanup()
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

// noDaemon is the error of a containers mode without a Docker daemon: a
// missing prerequisite, like a broker that does not answer (exit 3).
func noDaemon(why string) error {
	return exitcode.With(fmt.Errorf("infra mode containers: no Docker daemon: run make docker-up (%s)", why), exitcode.Unreachable)
}

// oneLine joins the lines of err's message (errors.Join separates with
// newlines) so that it fits in a label or a one-line error.
func oneLine(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
}

// ContainerSet is what a containers-mode Env runs on: the Docker daemon and
// the containers started on it (Kafka and Qdrant by StartContainers, the
// pipeline by the harness).
type ContainerSet struct {
	// Docker is the daemon.
	Docker *Docker
	// Kafka and Qdrant are the services' containers.
	Kafka, Qdrant *Container
	mu            sync.Mutex
	all           []*Container
}

// Add records c as one of the set's (All lists it; the Env's Close removes it).
func (s *ContainerSet) Add(c *Container) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.all = append(s.all, c)
}

// All lists the set's containers in the order they started.
func (s *ContainerSet) All() []*Container {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Container(nil), s.all...)
}

func (s *ContainerSet) removeAll() {
	for _, c := range slices.Backward(s.All()) {
		c.Remove()
	}
	s.Docker.Close()
}

// StartContainers starts Kafka (a single KRaft node of cfg.KafkaImage) and
// Qdrant (cfg.QdrantImage) in Docker containers with testcontainers-go, on the
// host network at free loopback ports it picks (so two runs can share a
// daemon), creates cfg.Topics, and returns an Env of ModeContainers. Env.Close
// saves the containers' output into cfg.LogDir and removes them; containers
// that a killed process left are removed at the next start (RemoveOrphans).
// It fails when no Docker daemon answers, when an image is missing, and when
// cfg.Timeout (or ctx) ends before both services are ready; its errors name the
// container that failed, and those of a missing daemon or a deadline carry
// exitcode.Unreachable.
func StartContainers(ctx context.Context, cfg ContainersConfig) (*Env, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	d, err := ConnectDocker(ctx)
	if err != nil {
		return nil, err
	}
	_, _ = d.RemoveOrphans(ctx)
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()

	set := &ContainerSet{Docker: d}
	env := &Env{Mode: ModeContainers, Containers: set}
	env.OnClose(set.removeAll)
	fail := func(err error) (*Env, error) {
		env.Close()
		return nil, notReadyErr(err)
	}
	ports, err := freeLoopbackPorts(4)
	if err != nil {
		return fail(fmt.Errorf("infra: containers: %w", err))
	}
	kafkaPort, controllerPort, grpcPort, httpPort := ports[0], ports[1], ports[2], ports[3]

	set.Kafka, err = d.Run(ctx, ContainerSpec{Role: "kafka", Image: cfg.KafkaImage, Run: cfg.Run, LogDir: cfg.LogDir,
		Env: kafkaEnv(cfg, kafkaPort, controllerPort), Limits: cfg.KafkaLimits,
		Ready: wait.ForLog(`Kafka Server started|Transitioning from RECOVERY to RUNNING`).AsRegexp().WithStartupTimeout(cfg.Timeout)})
	if err != nil {
		return fail(fmt.Errorf("infra: containers: %w", err))
	}
	set.Add(set.Kafka)
	env.KafkaBrokers = []string{net.JoinHostPort(loopback, strconv.Itoa(kafkaPort))}
	env.KafkaLabel = imageLabel("Kafka", cfg.KafkaImage, set.Kafka.Image)

	env.QdrantHost, env.QdrantPort = loopback, grpcPort
	set.Qdrant, err = d.Run(ctx, ContainerSpec{Role: "qdrant", Image: cfg.QdrantImage, Run: cfg.Run, LogDir: cfg.LogDir,
		Env: map[string]string{"QDRANT__SERVICE__HOST": loopback, "QDRANT__SERVICE__GRPC_PORT": strconv.Itoa(grpcPort),
			"QDRANT__SERVICE__HTTP_PORT": strconv.Itoa(httpPort), "QDRANT__TELEMETRY_DISABLED": "true"},
		Limits: cfg.QdrantLimits, Ready: qdrantAnswers{env: env, timeout: cfg.Timeout}})
	if err != nil {
		return fail(fmt.Errorf("infra: containers: %w", err))
	}
	set.Add(set.Qdrant)
	env.QdrantEngine = strings.HasPrefix(cfg.QdrantImage, "vectorstream/qdrant:")
	env.QdrantLabel = imageLabel("Qdrant", cfg.QdrantImage, set.Qdrant.Image)
	if env.QdrantEngine {
		env.QdrantLabel = "Qdrant engine (qdrant-edge " + strings.TrimPrefix(cfg.QdrantImage, "vectorstream/qdrant:edge-") +
			" behind VectorStream's gRPC server, " + cfg.QdrantImage + " container), not a Qdrant server"
	}
	if st, err := set.Qdrant.State(ctx); err == nil {
		env.QdrantPid = st.Pid
	}

	if err := createTopics(ctx, env, cfg); err != nil {
		return fail(fmt.Errorf("infra: containers: kafka (%s): %w", cfg.KafkaImage, err))
	}
	return env, nil
}

// loopback is where every container listens: the host network's loopback.
const loopback = "127.0.0.1"

// freeLoopbackPorts picks n distinct free TCP ports on the loopback address
// (held open together while picking, so they differ).
func freeLoopbackPorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", loopback+":0")
		if err != nil {
			return nil, fmt.Errorf("pick a free loopback port: %w", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// kafkaEnv configures a single KRaft node (broker and controller in one
// process) listening on the loopback ports, as apache/kafka reads it.
func kafkaEnv(cfg ContainersConfig, port, controller int) map[string]string {
	p, c := strconv.Itoa(port), strconv.Itoa(controller)
	env := map[string]string{
		"KAFKA_NODE_ID":                                          "1",
		"KAFKA_PROCESS_ROLES":                                    "broker,controller",
		"KAFKA_LISTENERS":                                        "PLAINTEXT://" + loopback + ":" + p + ",CONTROLLER://" + loopback + ":" + c,
		"KAFKA_ADVERTISED_LISTENERS":                             "PLAINTEXT://" + loopback + ":" + p,
		"KAFKA_LISTENER_SECURITY_PROTOCOL_MAP":                   "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
		"KAFKA_INTER_BROKER_LISTENER_NAME":                       "PLAINTEXT",
		"KAFKA_CONTROLLER_LISTENER_NAMES":                        "CONTROLLER",
		"KAFKA_CONTROLLER_QUORUM_VOTERS":                         "1@" + loopback + ":" + c,
		"KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR":                 "1",
		"KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS":                     "1",
		"KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR":         "1",
		"KAFKA_TRANSACTION_STATE_LOG_MIN_ISR":                    "1",
		"KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR": "1",
		"KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR":            "1",
		"KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS":                 "0",
		"KAFKA_AUTO_CREATE_TOPICS_ENABLE":                        "true",
		"KAFKA_NUM_PARTITIONS":                                   strconv.Itoa(cfg.Partitions),
		// A restarted broker (kafka_broker_restart) waits out its old
		// registration; keep that short, as deploy/kafka does.
		"KAFKA_BROKER_HEARTBEAT_INTERVAL_MS": "500",
		"KAFKA_BROKER_SESSION_TIMEOUT_MS":    "3000",
	}
	// The JVM's heap must fit a memory limit: half of it, as a rule of thumb
	// that leaves room for page cache and the JVM's own memory.
	if mem, _ := cfg.KafkaLimits.MemoryBytes(); mem > 0 && mem < 2<<30 {
		heap := strconv.FormatInt(mem/2>>20, 10) + "m"
		env["KAFKA_HEAP_OPTS"] = "-Xmx" + heap + " -Xms" + heap
	}
	return env
}

// qdrantAnswers waits until Qdrant answers a gRPC HealthCheck on the Env's
// loopback port: a real protocol round trip, not a port probe.
type qdrantAnswers struct {
	env     *Env
	timeout time.Duration
}

// WaitUntilReady implements wait.Strategy.
func (q qdrantAnswers) WaitUntilReady(ctx context.Context, _ wait.StrategyTarget) error {
	ctx, cancel := context.WithTimeout(ctx, q.timeout)
	defer cancel()
	var last error
	for {
		qc, err := newQdrantClient(q.env, true, 0)
		if err == nil {
			hctx, hcancel := context.WithTimeout(ctx, 2*time.Second)
			_, err = qc.HealthCheck(hctx)
			hcancel()
			qc.Close()
			if err == nil {
				return nil
			}
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("no gRPC HealthCheck answer at %s within %s: %w", q.env.QdrantAddr(), q.timeout, last)
		case <-time.After(200 * time.Millisecond):
		}
	}
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

// imageLabel names the product and version an image runs and the image
// itself (its ID's first 12 hex digits), e.g. "Kafka 4.4.0
// (vectorstream/kafka:4.4.0 container, image 1234abcd5678, recipe
// 0123456789abcdef)".
func imageLabel(product, ref string, img Image) string {
	tag := ""
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		tag = strings.TrimPrefix(ref[i+1:], "v")
	}
	id := strings.TrimPrefix(img.ID, "sha256:")
	if len(id) > 12 {
		id = id[:12]
	}
	what := ref + " container, image " + id
	if img.Recipe != "" {
		what += ", recipe " + img.Recipe
	}
	if tag == "" || tag == "latest" {
		return product + " (" + what + ", version unpinned)"
	}
	return product + " " + tag + " (" + what + ")"
}
