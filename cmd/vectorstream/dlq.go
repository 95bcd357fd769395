package main

import (
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/vectorstream/vectorstream/infra"
	"github.com/vectorstream/vectorstream/internal/exitcode"
	"github.com/vectorstream/vectorstream/pipeline"
)

func runDLQ(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usageErr("dlq takes a subcommand: inspect or replay")
	}
	switch args[0] {
	case "inspect":
		return runDLQInspect(ctx, args[1:])
	case "replay":
		return runDLQReplay(ctx, args[1:])
	}
	return usageErr("dlq: unknown subcommand %q (want inspect or replay)", args[0])
}

// kafkaFlags are the connection flags every dlq subcommand takes.
type kafkaFlags struct {
	brokers, security *string
}

func addKafkaFlags(fs *flag.FlagSet) kafkaFlags {
	return kafkaFlags{
		brokers:  fs.String("brokers", "127.0.0.1:9092", "Kafka bootstrap brokers, comma-separated"),
		security: fs.String("security", "", "YAML file with TLS and SASL settings (the keys of a scenario's infra: section: kafka_tls, kafka_sasl, timeout)"),
	}
}

// connect returns the client options for the cluster after checking that a broker
// answers within the security file's timeout.
func (k kafkaFlags) connect(ctx context.Context) ([]kgo.Opt, error) {
	sec, err := loadSecurity(*k.security)
	if err != nil {
		return nil, err
	}
	brokers := strings.Split(*k.brokers, ",")
	if *k.brokers == "" || slices.Contains(brokers, "") {
		return nil, usageErr("--brokers %q: want host:port[,host:port...]", *k.brokers)
	}
	env := infra.Connect(infra.External{Brokers: brokers, QdrantHost: "unused", Security: sec})
	opts := append([]kgo.Opt{kgo.SeedBrokers(env.KafkaBrokers...)}, env.KafkaOpts...)
	cl, err := kgo.NewClient(append(slices.Clone(opts), kgo.DialTimeout(sec.EffectiveTimeout()))...)
	if err != nil {
		return nil, fmt.Errorf("%w: --brokers %q: %w", exitcode.ErrConfig, *k.brokers, err)
	}
	defer cl.Close()
	pctx, cancel := context.WithTimeout(ctx, sec.EffectiveTimeout())
	defer cancel()
	if err := cl.Ping(pctx); err != nil {
		return nil, fmt.Errorf("%w: kafka %s: no broker answers within %s: %w", exitcode.ErrUnreachable, *k.brokers, sec.EffectiveTimeout(), err)
	}
	return opts, nil
}

func runDLQInspect(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("dlq inspect", flag.ContinueOnError)
	kf := addKafkaFlags(fs)
	topic := fs.String("topic", pipeline.DefaultConfig().Kafka.DLQTopic, "dead-letter topic")
	samples := fs.Int("samples", 3, "sample records to show per reason")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := fs.Parse(interspersed(fs, args)); err != nil {
		return flagErr(err)
	}
	if fs.NArg() > 0 {
		return usageErr("dlq inspect takes no arguments, got %q", fs.Args())
	}
	if *samples < 0 {
		return usageErr("--samples must be >= 0, got %d", *samples)
	}
	if *topic == "" {
		return usageErr("--topic must not be empty")
	}
	opts, err := kf.connect(ctx)
	if err != nil {
		return err
	}
	rep, err := pipeline.InspectDLQ(ctx, opts, *topic, *samples)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(os.Stdout, rep)
	}
	return writeInspect(os.Stdout, rep)
}

func runDLQReplay(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("dlq replay", flag.ContinueOnError)
	kf := addKafkaFlags(fs)
	acf := addAppConfigFlags(fs, "pipeline configuration: its validator section is what records are checked against, its kafka.dlq_topic the default --topic", "validator.max_past=72h")
	topic := fs.String("topic", "", "dead-letter topic (default: kafka.dlq_topic of the configuration)")
	target := fs.String("target", "", "topic to re-inject into (default: each record's source topic, from its dlq-source-topic header)")
	group := fs.String("group", pipeline.DefaultReplayGroup, "consumer group whose committed offsets remember how far replays got")
	dryRun := fs.Bool("dry-run", false, "validate and count, produce and commit nothing")
	limit := fs.Int("limit", 0, "read at most this many dead letters (0: all up to the end)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := fs.Parse(interspersed(fs, args)); err != nil {
		return flagErr(err)
	}
	if fs.NArg() > 0 {
		return usageErr("dlq replay takes no arguments, got %q", fs.Args())
	}
	if *limit < 0 {
		return usageErr("--limit must be >= 0, got %d", *limit)
	}
	if *group == "" {
		return usageErr("--group must not be empty")
	}
	cfg, err := acf.load()
	if err != nil {
		return err
	}
	if *topic == "" {
		*topic = cfg.Kafka.DLQTopic
	}
	if *target == *topic {
		return usageErr("--target %q is the dead-letter topic itself", *target)
	}
	opts, err := kf.connect(ctx)
	if err != nil {
		return err
	}
	rep, err := pipeline.ReplayDLQ(ctx, opts, pipeline.ReplayOptions{
		DLQTopic: *topic, Target: *target, Group: *group, Validator: cfg.Validator, DryRun: *dryRun, Limit: *limit,
	})
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(os.Stdout, rep)
	}
	return writeReplay(os.Stdout, rep)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	return nil
}

