package spool

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const (
	lockName   = "LOCK"
	logName    = "spool.log"
	cursorName = "cursor"
)

var (
	// ErrLocked is matched by the error Open returns when another Spool (in this or
	// another process) holds the directory.
	ErrLocked = errors.New("spool: locked by another user")
	// ErrCorrupt is matched by every *CorruptError.
	ErrCorrupt = errors.New("spool: corrupt")
	// ErrClosed is returned by the methods of a closed Spool.
	ErrClosed = errors.New("spool: closed")
)

// CorruptError reports a damaged spool file. The records before Offset are intact.
type CorruptError struct {
	// File is the damaged file's path.
	File string
	// Offset is the byte offset of the damaged record (or header) in File.
	Offset int64
	// Reason says what is wrong, e.g. "record checksum mismatch".
	Reason string
	// Torn reports that File ends inside the record: what a crash during Append
	// leaves behind (that record's Append never returned, so its offsets were not
	// committed), but also what an outside truncation looks like.
	Torn bool
}

// Error names the file, the offset and the reason.
func (e *CorruptError) Error() string {
	kind := "corrupt"
	if e.Torn {
		kind = "torn"
	}
	return fmt.Sprintf("spool: %s record in %s at byte %d: %s", kind, e.File, e.Offset, e.Reason)
}

// Is makes errors.Is(err, ErrCorrupt) true.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

// Opt configures Open and Quarantine.
type Opt interface{ apply(*options) }

type options struct {
	maxRecord int
	now       func() time.Time
}

func defaultOptions() options {
	return options{maxRecord: 256 << 20, now: time.Now}
}

type optFunc func(*options)

func (f optFunc) apply(o *options) { f(o) }

// WithMaxRecordBytes limits the body of one record (offsets and payload); Append
// refuses larger records and a larger length read from disk counts as damage. The
// default is 256 MiB.
func WithMaxRecordBytes(n int) Opt { return optFunc(func(o *options) { o.maxRecord = n }) }

// WithClock sets the clock that names quarantined files and the lock's "since". The
// default is time.Now.
func WithClock(now func() time.Time) Opt { return optFunc(func(o *options) { o.now = now }) }

// Spool is an open spool directory. Its methods are safe for concurrent use;
// Replay and Quarantine run one at a time, Append may run beside them.
type Spool struct {
	dir  string
	opts options
	lock *os.File

	replayMu sync.Mutex // held by Replay and Quarantine

	mu       sync.Mutex
	f        *os.File // the segment; nil when there is none
	seg      uint64
	end      int64 // size of the segment, where the next record goes
	cursor   int64 // offset of the next record to replay
	pendingN int
	pendingB int64
	failed   error // sticky: a failed fsync
	closed   bool

	spooled, replayed atomic.Uint64
}

// Open locks dir (creating it if needed) for this process and checks every pending
// record. It fails with an error matching ErrLocked, naming the directory and the
// holder, when another Spool holds it, and with a *CorruptError when a pending record
// or the cursor is damaged; the lock is released in both cases (see Quarantine).
func Open(dir string, opts ...Opt) (*Spool, error) {
	o := defaultOptions()
	for _, opt := range opts {
		opt.apply(&o)
	}
	if o.maxRecord <= 0 {
		return nil, fmt.Errorf("spool: open %s: max record bytes %d, want more than 0", dir, o.maxRecord)
	}
	lock, err := lockDir(dir, o)
	if err != nil {
		return nil, err
	}
	s := &Spool{dir: dir, opts: o, lock: lock}
	if err := s.load(); err != nil {
		s.closeFiles()
		return nil, err
	}
	return s, nil
}

func lockDir(dir string, o options) (*os.File, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("spool: open %s: %w", dir, err)
	}
	path := filepath.Join(dir, lockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("spool: open %s: %w", dir, err)
	}
	busy, err := tryLock(f)
	if err != nil || busy {
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("spool: lock %s: %w", path, err)
		}
		holder, _ := os.ReadFile(path)
		h := strings.TrimSpace(string(holder))
		if h == "" {
			h = "unknown holder"
		}
		return nil, fmt.Errorf("spool: open %s: in use (%s): %w", dir, h, ErrLocked)
	}
	host, _ := os.Hostname()
	info := fmt.Sprintf("pid=%d host=%s since=%s\n", os.Getpid(), host, o.now().UTC().Format(time.RFC3339))
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(info), 0) // informational only
	}
	return f, nil
}

func (s *Spool) path(name string) string { return filepath.Join(s.dir, name) }

