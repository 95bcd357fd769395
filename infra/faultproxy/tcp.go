package faultproxy

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/Shopify/toxiproxy/v2/toxics"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Kinds of TCPFault.
const (
	// TCPLatency delays every chunk of bytes the upstream sends by Latency, so
	// each request's answer comes that much later.
	TCPLatency = "latency"
	// TCPPartition passes no byte either way until the fault ends: open
	// connections hang (their writes back up as TCP's would), new ones are
	// accepted and hang too. Nothing is dropped: what was held is delivered
	// when the fault ends, as TCP delivers what it retransmitted once a
	// partition heals. A client that gave up on a request first has closed its
	// connection by then.
	TCPPartition = "partition"
)

// TCPFault is a misbehaviour of a TCP proxy, in force until cleared.
type TCPFault struct {
	Kind    string
	Latency time.Duration // TCPLatency
}

// holdToxic is the toxic of TCPPartition: it reads nothing, so the chunks behind
// it wait (and the reader of the connection blocks) until it is removed, when
// Toxiproxy passes its input on to the next stage. Toxiproxy's own "timeout"
// toxic drops what it reads instead, which would leave a Kafka connection out
// of step with its framing after the partition.
type holdToxic struct{}

// Pipe implements toxics.Toxic.
func (holdToxic) Pipe(stub *toxics.ToxicStub) { <-stub.Interrupt }

// holdType is holdToxic's name in Toxiproxy's registry of toxic types.
const holdType = "vectorstream_hold"

func init() { toxics.Register(holdType, new(holdToxic)) }

// TCP is a TCP proxy, Toxiproxy's, run in this process, that misbehaves on
// command. Make one with ListenTCP.
type TCP struct {
	px *toxiproxy.Proxy

	mu     sync.Mutex
	toxics []string // names of the toxics in force
	fault  TCPFault
}

// ListenTCP starts a proxy called name on addr (host:port; port 0 picks one)
// that forwards each connection to upstream. upstream may be empty when the
// proxy's address must be known first (a Kafka broker that advertises it):
// SetUpstream sets it before the first client dials.
func ListenTCP(name, addr, upstream string) (*TCP, error) {
	api := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	px := toxiproxy.NewProxy(api, name, addr, upstream)
	if err := px.Start(); err != nil {
		return nil, fmt.Errorf("faultproxy: %s: listen %s: %w", name, addr, err)
	}
	return &TCP{px: px}, nil
}

// Addr returns the address clients dial instead of the upstream's.
func (t *TCP) Addr() string {
	t.px.Lock()
	defer t.px.Unlock()
	return t.px.Listen
}

// Upstream returns the address the proxy forwards to.
func (t *TCP) Upstream() string {
	t.px.Lock()
	defer t.px.Unlock()
	return t.px.Upstream
}

// SetUpstream points the proxy at upstream; connections made before keep theirs.
// The proxy listens again on the same address.
func (t *TCP) SetUpstream(upstream string) error {
	t.px.Lock()
	listen := t.px.Listen
	t.px.Unlock()
	if err := t.px.Update(&toxiproxy.Proxy{Listen: listen, Upstream: upstream, Enabled: true}); err != nil {
		return fmt.Errorf("faultproxy: %s: upstream %s: %w", t.px.Name, upstream, err)
	}
	return nil
}

