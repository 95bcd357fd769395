package spool

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/qdrant/go-client/qdrant"
	"google.golang.org/protobuf/proto"
)

func testWrites() []*qdrant.UpsertPoints {
	wait := true
	return []*qdrant.UpsertPoints{
		{
			CollectionName: "ecommerce_events",
			Wait:           &wait,
			Points: []*qdrant.PointStruct{
				{Id: qdrant.NewID("5f0e6c3e-8a43-5a8e-9b1e-0d6a2f0b7c11"), Vectors: qdrant.NewVectors(0.5, -1, 2.25),
					Payload: qdrant.NewValueMap(map[string]any{"event_type": "purchase", "price": 12.5})},
				{Id: qdrant.NewIDNum(7), Vectors: qdrant.NewVectors(1, 2, 3)},
			},
		},
		{CollectionName: "user_profiles", Wait: &wait, Points: []*qdrant.PointStruct{
			{Id: qdrant.NewIDNum(42), Vectors: qdrant.NewVectors(0, 0, 1),
				Payload: qdrant.NewValueMap(map[string]any{"last_partition": 3, "last_offset": 1234})},
		}},
		{CollectionName: "empty"},
	}
}

func TestWritesRoundTrip(t *testing.T) {
	t.Parallel()
	for _, in := range [][]*qdrant.UpsertPoints{nil, testWrites()} {
		b, err := EncodeWrites(in)
		if err != nil {
			t.Fatal(err)
		}
		out, err := DecodeWrites(b)
		if err != nil {
			t.Fatal(err)
		}
		if len(out) != len(in) {
			t.Fatalf("decoded %d messages; want %d", len(out), len(in))
		}
		for i := range in {
			if !proto.Equal(in[i], out[i]) {
				t.Errorf("message %d: got %v; want %v", i, out[i], in[i])
			}
		}
	}
	if _, err := EncodeWrites([]*qdrant.UpsertPoints{nil}); err == nil {
		t.Error("a nil message was encoded")
	}
}

func TestWritesThroughSpool(t *testing.T) {
	t.Parallel()
	payload, err := EncodeWrites(testWrites())
	if err != nil {
		t.Fatal(err)
	}
	s := mustOpen(t, t.TempDir())
	if err := s.Append(Record{Offsets: []Offset{{"raw_data", 3, 1234}}, Payload: payload}); err != nil {
		t.Fatal(err)
	}
	for _, r := range replayAll(t, s) {
		out, err := DecodeWrites(r.Payload)
		if err != nil || len(out) != 3 || !proto.Equal(out[0], testWrites()[0]) {
			t.Fatalf("DecodeWrites = %v, %v", out, err)
		}
	}
}

func TestDecodeWritesRejectsDamage(t *testing.T) {
	t.Parallel()
	b, _ := EncodeWrites(testWrites())
	for cut := range len(b) {
		if _, err := DecodeWrites(b[:cut]); err == nil {
			t.Fatalf("payload cut at %d of %d decoded", cut, len(b))
		}
	}
	if _, err := DecodeWrites(append(bytes.Clone(b), 0)); err == nil {
		t.Error("trailing byte accepted")
	}
	bad := bytes.Clone(b)
	bad[0] = 9
	if _, err := DecodeWrites(bad); err == nil {
		t.Error("unknown version accepted")
	}
}

// FuzzDecodeWrites: DecodeWrites never panics, and whatever it accepts encodes
// back to messages that decode equal.
func FuzzDecodeWrites(f *testing.F) {
	b, _ := EncodeWrites(testWrites())
	f.Add(b)
	f.Add([]byte{1, 0})
	f.Add([]byte{1, 1, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := DecodeWrites(data)
		if err != nil {
			return
		}
		again, err := EncodeWrites(out)
		if err != nil {
			t.Fatal(err)
		}
		back, err := DecodeWrites(again)
		if err != nil || len(back) != len(out) {
			t.Fatalf("re-decode: %v", err)
		}
		for i := range out {
			if !proto.Equal(out[i], back[i]) {
				t.Fatalf("message %d changed", i)
			}
		}
	})
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
