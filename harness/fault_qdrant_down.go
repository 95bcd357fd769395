package harness

import "github.com/vectorstream/vectorstream/infra/faultproxy"

// FaultQdrantDown takes Qdrant off the wire for the window: the fault proxy in
// front of it stops listening and drops its connections, so every RPC fails
// with UNAVAILABLE (connection refused), as when Qdrant's process is gone.
const FaultQdrantDown = "qdrant_down"

func init() { registerFault(FaultQdrantDown, newQdrantDown) }

func newQdrantDown(spec FaultSpec) Fault {
	return qdrantFault{spec: spec, in: faultproxy.GRPCFault{Kind: faultproxy.GRPCDown}}
}
