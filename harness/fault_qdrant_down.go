package harness

import "github.com/vectorstream/vectorstream/infra"

// FaultQdrantDown makes every Qdrant RPC fail with UNAVAILABLE for the window.
const FaultQdrantDown = "qdrant_down"

func init() { registerFault(FaultQdrantDown, newQdrantDown) }

func newQdrantDown(spec FaultSpec) Fault {
	return qdrantFault{spec: spec, in: infra.Injection{Kind: infra.InjectDown}}
}
