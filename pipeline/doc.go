// Package pipeline is the system under test: it consumes raw events from Kafka as a
// consumer group, cuts micro-batches by interval or size, validates each event (bad
// ones go to the dead-letter topic with the reason, source partition and offset in
// headers), embeds the batch, upserts event vectors and per-user behaviour profiles
// into Qdrant and commits offsets only after Qdrant acknowledged the writes.
//
// Point ids are UUIDv5 of the event id and profiles remember the last Kafka position
// they absorbed, so redelivery after a crash changes nothing: at-least-once delivery
// with idempotent writes has an exactly-once effect.
//
// The pipeline times every event through its stages (Stats) and serves health and
// Prometheus metrics. It does not generate load, start infrastructure or judge results;
// the harness does.
package pipeline
