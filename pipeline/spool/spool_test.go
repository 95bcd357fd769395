package spool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func testRecord(i int) Record {
	offs := make([]Offset, i%3+1)
	for j := range offs {
		offs[j] = Offset{Topic: "raw_data", Partition: int32(j), Offset: int64(1000*i + j)}
	}
	return Record{Offsets: offs, Payload: bytes.Repeat([]byte{byte('a' + i%26)}, 10+7*i)}
}

func mustOpen(t *testing.T, dir string, opts ...Opt) *Spool {
	t.Helper()
	s, err := Open(dir, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func appendN(t *testing.T, s *Spool, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		if err := s.Append(testRecord(i)); err != nil {
			t.Fatalf("Append %d: %v", i, err)
		}
	}
}

// replayAll replays s and returns the records fn saw.
func replayAll(t *testing.T, s *Spool) []Record {
	t.Helper()
	var got []Record
	st, err := s.Replay(t.Context(), func(r Record) error { got = append(got, r); return nil })
	if err != nil {
		t.Fatalf("Replay: %v", err)
	}
	if st.Records != len(got) || st.Remaining != 0 {
		t.Errorf("stats %+v after %d records", st, len(got))
	}
	return got
}

func wantRecords(t *testing.T, got []Record, idx ...int) {
	t.Helper()
	if len(got) != len(idx) {
		t.Fatalf("got %d records; want %d (%v)", len(got), len(idx), idx)
	}
	for k, i := range idx {
		if !reflect.DeepEqual(got[k], testRecord(i)) {
			t.Fatalf("record %d = %+v; want testRecord(%d)", k, got[k], i)
		}
	}
}

func wantPending(t *testing.T, s *Spool, n int) {
	t.Helper()
	if got, b := s.Pending(); got != n || (n == 0) != (b == 0) {
		t.Fatalf("Pending = %d, %d bytes; want %d", got, b, n)
	}
}

func exists(path string) bool { _, err := os.Stat(path); return err == nil }

func TestEmptySpool(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "spool")
	s := mustOpen(t, dir)
	wantPending(t, s, 0)
	if got := replayAll(t, s); len(got) != 0 {
		t.Errorf("replayed %d records from an empty spool", len(got))
	}
	if exists(filepath.Join(dir, logName)) {
		t.Error("an empty spool created a segment")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wantPending(t, mustOpen(t, dir), 0)
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := mustOpen(t, dir)
	appendN(t, s, 0, 5)
	wantPending(t, s, 5)
	if s.Spooled() != 5 || s.Replayed() != 0 {
		t.Errorf("Spooled %d Replayed %d", s.Spooled(), s.Replayed())
	}
	s.Close()
	if err := s.Append(testRecord(9)); !errors.Is(err, ErrClosed) {
		t.Errorf("Append after Close = %v", err)
	}

	s = mustOpen(t, dir)
	wantPending(t, s, 5)
	wantRecords(t, replayAll(t, s), 0, 1, 2, 3, 4)
	wantPending(t, s, 0)
	if exists(filepath.Join(dir, logName)) || exists(filepath.Join(dir, cursorName)) {
		t.Error("segment or cursor left after a full replay")
	}
	// The spool keeps working after the segment is gone, and the counters add up.
	appendN(t, s, 5, 8)
	wantRecords(t, replayAll(t, s), 5, 6, 7)
	if s.Spooled() != 3 || s.Replayed() != 8 {
		t.Errorf("Spooled %d Replayed %d; want 3 and 8", s.Spooled(), s.Replayed())
	}
}

func TestReplayStopsAtFnErrorAndResumes(t *testing.T) {
	t.Parallel()
	for k := range 5 {
		t.Run(fmt.Sprint("fail at ", k), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			s := mustOpen(t, dir)
			appendN(t, s, 0, 5)
			errQdrant := errors.New("qdrant down")
			var seen []Record
			n := 0
			st, err := s.Replay(t.Context(), func(r Record) error {
				if n == k {
					return errQdrant
				}
				n++
				seen = append(seen, r)
				return nil
			})
			if !errors.Is(err, errQdrant) || st.Records != k || st.Remaining != 5-k {
				t.Fatalf("Replay = %+v, %v", st, err)
			}
			wantPending(t, s, 5-k)
			s.Close() // as if the process died here

			s = mustOpen(t, dir)
			wantPending(t, s, 5-k)
			rest := replayAll(t, s)
			want := []int{}
			for i := k; i < 5; i++ {
				want = append(want, i)
			}
			wantRecords(t, append(seen, rest...), append([]int{0, 1, 2, 3, 4}[:k], want...)...)
		})
	}
}

