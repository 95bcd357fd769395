package infra

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"

	"github.com/qdrant/go-client/qdrant"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/vectorstream/vectorstream/infra/qdrantfake"
	"google.golang.org/grpc"
)

// Infrastructure modes, as named in DESIGN.md and scenario files.
const (
	ModeEmbedded   = "embedded"
	ModeContainers = "containers"
	ModeExternal   = "external"
	// ModeAuto starts ModeContainers when a Docker daemon answers and
	// ModeEmbedded otherwise; Env.Picked says which and why.
	ModeAuto = "auto"
)

// DefaultQdrantPort is Qdrant's gRPC port (6333 is its REST port).
const DefaultQdrantPort = 6334

// MaxQdrantMessageSize is the gRPC message size limit, in bytes, that clients
// from NewQdrantClient accept and send: big upsert batches and scroll pages
// exceed gRPC's 4 MiB default.
const MaxQdrantMessageSize = 64 << 20

// Env is a running Kafka and Qdrant and what the run reports about them.
// Close releases what the Env started; it does not close clients made from it.
type Env struct {
	// Mode is ModeEmbedded, ModeContainers or ModeExternal: what runs, never
	// ModeAuto.
	Mode string
	// Picked is set when Start was asked for ModeAuto: the mode it picked
	// and why, e.g. "auto: embedded: no Docker daemon answers at
	// unix:///var/run/docker.sock (...)".
	// Reports print it beside the labels. Empty for other modes.
	Picked string
	// KafkaBrokers are the bootstrap brokers as host:port.
	KafkaBrokers []string
	// KafkaListen is where an embedded broker listens when it advertises
	// another address (EmbeddedConfig.KafkaAdvertise: a proxy in front of
	// it); nil otherwise.
	KafkaListen []string
	// QdrantHost and QdrantPort address Qdrant's gRPC API.
	QdrantHost string
	QdrantPort int
	// KafkaLabel and QdrantLabel say what serves Kafka and Qdrant, with
	// versions where known, e.g. "kfake v1.2.3 (embedded stand-in,
	// in-process)". Reports print them beside every number.
	KafkaLabel, QdrantLabel string

	// KafkaOpts are applied to every client NewKafkaClient makes, after the
	// seed brokers and before the caller's options. They are the extension
	// point for TLS (kgo.DialTLSConfig) and SASL (kgo.SASL).
	KafkaOpts []kgo.Opt
	// QdrantDialOptions are applied to every client NewQdrantClient makes,
	// after its defaults. They are the extension point for TLS transport
	// credentials and per-RPC API keys.
	QdrantDialOptions []grpc.DialOption

	// KafkaCluster and QdrantServer are the embedded services, nil in other
	// modes. Tests use them to inject faults (KafkaCluster.Fault,
	// QdrantServer.SetFault) and to read counters.
	KafkaCluster *kfake.Cluster
	QdrantServer *qdrantfake.Server
	// QdrantEngine is true when Qdrant is the engine server
	// (EmbeddedConfig.QdrantEngine), in its own process QdrantPid, with its
	// Prometheus metrics at the URL QdrantMetrics.
	QdrantEngine  bool
	QdrantPid     int
	QdrantMetrics string

	// Containers is set in containers mode: the Docker daemon and the
	// containers the run started on it.
	Containers *ContainerSet

	closeOnce sync.Once
	closers   []func()
}

// QdrantAddr returns QdrantHost:QdrantPort.
func (e *Env) QdrantAddr() string {
	return net.JoinHostPort(e.QdrantHost, strconv.Itoa(e.QdrantPort))
}

// OnClose registers fn to run when the Env is closed, before what was registered
// earlier (e.g. stopping a child process that serves the services).
func (e *Env) OnClose(fn func()) { e.closers = append(e.closers, fn) }

// Close stops the services the Env started, in reverse order of start; for an
// external Env it does nothing. It is safe to call more than once.
func (e *Env) Close() {
	e.closeOnce.Do(func() {
		for i := len(e.closers) - 1; i >= 0; i-- {
			e.closers[i]()
		}
	})
}

// External addresses services that are already running.
type External struct {
	// Brokers are Kafka bootstrap brokers as host:port.
	Brokers []string
	// QdrantHost and QdrantPort address Qdrant's gRPC API; a zero port means
	// DefaultQdrantPort.
	QdrantHost string
	QdrantPort int
	// KafkaLabel and QdrantLabel override the labels Connect derives from the
	// addresses, for services whose nature is known (a `vectorstream infra
	// serve` process says it serves stand-ins).
	KafkaLabel, QdrantLabel string

	// Security is TLS, SASL, the Qdrant API key and the connect timeout;
	// Connect turns it into the Env's KafkaOpts and QdrantDialOptions.
	Security Security

	// KafkaOpts and QdrantDialOptions are copied to the Env after those
	// Security makes; see Env.
	KafkaOpts         []kgo.Opt
	QdrantDialOptions []grpc.DialOption
}

