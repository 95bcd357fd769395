// Package childproc is the protocol between the harness and the vectorstream processes
// it starts from its own binary: the argv of each child command (`vectorstream
// pipeline`, `vectorstream infra serve`, `vectorstream load --part`) with the flag names
// cmd/vectorstream defines its flags by, the line a pipeline process announces its
// health address with, and both ends of the /debug/vectorstream/* endpoints through
// which the harness reads a pipeline process's counters and histograms: Register (the
// server, in the pipeline process) and Client (in the harness), with the paths and the
// JSON bodies they exchange.
//
// Env gives each child the environment meant for it: the parent's without the
// VECTORSTREAM_* variables that are not passed on to that child (internal/envvars).
//
// It may import pipeline (for the types it carries), internal/measure and
// internal/envvars; pipeline must not import it. It starts no process and parses no
// command line itself.
package childproc
