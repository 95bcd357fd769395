package childproc

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The vectorstream subcommands the harness starts as child processes.
const (
	// CmdPipeline is `vectorstream pipeline`.
	CmdPipeline = "pipeline"
	// CmdInfra and CmdInfraServe are `vectorstream infra serve`.
	CmdInfra      = "infra"
	CmdInfraServe = "serve"
	// CmdLoad is `vectorstream load` (with FlagPart, one of several load generators).
	CmdLoad = "load"
)

// The names (without dashes) of the flags of the child commands. cmd/vectorstream
// defines its flags with these constants, so argv built here always parses there.
const (
	FlagConfig   = "config"   // pipeline: the app_config.yaml file
	FlagModel    = "model"    // pipeline: the embedding model file
	FlagBackend  = "backend"  // pipeline: cpu, cuda or auto
	FlagBrokers  = "brokers"  // pipeline, load: Kafka bootstrap brokers, comma-separated
	FlagQdrant   = "qdrant"   // pipeline: Qdrant's gRPC address; infra serve: where the stand-in listens
	FlagSecurity = "security" // pipeline: a YAML file of TLS, SASL and API key settings
	FlagAnnounce = "announce" // pipeline: print the Announcement on stdout
	FlagKafka    = "kafka"    // infra serve: where the embedded Kafka listens
	// FlagKafkaAdvertise is infra serve's address for the broker to advertise
	// (a fault proxy in front of it).
	FlagKafkaAdvertise = "kafka-advertise"
	FlagPartitions     = "partitions"  // infra serve: partitions of the seeded topics
	FlagTopic          = "topic"       // infra serve: a topic to create (repeatable)
	FlagQdrantData     = "qdrant-data" // infra serve: where the Qdrant stand-in keeps its points on disk
	FlagKafkaData      = "kafka-data"  // infra serve: where the embedded broker keeps its logs on disk
	// FlagQdrantEngine is infra serve's Qdrant engine server binary; FlagQdrantStore
	// picks engine or standin (default: the engine when it is built).
	FlagQdrantEngine = "qdrant-engine"
	FlagQdrantStore  = "qdrant-store"
	FlagPart         = "part"  // load: k/M, this process's share of the schedule
	FlagStart        = "start" // load: the schedule's start, Unix nanoseconds
	FlagOut          = "out"   // load: where the part writes its report
)

func dash(name string) string { return "--" + name }

// PipelineArgs are what a `vectorstream pipeline` child process is started with. It
// always announces its health address (FlagAnnounce).
type PipelineArgs struct {
	Config, Model, Backend string
	Brokers                []string
	Qdrant                 string
	// Security is the file of security settings; "" passes none.
	Security string
}

// Argv returns the command line after the binary's name.
func (a PipelineArgs) Argv() []string {
	argv := []string{CmdPipeline, dash(FlagConfig), a.Config, dash(FlagModel), a.Model, dash(FlagBackend), a.Backend,
		dash(FlagBrokers), strings.Join(a.Brokers, ","), dash(FlagQdrant), a.Qdrant, dash(FlagAnnounce)}
	if a.Security != "" {
		argv = append(argv, dash(FlagSecurity), a.Security)
	}
	return argv
}

// InfraServeArgs are what a `vectorstream infra serve` child process is started with.
type InfraServeArgs struct {
	// Kafka and Qdrant are the listen addresses (port 0 picks a free one).
	Kafka, Qdrant string
	Partitions    int
	Topics        []string
	// QdrantDataDir is where the Qdrant stand-in keeps its points, in a fresh
	// directory it removes when it stops; "" keeps them in memory.
	QdrantDataDir string
	// KafkaDataDir is where the embedded broker keeps its logs, likewise.
	KafkaDataDir string
	// QdrantEngine is the Qdrant engine server's binary; "" serves the Go
	// stand-in.
	QdrantEngine string
	// KafkaAdvertise is the address the broker advertises instead of Kafka
	// (a fault proxy in front of it); "" advertises Kafka.
	KafkaAdvertise string
}

// Argv returns the command line after the binary's name.
func (a InfraServeArgs) Argv() []string {
	argv := []string{CmdInfra, CmdInfraServe, dash(FlagKafka), a.Kafka, dash(FlagQdrant), a.Qdrant,
		dash(FlagPartitions), strconv.Itoa(a.Partitions)}
	for _, t := range a.Topics {
		argv = append(argv, dash(FlagTopic), t)
	}
	if a.KafkaAdvertise != "" {
		argv = append(argv, dash(FlagKafkaAdvertise), a.KafkaAdvertise)
	}
	if a.QdrantDataDir != "" {
		argv = append(argv, dash(FlagQdrantData), a.QdrantDataDir)
	}
	if a.KafkaDataDir != "" {
		argv = append(argv, dash(FlagKafkaData), a.KafkaDataDir)
	}
	if a.QdrantEngine != "" {
		argv = append(argv, dash(FlagQdrantStore), "engine", dash(FlagQdrantEngine), a.QdrantEngine)
	} else {
		argv = append(argv, dash(FlagQdrantStore), "standin")
	}
	return argv
}

// LoadPartArgs are what a `vectorstream load --part k/M` child process is started
// with: it sends the events of Scenario whose sequence number is Part modulo Parts.
type LoadPartArgs struct {
	Part, Parts int
	// Start is the schedule's start, shared by all parts.
	Start    time.Time
	Brokers  []string
	Out      string
	Scenario string
}

// Argv returns the command line after the binary's name.
func (a LoadPartArgs) Argv() []string {
	return []string{CmdLoad, dash(FlagPart), FormatPart(a.Part, a.Parts),
		dash(FlagStart), strconv.FormatInt(a.Start.UnixNano(), 10), dash(FlagBrokers), strings.Join(a.Brokers, ","),
		dash(FlagOut), a.Out, a.Scenario}
}

// FormatPart spells FlagPart's value: k/m.
func FormatPart(k, m int) string { return strconv.Itoa(k) + "/" + strconv.Itoa(m) }

// ParsePart reads FlagPart's value as FormatPart spells it.
func ParsePart(s string) (k, m int, err error) {
	ks, ms, ok := strings.Cut(s, "/")
	if !ok {
		return 0, 0, fmt.Errorf("part %q: want k/M", s)
	}
	if k, err = strconv.Atoi(ks); err != nil {
		return 0, 0, fmt.Errorf("part %q: k: %w", s, err)
	}
	if m, err = strconv.Atoi(ms); err != nil {
		return 0, 0, fmt.Errorf("part %q: M: %w", s, err)
	}
	return k, m, nil
}
