package harness

import "github.com/vectorstream/vectorstream/infra/faultproxy"

// FaultQdrantPartition cuts the wire to Qdrant for the window without closing
// it: the fault proxy accepts connections and RPCs and answers none, so every
// call waits for its own deadline, as when packets to Qdrant are lost. Calls
// still waiting when it ends are forwarded then.
const FaultQdrantPartition = "qdrant_partition"

func init() { registerFault(FaultQdrantPartition, newQdrantPartition) }

func newQdrantPartition(spec FaultSpec) Fault {
	return qdrantFault{spec: spec, in: faultproxy.GRPCFault{Kind: faultproxy.GRPCPartition}}
}
