package harness

import (
	"errors"
	"fmt"

	"github.com/vectorstream/vectorstream/infra/qdrantengine"
	"github.com/vectorstream/vectorstream/internal/exitcode"
)

// The values of infra.qdrant_store.
const (
	// QdrantStoreEngine is the Qdrant engine server: Qdrant's storage engine
	// (qdrant-edge) behind VectorStream's gRPC server, in a process of its own.
	QdrantStoreEngine = "engine"
	// QdrantStoreStandin is the exact in-memory Go stand-in (infra/qdrantfake).
	QdrantStoreStandin = "standin"
)

// qdrantStoreOf reports whether sc's embedded Qdrant would be the engine server,
// without changing sc.
func qdrantStoreOf(sc *Scenario) (engine bool, err error) {
	c := *sc
	if _, err := ResolveQdrantStore(&c); err != nil {
		return false, err
	}
	return c.Infra.QdrantStore == QdrantStoreEngine, nil
}

// ResolveQdrantStore settles infra.qdrant_store for an embedded run, before
// any load: an empty value becomes "engine" when the engine server is built
// (qdrantengine.Find), else "standin", with
// the reason returned as one line for the terminal. "engine" that is not
// built is a configuration error naming the field. Other modes are left
// alone. Calling it again does nothing more.
func ResolveQdrantStore(sc *Scenario) (fellBack string, err error) {
	if sc.Infra.Mode != "embedded" && sc.Infra.Mode != "auto" {
		return "", nil
	}
	if sc.Infra.QdrantStore == QdrantStoreStandin || sc.Infra.qdrantEngine != "" {
		return "", nil
	}
	bin, findErr := qdrantengine.Find()
	switch {
	case sc.Infra.QdrantStore == QdrantStoreEngine && findErr != nil:
		return "", fmt.Errorf("%w: %s: infra.qdrant_store: engine: %w", exitcode.ErrConfig, sc.File, findErr)
	case sc.Infra.QdrantStore == QdrantStoreEngine:
	case errors.Is(findErr, qdrantengine.ErrNotBuilt):
		sc.Infra.QdrantStore = QdrantStoreStandin
		return "Qdrant: the exact in-memory stand-in, not Qdrant's engine: " + findErr.Error(), nil
	case findErr != nil:
		return "", fmt.Errorf("%w: %s: Qdrant engine: %w", exitcode.ErrConfig, sc.File, findErr)
	}
	sc.Infra.QdrantStore, sc.Infra.qdrantEngine = QdrantStoreEngine, bin
	return "", nil
}
