package measure

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
)

// RSSAnon returns the anonymous resident memory of process pid (0 for this
// process): the RssAnon line of /proc/<pid>/status, in bytes. It is the memory a
// process grows by (heap, stacks, anonymous mappings), leaving out file-backed
// pages the kernel can drop, so it is what a long run must keep flat. It fails
// where there is no /proc (not Linux) or the process has ended.
func RSSAnon(pid int) (uint64, error) {
	path := "/proc/self/status"
	if pid > 0 {
		path = "/proc/" + strconv.Itoa(pid) + "/status"
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("rss anon: %w", err)
	}
	return parseRSSAnon(b)
}

// parseRSSAnon reads the RssAnon line ("RssAnon:	  123456 kB") of a status file.
func parseRSSAnon(status []byte) (uint64, error) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		rest, ok := bytes.CutPrefix(sc.Bytes(), []byte("RssAnon:"))
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) != 2 || string(f[1]) != "kB" {
			return 0, fmt.Errorf("rss anon: unexpected line %q", sc.Bytes())
		}
		kb, err := strconv.ParseUint(string(f[0]), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("rss anon: %w", err)
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf("rss anon: no RssAnon line")
}
