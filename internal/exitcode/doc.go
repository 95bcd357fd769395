// Package exitcode holds the exit codes of the vectorstream binary and the error
// that carries one, in the shape of k6's errext: the code that detects a problem
// classes its error there (With, WithIfNone, or by wrapping a class sentinel such
// as ErrConfig with %w), the class travels with the error through every wrap,
// and main reads it once with Of. No error text is ever matched to pick a code.
//
// The codes are the one table of README.md ("Exit codes"). exitcode imports only
// the standard library; every package of the module may import it.
//
// exitcode must not print, log or exit: it only classes errors; main turns the
// class into the process's exit status.
package exitcode
