package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
)

const (
	segMagic     = "VSSG"
	recMagic     = "VSRC"
	curMagic     = "VSCU"
	version      = 1
	segHeaderLen = 20
	recHeaderLen = 16
	cursorLen    = 28
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Offset is one Kafka position a spooled batch covers, stored as given: the
// pipeline decides whether it is the last offset consumed or the next to commit.
type Offset struct {
	Topic     string
	Partition int32
	Offset    int64
}

// Record is one spooled batch: the Kafka offsets it covers and an opaque payload.
type Record struct {
	Offsets []Offset
	Payload []byte
}

func encodeSegHeader(seg uint64) []byte {
	b := make([]byte, segHeaderLen)
	copy(b, segMagic)
	binary.BigEndian.PutUint16(b[4:], version)
	binary.BigEndian.PutUint64(b[8:], seg)
	binary.BigEndian.PutUint32(b[16:], crc32.Checksum(b[:16], castagnoli))
	return b
}

// decodeSegHeader returns the segment id, or a reason the header is bad.
func decodeSegHeader(b []byte) (uint64, string) {
	switch {
	case len(b) < segHeaderLen:
		return 0, fmt.Sprintf("segment header cut short (%d of %d bytes)", len(b), segHeaderLen)
	case string(b[:4]) != segMagic:
		return 0, fmt.Sprintf("bad segment magic %q", b[:4])
	case binary.BigEndian.Uint32(b[16:]) != crc32.Checksum(b[:16], castagnoli):
		return 0, "segment header checksum mismatch"
	case binary.BigEndian.Uint16(b[4:]) != version:
		return 0, fmt.Sprintf("unsupported segment version %d", binary.BigEndian.Uint16(b[4:]))
	}
	return binary.BigEndian.Uint64(b[8:]), ""
}

// encodeBody returns the body of rec, or an error naming what does not fit.
func encodeBody(rec Record) ([]byte, error) {
	n := 4 + len(rec.Payload)
	for i, o := range rec.Offsets {
		if len(o.Topic) > math.MaxUint16 {
			return nil, fmt.Errorf("offset %d: topic of %d bytes, more than %d", i, len(o.Topic), math.MaxUint16)
		}
		n += 2 + len(o.Topic) + 4 + 8
	}
	if len(rec.Offsets) > math.MaxUint32 || n > math.MaxUint32 {
		return nil, fmt.Errorf("record of %d bytes is too large", n)
	}
	b := make([]byte, 0, n)
	b = binary.BigEndian.AppendUint32(b, uint32(len(rec.Offsets)))
	for _, o := range rec.Offsets {
		b = binary.BigEndian.AppendUint16(b, uint16(len(o.Topic)))
		b = append(b, o.Topic...)
		b = binary.BigEndian.AppendUint32(b, uint32(o.Partition))
		b = binary.BigEndian.AppendUint64(b, uint64(o.Offset))
	}
	return append(b, rec.Payload...), nil
}

var errBody = errors.New("malformed record body")

// decodeBody parses a body whose checksum was verified. It copies nothing it
// returns from b except the payload, which aliases b.
func decodeBody(b []byte) (Record, error) {
	if len(b) < 4 {
		return Record{}, errBody
	}
	count := binary.BigEndian.Uint32(b)
	b = b[4:]
	if uint64(count)*14 > uint64(len(b)) {
		return Record{}, errBody
	}
	rec := Record{Offsets: make([]Offset, count)}
	for i := range rec.Offsets {
		if len(b) < 2 {
			return Record{}, errBody
		}
		tl := int(binary.BigEndian.Uint16(b))
		if len(b) < 2+tl+12 {
			return Record{}, errBody
		}
		rec.Offsets[i] = Offset{
			Topic:     string(b[2 : 2+tl]),
			Partition: int32(binary.BigEndian.Uint32(b[2+tl:])),
			Offset:    int64(binary.BigEndian.Uint64(b[6+tl:])),
		}
		b = b[14+tl:]
	}
	rec.Payload = b
	return rec, nil
}

// frame returns the record header and body as written to the segment.
func frame(body []byte) []byte {
	f := make([]byte, recHeaderLen, recHeaderLen+len(body))
	copy(f, recMagic)
	f[4] = version
	binary.BigEndian.PutUint32(f[8:], uint32(len(body)))
	f = append(f, body...)
	c := crc32.Update(crc32.Checksum(f[:12], castagnoli), castagnoli, body)
	binary.BigEndian.PutUint32(f[12:], c)
	return f
}

// checkHeader validates a record header and returns the body length, or a reason.
// avail is the number of bytes in the file from the start of the header on.
func checkHeader(h []byte, avail int64, maxBody int) (int, string, bool) {
	if avail < recHeaderLen {
		return 0, fmt.Sprintf("file ends %d bytes into a record header", avail), true
	}
	if string(h[:4]) != recMagic {
		return 0, fmt.Sprintf("bad record magic %q", h[:4]), false
	}
	if h[4] != version {
		return 0, fmt.Sprintf("unsupported record version %d", h[4]), false
	}
	if h[5] != 0 || h[6] != 0 || h[7] != 0 {
		return 0, "reserved header bytes not zero", false
	}
	n := binary.BigEndian.Uint32(h[8:])
	if uint64(n) > uint64(maxBody) {
		return 0, fmt.Sprintf("record length %d exceeds the limit of %d", n, maxBody), false
	}
	if int64(n) > avail-recHeaderLen {
		return 0, fmt.Sprintf("file ends %d bytes into a record of %d", avail-recHeaderLen, n), true
	}
	return int(n), "", false
}

// verifyFrame checks the checksum of a complete frame and decodes its body.
func verifyFrame(f []byte) (Record, string) {
	want := binary.BigEndian.Uint32(f[12:])
	if crc32.Update(crc32.Checksum(f[:12], castagnoli), castagnoli, f[recHeaderLen:]) != want {
		return Record{}, "record checksum mismatch"
	}
	rec, err := decodeBody(f[recHeaderLen:])
	if err != nil {
		return Record{}, err.Error()
	}
	return rec, ""
}

func encodeCursor(seg uint64, off int64) []byte {
	b := make([]byte, cursorLen)
	copy(b, curMagic)
	binary.BigEndian.PutUint16(b[4:], version)
	binary.BigEndian.PutUint64(b[8:], seg)
	binary.BigEndian.PutUint64(b[16:], uint64(off))
	binary.BigEndian.PutUint32(b[24:], crc32.Checksum(b[:24], castagnoli))
	return b
}

func decodeCursor(b []byte) (seg uint64, off int64, reason string) {
	switch {
	case len(b) != cursorLen:
		return 0, 0, fmt.Sprintf("cursor of %d bytes, want %d", len(b), cursorLen)
	case string(b[:4]) != curMagic:
		return 0, 0, fmt.Sprintf("bad cursor magic %q", b[:4])
	case binary.BigEndian.Uint32(b[24:]) != crc32.Checksum(b[:24], castagnoli):
		return 0, 0, "cursor checksum mismatch"
	case binary.BigEndian.Uint16(b[4:]) != version:
		return 0, 0, fmt.Sprintf("unsupported cursor version %d", binary.BigEndian.Uint16(b[4:]))
	}
	off = int64(binary.BigEndian.Uint64(b[16:]))
	if off < segHeaderLen {
		return 0, 0, fmt.Sprintf("cursor offset %d inside the segment header", off)
	}
	return binary.BigEndian.Uint64(b[8:]), off, ""
}
