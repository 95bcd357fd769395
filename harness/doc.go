// Package harness runs a scenario and judges it. A Scenario (scenario.go) is decoded
// strictly from YAML and composed from the configuration of each package it drives —
// the pipeline's (pipeline.Config), the fit's (embed.FitConfig), the validator's and
// the load profile's — whose problems it collects under their keys, so a bad file fails
// before any load with file:line:field for every problem.
//
// One run (Run, run.go) is a value that goes through its phases in order, each short
// and in its own place:
//
//	infra     startInfra     Kafka and Qdrant: embedded, containers or external (infra.go, external.go)
//	model     prepareModel   the generator, the backend (embed.SelectBackend), the model fitted or loaded
//	pipeline  startPipeline  in process, as one child, as a group or restartable (pipelines.go, handle.go, restart.go)
//	offer     offer          the open-loop load, the faults and the per-second sampler (offer.go, load.go, timeline.go, fault*.go),
//	                         which reads every process's RssAnon from the run's process table (procs.go)
//	drain     drain          until every acknowledged record is committed and the spool replayed (drain.go)
//	collect   collect        final statistics, counts, throughput, latency, recovery times (judge.go summarise),
//	                         memory per process (procs.go processMemory)
//	verify    verify         by identity against the regenerated stream, one method per check (verify.go)
//	judge     judge          validity, gates and the verdict (judge.go, Result.Verdict)
//
// Before a run, CheckFits (estimate.go) estimates the memory and disk it needs here
// and refuses one that cannot fit; bench's --force skips it.
//
// RunSeries runs a sweep or repeats of one scenario. Faults (fault.go) sit behind one
// interface, one file per kind, found in a registry; each acts on what the run
// knows (the fault proxies it puts on the wire to Qdrant and Kafka, wire.go; the
// broker's commands; the pipeline process), never on a stand-in's own types.
//
// The harness measures and judges; it does not process events (package pipeline does),
// draw plots (package reports) or choose exit codes (package main does, from the class
// an error carries).
package harness
