package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/vectorstream/vectorstream/infra"
	"github.com/vectorstream/vectorstream/internal/childproc"
)

// infraServeFlags are the flags of `vectorstream infra serve`; the harness builds its
// argv with childproc.InfraServeArgs.
type infraServeFlags struct {
	kafkaAddr, qdrantAddr, control *string
	qdrantData, kafkaData          *string
	partitions                     *int
	topics                         stringsFlag
}

func newInfraServeFlags() (*flag.FlagSet, *infraServeFlags) {
	fs := flag.NewFlagSet(childproc.CmdInfra+" "+childproc.CmdInfraServe, flag.ContinueOnError)
	f := &infraServeFlags{
		kafkaAddr:  fs.String(childproc.FlagKafka, "127.0.0.1:9092", "address the embedded Kafka (kfake) listens on"),
		qdrantAddr: fs.String(childproc.FlagQdrant, "127.0.0.1:6334", "address the embedded Qdrant stand-in serves gRPC on"),
		control:    fs.String("control", "127.0.0.1:0", "address of the HTTP endpoint that makes the Qdrant stand-in misbehave (PUT/DELETE/GET /qdrant/fault)"),
		partitions: fs.Int(childproc.FlagPartitions, 4, "partitions of the seeded topics"),
		kafkaData:  fs.String(childproc.FlagKafkaData, "", "directory under which the embedded broker keeps its logs on disk, in a fresh directory removed when it stops, so its memory holds only their indexes (default: in memory)"),
		qdrantData: fs.String(childproc.FlagQdrantData, "", "directory under which the Qdrant stand-in keeps its points on disk, in a fresh directory removed when it stops, so its memory stays bounded (default: in memory)"),
	}
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
	fmt.Fprintln(os.Stderr, "vectorstream infra serve: embedded stand-ins (kfake, a Qdrant-protocol server) — not Kafka or Qdrant; Ctrl-C stops them")
	return infra.Serve(ctx, infra.EmbeddedConfig{Partitions: *f.partitions, Topics: topics, KafkaAddr: *f.kafkaAddr, QdrantAddr: *f.qdrantAddr, QdrantDataDir: *f.qdrantData, KafkaDataDir: *f.kafkaData}, *f.control, os.Stdout)
}
