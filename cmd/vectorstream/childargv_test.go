package main

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vectorstream/vectorstream/internal/childproc"
)

// isCommand reports whether name is one of the binary's commands.
func isCommand(name string) bool {
	return slices.ContainsFunc(commands(), func(c command) bool { return c.name == name })
}

// The argv the harness builds for its child processes parses with the flag sets of the
// commands it starts, into the values it meant.
func TestChildArgvParses(t *testing.T) {
	t.Parallel()
	t.Run("pipeline", func(t *testing.T) {
		t.Parallel()
		for _, a := range []childproc.PipelineArgs{
			{Config: "c.yaml", Model: "m.vsm", Backend: "cuda", Brokers: []string{"a:1", "b:2"}, Qdrant: "q:6334", Security: "s.yaml"},
			{Config: "c.yaml", Model: "m.vsm", Backend: "cpu", Brokers: []string{"a:1"}, Qdrant: "q:6334"},
		} {
			argv := a.Argv()
			fs, f := newPipelineFlags()
			if !isCommand(argv[0]) || fs.Parse(argv[1:]) != nil || fs.NArg() != 0 {
				t.Fatalf("%q does not parse as a command with its flags", argv)
			}
			got := childproc.PipelineArgs{Config: *f.acf.config, Model: *f.modelPath, Backend: *f.backend,
				Brokers: strings.Split(*f.brokers, ","), Qdrant: *f.qdrantAddr, Security: *f.security}
			if !reflect.DeepEqual(got, a) || !*f.announce {
				t.Errorf("%q parsed as %+v (announce %v), want %+v", argv, got, *f.announce, a)
			}
		}
	})
	t.Run("infra serve", func(t *testing.T) {
		t.Parallel()
		a := childproc.InfraServeArgs{Kafka: "127.0.0.1:0", Qdrant: "127.0.0.1:1", Partitions: 3, Topics: []string{"raw", "raw.dlq"}, QdrantDataDir: "/tmp/q", KafkaDataDir: "/tmp/k"}
		argv := a.Argv()
		fs, f := newInfraServeFlags()
		if !isCommand(argv[0]) || argv[1] != childproc.CmdInfraServe || fs.Parse(argv[2:]) != nil || fs.NArg() != 0 {
			t.Fatalf("%q does not parse as a command with its flags", argv)
		}
		if *f.kafkaAddr != a.Kafka || *f.qdrantAddr != a.Qdrant || *f.partitions != a.Partitions || !slices.Equal(f.topics, a.Topics) ||
			*f.qdrantData != a.QdrantDataDir || *f.kafkaData != a.KafkaDataDir {
			t.Errorf("%q parsed as kafka %s qdrant %s partitions %d topics %v qdrant data %s, want %+v", argv, *f.kafkaAddr, *f.qdrantAddr, *f.partitions, f.topics, *f.qdrantData, a)
		}
	})
	t.Run("load part", func(t *testing.T) {
		t.Parallel()
		a := childproc.LoadPartArgs{Part: 1, Parts: 3, Start: time.Unix(0, 1700000000123456789), Brokers: []string{"a:1", "b:2"}, Out: "p.gob", Scenario: "s.yaml"}
		argv := a.Argv()
		fs, f := newLoadFlags()
		if !isCommand(argv[0]) || fs.Parse(argv[1:]) != nil || fs.NArg() != 1 {
			t.Fatalf("%q does not parse as a command with its flags", argv)
		}
		k, m, err := childproc.ParsePart(*f.part)
		if err != nil || k != a.Part || m != a.Parts || *f.startNS != a.Start.UnixNano() || *f.brokers != strings.Join(a.Brokers, ",") ||
			*f.out != a.Out || fs.Arg(0) != a.Scenario || *f.calibrate {
			t.Errorf("%q parsed as part %s (%d/%d, %v) start %d brokers %s out %s scenario %s, want %+v", argv, *f.part, k, m, err, *f.startNS, *f.brokers, *f.out, fs.Arg(0), a)
		}
	})
}
