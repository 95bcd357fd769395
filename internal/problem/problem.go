// Package problem is the one shape of a configuration problem: a setting, named by
// its dotted path ("pipeline.batch.max_size", "faults[2].at"), and what is wrong with
// it. Each package's configuration reports its own problems relative to itself; the
// one that embeds it prefixes them (Under), so a scenario's validation is composed
// from its parts'. The strict YAML loader turns a Path into file:line. It imports
// only the standard library.
package problem

import "fmt"

// Problem is one invalid setting.
type Problem struct {
	Path string // dotted path below the configuration's root; "" for the whole
	Msg  string // what is wrong, e.g. "must be > 0, got -1"
}

// Error implements error as "path: msg".
func (p Problem) Error() string {
	if p.Path == "" {
		return p.Msg
	}
	return p.Path + ": " + p.Msg
}

// List collects problems.
type List []Problem

// Add appends a problem of the setting at path.
func (l *List) Add(path, format string, args ...any) {
	*l = append(*l, Problem{Path: path, Msg: fmt.Sprintf(format, args...)})
}

// Under appends ps, each with its path below prefix ("" keeps them as they are).
func (l *List) Under(prefix string, ps []Problem) {
	for _, p := range ps {
		*l = append(*l, Problem{Path: Join(prefix, p.Path), Msg: p.Msg})
	}
}

// Join joins a prefix and a path with a dot, or an index ("[2]") without one.
func Join(prefix, path string) string {
	switch {
	case prefix == "":
		return path
	case path == "":
		return prefix
	case path[0] == '[':
		return prefix + path
	}
	return prefix + "." + path
}

// Errors returns the problems as errors, in order.
func (l List) Errors() []error {
	out := make([]error, len(l))
	for i, p := range l {
		out[i] = p
	}
	return out
}

// Limit is how many problems one report lists; Cap folds the rest into one line.
const Limit = 50

// Cap returns errs with at most Limit of them, the rest counted in a last one
// ("and 12 more problems"), so a file of a million bad keys reports in a screenful.
func Cap(errs []error) []error {
	if len(errs) <= Limit {
		return errs
	}
	return append(errs[:Limit:Limit], fmt.Errorf("and %d more problems", len(errs)-Limit))
}
