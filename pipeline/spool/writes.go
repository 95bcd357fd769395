package spool

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/qdrant/go-client/qdrant"
	"google.golang.org/protobuf/proto"
)

// writesVersion is the first byte of an EncodeWrites payload.
const writesVersion = 1

// EncodeWrites encodes a batch's Qdrant upserts as a spool payload: a version byte
// (1), the number of messages as a uvarint, then each message as a uvarint length
// and its protobuf encoding (proto.Marshal). A nil message is refused.
func EncodeWrites(writes []*qdrant.UpsertPoints) ([]byte, error) {
	b := []byte{writesVersion}
	b = binary.AppendUvarint(b, uint64(len(writes)))
	for i, w := range writes {
		if w == nil {
			return nil, fmt.Errorf("spool: encode writes: message %d is nil", i)
		}
		m, err := proto.Marshal(w)
		if err != nil {
			return nil, fmt.Errorf("spool: encode writes: message %d (collection %q): %w", i, w.GetCollectionName(), err)
		}
		b = binary.AppendUvarint(b, uint64(len(m)))
		b = append(b, m...)
	}
	return b, nil
}

var errWrites = errors.New("malformed writes payload")

// DecodeWrites decodes a payload made by EncodeWrites. It never panics on bad
// input: a payload that is cut short, has trailing bytes, an unknown version or a
// message that does not unmarshal is an error.
func DecodeWrites(b []byte) ([]*qdrant.UpsertPoints, error) {
	if len(b) == 0 || b[0] != writesVersion {
		return nil, fmt.Errorf("spool: decode writes: %w: unknown version", errWrites)
	}
	b = b[1:]
	count, n := binary.Uvarint(b)
	if n <= 0 || count > uint64(len(b)) { // every message takes at least its length byte
		return nil, fmt.Errorf("spool: decode writes: %w: bad message count", errWrites)
	}
	b = b[n:]
	out := make([]*qdrant.UpsertPoints, 0, count)
	for i := range count {
		size, n := binary.Uvarint(b)
		if n <= 0 || size > uint64(len(b)-n) {
			return nil, fmt.Errorf("spool: decode writes: %w: message %d cut short", errWrites, i)
		}
		b = b[n:]
		w := new(qdrant.UpsertPoints)
		if err := proto.Unmarshal(b[:size], w); err != nil {
			return nil, fmt.Errorf("spool: decode writes: message %d: %w", i, err)
		}
		out = append(out, w)
		b = b[size:]
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("spool: decode writes: %w: %d trailing bytes", errWrites, len(b))
	}
	return out, nil
}
