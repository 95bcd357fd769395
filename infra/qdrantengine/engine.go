// Package qdrantengine starts VectorStream's Qdrant-protocol server on Qdrant's
// own storage engine (the Rust crate in infra/qdrant-engine, built on the
// qdrant-edge library) as a child process on a loopback port.
//
// The child prints one JSON line on standard output when it is ready:
// {"grpc":"127.0.0.1:P","metrics":"127.0.0.1:Q","engine":"qdrant-edge 0.7.0"}.
// It dies with its parent (Pdeathsig) and on SIGTERM flushes and exits.
package qdrantengine

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/vectorstream/vectorstream/internal/scratch"
)

// EnvBinary names the environment variable that points at a built engine
// binary. Tests use the Go stand-in unless it is set; `make engine` builds
// the binary at DefaultBinary.
const EnvBinary = "VECTORSTREAM_QDRANT_ENGINE"

// EngineVersion is the qdrant-edge version the server is built on
// (infra/qdrant-engine/Cargo.toml pins it; a test keeps the two in step).
const EngineVersion = "0.7.0"

// Label is how results and reports name a Qdrant served by the engine.
const Label = "Qdrant engine (qdrant-edge " + EngineVersion + " behind VectorStream's gRPC server), not a Qdrant server"

// Config says how to start the engine server.
type Config struct {
	// Binary is the engine executable; required.
	Binary string
	// DataDir is the parent directory of the server's storage; the server
	// keeps its collections in a fresh directory under it, named by the
	// caller's pid (internal/scratch), removed by Close. Required.
	DataDir string
	// Addr is the gRPC listen address; empty means 127.0.0.1:0.
	Addr string
	// MetricsAddr is the Prometheus listen address; empty means 127.0.0.1:0.
	MetricsAddr string
	// Stderr receives the server's log; nil discards it.
	Stderr io.Writer
	// StartTimeout bounds the wait for the ready line; zero means 60 s.
	StartTimeout time.Duration
}

// Server is a running engine child process.
type Server struct {
	cmd     *exec.Cmd
	dir     string
	ready   readyLine
	exited  chan struct{} // closed once the process was waited for
	waitErr error         // what Wait returned, set before exited is closed
}

type readyLine struct {
	GRPC    string `json:"grpc"`
	Metrics string `json:"metrics"`
	Engine  string `json:"engine"`
}

// BinaryFromEnv returns the binary named by EnvBinary, or "" when unset.
func BinaryFromEnv() string { return os.Getenv(EnvBinary) }

// Start launches the engine and waits until it accepts gRPC connections.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Binary == "" {
		return nil, errors.New("qdrantengine: no binary given")
	}
	if cfg.DataDir == "" {
		return nil, errors.New("qdrantengine: no data directory given")
	}
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.MetricsAddr == "" {
		cfg.MetricsAddr = "127.0.0.1:0"
	}
	if cfg.StartTimeout == 0 {
		cfg.StartTimeout = 60 * time.Second
	}
	// Named by this (the parent's) pid: a server whose parent was killed dies
	// with it (Pdeathsig), and the next Start under the same directory removes
	// what it left.
	dir, err := scratch.Dir(cfg.DataDir, "qdrant-engine-")
	if err != nil {
		return nil, fmt.Errorf("qdrantengine: data directory: %w", err)
	}
	args := []string{"--grpc-addr", cfg.Addr, "--metrics-addr", cfg.MetricsAddr, "--storage", dir}
	cmd := exec.Command(cfg.Binary, args...)
	cmd.Stderr = cfg.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("qdrantengine: %w", err)
	}
	if err := cmd.Start(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("qdrantengine: start %s: %w", cfg.Binary, err)
	}
	s := &Server{cmd: cmd, dir: dir, exited: make(chan struct{})}
	lines := make(chan readyLine, 1)
	readErr := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(out)
		if !sc.Scan() {
			readErr <- fmt.Errorf("exited before it was ready: %v", sc.Err())
			_, _ = io.Copy(io.Discard, out)
			return
		}
		var r readyLine
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil || r.GRPC == "" {
			readErr <- fmt.Errorf("unexpected ready line %q", sc.Text())
		} else {
			lines <- r
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	go func() {
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()
	timer := time.NewTimer(cfg.StartTimeout)
	defer timer.Stop()
	select {
	case r := <-lines:
		s.ready = r
		return s, nil
	case err = <-readErr:
	case <-timer.C:
		err = fmt.Errorf("not ready after %v", cfg.StartTimeout)
	case <-ctx.Done():
		err = ctx.Err()
	}
	_ = s.Close()
	return nil, fmt.Errorf("qdrantengine: %s: %w", cfg.Binary, err)
}

// Addr is the gRPC address, host:port.
func (s *Server) Addr() string { return s.ready.GRPC }

// MetricsAddr is the address of the server's Prometheus /metrics, host:port.
func (s *Server) MetricsAddr() string { return s.ready.Metrics }

// Engine is what the server says it runs on, e.g. "qdrant-edge 0.7.0".
func (s *Server) Engine() string { return s.ready.Engine }

// Pid is the server's process id, for memory sampling.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// Close stops the server (SIGTERM, then SIGKILL after 10 s) and removes its
// storage.
func (s *Server) Close() error {
	var err error
	_ = s.cmd.Process.Signal(syscall.SIGTERM) // fails harmlessly when it already exited
	select {
	case <-s.exited:
		if s.waitErr != nil {
			err = fmt.Errorf("qdrantengine: %w", s.waitErr)
		}
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
		err = errors.New("qdrantengine: killed after 10 s without exiting on SIGTERM")
	}
	if rerr := os.RemoveAll(s.dir); rerr != nil && err == nil {
		err = fmt.Errorf("qdrantengine: remove storage: %w", rerr)
	}
	return err
}

// ErrNotBuilt is Find's error when no engine binary is there.
var ErrNotBuilt = errors.New("the Qdrant engine server is not built: `make engine` builds it (needs cargo; about 10 minutes the first time), or set " + EnvBinary)

// Find returns the engine binary to run: the one EnvBinary names (which must
// exist), else qdrant-engine beside the running executable (where `make
// engine` puts it, next to bin/vectorstream), else ErrNotBuilt.
func Find() (string, error) {
	if p := BinaryFromEnv(); p != "" {
		if err := executable(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w", EnvBinary, p, err)
		}
		return p, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return "", ErrNotBuilt
	}
	p := filepath.Join(filepath.Dir(exe), "qdrant-engine")
	if executable(p) != nil {
		return "", ErrNotBuilt
	}
	return p, nil
}

func executable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file", p)
	}
	return nil
}

// DefaultBinary is where `make engine` puts the engine server, relative to
// the module root: beside bin/vectorstream, where Find looks.
var DefaultBinary = filepath.Join("bin", "qdrant-engine")
