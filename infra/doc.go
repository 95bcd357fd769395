// Package infra decides where Kafka and Qdrant come from and hands out
// clients for them. It owns the infrastructure modes of DESIGN.md:
//
//   - embedded: franz-go's kfake (one in-process broker on loopback) and
//     qdrantfake (an in-process, in-memory server speaking Qdrant's gRPC API),
//     started by StartEmbedded, or as their own process by Serve for
//     `vectorstream infra serve`;
//   - external: addresses of services already running (Connect);
//   - containers: not implemented yet (Start says so).
//
// Every Env carries labels that say what is behind it; numbers measured
// against the embedded stand-ins must be reported with those labels and never
// as Kafka's or Qdrant's.
//
// infra must not import pipeline, harness or cmd, must not read scenario
// files, and must not log: it returns errors and lets its callers decide.
package infra