// Validate reports every problem with ext at once.
func (ext External) Validate() error {
	var errs []error
	if len(ext.Brokers) == 0 {
		errs = append(errs, errors.New("infra: external: no kafka brokers"))
	}
	for _, b := range ext.Brokers {
		if _, _, err := net.SplitHostPort(b); err != nil {
			errs = append(errs, fmt.Errorf("infra: external: kafka broker %q: %w", b, err))
		}
	}
	if ext.QdrantHost == "" {
		errs = append(errs, errors.New("infra: external: no qdrant host"))
	}
	if ext.QdrantPort < 0 || ext.QdrantPort > 65535 {
		errs = append(errs, fmt.Errorf("infra: external: qdrant port %d out of range", ext.QdrantPort))
	}
	errs = append(errs, problemsError("infra: external: ", ext.Security.Validate()))
	return errors.Join(errs...)
}

// Connect returns an Env for services that are already running. It does not
// dial anything; clients made from the Env connect when they are used (Check
// dials at once). It reads the secrets ext.Security names; if they or its
// certificates cannot be read, every dial of the Env's clients fails with the
// problem. Start validates ext first; callers of Connect may call
// ext.Validate.
func Connect(ext External) *Env {
	port := ext.QdrantPort
	if port == 0 {
		port = DefaultQdrantPort
	}
	kafkaOpts, err := ext.Security.kafkaOpts()
	if err != nil {
		kafkaOpts = []kgo.Opt{failKafka(err)}
	}
	qdrantOpts, err := ext.Security.qdrantDialOptions()
	if err != nil {
		qdrantOpts = []grpc.DialOption{failQdrant(err)}
	}
	env := &Env{
		Mode:              ModeExternal,
		KafkaBrokers:      append([]string(nil), ext.Brokers...),
		QdrantHost:        ext.QdrantHost,
		QdrantPort:        port,
		KafkaLabel:        ext.KafkaLabel,
		QdrantLabel:       ext.QdrantLabel,
		KafkaOpts:         append(kafkaOpts, ext.KafkaOpts...),
		QdrantDialOptions: append(qdrantOpts, ext.QdrantDialOptions...),
	}
	if env.KafkaLabel == "" {
		env.KafkaLabel = "Kafka (external, " + strings.Join(ext.Brokers, ",") + ")"
	}
	if env.QdrantLabel == "" {
		env.QdrantLabel = "Qdrant (external, " + env.QdrantAddr() + ")"
	}
	return env
}

// Start brings up the infrastructure of a mode: ModeEmbedded starts emb,
// ModeExternal connects to ext, ModeContainers starts Kafka and Qdrant
// containers with emb's partitions and topics (StartContainers), and ModeAuto
// does ModeContainers when DockerAvailable and ModeEmbedded otherwise,
// recording the choice in Env.Picked.
func Start(ctx context.Context, mode string, emb EmbeddedConfig, ext External) (*Env, error) {
	switch mode {
	case ModeEmbedded, "":
		return StartEmbedded(ctx, emb)
	case ModeExternal:
		if err := ext.Validate(); err != nil {
			return nil, err
		}
		return Connect(ext), nil
	case ModeContainers:
		return StartContainers(ctx, containersConfigFrom(emb))
	case ModeAuto:
		return startAuto(ctx, emb)
	}
	return nil, fmt.Errorf("infra: unknown mode %q (want %s, %s, %s or %s)", mode, ModeEmbedded, ModeContainers, ModeExternal, ModeAuto)
}

// NewQdrantClient returns the official Qdrant client for env, with message
// limits of MaxQdrantMessageSize and env.QdrantDialOptions (TLS and API key
// in external mode). For an embedded Env the version check is
// skipped: the stand-in reports the client's version by construction.
func NewQdrantClient(env *Env) (*qdrant.Client, error) {
	return newQdrantClient(env, env.Mode == ModeEmbedded, 0)
}

// NewKafkaClient returns a franz-go client seeded with env's brokers, with
// env.KafkaOpts and then opts applied.
func NewKafkaClient(env *Env, opts ...kgo.Opt) (*kgo.Client, error) {
	all := make([]kgo.Opt, 0, 1+len(env.KafkaOpts)+len(opts))
	all = append(all, kgo.SeedBrokers(env.KafkaBrokers...))
	all = append(all, env.KafkaOpts...)
	all = append(all, opts...)
	c, err := kgo.NewClient(all...)
	if err != nil {
		return nil, fmt.Errorf("infra: kafka client for %s: %w", strings.Join(env.KafkaBrokers, ","), err)
	}
	return c, nil
}
