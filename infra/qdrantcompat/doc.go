// Package qdrantcompat holds only tests: one conformance table that pins down
// where real Qdrant (1.18) answers differently from what a Qdrant-protocol
// server might be tempted to answer, and runs every row through the official
// Go client against each Qdrant-protocol server VectorStream ships: always
// the Go stand-in (infra/qdrantfake, in-process), and the engine server
// (infra/qdrantengine) when VECTORSTREAM_QDRANT_ENGINE names its binary.
//
// Each row asserts what Qdrant answers: the gRPC status code and the salient
// text of its message, or the field its reply fills; differences() names the
// Qdrant sources the rows follow. The package must not hold non-test code, and
// its tests must not need a real Qdrant, Docker or the network beyond
// loopback.
package qdrantcompat
