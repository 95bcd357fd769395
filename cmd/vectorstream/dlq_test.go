package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vectorstream/vectorstream/event"
	"github.com/vectorstream/vectorstream/internal/exitcode"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/vectorstream/vectorstream/infra"
	"github.com/vectorstream/vectorstream/pipeline"
)

// vectorstream runs the test binary as `vectorstream args...` and returns its stdout
// and exit code.
func vectorstream(t *testing.T, args ...string) (string, int) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), self, args...)
	cmd.Env = append(os.Environ(), "VECTORSTREAM_TEST_MAIN=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return stdout.String(), 0
	case errors.As(err, &ee):
		t.Logf("vectorstream %v: stderr:\n%s", args, stderr.String())
		return stdout.String(), ee.ExitCode()
	}
	t.Fatalf("vectorstream %v: %v", args, err)
	return "", 0
}

// Dead letters of stale events come back after a replay whose validator accepts older
// timestamps; a malformed one stays; a second replay finds nothing new.
func TestDLQInspectAndReplayEndToEnd(t *testing.T) {
	ctx := t.Context()
	env, err := infra.StartEmbedded(ctx, infra.EmbeddedConfig{Partitions: 2, Topics: []string{"raw_data", "raw_data.dlq"}})
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	brokers := strings.Join(env.KafkaBrokers, ",")
	cl, err := infra.NewKafkaClient(env)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()

	now := time.Now().UTC()
	strict := event.NewValidator(event.ValidatorConfig{MaxPast: 24 * time.Hour})
	var dead []*kgo.Record
	for i := range 4 {
		id := "ev-" + strconv.Itoa(i)
		ev := event.Event{SchemaVersion: event.SchemaVersion, EventID: id, EventType: event.PageView,
			Timestamp: now.Add(-48 * time.Hour), UserID: "u-" + strconv.Itoa(i), SessionID: "s", Device: "web", Locale: "en-US"}
		value := ev.AppendJSON(nil)
		if i == 3 {
			value = value[:len(value)/2]
		}
		_, rej := strict.Validate(value, now)
		if rej == nil {
			t.Fatalf("%s passed", id)
		}
		dead = append(dead, &kgo.Record{Topic: "raw_data.dlq", Key: []byte(ev.UserID), Value: value, Headers: []kgo.RecordHeader{
			{Key: event.HeaderEventID, Value: []byte(id)},
			{Key: event.HeaderDLQReason, Value: []byte(rej.Reason)},
			{Key: event.HeaderDLQField, Value: []byte(rej.Field)},
			{Key: event.HeaderDLQDetail, Value: []byte(rej.Detail)},
			{Key: event.HeaderDLQTopic, Value: []byte("raw_data")},
			{Key: event.HeaderDLQPartition, Value: []byte("0")},
			{Key: event.HeaderDLQOffset, Value: []byte(strconv.Itoa(i))},
		}})
	}
	if err := cl.ProduceSync(ctx, dead...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	out, code := vectorstream(t, "dlq", "inspect", "--brokers", brokers, "--samples", "1", "--json")
	var rep pipeline.DLQReport
	if code != exitcode.OK || json.Unmarshal([]byte(out), &rep) != nil {
		t.Fatalf("dlq inspect: exit %d, output %q", code, out)
	}
	stale, broken := string(event.ReasonTimestampOutOfRange), string(event.ReasonTruncatedJSON)
	if rep.Total != 4 || rep.ByReason[stale] != 3 || rep.ByReason[broken] != 1 || len(rep.Samples[stale]) != 1 {
		t.Errorf("dlq inspect: %+v", rep)
	}
	out, code = vectorstream(t, "dlq", "inspect", "--brokers", brokers)
	if code != exitcode.OK || !strings.Contains(out, stale) || !strings.Contains(out, "4 records") {
		t.Errorf("dlq inspect (table): exit %d, output\n%s", code, out)
	}
	t.Logf("dlq inspect:\n%s", out)

	replay := []string{"dlq", "replay", "--brokers", brokers, "--config", "../../configs/app_config.yaml", "--set", "validator.max_past=72h", "--json"}
	out, code = vectorstream(t, replay...)
	var rr pipeline.ReplayReport
	if code != exitcode.OK || json.Unmarshal([]byte(out), &rr) != nil {
		t.Fatalf("dlq replay: exit %d, output %q", code, out)
	}
	if rr.Read != 4 || rr.Reinjected != 3 || rr.ReinjectedByTopic["raw_data"] != 3 || rr.StillInvalidByReason[broken] != 1 {
		t.Errorf("dlq replay: %+v", rr)
	}
	var ids []string
	cl.AddConsumePartitions(map[string]map[int32]kgo.Offset{"raw_data": {0: kgo.NewOffset().AtStart(), 1: kgo.NewOffset().AtStart()}})
	pollCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for len(ids) < 3 {
		fs := cl.PollFetches(pollCtx)
		if err := fs.Err0(); err != nil {
			t.Fatal(err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			for _, h := range r.Headers {
				if h.Key == event.HeaderEventID {
					ids = append(ids, string(h.Value))
				}
			}
		})
	}
	if slices.Sort(ids); !slices.Equal(ids, []string{"ev-0", "ev-1", "ev-2"}) {
		t.Errorf("raw_data holds %v, want ev-0..2", ids)
	}

	out, code = vectorstream(t, replay...)
	rr = pipeline.ReplayReport{}
	if code != exitcode.OK || json.Unmarshal([]byte(out), &rr) != nil || rr.Read != 0 {
		t.Errorf("second dlq replay: exit %d, output %q", code, out)
	}

	for _, tc := range []struct {
		args []string
		want int
	}{
		{[]string{"dlq"}, exitcode.Config},
		{[]string{"dlq", "purge"}, exitcode.Config},
		{[]string{"dlq", "inspect", "--samples", "-1"}, exitcode.Config},
		{[]string{"dlq", "replay", "--brokers", brokers, "--config", "../../configs/app_config.yaml", "--set", "validator.max_past=0s"}, exitcode.Config},
		{[]string{"dlq", "replay", "--brokers", brokers, "--config", "missing.yaml"}, exitcode.Config},
		{[]string{"dlq", "inspect", "--brokers", brokers, "--topic", "no-such-topic"}, exitcode.RunError},
	} {
		if got := Execute(tc.args); got != tc.want {
			t.Errorf("vectorstream %v: exit %d, want %d", tc.args, got, tc.want)
		}
	}
}
