package main

import (
	"flag"
	"io"
	"slices"
	"strings"
	"testing"
)

// fuzzFlags is a flag set like a command's: a string flag, a bool flag and a repeatable
// one, with the values it parsed.
type fuzzFlags struct {
	fs   *flag.FlagSet
	out  *string
	v    *bool
	sets *stringsFlag
}

func newFuzzFlags() fuzzFlags {
	fs := flag.NewFlagSet("fuzz", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f := fuzzFlags{fs: fs, out: fs.String("o", "", ""), v: fs.Bool("v", false, ""), sets: new(stringsFlag)}
	fs.Var(f.sets, "set", "")
	return f
}

// parsed is what a parse gave: the flags' values and the positionals.
type parsed struct {
	out  string
	v    bool
	sets []string
	args []string
}

func (f fuzzFlags) parse(args []string) (parsed, error) {
	err := f.fs.Parse(args)
	return parsed{*f.out, *f.v, slices.Clone(*f.sets), f.fs.Args()}, err
}

func (p parsed) equal(q parsed) bool {
	return p.out == q.out && p.v == q.v && slices.Equal(p.sets, q.sets) && slices.Equal(p.args, q.args)
}

func looksLikeFlag(a string) bool { return len(a) >= 2 && a[0] == '-' }

// FuzzInterspersed reorders a command line (arguments separated by NUL) with
// interspersed. Invariants: nothing panics; it is idempotent; it adds at most one "--"
// and otherwise keeps every argument (all of them unless the last is a flag wanting a
// value, which stays last so that the parse fails), flags and positionals each in
// their order; and a command line already in the standard form (flags first), which
// flag.Parse accepts, parses to the same flags and positionals after it.
func FuzzInterspersed(f *testing.F) {
	for _, s := range []string{
		"", "a.yaml", "a.yaml\x00-o\x00m.vsm", "-o\x00m.vsm\x00a.yaml", "a.yaml\x00-o", "-o\x00--\x00x",
		"a\x00--\x00-v\x00b", "-v\x00false\x00-o=1", "--set\x00load.rate=5\x00x\x00--set=a=b", "-\x00-v",
		"---o\x00x", "-h", "-o\x00-v\x00p", "--\x00--", "-v=false\x00a\x00-x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		args := strings.Split(s, "\x00")
		ff := newFuzzFlags()
		out := interspersed(ff.fs, args)
		if again := interspersed(ff.fs, out); !slices.Equal(again, out) {
			t.Fatalf("not idempotent: %q -> %q -> %q", args, out, again)
		}
		if err := keeps(ff.fs, args, out); err != "" {
			t.Fatalf("%q -> %q: %s", args, out, err)
		}
		std := newFuzzFlags()
		want, err := std.parse(args)
		if err != nil || slices.ContainsFunc(want.args, looksLikeFlag) {
			return
		}
		got, err := newFuzzFlags().parse(out)
		if err != nil || !got.equal(want) {
			t.Fatalf("%q parses to %+v; after interspersed %q: %+v, %v", args, want, out, got, err)
		}
	})
}

// keeps says how out fails to keep args ("" when it does): the same arguments and at
// most one added "--" (all but some positionals when the last argument is a dangling
// flag), the flags in their order before a "--" and the positionals in theirs after it.
func keeps(fs *flag.FlagSet, args, out []string) string {
	count := func(s []string) map[string]int {
		m := map[string]int{}
		for _, a := range s {
			m[a]++
		}
		return m
	}
	in, got := count(args), count(out)
	extra := got["--"] - in["--"]
	got["--"] -= max(extra, 0)
	last := args[len(args)-1]
	name := strings.TrimLeft(last, "-")
	fl := fs.Lookup(name)
	dangling := looksLikeFlag(last) && fl != nil && !strings.Contains(name, "=") && !isBool(fl) && len(out) > 0 && out[len(out)-1] == last
	for a, n := range got {
		if n > in[a] || (n < in[a] && !dangling) || extra > 1 {
			return "arguments lost or added"
		}
	}
	for a, n := range in {
		if got[a] != n && !dangling {
			return "arguments lost"
		}
	}
	if isSubsequence(out, args) {
		return ""
	}
	for i, a := range out {
		if a == "--" && isSubsequence(out[:i], args) && isSubsequence(out[i+1:], args) {
			return ""
		}
	}
	return "order not kept"
}

// isSubsequence reports whether a appears in b in order.
func isSubsequence(a, b []string) bool {
	i := 0
	for _, x := range b {
		if i < len(a) && a[i] == x {
			i++
		}
	}
	return i == len(a)
}

// FuzzInterspersedParse builds a command line from items (one a line: "o:V" -o V,
// "O:V" -o=V, "s:V" --set V, "b" -v, "p:P" a positional, "d:P" a "--" and then P, "e"
// a last -o without a value) and checks that it parses, after interspersed, to exactly
// the flags and positionals the items say, in their order; with "e", that it fails.
func FuzzInterspersedParse(f *testing.F) {
	for _, s := range []string{
		"p:a.yaml\no:m.vsm", "o:--\np:x", "p:a\nb\np:false\ns:load.rate=5\nO:x=y", "p:-\nb", "o:-v\np:p",
		"p:a\ne", "d:-o\nd:--", "s:\no:", "p:\nb", "o:a\no:b",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var args, after []string
		var want parsed
		dangling := false
		for _, it := range strings.Split(s, "\n") {
			kind, v, _ := strings.Cut(it, ":")
			switch kind {
			case "o":
				args, want.out = append(args, "-o", v), v
			case "O":
				args, want.out = append(args, "-o="+v), v
			case "s":
				args, want.sets = append(args, "--set", v), append(want.sets, v)
			case "b":
				args, want.v = append(args, "-v"), true
			case "p":
				if looksLikeFlag(v) {
					v = "x" + v
				}
				args, want.args = append(args, v), append(want.args, v)
			case "d":
				after = append(after, v)
			case "e":
				dangling = true
			}
		}
		want.args = append(want.args, after...)
		if len(after) > 0 {
			args = append(append(args, "--"), after...)
		}
		if dangling && len(after) == 0 {
			args = append(args, "-o")
		}
		ff := newFuzzFlags()
		out := interspersed(ff.fs, args)
		got, err := ff.parse(out)
		if dangling && len(after) == 0 {
			if err == nil {
				t.Fatalf("%q -> %q: a last -o without a value parsed: %+v", args, out, got)
			}
			return
		}
		if err != nil || !got.equal(want) {
			t.Fatalf("%q -> %q parses to %+v, %v; want %+v", args, out, got, err, want)
		}
	})
}

func isBool(f *flag.Flag) bool {
	bf, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && bf.IsBoolFlag()
}