func TestReplayContextCancel(t *testing.T) {
	t.Parallel()
	s := mustOpen(t, t.TempDir())
	appendN(t, s, 0, 3)
	ctx, cancel := context.WithCancel(t.Context())
	st, err := s.Replay(ctx, func(Record) error { cancel(); return nil })
	if !errors.Is(err, context.Canceled) || st.Records != 1 || st.Remaining != 2 {
		t.Errorf("Replay = %+v, %v; want 1 record then the cancellation", st, err)
	}
	wantRecords(t, replayAll(t, s), 1, 2)
}

// spoolBytes returns the segment of a spool holding testRecord(0..n-1) and the
// offset at which each record starts.
func spoolBytes(t *testing.T, n int) ([]byte, []int64) {
	t.Helper()
	dir := t.TempDir()
	s := mustOpen(t, dir)
	starts := []int64{}
	for i := range n {
		s.mu.Lock()
		starts = append(starts, max(s.end, segHeaderLen))
		s.mu.Unlock()
		appendN(t, s, i, i+1)
	}
	s.Close()
	b, err := os.ReadFile(filepath.Join(dir, logName))
	if err != nil {
		t.Fatal(err)
	}
	return b, starts
}

func writeSpool(t *testing.T, data []byte) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, logName), data, 0o640); err != nil {
		t.Fatal(err)
	}
	return dir
}

func wantCorrupt(t *testing.T, err error, dir string, off int64, torn bool) {
	t.Helper()
	var ce *CorruptError
	if !errors.As(err, &ce) || !errors.Is(err, ErrCorrupt) {
		t.Fatalf("err = %v; want a *CorruptError", err)
	}
	if ce.File != filepath.Join(dir, logName) || ce.Offset != off || ce.Torn != torn {
		t.Fatalf("CorruptError %+v; want file %s offset %d torn %v", ce, filepath.Join(dir, logName), off, torn)
	}
	if !strings.Contains(err.Error(), ce.File) || !strings.Contains(err.Error(), fmt.Sprint(off)) {
		t.Fatalf("message %q does not name the file and offset", err)
	}
}

// quarantineAndReplay quarantines dir and returns what a fresh Open replays.
func quarantineAndReplay(t *testing.T, dir string) (QuarantineReport, []Record) {
	t.Helper()
	rep, err := Quarantine(dir)
	if err != nil {
		t.Fatalf("Quarantine: %v", err)
	}
	for _, p := range rep.MovedTo {
		if !exists(p) || !strings.Contains(filepath.Base(p), ".corrupt-") {
			t.Fatalf("moved-aside file %s missing", p)
		}
	}
	s, err := Open(dir)
	if err != nil {
		t.Fatalf("Open after Quarantine: %v", err)
	}
	defer s.Close()
	return rep, replayAll(t, s)
}

func TestTornTailAtEveryOffset(t *testing.T) {
	t.Parallel()
	data, starts := spoolBytes(t, 3)
	last := starts[2]
	for cut := last + 1; cut < int64(len(data)); cut++ {
		dir := writeSpool(t, data[:cut])
		_, err := Open(dir)
		wantCorrupt(t, err, dir, last, true)
		rep, got := quarantineAndReplay(t, dir)
		wantRecords(t, got, 0, 1)
		if rep.Kept != 2 || len(rep.Lost) != 1 || rep.Lost[0] != (ByteRange{last, cut - last}) || len(rep.MovedTo) != 1 {
			t.Fatalf("cut at %d: report %+v", cut, rep)
		}
	}
	// Cut exactly between records: nothing is damaged.
	dir := writeSpool(t, data[:last])
	s := mustOpen(t, dir)
	wantRecords(t, replayAll(t, s), 0, 1)
	// Cut inside the segment header.
	for cut := int64(1); cut < segHeaderLen; cut++ {
		dir := writeSpool(t, data[:cut])
		_, err := Open(dir)
		wantCorrupt(t, err, dir, 0, true)
	}
}

