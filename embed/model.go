package embed

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
)

// Model is a fitted embedder: vocabulary, idf and projection. It is
// immutable after Fit or Load and safe for concurrent use.
type Model struct {
	terms []string
	index map[string]int32
	idf   []float32
	dim   int
	proj  []float32 // len(terms)×dim, row-major
	sv    []float64
	cfg   FitConfig
	docs  int
}

func newModel(terms []string, idf []float32, dim int, proj []float32, sv []float64, cfg FitConfig, docs int) (*Model, error) {
	if len(idf) != len(terms) || len(proj) != len(terms)*dim || dim < 1 {
		return nil, fmt.Errorf("model shapes: %d terms, %d idf, dim %d, %d projection values", len(terms), len(idf), dim, len(proj))
	}
	index := make(map[string]int32, len(terms))
	for i, t := range terms {
		if t == "" {
			return nil, fmt.Errorf("model term %d is empty", i)
		}
		if _, dup := index[t]; dup {
			return nil, fmt.Errorf("model term %q appears twice", t)
		}
		index[t] = int32(i)
	}
	return &Model{terms: terms, index: index, idf: idf, dim: dim, proj: proj, sv: sv, cfg: cfg, docs: docs}, nil
}

// Dim returns the embedding dimension.
func (m *Model) Dim() int { return m.dim }

// VocabSize returns the number of terms in the vocabulary.
func (m *Model) VocabSize() int { return len(m.terms) }

// Terms returns a copy of the vocabulary in index order (descending document
// frequency, ties by term).
func (m *Model) Terms() []string { return append([]string(nil), m.terms...) }

// IDF returns the smoothed idf of term and whether it is in the vocabulary.
func (m *Model) IDF(term string) (float32, bool) {
	i, ok := m.index[term]
	if !ok {
		return 0, false
	}
	return m.idf[i], true
}

// SingularValues returns a copy of the top singular values of the catalog's
// TF-IDF matrix found by the fit (at most Dim of them).
func (m *Model) SingularValues() []float64 { return append([]float64(nil), m.sv...) }

// Config returns the configuration the model was fitted with.
func (m *Model) Config() FitConfig { return m.cfg }

// Docs returns the number of catalog documents the model was fitted on.
func (m *Model) Docs() int { return m.docs }

// Model file format, version 1 (all integers little-endian):
//
//	offset 0   magic "VSEMBED\n" (8 bytes)
//	offset 8   format version, uint32
//	offset 12  payload length in bytes, uint64
//	offset 20  payload
//	end-4      CRC-32C (Castagnoli) of every byte before it, uint32
//
// Payload: uvarints dim, vocab, len(sv), docs; varints of the FitConfig
// fields (Dim, MinDF, MaxVocab, Oversample, PowerIters, Seed); each term as
// uvarint length + bytes; idf as vocab float32; sv as float64; projection as
// vocab×dim float32, row-major.
const (
	modelMagic   = "VSEMBED\n"
	modelVersion = 1
	headerLen    = 8 + 4 + 8
	// maxModelBytes bounds what ReadModel accepts.
	maxModelBytes = 1 << 32
)

var (
	// ErrNotModel means the data does not start with the model magic.
	ErrNotModel = errors.New("embed: not a VectorStream model file")
	// ErrModelVersion means the file has a format version this build does
	// not read.
	ErrModelVersion = errors.New("embed: unsupported model format version")
	// ErrModelTruncated means the file is shorter than its header says.
	ErrModelTruncated = errors.New("embed: model file truncated")
	// ErrModelChecksum means the file's content does not match its checksum.
	ErrModelChecksum = errors.New("embed: model file checksum mismatch")
	// ErrModelCorrupt means the checksum matched but the content is not a
	// valid model.
	ErrModelCorrupt = errors.New("embed: model file corrupt")
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// WriteTo writes the model in the versioned, checksummed file format.
func (m *Model) WriteTo(w io.Writer) (int64, error) {
	var p []byte
	p = binary.AppendUvarint(p, uint64(m.dim))
	p = binary.AppendUvarint(p, uint64(len(m.terms)))
	p = binary.AppendUvarint(p, uint64(len(m.sv)))
	p = binary.AppendUvarint(p, uint64(m.docs))
	for _, v := range []int64{int64(m.cfg.Dim), int64(m.cfg.MinDF), int64(m.cfg.MaxVocab), int64(m.cfg.Oversample), int64(m.cfg.PowerIters), m.cfg.Seed} {
		p = binary.AppendVarint(p, v)
	}
	for _, t := range m.terms {
		p = binary.AppendUvarint(p, uint64(len(t)))
		p = append(p, t...)
	}
	for _, v := range m.idf {
		p = binary.LittleEndian.AppendUint32(p, math.Float32bits(v))
	}
	for _, v := range m.sv {
		p = binary.LittleEndian.AppendUint64(p, math.Float64bits(v))
	}
	for _, v := range m.proj {
		p = binary.LittleEndian.AppendUint32(p, math.Float32bits(v))
	}
	buf := make([]byte, 0, headerLen+len(p)+4)
	buf = append(buf, modelMagic...)
	buf = binary.LittleEndian.AppendUint32(buf, modelVersion)
	buf = binary.LittleEndian.AppendUint64(buf, uint64(len(p)))
	buf = append(buf, p...)
	buf = binary.LittleEndian.AppendUint32(buf, crc32.Checksum(buf, castagnoli))
	n, err := w.Write(buf)
	if err != nil {
		return int64(n), fmt.Errorf("embed: write model: %w", err)
	}
	return int64(n), nil
}

// Save writes the model to path atomically (temporary file, fsync, rename).
func (m *Model) Save(path string) error {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("embed: save model: %w", err)
	}
	tmp := f.Name()
	bw := bufio.NewWriter(f)
	_, err = m.WriteTo(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("embed: save model %s: %w", path, err)
	}
	return nil
}

