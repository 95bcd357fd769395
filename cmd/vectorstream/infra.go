package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/vectorstream/vectorstream/infra"
	"github.com/vectorstream/vectorstream/infra/qdrantengine"
	"github.com/vectorstream/vectorstream/internal/childproc"
	"github.com/vectorstream/vectorstream/internal/exitcode"
)

// infraServeFlags are the flags of `vectorstream infra serve`; the harness builds its
// argv with childproc.InfraServeArgs.
type infraServeFlags struct {
	kafkaAddr, qdrantAddr, control *string
	qdrantData, kafkaData          *string
	qdrantEngine, qdrantStore      *string
	kafkaAdvertise                 *string
	partitions                     *int
	topics                         stringsFlag
}

func newInfraServeFlags() (*flag.FlagSet, *infraServeFlags) {
	fs := flag.NewFlagSet(childproc.CmdInfra+" "+childproc.CmdInfraServe, flag.ContinueOnError)
	f := &infraServeFlags{
		kafkaAddr:  fs.String(childproc.FlagKafka, "127.0.0.1:9092", "address the embedded Kafka (kfake) listens on"),
		qdrantAddr: fs.String(childproc.FlagQdrant, "127.0.0.1:6334", "address Qdrant (the engine server, or the stand-in) serves gRPC on"),
		control:    fs.String("debug", "127.0.0.1:0", "address of the HTTP endpoint that serves the stand-ins' Go profiles (/debug/pprof; its URL is debug_url in the line printed on start)"),
		partitions: fs.Int(childproc.FlagPartitions, 4, "partitions of the seeded topics"),
		kafkaData:  fs.String(childproc.FlagKafkaData, "", "directory under which the embedded broker keeps its logs on disk, in a fresh directory removed when it stops, so its memory holds only their indexes (default: in memory)"),
		qdrantData: fs.String(childproc.FlagQdrantData, "", "directory under which Qdrant keeps its data, in a fresh directory removed when it stops: the stand-in's points (default: in memory), the engine server's segments and WAL (default: the user's cache directory)"),
	}
	f.kafkaAdvertise = fs.String(childproc.FlagKafkaAdvertise, "", "address the embedded Kafka advertises to clients instead of the one it listens on, as advertised.listeners: a proxy in front of it (default: the listen address)")
	f.qdrantStore = fs.String(childproc.FlagQdrantStore, "auto", "what serves Qdrant: engine (Qdrant's storage engine behind VectorStream's gRPC server, built by make engine), standin (the exact in-memory Go stand-in), or auto (the engine when it is built)")
	f.qdrantEngine = fs.String(childproc.FlagQdrantEngine, "", "the Qdrant engine server binary (default: $"+qdrantengine.EnvBinary+", else qdrant-engine beside this binary)")
	fs.Var(&f.topics, childproc.FlagTopic, "topic to create (repeatable; default raw_data and raw_data.dlq)")
	return fs, f
}

func runInfra(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != childproc.CmdInfraServe {
		return usageErr("infra takes a subcommand: serve")
	}
	fs, f := newInfraServeFlags()
	if err := fs.Parse(interspersed(fs, args[1:])); err != nil {
		return flagErr(err)
	}
	topics := f.topics
	if len(topics) == 0 {
		topics = stringsFlag{"raw_data", "raw_data.dlq"}
	}
	engine, err := serveEngine(*f.qdrantStore, *f.qdrantEngine)
	if err != nil {
		return err
	}
	qdrantIs := "the exact in-memory Qdrant stand-in"
	if engine != "" {
		qdrantIs = qdrantengine.Label
	}
	fmt.Fprintf(os.Stderr, "vectorstream infra serve: Kafka: kfake, an embedded stand-in, not Kafka; Qdrant: %s. Ctrl-C stops them\n", qdrantIs)
	return infra.Serve(ctx, infra.EmbeddedConfig{Partitions: *f.partitions, Topics: topics, KafkaAddr: *f.kafkaAddr, KafkaAdvertise: *f.kafkaAdvertise, QdrantAddr: *f.qdrantAddr,
		QdrantDataDir: *f.qdrantData, KafkaDataDir: *f.kafkaData, QdrantEngine: engine}, *f.control, os.Stdout)
}

// serveEngine is the engine binary infra serve runs for --qdrant-store and
// --qdrant-engine, "" for the stand-in; auto without a built engine says so
// on one line and serves the stand-in.
func serveEngine(store, bin string) (string, error) {
	switch store {
	case "standin":
		return "", nil
	case "engine", "auto":
	default:
		return "", usageErr("--%s must be engine, standin or auto, got %s", childproc.FlagQdrantStore, store)
	}
	if bin != "" {
		return bin, nil
	}
	found, err := qdrantengine.Find()
	switch {
	case err == nil:
		return found, nil
	case store == "auto" && errors.Is(err, qdrantengine.ErrNotBuilt):
		fmt.Fprintln(os.Stderr, "vectorstream infra serve: Qdrant: the in-memory stand-in, not Qdrant's engine:", err)
		return "", nil
	}
	return "", fmt.Errorf("%w: --%s %s: %w", exitcode.ErrConfig, childproc.FlagQdrantStore, store, err)
}