func TestFlippedByteIsDetected(t *testing.T) {
	t.Parallel()
	data, starts := spoolBytes(t, 3)
	type pos struct {
		name   string
		at     int64
		recOff int64 // offset the error names
		kept   []int // records Quarantine saves
	}
	end := int64(len(data))
	cases := []pos{
		{"segment magic", 0, 0, []int{0, 1, 2}},
		{"segment id", 10, 0, []int{0, 1, 2}},
		{"segment crc", 17, 0, []int{0, 1, 2}},
		{"first record magic", starts[0], starts[0], []int{1, 2}},
		{"first record version", starts[0] + 4, starts[0], []int{1, 2}},
		{"first record length high byte", starts[0] + 8, starts[0], []int{1, 2}},
		{"first record length low byte", starts[0] + 11, starts[0], []int{1, 2}},
		{"first record crc", starts[0] + 13, starts[0], []int{1, 2}},
		{"middle record offset count", starts[1] + 16, starts[1], []int{0, 2}},
		{"middle record topic", starts[1] + 23, starts[1], []int{0, 2}},
		{"middle record payload", starts[2] - 1, starts[1], []int{0, 2}},
		{"last record payload", end - 5, starts[2], []int{0, 1}},
		{"last byte", end - 1, starts[2], []int{0, 1}},
	}
	for _, c := range cases {
		for _, mask := range []byte{0x01, 0x80, 0xff} {
			bad := bytes.Clone(data)
			bad[c.at] ^= mask
			dir := writeSpool(t, bad)
			_, err := Open(dir)
			var ce *CorruptError
			if !errors.As(err, &ce) || ce.Offset != c.recOff {
				t.Fatalf("%s ^%#x: Open = %v; want corruption at %d", c.name, mask, err, c.recOff)
			}
			_, got := quarantineAndReplay(t, dir)
			wantRecords(t, got, c.kept...)
		}
	}
}

func TestCorruptionFoundDuringReplay(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := mustOpen(t, dir)
	appendN(t, s, 0, 3)
	_, starts := func() ([]byte, []int64) { return spoolBytes(t, 3) }()
	// Damage the second record behind the open spool's back.
	f, err := os.OpenFile(filepath.Join(dir, logName), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte{0xEE}, starts[1]+20)
	f.Close()

	var got []Record
	st, err := s.Replay(t.Context(), func(r Record) error { got = append(got, r); return nil })
	wantCorrupt(t, err, dir, starts[1], false)
	wantRecords(t, got, 0)
	if st.Records != 1 || st.Remaining != 2 {
		t.Errorf("stats %+v", st)
	}
	appendN(t, s, 3, 4) // appending still works; the record is reachable after quarantine
	rep, err := s.Quarantine()
	if err != nil {
		t.Fatal(err)
	}
	if rep.Kept != 2 || len(rep.Lost) != 1 || rep.Lost[0].Offset != starts[1] {
		t.Errorf("report %+v", rep)
	}
	wantPending(t, s, 2)
	wantRecords(t, replayAll(t, s), 2, 3)
}

func TestQuarantineOnSoundSpoolChangesNothing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := mustOpen(t, dir)
	appendN(t, s, 0, 2)
	rep, err := s.Quarantine()
	if err != nil || len(rep.MovedTo) != 0 || len(rep.Lost) != 0 {
		t.Fatalf("Quarantine = %+v, %v", rep, err)
	}
	wantRecords(t, replayAll(t, s), 0, 1)
}

