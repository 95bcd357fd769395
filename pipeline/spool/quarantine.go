package spool

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// ByteRange is a span of a damaged file that Quarantine could not read.
type ByteRange struct {
	Offset int64 `json:"offset"`
	Length int64 `json:"length"`
}

// QuarantineReport says what Quarantine kept and what it moved aside.
type QuarantineReport struct {
	// MovedTo are the damaged files' new paths; empty when nothing was damaged.
	MovedTo []string `json:"moved_to,omitempty"`
	// Kept and KeptBytes count the pending records that verified and are replayable
	// in the new segment.
	Kept      int   `json:"kept"`
	KeptBytes int64 `json:"kept_bytes"`
	// Lost are the byte ranges of the old segment that held no verifiable record.
	// A torn tail's record was never acknowledged by Append; any other lost range
	// held at least one record whose offsets may have been committed to Kafka.
	Lost []ByteRange `json:"lost,omitempty"`
}

// Quarantine locks dir, repairs it as the Spool method of the same name does, and
// releases it: what a `backup` subcommand, or a pipeline that met a *CorruptError
// from Open, runs before opening the spool again.
func Quarantine(dir string, opts ...Opt) (QuarantineReport, error) {
	o := defaultOptions()
	for _, opt := range opts {
		opt.apply(&o)
	}
	lock, err := lockDir(dir, o)
	if err != nil {
		return QuarantineReport{}, err
	}
	s := &Spool{dir: dir, opts: o, lock: lock}
	defer s.closeFiles()
	return s.quarantineLocked()
}

// Quarantine keeps every pending record that verifies — those before the damage and
// those found after it by scanning for the next record whose header and checksum
// are valid — in a fresh segment, moves the damaged segment (and a damaged cursor)
// aside as <name>.corrupt-<UTC time>, and reports what it kept and the byte ranges
// it lost. On an undamaged spool it changes nothing and returns an empty report.
func (s *Spool) Quarantine() (QuarantineReport, error) {
	s.replayMu.Lock()
	defer s.replayMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return QuarantineReport{}, ErrClosed
	}
	if s.f != nil {
		s.f.Close()
		s.f = nil
	}
	rep, err := s.quarantineLocked()
	if err != nil {
		return rep, err
	}
	s.seg, s.end, s.cursor, s.pendingN, s.pendingB = 0, 0, 0, 0, 0
	if err := s.load(); err != nil {
		return rep, fmt.Errorf("spool: reopen %s after quarantine: %w", s.dir, err)
	}
	return rep, nil
}

func (s *Spool) quarantineLocked() (QuarantineReport, error) {
	var rep QuarantineReport
	stamp := s.opts.now().UTC().Format("20060102T150405.000000000Z")
	fail := func(err error) (QuarantineReport, error) {
		return rep, fmt.Errorf("spool: quarantine %s: %w", s.dir, err)
	}
	data, err := os.ReadFile(s.path(logName))
	if errors.Is(err, fs.ErrNotExist) {
		data = nil
	} else if err != nil {
		return fail(err)
	}
	start, damaged, cursorBad, err := s.pendingStart(data)
	if err != nil {
		return fail(err)
	}
	kept, lost := salvage(data, start, s.opts.maxRecord, &rep)
	damaged = damaged || lost
	if !damaged && !cursorBad {
		rep.Kept, rep.KeptBytes = 0, 0
		return rep, nil
	}
	if data != nil && damaged {
		if err := s.replaceSegment(kept, stamp, &rep); err != nil {
			return fail(err)
		}
	}
	if cursorBad {
		to := s.path(cursorName + ".corrupt-" + stamp)
		if err := os.Rename(s.path(cursorName), to); err != nil {
			return fail(err)
		}
		rep.MovedTo = append(rep.MovedTo, to)
	} else if err := removeIfExists(s.path(cursorName)); err != nil && damaged {
		return fail(err)
	}
	if err := syncDir(s.dir); err != nil {
		return fail(err)
	}
	return rep, nil
}

// pendingStart returns where the pending records of segment data start: at the cursor
// when the header, the cursor and the file length agree, otherwise right after the
// header (replaying records twice is harmless; skipping one is not). damaged reports a
// bad header or a file shorter than the cursor; cursorBad a corrupt cursor file.
func (s *Spool) pendingStart(data []byte) (start int64, damaged, cursorBad bool, err error) {
	cseg, coff, cerr := s.readCursor()
	var ce *CorruptError
	cursorBad = errors.As(cerr, &ce)
	if cerr != nil && !cursorBad {
		return 0, false, false, cerr
	}
	start = int64(segHeaderLen)
	if data != nil {
		seg, reason := decodeSegHeader(data)
		switch {
		case reason != "":
			damaged = true
		case !cursorBad && cseg == seg && coff <= int64(len(data)):
			start = coff
		case !cursorBad && cseg == seg:
			damaged = true // the file is shorter than the cursor
		}
	}
	return start, damaged, cursorBad, nil
}

// salvage returns the valid records of data from start on, counted in rep, and whether
// any bytes had to be skipped (each skipped range is added to rep.Lost): after a bad
// record it resynchronises on the next record magic that starts a valid record.
func salvage(data []byte, start int64, maxRecord int, rep *QuarantineReport) (kept []byte, lost bool) {
	var buf bytes.Buffer
	for off := start; off < int64(len(data)); {
		if n, ok := verifyAt(data, off, maxRecord); ok {
			buf.Write(data[off : off+n])
			rep.Kept++
			rep.KeptBytes += n
			off += n
			continue
		}
		lost = true
		next := off + 1
		for ; next < int64(len(data)); next++ {
			i := bytes.Index(data[next:], []byte(recMagic))
			if i < 0 {
				next = int64(len(data))
				break
			}
			next += int64(i)
			if _, ok := verifyAt(data, next, maxRecord); ok {
				break
			}
		}
		rep.Lost = append(rep.Lost, ByteRange{Offset: off, Length: next - off})
		off = next
	}
	return buf.Bytes(), lost
}

// replaceSegment keeps a copy of the damaged segment under a new name before the good
// records replace it (in a new segment, or none when nothing was kept), so a crash in
// between loses nothing.
func (s *Spool) replaceSegment(kept []byte, stamp string, rep *QuarantineReport) error {
	to := s.path(logName + ".corrupt-" + stamp)
	if err := os.Link(s.path(logName), to); err != nil {
		return err
	}
	rep.MovedTo = append(rep.MovedTo, to)
	if err := syncDir(s.dir); err != nil {
		return err
	}
	if len(kept) == 0 {
		return os.Remove(s.path(logName))
	}
	f, err := writeNew(s.dir, logName, append(encodeSegHeader(newSegmentID()), kept...))
	if err != nil {
		return err
	}
	return f.Close()
}

// verifyAt reports whether a whole, valid record starts at off in data, and its size.
func verifyAt(data []byte, off int64, maxBody int) (int64, bool) {
	avail := int64(len(data)) - off
	if avail < recHeaderLen {
		return 0, false
	}
	n, reason, _ := checkHeader(data[off:off+recHeaderLen], avail, maxBody)
	if reason != "" {
		return 0, false
	}
	end := off + recHeaderLen + int64(n)
	if _, reason := verifyFrame(data[off:end]); reason != "" {
		return 0, false
	}
	return end - off, true
}
