// Package infra decides where Kafka and Qdrant come from and hands out
// clients for them. It owns the infrastructure modes of DESIGN.md:
//
//   - embedded: franz-go's kfake (one in-process broker on loopback) and
//     qdrantfake (an in-process server speaking Qdrant's gRPC API, its points in memory or on disk),
//     started by StartEmbedded, or as their own process by Serve for
//     `vectorstream infra serve`;
//   - external: addresses of services already running (Connect), with TLS,
//     SASL and a Qdrant API key from Security (secrets from environment
//     variables or files, never printed), checked by Check within a timeout;
//   - containers: apache/kafka and qdrant/qdrant containers through
//     testcontainers-go (StartContainers; needs a Docker daemon);
//   - auto: containers when a Docker daemon answers, embedded otherwise
//     (Env.Picked says which and why).
//
// Every Env carries labels that say what is behind it; numbers measured
// against the embedded stand-ins must be reported with those labels and never
// as Kafka's or Qdrant's.
//
// Errors of a service that cannot be reached carry exitcode.Unreachable
// (internal/exitcode, exit 3), set here where infra dials and listens (see
// unreachable.go); callers need not, and main must not, guess it from the text.
//
// infra must not import pipeline, harness or cmd, must not read scenario
// files, and must not log: it returns errors and lets its callers decide.
package infra
