package qdrantfake

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/qdrant/go-client/qdrant"
	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
)

// Version is the Qdrant version the server reports in its health check. The
// official client warns unless major versions match and minor versions are at
// most one apart, so it tracks the client version in go.mod.
const Version = "1.17.1"

// Title is the title the server reports in its health check. It says what the
// server is, so nobody mistakes it for Qdrant.
const Title = "qdrantfake - VectorStream embedded stand-in for Qdrant (exact search)"

// DefaultMaxMessageSize is the gRPC message size limit, in bytes, for both
// directions, large enough for upsert batches of thousands of vectors and for
// big scroll pages.
const DefaultMaxMessageSize = 64 << 20

// closeGrace is how long Close waits for RPCs in flight before it cuts them.
const closeGrace = 5 * time.Second

// Opt configures a Server.
type Opt interface{ apply(*cfg) }

type cfg struct {
	maxMsg  int
	version string
	dataDir string
	fault   func(method string) error
	unary   []grpc.UnaryServerInterceptor // run by Listen's server; see WithAPIKey
}

type optFunc func(*cfg)

func (f optFunc) apply(c *cfg) { f(c) }

func defaultCfg() cfg {
	return cfg{maxMsg: DefaultMaxMessageSize, version: Version}
}

// WithMaxMessageSize sets the gRPC receive and send message size limit of a
// server started by Listen, overriding DefaultMaxMessageSize.
func WithMaxMessageSize(n int) Opt { return optFunc(func(c *cfg) { c.maxMsg = n }) }

// WithVersion sets the version reported by the health check, overriding
// Version.
func WithVersion(v string) Opt { return optFunc(func(c *cfg) { c.version = v }) }

// WithDataDir keeps points on disk, under a fresh directory the server makes
// in dir (created if missing) and Close removes, overriding the default of
// keeping them in memory. The server's memory then stays bounded however many
// points it holds: each collection keeps an index in pebble and an
// append-only log of point records (replaced and deleted points stay in the
// log until the collection is dropped). Nothing survives a restart.
func WithDataDir(dir string) Opt { return optFunc(func(c *cfg) { c.dataDir = dir }) }

// WithFault installs a fault hook at construction, overriding the default of
// none; see Server.SetFault.
func WithFault(fn func(method string) error) Opt { return optFunc(func(c *cfg) { c.fault = fn }) }

// faultFunc wraps the hook so that it can live in an atomic.Pointer.
type faultFunc struct{ fn func(method string) error }

// Server is a Qdrant stand-in, its points in memory or, with WithDataDir, on
// disk. Its methods are safe for concurrent use.
type Server struct {
	cfg cfg

	fault atomic.Pointer[faultFunc]
	opSeq atomic.Uint64

	callsMu sync.Mutex
	calls   map[string]uint64

	mu          sync.RWMutex // guards collections (the map, not their contents)
	collections map[string]*collection

	disk     *diskDB // with WithDataDir; nil keeps points in memory
	diskErr  error   // why the data dir could not be opened
	released bool    // guarded by mu: Close has dropped everything

	// Set by Listen.
	grpcServer *grpc.Server
	ln         net.Listener
	served     chan error
	closeOnce  sync.Once
	closeErr   error

	healthService healthService
	collService   collectionsService
	pointsService pointsService
}

// New returns a Server with no collections. It serves nothing until it is
// registered on a gRPC server (Register) or started with Listen. With
// WithDataDir, a data dir that cannot be opened makes every collection create
// fail (Listen reports it at once); Close removes the data dir.
func New(opts ...Opt) *Server {
	s := &Server{
		cfg:         defaultCfg(),
		calls:       make(map[string]uint64),
		collections: make(map[string]*collection),
	}
	for _, o := range opts {
		o.apply(&s.cfg)
	}
	s.healthService.s = s
	s.collService.s = s
	s.pointsService.s = s
	if s.cfg.fault != nil {
		s.SetFault(s.cfg.fault)
	}
	if s.cfg.dataDir != "" {
		s.disk, s.diskErr = openDiskDB(s.cfg.dataDir)
	}
	return s
}

// newStore returns an empty point store for a new collection. Callers hold mu.
func (s *Server) newStore(specs []vectorSpec) (pointStore, error) {
	switch {
	case s.disk != nil && s.released:
		return nil, errStore("create collection", errors.New("server closed"))
	case s.diskErr != nil:
		return nil, errStore("open data dir", s.diskErr)
	case s.disk != nil:
		st, err := s.disk.newStore(specs)
		if err != nil {
			return nil, errStore("create collection", err)
		}
		return st, nil
	}
	return newMemStore(), nil
}

// Register registers the Qdrant, Collections and Points services on r.
// Faults and call counters work whichever server the services run on.
func (s *Server) Register(r grpc.ServiceRegistrar) {
	qdrant.RegisterQdrantServer(r, &s.healthService)
	qdrant.RegisterCollectionsServer(r, &s.collService)
	qdrant.RegisterPointsServer(r, &s.pointsService)
}

