// Command vectorstream measures real-time embedding pipelines: it drives synthetic
// e-commerce load through Kafka, a micro-batch embedding pipeline and Qdrant, verifies
// what was written and reports throughput, latency and gates.
//
// Exit codes (README.md "Exit codes"; internal/exitcode): errors carry their class
// from where they were found, and Execute reads it with exitcode.Of, nowhere else:
//
//	0   passed
//	1   run error
//	2   bad configuration or usage
//	3   a service could not be reached
//	4   measurement invalid (the harness, not the system, limited the run; or verification failed)
//	75  an injected fault (VECTORSTREAM_FAULT) stopped the process
//	99  a gate failed
package main

import "os"

func main() { os.Exit(Execute(os.Args[1:])) }
