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

func TestCapFoldsTheRest(t *testing.T) {
	var l List
	for i := range Limit + 12 {
		l.Add("k", "%d", i)
	}
	errs := Cap(l.Errors())
	if len(errs) != Limit+1 || errs[Limit].Error() != "and 12 more problems" {
		t.Fatalf("Cap: %d errors, last %v", len(errs), errs[len(errs)-1])
	}
	if got := Cap(l.Errors()[:3]); len(got) != 3 {
		t.Errorf("Cap of 3: %d", len(got))
	}
}