// Listen starts a Server on its own gRPC server listening on addr
// ("127.0.0.1:0" picks a free port). Close stops it.
func Listen(addr string, opts ...Opt) (*Server, error) {
	s := New(opts...)
	if s.diskErr != nil {
		return nil, s.diskErr
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("qdrantfake: listen on %s: %w", addr, err), s.release())
	}
	s.ln = ln
	s.grpcServer = grpc.NewServer(
		grpc.MaxRecvMsgSize(s.cfg.maxMsg),
		grpc.MaxSendMsgSize(s.cfg.maxMsg),
		// The official client pings every 10 s even when idle; Qdrant accepts that,
		// grpc-go's default policy answers it with GOAWAY "too_many_pings".
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 5 * time.Second, PermitWithoutStream: true}),
		grpc.ChainUnaryInterceptor(s.cfg.unary...),
	)
	s.Register(s.grpcServer)
	s.served = make(chan error, 1)
	go func() { s.served <- s.grpcServer.Serve(ln) }()
	return s, nil
}

// Addr returns the address a Listen server listens on, as host:port, or ""
// for a Server made with New.
func (s *Server) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Close stops a server started by Listen: it waits up to five seconds for RPCs
// in flight, then cuts the rest. Then, for any Server, it drops every
// collection and removes the data dir (WithDataDir); RPCs that come later
// answer NotFound. It is safe to call more than once.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.closeErr = errors.Join(s.stop(), s.release())
	})
	return s.closeErr
}

// stop stops the gRPC server Listen started, if any.
func (s *Server) stop() error {
	if s.grpcServer == nil {
		return nil
	}
	stopped := make(chan struct{})
	go func() {
		s.grpcServer.GracefulStop()
		close(stopped)
	}()
	t := time.NewTimer(closeGrace)
	select {
	case <-stopped:
		t.Stop()
	case <-t.C:
		s.grpcServer.Stop()
		<-stopped
	}
	if err := <-s.served; err != nil && err != grpc.ErrServerStopped {
		return fmt.Errorf("qdrantfake: serve: %w", err)
	}
	return nil
}

// release drops every collection and closes the data dir.
func (s *Server) release() error {
	s.mu.Lock()
	colls := s.collections
	s.collections = make(map[string]*collection)
	s.released = true
	s.mu.Unlock()
	var errs []error
	for _, c := range colls {
		if err := c.drop(); err != nil {
			errs = append(errs, err)
		}
	}
	if s.disk != nil {
		errs = append(errs, s.disk.close())
	}
	return errors.Join(errs...)
}

// SetFault installs a hook called before every RPC with its full gRPC method
// name (for example "/qdrant.Points/Upsert"). When it returns an error, the RPC
// fails with it and does nothing: an error made by status.Error keeps its code,
// any other error reaches the client as codes.Unknown. nil removes the hook.
// The hook runs on the RPC's goroutine and must be safe for concurrent use.
func (s *Server) SetFault(fn func(method string) error) {
	if fn == nil {
		s.fault.Store(nil)
		return
	}
	s.fault.Store(&faultFunc{fn: fn})
}

// Calls returns how many RPCs of the full method name have been received,
// including those a fault failed.
func (s *Server) Calls(method string) uint64 {
	s.callsMu.Lock()
	defer s.callsMu.Unlock()
	return s.calls[method]
}

// CallCounts returns a copy of the RPC counters by full method name.
func (s *Server) CallCounts() map[string]uint64 {
	s.callsMu.Lock()
	defer s.callsMu.Unlock()
	return maps.Clone(s.calls)
}

// enter counts an RPC and runs the fault hook; every handler calls it first.
func (s *Server) enter(method string) error {
	s.callsMu.Lock()
	s.calls[method]++
	s.callsMu.Unlock()
	if f := s.fault.Load(); f != nil {
		return f.fn(method)
	}
	return nil
}

// healthService implements the qdrant.Qdrant service.
type healthService struct {
	qdrant.UnimplementedQdrantServer
	s *Server
}

// HealthCheck answers qdrant.Qdrant/HealthCheck with Title and the configured
// version.
func (h *healthService) HealthCheck(context.Context, *qdrant.HealthCheckRequest) (*qdrant.HealthCheckReply, error) {
	s := h.s
	if err := s.enter(qdrant.Qdrant_HealthCheck_FullMethodName); err != nil {
		return nil, err
	}
	commit := "qdrantfake"
	return &qdrant.HealthCheckReply{Title: Title, Version: s.cfg.version, Commit: &commit}, nil
}

// collection returns the named collection or Qdrant's NotFound error.
func (s *Server) collection(name string) (*collection, error) {
	s.mu.RLock()
	c := s.collections[name]
	s.mu.RUnlock()
	if c == nil {
		return nil, errNotFound(name)
	}
	return c, nil
}

// collectionNames returns the collection names, sorted.
func (s *Server) collectionNames() []string {
	s.mu.RLock()
	names := make([]string, 0, len(s.collections))
	for n := range s.collections {
		names = append(names, n)
	}
	s.mu.RUnlock()
	sort.Strings(names)
	return names
}

func since(start time.Time) float64 { return time.Since(start).Seconds() }