func TestCursor(t *testing.T) {
	t.Parallel()
	t.Run("stale cursor without a segment is removed", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, cursorName), encodeCursor(12345, 500), 0o640)
		s := mustOpen(t, dir)
		if exists(filepath.Join(dir, cursorName)) {
			t.Error("stale cursor kept")
		}
		appendN(t, s, 0, 2)
		wantRecords(t, replayAll(t, s), 0, 1)
	})
	t.Run("cursor of another segment is ignored", func(t *testing.T) {
		data, _ := spoolBytes(t, 2)
		dir := writeSpool(t, data)
		os.WriteFile(filepath.Join(dir, cursorName), encodeCursor(12345, 1<<40), 0o640)
		wantRecords(t, replayAll(t, mustOpen(t, dir)), 0, 1)
	})
	t.Run("damaged cursor is reported and quarantined", func(t *testing.T) {
		data, _ := spoolBytes(t, 2)
		dir := writeSpool(t, data)
		c := encodeCursor(1, 40)
		c[20] ^= 1
		os.WriteFile(filepath.Join(dir, cursorName), c, 0o640)
		_, err := Open(dir)
		var ce *CorruptError
		if !errors.As(err, &ce) || ce.File != filepath.Join(dir, cursorName) {
			t.Fatalf("Open = %v; want the cursor named", err)
		}
		rep, got := quarantineAndReplay(t, dir)
		wantRecords(t, got, 0, 1) // replayed from the start: twice is harmless
		if len(rep.MovedTo) != 1 || !strings.Contains(rep.MovedTo[0], cursorName+".corrupt-") {
			t.Errorf("report %+v", rep)
		}
	})
	t.Run("segment shorter than its cursor", func(t *testing.T) {
		dir := t.TempDir()
		s := mustOpen(t, dir)
		appendN(t, s, 0, 3)
		s.Replay(t.Context(), func(r Record) error {
			if r.Offsets[0].Offset >= 1000 {
				return errors.New("stop")
			}
			return nil
		})
		s.Close()
		os.Truncate(filepath.Join(dir, logName), segHeaderLen)
		_, err := Open(dir)
		wantCorrupt(t, err, dir, segHeaderLen, true)
		_, got := quarantineAndReplay(t, dir)
		wantRecords(t, got)
	})
}

func TestLockContention(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := mustOpen(t, dir)
	_, err := Open(dir)
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), fmt.Sprintf("pid=%d", os.Getpid())) {
		t.Fatalf("second Open = %v; want ErrLocked naming the dir and the holder", err)
	}
	if _, err := Quarantine(dir); !errors.Is(err, ErrLocked) {
		t.Fatalf("Quarantine on a held spool = %v", err)
	}
	s.Close()
	mustOpen(t, dir)
}

func TestAppendLimits(t *testing.T) {
	t.Parallel()
	s := mustOpen(t, t.TempDir(), WithMaxRecordBytes(100))
	if err := s.Append(Record{Payload: make([]byte, 200)}); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Errorf("oversized Append = %v", err)
	}
	if err := s.Append(Record{Offsets: []Offset{{Topic: strings.Repeat("t", 70000)}}}); err == nil {
		t.Error("a topic over 65535 bytes was accepted")
	}
	wantPending(t, s, 0)
	if _, err := Open(t.TempDir(), WithMaxRecordBytes(0)); err == nil {
		t.Error("WithMaxRecordBytes(0) accepted")
	}
}

func TestConcurrentAppendAndReplay(t *testing.T) {
	t.Parallel()
	s := mustOpen(t, t.TempDir())
	const n = 200
	appended := make(chan struct{}, n)
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range n {
			if err := s.Append(testRecord(i)); err != nil {
				t.Error(err)
			}
			appended <- struct{}{}
		}
	})
	var got []Record
	for range n {
		<-appended
		if _, err := s.Replay(t.Context(), func(r Record) error { got = append(got, r); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if s.Spooled() != n || s.Replayed() != n {
		t.Errorf("Spooled %d Replayed %d; want %d", s.Spooled(), s.Replayed(), n)
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	wantRecords(t, got, idx...)
	wantPending(t, s, 0)
}

func TestQuarantineClock(t *testing.T) {
	t.Parallel()
	data, _ := spoolBytes(t, 1)
	dir := writeSpool(t, data[:len(data)-1])
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	rep, err := Quarantine(dir, WithClock(func() time.Time { return at }))
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "spool.log.corrupt-20260102T030405.000000006Z"); len(rep.MovedTo) != 1 || rep.MovedTo[0] != want {
		t.Errorf("MovedTo %v; want %s", rep.MovedTo, want)
	}
	if exists(filepath.Join(dir, logName)) {
		t.Error("a segment with no good record was kept")
	}
}

// FuzzDecodeBody: decodeBody never panics, and a body it accepts encodes back to
// the same bytes.
func FuzzDecodeBody(f *testing.F) {
	for i := range 3 {
		b, _ := encodeBody(testRecord(i))
		f.Add(b)
	}
	f.Add([]byte{0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		rec, err := decodeBody(data)
		if err != nil {
			return
		}
		again, err := encodeBody(rec)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, data) {
			t.Fatalf("re-encoded %x; want %x", again, data)
		}
		if back, _ := decodeBody(again); !reflect.DeepEqual(back, rec) {
			t.Fatal("second decode differs")
		}
	})
}