// Load reads a model file written by Save. A truncated, altered or foreign
// file is refused with an error wrapping ErrNotModel, ErrModelVersion,
// ErrModelTruncated, ErrModelChecksum or ErrModelCorrupt.
func Load(path string) (*Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("embed: load model: %w", err)
	}
	defer f.Close()
	m, err := ReadModel(f)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	return m, nil
}

// ReadModel reads one model in the file format from r (see Load).
func ReadModel(r io.Reader) (*Model, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxModelBytes+1))
	if err != nil {
		return nil, fmt.Errorf("embed: read model: %w", err)
	}
	if len(data) < len(modelMagic) || string(data[:len(modelMagic)]) != modelMagic {
		if len(data) < len(modelMagic) && string(data) == modelMagic[:len(data)] {
			return nil, fmt.Errorf("%w: %d bytes, shorter than the header", ErrModelTruncated, len(data))
		}
		return nil, ErrNotModel
	}
	if len(data) < headerLen {
		return nil, fmt.Errorf("%w: %d bytes, shorter than the %d-byte header", ErrModelTruncated, len(data), headerLen)
	}
	if v := binary.LittleEndian.Uint32(data[8:]); v != modelVersion {
		return nil, fmt.Errorf("%w: file has version %d, this build reads %d", ErrModelVersion, v, modelVersion)
	}
	plen := binary.LittleEndian.Uint64(data[12:])
	if plen > maxModelBytes {
		return nil, fmt.Errorf("%w: header declares a %d-byte payload", ErrModelCorrupt, plen)
	}
	want := uint64(headerLen) + plen + 4
	if uint64(len(data)) < want {
		return nil, fmt.Errorf("%w: %d bytes, header says %d", ErrModelTruncated, len(data), want)
	}
	if uint64(len(data)) > want {
		return nil, fmt.Errorf("%w: %d trailing bytes after the checksum", ErrModelCorrupt, uint64(len(data))-want)
	}
	body := data[:want-4]
	if got, stored := crc32.Checksum(body, castagnoli), binary.LittleEndian.Uint32(data[want-4:]); got != stored {
		return nil, fmt.Errorf("%w: computed %08x, stored %08x", ErrModelChecksum, got, stored)
	}
	m, err := decodePayload(body[headerLen:])
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrModelCorrupt, err)
	}
	return m, nil
}

type payloadReader struct {
	b   []byte
	err error
}

func (p *payloadReader) uvarint(what string) uint64 {
	if p.err != nil {
		return 0
	}
	v, n := binary.Uvarint(p.b)
	if n <= 0 {
		p.err = fmt.Errorf("reading %s", what)
		return 0
	}
	p.b = p.b[n:]
	return v
}

func (p *payloadReader) varint(what string) int64 {
	if p.err != nil {
		return 0
	}
	v, n := binary.Varint(p.b)
	if n <= 0 {
		p.err = fmt.Errorf("reading %s", what)
		return 0
	}
	p.b = p.b[n:]
	return v
}

func (p *payloadReader) bytes(n uint64, what string) []byte {
	if p.err != nil {
		return nil
	}
	if n > uint64(len(p.b)) {
		p.err = fmt.Errorf("reading %s: need %d bytes, %d left", what, n, len(p.b))
		return nil
	}
	b := p.b[:n]
	p.b = p.b[n:]
	return b
}

func decodePayload(b []byte) (*Model, error) {
	p := &payloadReader{b: b}
	dim := p.uvarint("dim")
	vocab := p.uvarint("vocab size")
	nsv := p.uvarint("singular value count")
	docs := p.uvarint("document count")
	var c [6]int64
	for i := range c {
		c[i] = p.varint("fit config")
	}
	if p.err != nil {
		return nil, p.err
	}
	if dim == 0 || dim > 1<<16 || nsv > dim || vocab > uint64(len(b)) || vocab*dim > uint64(len(b))/4 {
		return nil, fmt.Errorf("implausible shape: dim %d, vocab %d, %d singular values in %d bytes", dim, vocab, nsv, len(b))
	}
	terms := make([]string, vocab)
	for i := range terms {
		n := p.uvarint("term length")
		terms[i] = string(p.bytes(n, "term"))
	}
	idf := make([]float32, vocab)
	raw := p.bytes(vocab*4, "idf")
	for i := range idf {
		if raw != nil {
			idf[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
	}
	sv := make([]float64, nsv)
	raw = p.bytes(nsv*8, "singular values")
	for i := range sv {
		if raw != nil {
			sv[i] = math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:]))
		}
	}
	proj := make([]float32, vocab*dim)
	raw = p.bytes(vocab*dim*4, "projection")
	for i := range proj {
		if raw != nil {
			proj[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
	}
	if p.err != nil {
		return nil, p.err
	}
	if len(p.b) != 0 {
		return nil, fmt.Errorf("%d unread payload bytes", len(p.b))
	}
	cfg := FitConfig{Dim: int(c[0]), MinDF: int(c[1]), MaxVocab: int(c[2]), Oversample: int(c[3]), PowerIters: int(c[4]), Seed: c[5]}
	return newModel(terms, idf, int(dim), proj, sv, cfg, int(docs))
}

var _ io.WriterTo = (*Model)(nil)