// Inject starts f, replacing any fault in force.
func (t *TCP) Inject(f TCPFault) error {
	type toxic struct {
		Name       string         `json:"name"`
		Type       string         `json:"type"`
		Stream     string         `json:"stream"`
		Toxicity   float32        `json:"toxicity"`
		Attributes map[string]any `json:"attributes"`
	}
	var add []toxic
	switch f.Kind {
	case TCPLatency:
		if f.Latency < time.Millisecond {
			return fmt.Errorf("faultproxy: latency needs at least 1ms, got %v", f.Latency)
		}
		add = []toxic{{Name: "latency", Type: "latency", Stream: "downstream", Toxicity: 1,
			Attributes: map[string]any{"latency": f.Latency.Milliseconds()}}}
	case TCPPartition:
		add = []toxic{
			{Name: "hold_up", Type: holdType, Stream: "upstream", Toxicity: 1},
			{Name: "hold_down", Type: holdType, Stream: "downstream", Toxicity: 1},
		}
	default:
		return fmt.Errorf("faultproxy: unknown TCP fault %q (want %s or %s)", f.Kind, TCPLatency, TCPPartition)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.clearLocked(); err != nil {
		return err
	}
	for _, x := range add {
		b, err := json.Marshal(x)
		if err != nil {
			return fmt.Errorf("faultproxy: %s: %w", x.Name, err)
		}
		if _, err := t.px.Toxics.AddToxicJson(bytes.NewReader(b)); err != nil {
			return errors.Join(fmt.Errorf("faultproxy: %s: add %s: %w", t.px.Name, x.Name, err), t.clearLocked())
		}
		t.toxics = append(t.toxics, x.Name)
	}
	t.fault = f
	return nil
}

// Clear ends the fault in force, if any; what a partition held goes on.
func (t *TCP) Clear() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.clearLocked()
}

func (t *TCP) clearLocked() error {
	var errs []error
	for _, name := range t.toxics {
		if err := t.px.Toxics.RemoveToxic(context.Background(), name); err != nil {
			errs = append(errs, fmt.Errorf("faultproxy: %s: remove %s: %w", t.px.Name, name, err))
		}
	}
	t.toxics, t.fault = nil, TCPFault{}
	return errors.Join(errs...)
}

// Close stops the proxy and closes every connection through it.
func (t *TCP) Close() { t.px.Stop() }

// Overhead measures what the proxy adds to a round trip: n calls of roundTrip
// on a connection straight to the upstream, alternated with n on one through
// the proxy. Run it with no fault in force.
func (t *TCP) Overhead(ctx context.Context, n int, roundTrip func(net.Conn) error) (Overhead, error) {
	var d net.Dialer
	conns := make([]net.Conn, 0, 2)
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	for _, addr := range []string{t.Upstream(), t.Addr()} {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return Overhead{}, fmt.Errorf("faultproxy: overhead: %w", err)
		}
		conns = append(conns, c)
	}
	call := func(c net.Conn) func(context.Context) error {
		return func(ctx context.Context) error {
			if dl, ok := ctx.Deadline(); ok {
				_ = c.SetDeadline(dl)
			}
			if err := roundTrip(c); err != nil {
				return fmt.Errorf("faultproxy: overhead: %w", err)
			}
			return nil
		}
	}
	return measure(ctx, n, call(conns[0]), call(conns[1]))
}

// KafkaRoundTrip sends one Kafka ApiVersions request (v0, which every broker
// answers) on c and reads the whole answer: the round trip TCP.Overhead times
// for a proxy in front of a broker.
func KafkaRoundTrip(c net.Conn) error {
	req := kmsg.NewPtrApiVersionsRequest()
	req.Version = 0
	b := kmsg.NewRequestFormatter(kmsg.FormatterClientID("vectorstream-faultproxy")).AppendRequest(nil, req, 1)
	if _, err := c.Write(b); err != nil {
		return fmt.Errorf("kafka ApiVersions: write: %w", err)
	}
	var size [4]byte
	if _, err := io.ReadFull(c, size[:]); err != nil {
		return fmt.Errorf("kafka ApiVersions: read: %w", err)
	}
	n := binary.BigEndian.Uint32(size[:])
	if n < 4 || n > 1<<20 {
		return fmt.Errorf("kafka ApiVersions: answer of %d bytes", n)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(c, body); err != nil {
		return fmt.Errorf("kafka ApiVersions: read: %w", err)
	}
	if id := int32(binary.BigEndian.Uint32(body)); id != 1 {
		return fmt.Errorf("kafka ApiVersions: answer to correlation id %d, want 1", id)
	}
	resp := req.ResponseKind().(*kmsg.ApiVersionsResponse)
	if err := resp.ReadFrom(body[4:]); err != nil {
		return fmt.Errorf("kafka ApiVersions: %w", err)
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		return fmt.Errorf("kafka ApiVersions: %w", err)
	}
	return nil
}
