package measure

import (
	"os"
	"runtime"
	"testing"
)

func TestParseRSSAnon(t *testing.T) {
	got, err := parseRSSAnon([]byte("Name:\tx\nVmRSS:\t  9000 kB\nRssAnon:\t   1234 kB\nRssFile:\t 77 kB\n"))
	if err != nil || got != 1234<<10 {
		t.Fatalf("got %d, %v; want %d", got, err, 1234<<10)
	}
	for _, bad := range []string{"VmRSS:\t 1 kB\n", "RssAnon:\t 12 MB\n", "RssAnon:\t x kB\n"} {
		if _, err := parseRSSAnon([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// TestRSSAnonSeesAnAllocation: memory this process writes shows in its RssAnon.
func TestRSSAnonSeesAnAllocation(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("RssAnon is read from /proc")
	}
	before, err := RSSAnon(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64<<20)
	for i := range buf {
		buf[i] = byte(i)
	}
	after, err := RSSAnon(0)
	runtime.KeepAlive(buf)
	if err != nil {
		t.Fatal(err)
	}
	if after < before+48<<20 {
		t.Fatalf("RssAnon %d → %d after writing 64 MiB", before, after)
	}
	if _, err := RSSAnon(1 << 30); err == nil {
		t.Fatal("no error for a process that does not exist")
	}
}
