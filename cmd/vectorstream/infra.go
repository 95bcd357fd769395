package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/vectorstream/vectorstream/infra"
)

func runInfra(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "serve" {
		return usageErr("infra takes a subcommand: serve")
	}
	fs := flag.NewFlagSet("infra serve", flag.ContinueOnError)
	kafkaAddr := fs.String("kafka", "127.0.0.1:9092", "address the embedded Kafka (kfake) listens on")
	qdrantAddr := fs.String("qdrant", "127.0.0.1:6334", "address the embedded Qdrant stand-in serves gRPC on")
	control := fs.String("control", "127.0.0.1:0", "address of the HTTP endpoint that makes the Qdrant stand-in misbehave (PUT/DELETE/GET /qdrant/fault)")
	partitions := fs.Int("partitions", 4, "partitions of the seeded topics")
	var topics stringsFlag
	fs.Var(&topics, "topic", "topic to create (repeatable; default raw_data and raw_data.dlq)")
	if err := fs.Parse(args[1:]); err != nil {
		return flagErr(err)
	}
	if len(topics) == 0 {
		topics = stringsFlag{"raw_data", "raw_data.dlq"}
	}
	fmt.Fprintln(os.Stderr, "vectorstream infra serve: embedded stand-ins (kfake, in-memory Qdrant protocol server) — not Kafka or Qdrant; Ctrl-C stops them")
	return infra.Serve(ctx, infra.EmbeddedConfig{Partitions: *partitions, Topics: topics, KafkaAddr: *kafkaAddr, QdrantAddr: *qdrantAddr}, *control, os.Stdout)
}
