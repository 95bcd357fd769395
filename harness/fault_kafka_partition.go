package harness

import "github.com/vectorstream/vectorstream/infra/faultproxy"

// FaultKafkaPartition cuts the wire to the Kafka broker for the window without
// closing it: no byte passes either way, on open connections or new ones, so
// produces and fetches hang until the client's own timeouts; what was held is
// delivered when it ends.
const FaultKafkaPartition = "kafka_partition"

func init() { registerFault(FaultKafkaPartition, newKafkaPartition) }

func newKafkaPartition(spec FaultSpec) Fault {
	return kafkaFault{spec: spec, in: faultproxy.TCPFault{Kind: faultproxy.TCPPartition}}
}
