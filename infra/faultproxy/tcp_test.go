package faultproxy

import (
	"bufio"
	"io"
	"net"
	"testing"
	"time"
)

// echoBehind starts a line echo server and a TCP proxy in front of it, and
// returns the proxy and a connection through it.
func echoBehind(t *testing.T) (*TCP, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(c, c); _ = c.Close() }()
		}
	}()
	p, err := ListenTCP("echo", "127.0.0.1:0", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	if err := p.SetUpstream(ln.Addr().String()); err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return p, c
}

func echo(t *testing.T, c net.Conn, r *bufio.Reader, line string) {
	t.Helper()
	if _, err := io.WriteString(c, line+"\n"); err != nil {
		t.Fatal(err)
	}
	got, err := r.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if got != line+"\n" {
		t.Fatalf("echo = %q, want %q", got, line)
	}
}

// TestTCPLatency checks that a latency fault delays answers by at least its
// latency, and that clearing it ends it.
func TestTCPLatency(t *testing.T) {
	p, c := echoBehind(t)
	r := bufio.NewReader(c)
	echo(t, c, r, "before")
	const lat = 150 * time.Millisecond
	if err := p.Inject(TCPFault{Kind: TCPLatency, Latency: lat}); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	echo(t, c, r, "slow")
	if d := time.Since(t0); d < lat {
		t.Fatalf("round trip under latency took %v, want at least %v", d, lat)
	}
	if err := p.Clear(); err != nil {
		t.Fatal(err)
	}
	echo(t, c, r, "after")
}

// TestTCPPartition checks that a partition passes no byte on an open
// connection or a new one, and delivers what it held, in order, once it ends.
func TestTCPPartition(t *testing.T) {
	p, c := echoBehind(t)
	r := bufio.NewReader(c)
	echo(t, c, r, "before")
	if err := p.Inject(TCPFault{Kind: TCPPartition}); err != nil {
		t.Fatal(err)
	}
	fresh, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	for _, conn := range []net.Conn{c, fresh} {
		if _, err := io.WriteString(conn, "held\n"); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		var b [1]byte
		if n, err := conn.Read(b[:]); n != 0 || !isTimeout(err) {
			t.Fatalf("read in a partition: %d bytes, %v; want a timeout", n, err)
		}
		_ = conn.SetReadDeadline(time.Time{})
	}
	if err := p.Clear(); err != nil {
		t.Fatal(err)
	}
	for _, conn := range []net.Conn{c, fresh} {
		got, err := bufio.NewReader(conn).ReadString('\n')
		if err != nil || got != "held\n" {
			t.Fatalf("after the partition: %q, %v; want the held line", got, err)
		}
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// TestTCPOverhead checks that the overhead measurement reports its samples.
func TestTCPOverhead(t *testing.T) {
	p, _ := echoBehind(t)
	o, err := p.Overhead(t.Context(), 10, func(c net.Conn) error {
		if _, err := io.WriteString(c, "x\n"); err != nil {
			return err
		}
		var b [2]byte
		_, err := io.ReadFull(c, b[:])
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if o.Samples != 10 || o.DirectP50 <= 0 || o.ProxiedP50 <= 0 {
		t.Fatalf("overhead = %+v", o)
	}
}

// TestTCPFaultCheck checks the faults a TCP proxy refuses.
func TestTCPFaultCheck(t *testing.T) {
	p, _ := echoBehind(t)
	for _, f := range []TCPFault{{Kind: "sideways"}, {Kind: TCPLatency}} {
		if p.Inject(f) == nil {
			t.Errorf("%+v: no error", f)
		}
	}
}
