package infra

import (
	"fmt"
	"net"
	"strconv"
)

// ParseQdrantAddr splits a Qdrant gRPC address host:port. It refuses Qdrant's REST
// port, 6333: VectorStream speaks gRPC (6334 by default). This is the one parser of a
// Qdrant address, for scenarios (infra.qdrant_addr) and commands (--qdrant) alike.
func ParseQdrantAddr(addr string) (host string, port int, err error) {
	if host, port, err = splitAddr(addr); err != nil {
		return "", 0, err
	}
	if port == 6333 {
		return "", 0, fmt.Errorf("%q: 6333 is Qdrant's REST port; VectorStream speaks gRPC, on 6334 by default", addr)
	}
	return host, port, nil
}

// splitAddr splits host:port, with the port a number in [1, 65535]. Addresses of
// Qdrant servers this package started itself (stand-in, container) are split with it;
// ones a user gives go through ParseQdrantAddr.
func splitAddr(addr string) (host string, port int, err error) {
	host, portS, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("%q: %w", addr, err)
	}
	port, err = strconv.Atoi(portS)
	if err != nil || port < 1 || port > 65535 {
		return "", 0, fmt.Errorf("%q: port %q is not a number in [1, 65535]", addr, portS)
	}
	return host, port, nil
}
