package problem

import (
	"slices"
	"testing"
)

func TestUnderPrefixesPaths(t *testing.T) {
	var l List
	l.Add("batch.max_size", "must be >= %d, got %d", 1, 0)
	l.Under("pipeline", []Problem{{Path: "kafka.topic", Msg: "must not be empty"}, {Path: "", Msg: "whole"}})
	l.Under("faults", []Problem{{Path: "[2].at", Msg: "after the end"}})
	got := make([]string, len(l))
	for i, p := range l {
		got[i] = p.Error()
	}
	want := []string{"batch.max_size: must be >= 1, got 0", "pipeline.kafka.topic: must not be empty", "pipeline: whole", "faults[2].at: after the end"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