// load reads the cursor and the segment and counts the pending records.
func (s *Spool) load() error {
	os.Remove(s.path(logName + ".tmp"))
	os.Remove(s.path(cursorName + ".tmp"))
	f, err := os.OpenFile(s.path(logName), os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		// Replay finished and removed the segment; a cursor left by a crash is stale.
		if err := removeIfExists(s.path(cursorName)); err != nil {
			return fmt.Errorf("spool: open %s: %w", s.dir, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("spool: open %s: %w", s.dir, err)
	}
	s.f = f
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("spool: open %s: %w", s.dir, err)
	}
	s.end = st.Size()
	hdr := make([]byte, segHeaderLen)
	n, _ := f.ReadAt(hdr, 0)
	seg, reason := decodeSegHeader(hdr[:n])
	if reason != "" {
		return &CorruptError{File: s.path(logName), Offset: 0, Reason: reason, Torn: n < segHeaderLen}
	}
	s.seg = seg
	s.cursor = segHeaderLen
	cseg, coff, err := s.readCursor()
	if err != nil {
		return err
	}
	if cseg == seg {
		if coff > s.end {
			return &CorruptError{File: s.path(logName), Offset: s.end, Torn: true,
				Reason: fmt.Sprintf("file ends before the replay cursor (byte %d)", coff)}
		}
		s.cursor = coff
	}
	for off := s.cursor; off < s.end; {
		_, size, cerr := s.readAt(off)
		if cerr != nil {
			return cerr
		}
		s.pendingN++
		s.pendingB += size
		off += size
	}
	return nil
}

// readCursor returns the cursor's segment and offset; segment 0 when there is none.
func (s *Spool) readCursor() (uint64, int64, error) {
	b, err := os.ReadFile(s.path(cursorName))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("spool: read cursor: %w", err)
	}
	seg, off, reason := decodeCursor(b)
	if reason != "" {
		return 0, 0, &CorruptError{File: s.path(cursorName), Offset: 0, Reason: reason}
	}
	return seg, off, nil
}

// readAt reads and verifies the record at off in the segment, returning it and
// its size on disk.
func (s *Spool) readAt(off int64) (Record, int64, error) {
	corrupt := func(reason string, torn bool) error {
		return &CorruptError{File: s.path(logName), Offset: off, Reason: reason, Torn: torn}
	}
	avail := s.end - off
	h := make([]byte, recHeaderLen)
	if _, err := s.f.ReadAt(h[:min(avail, recHeaderLen)], off); err != nil && !errors.Is(err, io.EOF) {
		return Record{}, 0, fmt.Errorf("spool: read %s at byte %d: %w", s.path(logName), off, err)
	}
	n, reason, torn := checkHeader(h, avail, s.opts.maxRecord)
	if reason != "" {
		return Record{}, 0, corrupt(reason, torn)
	}
	fr := make([]byte, recHeaderLen+n)
	if _, err := s.f.ReadAt(fr, off); err != nil {
		return Record{}, 0, fmt.Errorf("spool: read %s at byte %d: %w", s.path(logName), off, err)
	}
	rec, reason := verifyFrame(fr)
	if reason != "" {
		return Record{}, 0, corrupt(reason, false)
	}
	return rec, int64(len(fr)), nil
}

// Dir returns the spool's directory.
func (s *Spool) Dir() string { return s.dir }

// Append writes rec at the end of the spool and returns once it is on disk; only
// then may the pipeline commit rec's offsets.
func (s *Spool) Append(rec Record) error {
	body, err := encodeBody(rec)
	if err != nil {
		return fmt.Errorf("spool: append to %s: %w", s.dir, err)
	}
	if len(body) > s.opts.maxRecord {
		return fmt.Errorf("spool: append to %s: record of %d bytes exceeds the limit of %d", s.dir, len(body), s.opts.maxRecord)
	}
	fr := frame(body)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.failed != nil {
		return fmt.Errorf("spool: append to %s: an earlier sync failed, the spool is read-only: %w", s.dir, s.failed)
	}
	if s.f == nil {
		if err := s.createSegment(); err != nil {
			return fmt.Errorf("spool: append to %s: %w", s.dir, err)
		}
	}
	if _, err := s.f.WriteAt(fr, s.end); err != nil {
		if terr := s.f.Truncate(s.end); terr != nil {
			s.failed = terr
		}
		return fmt.Errorf("spool: append to %s: %w", s.path(logName), err)
	}
	if err := s.f.Sync(); err != nil {
		s.failed = err
		return fmt.Errorf("spool: append to %s: sync: %w", s.path(logName), err)
	}
	s.end += int64(len(fr))
	s.pendingN++
	s.pendingB += int64(len(fr))
	s.spooled.Add(1)
	return nil
}