// sortedCounts returns m's keys, largest count first, then by name.
func sortedCounts(m map[string]int64) []string {
	return slices.SortedFunc(maps.Keys(m), func(a, b string) int {
		if m[a] != m[b] {
			return int(m[b] - m[a])
		}
		return strings.Compare(a, b)
	})
}

func countList(m map[string]int64, empty string) string {
	var parts []string
	for _, k := range sortedCounts(m) {
		name := k
		if name == "" {
			name = empty
		}
		parts = append(parts, fmt.Sprintf("%s=%d", name, m[k]))
	}
	return strings.Join(parts, " ")
}

func writeInspect(w io.Writer, rep pipeline.DLQReport) error {
	fmt.Fprintf(w, "dead-letter topic %s: %d records", rep.Topic, rep.Total)
	if rep.Total > 0 {
		fmt.Fprintf(w, ", dead-lettered %s .. %s", rep.Earliest.UTC().Format(time.RFC3339), rep.Latest.UTC().Format(time.RFC3339))
	}
	fmt.Fprintln(w)
	if rep.Total == 0 {
		return nil
	}
	fmt.Fprintf(w, "source topics: %s\n\n", countList(rep.BySourceTopic, "(none)"))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "REASON\tCOUNT\tFIELDS")
	for _, reason := range sortedCounts(rep.ByReason) {
		fmt.Fprintf(tw, "%s\t%d\t%s\n", reason, rep.ByReason[reason], countList(rep.ByField[reason], "(document)"))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	for _, reason := range sortedCounts(rep.ByReason) {
		ss := rep.Samples[reason]
		if len(ss) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s (%d of %d):\n", reason, len(ss), rep.ByReason[reason])
		for _, s := range ss {
			fmt.Fprintf(w, "  %s/%d@%d -> %s/%d@%d", s.SourceTopic, s.SourcePartition, s.SourceOffset, rep.Topic, s.Partition, s.Offset)
			if s.EventID != "" {
				fmt.Fprintf(w, "  event %s", s.EventID)
			}
			if s.Key != "" {
				fmt.Fprintf(w, "  key %q", s.Key)
			}
			fmt.Fprintln(w)
			if s.Field != "" || s.Detail != "" {
				fmt.Fprintf(w, "    %s: %s\n", cmp.Or(s.Field, "(document)"), s.Detail)
			}
			more := ""
			if s.ValueBytes > len(s.Value) {
				more = fmt.Sprintf(" … (%d bytes)", s.ValueBytes)
			}
			fmt.Fprintf(w, "    %s%s\n", printable(s.Value), more)
		}
	}
	return nil
}

// printable returns s as it is when it is valid UTF-8 without control characters, and
// quoted otherwise, so that a sample cannot garble the terminal.
func printable(s string) string {
	if utf8.ValidString(s) && !strings.ContainsFunc(s, unicode.IsControl) {
		return s
	}
	return strconv.Quote(s)
}

func writeReplay(w io.Writer, rep pipeline.ReplayReport) error {
	mode := ""
	if rep.DryRun {
		mode = ", dry run: nothing produced or committed"
	}
	fmt.Fprintf(w, "replay of %s (group %s%s): read %d, re-injected %d", rep.DLQTopic, rep.Group, mode, rep.Read, rep.Reinjected)
	if len(rep.ReinjectedByTopic) > 0 {
		fmt.Fprintf(w, " (%s)", countList(rep.ReinjectedByTopic, ""))
	}
	fmt.Fprintf(w, ", still invalid %d, unroutable %d, remaining %d\n", rep.StillInvalid, rep.Unroutable, rep.Remaining)
	if len(rep.StillInvalidByReason) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STILL INVALID\tCOUNT")
	for _, reason := range sortedCounts(rep.StillInvalidByReason) {
		fmt.Fprintf(tw, "%s\t%d\n", reason, rep.StillInvalidByReason[reason])
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	return nil
}
