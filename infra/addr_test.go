package infra

import (
	"strings"
	"testing"
)

func TestParseQdrantAddr(t *testing.T) {
	t.Parallel()
	host, port, err := ParseQdrantAddr("127.0.0.1:6334")
	if err != nil || host != "127.0.0.1" || port != 6334 {
		t.Fatalf("ParseQdrantAddr(127.0.0.1:6334) = %q, %d, %v", host, port, err)
	}
	for addr, want := range map[string]string{
		"127.0.0.1:6333": "REST port",
		"127.0.0.1":      "missing port",
		"h:x":            "not a number",
		"h:0":            "not a number",
	} {
		if _, _, err := ParseQdrantAddr(addr); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseQdrantAddr(%q) = %v, want an error saying %q", addr, err, want)
		}
	}
}