// createSegment writes a new, empty segment into place: header to a temporary
// file, fsync, rename, fsync of the directory.
func (s *Spool) createSegment() error {
	seg := newSegmentID()
	f, err := writeNew(s.dir, logName, encodeSegHeader(seg))
	if err != nil {
		return err
	}
	s.f, s.seg, s.end, s.cursor = f, seg, segHeaderLen, segHeaderLen
	return nil
}

// newSegmentID returns a random segment id, never 0 (which means "no cursor").
func newSegmentID() uint64 { return rand.Uint64() | 1 }

// writeNew writes data to dir/name atomically and durably and returns the file
// open for reading and writing.
func writeNew(dir, name string, data []byte) (*os.File, error) {
	tmp := filepath.Join(dir, name+".tmp")
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return nil, err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, err
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		f.Close()
		return nil, err
	}
	if err := syncDir(dir); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// Pending returns the number of records not yet replayed and their size on disk.
func (s *Spool) Pending() (n int, bytes int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pendingN, s.pendingB
}

// Spooled returns the number of records appended since Open.
func (s *Spool) Spooled() uint64 { return s.spooled.Load() }

// Replayed returns the number of records replayed (fn returned nil and the cursor
// moved past them) since Open.
func (s *Spool) Replayed() uint64 { return s.replayed.Load() }

// ReplayStats says what one Replay did.
type ReplayStats struct {
	// Records and Bytes count the records replayed and their size on disk.
	Records int
	Bytes   int64
	// Remaining is the number of records still pending when Replay returned.
	Remaining int
}

// Replay calls fn with each pending record in the order appended, including records
// appended while it runs, and moves the durable cursor past a record only after fn
// returned nil. It stops at fn's first error, when ctx is done, or at a damaged
// record (*CorruptError; the records before it are replayed, it is not passed to
// fn). When every record is replayed it removes the segment, so Pending is 0. fn
// may keep the Record; it must not call Replay or Quarantine.
func (s *Spool) Replay(ctx context.Context, fn func(Record) error) (st ReplayStats, err error) {
	s.replayMu.Lock()
	defer s.replayMu.Unlock()
	defer func() { st.Remaining, _ = s.Pending() }()
	for {
		if err := ctx.Err(); err != nil {
			return st, fmt.Errorf("spool: replay %s: %w", s.dir, context.Cause(ctx))
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return st, ErrClosed
		}
		if s.f == nil || s.cursor >= s.end {
			err := s.finishLocked()
			s.mu.Unlock()
			return st, err
		}
		off := s.cursor
		rec, size, err := s.readAt(off)
		s.mu.Unlock()
		if err != nil {
			return st, err
		}
		if err := fn(rec); err != nil {
			return st, fmt.Errorf("spool: replay record at %s byte %d: %w", s.path(logName), off, err)
		}
		s.mu.Lock()
		err = s.advanceLocked(off + size)
		if err == nil {
			s.pendingN--
			s.pendingB -= size
		}
		s.mu.Unlock()
		if err != nil {
			return st, err
		}
		s.replayed.Add(1)
		st.Records++
		st.Bytes += size
	}
}

// advanceLocked makes the cursor durable at off.
func (s *Spool) advanceLocked(off int64) error {
	f, err := writeNew(s.dir, cursorName, encodeCursor(s.seg, off))
	if err != nil {
		return fmt.Errorf("spool: replay %s: write cursor: %w", s.dir, err)
	}
	f.Close()
	s.cursor = off
	return nil
}

// finishLocked removes a fully replayed segment and then its cursor. A crash
// between the two leaves a cursor without a segment, which load removes.
func (s *Spool) finishLocked() error {
	if s.f == nil {
		return nil
	}
	s.f.Close()
	s.f = nil
	if err := os.Remove(s.path(logName)); err != nil {
		return fmt.Errorf("spool: replay %s: remove replayed segment: %w", s.dir, err)
	}
	if err := syncDir(s.dir); err != nil {
		return fmt.Errorf("spool: replay %s: %w", s.dir, err)
	}
	if err := removeIfExists(s.path(cursorName)); err != nil {
		return fmt.Errorf("spool: replay %s: remove cursor: %w", s.dir, err)
	}
	s.seg, s.end, s.cursor, s.pendingN, s.pendingB = 0, 0, 0, 0, 0
	return nil
}

// Close releases the lock. It does not wait for a Replay in progress, whose next
// step then fails with ErrClosed.
func (s *Spool) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return s.closeFiles()
}

func (s *Spool) closeFiles() error {
	var errs []error
	if s.f != nil {
		errs = append(errs, s.f.Close())
		s.f = nil
	}
	if s.lock != nil {
		errs = append(errs, s.lock.Close()) // closing the descriptor releases the flock
		s.lock = nil
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("spool: close %s: %w", s.dir, err)
	}
	return nil
}
