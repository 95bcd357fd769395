package embed

import (
	"errors"
	"fmt"

	"github.com/vectorstream/vectorstream/kernels"
)

// EncoderOpt configures an Encoder.
type EncoderOpt interface{ apply(*encoderCfg) }

type encoderCfg struct {
	maxTokens  int
	onFallback func(error)
}

func defaultEncoderCfg() encoderCfg { return encoderCfg{maxTokens: 0} }

type encoderOpt func(*encoderCfg)

func (f encoderOpt) apply(c *encoderCfg) { f(c) }

// MaxTokens limits how many tokens of each document are read (later tokens
// are ignored), bounding the work one hostile document can cause. The
// default, 0, reads every token.
func MaxTokens(n int) EncoderOpt {
	return encoderOpt(func(c *encoderCfg) { c.maxTokens = max(n, 0) })
}

// OnFallback is called, with the device's error, each time a batch fails on the
// GPU and is encoded again on the CPU (see Encode). The default does nothing.
func OnFallback(fn func(error)) EncoderOpt {
	return encoderOpt(func(c *encoderCfg) { c.onFallback = fn })
}

// Encoder turns batches of documents into L2-normalised float32 vectors
// with one backend projection per batch. It reuses its buffers across
// calls, so Encode does not allocate once they have grown.
//
// An Encoder is not safe for concurrent use: give each goroutine its own
// (they may share the Model and the Backend). There is no per-document
// cache: every call tokenizes and projects every document.
type Encoder struct {
	m    *Model
	be   kernels.Backend
	cfg  encoderCfg
	proj kernels.Projection
	err  error // sticky error from NewEncoder (projection upload)

	tz     tokenizer
	csr    kernels.CSR
	mark   []uint32 // mark[id] == stamp ⇔ id already seen in this document
	pos    []int32  // position of id in ids
	stamp  uint32
	ids    []int32
	counts []int32
}

// NewEncoder returns an Encoder for m that runs its kernels on be. The
// projection is uploaded to be once, here; if that fails, every Encode call
// returns the error.
func NewEncoder(m *Model, be kernels.Backend, opts ...EncoderOpt) *Encoder {
	cfg := defaultEncoderCfg()
	for _, o := range opts {
		o.apply(&cfg)
	}
	e := &Encoder{
		m:    m,
		be:   be,
		cfg:  cfg,
		mark: make([]uint32, len(m.terms)),
		pos:  make([]int32, len(m.terms)),
	}
	e.proj, e.err = be.NewProjection(m.proj, len(m.terms), m.dim)
	if e.err != nil {
		e.err = fmt.Errorf("embed: encoder: upload projection: %w", e.err)
	}
	return e
}

// Dim returns the length of each output vector.
func (e *Encoder) Dim() int { return e.m.dim }

// Encode writes the embedding of docs[i] to out[i*Dim:(i+1)*Dim].
// len(out) must be len(docs)*Dim. Each row has unit L2 norm, or is all zero
// when the document has no vocabulary term.
//
// On a backend made by kernels.NewFallback, a device failure (a GPU out of
// memory) moves the backend to the CPU for good and fails the call that met
// it with kernels.ErrFellBack: Encode then encodes the same batch again, on
// the CPU, and reports the failure to OnFallback. The caller sees one
// successful call.
func (e *Encoder) Encode(docs []Doc, out []float32) error {
	if e.err != nil {
		return e.err
	}
	dim := e.m.dim
	if len(out) != len(docs)*dim {
		return fmt.Errorf("embed: encode: out has %d values, want %d docs × %d", len(out), len(docs), dim)
	}
	if len(docs) == 0 {
		return nil
	}
	e.buildCSR(docs)
	// Fused on backends that can (one pass over out instead of two).
	err := kernels.ProjectNormalize(e.be, e.proj, &e.csr, out)
	if errors.Is(err, kernels.ErrFellBack) {
		if e.cfg.onFallback != nil {
			e.cfg.onFallback(err)
		}
		err = kernels.ProjectNormalize(e.be, e.proj, &e.csr, out)
	}
	if err != nil {
		return fmt.Errorf("embed: encode: project and normalise %d docs: %w", len(docs), err)
	}
	return nil
}

// buildCSR fills e.csr with the (unnormalised) TF-IDF rows of docs.
func (e *Encoder) buildCSR(docs []Doc) {
	m := e.m
	index, idf := m.index, m.idf
	e.csr.Reset(len(m.terms))
	for _, d := range docs {
		e.stamp++
		if e.stamp == 0 {
			clear(e.mark)
			e.stamp = 1
		}
		stamp := e.stamp
		ids, counts := e.ids[:0], e.counts[:0]
		e.tz.reset(d.Text, d.Lang)
		for n := 0; e.cfg.maxTokens == 0 || n < e.cfg.maxTokens; n++ {
			tok, ok := e.tz.next()
			if !ok {
				break
			}
			id, found := index[string(tok)]
			if !found {
				continue
			}
			if e.mark[id] != stamp {
				e.mark[id] = stamp
				e.pos[id] = int32(len(ids))
				ids = append(ids, id)
				counts = append(counts, 1)
			} else {
				counts[e.pos[id]]++
			}
		}
		for j, id := range ids {
			e.csr.Append(id, tfWeight(counts[j])*idf[id])
		}
		e.csr.EndRow()
		e.ids, e.counts = ids, counts
	}
}

// Close releases the projection held by the backend. The Encoder must not
// be used afterwards; the Backend is not closed.
func (e *Encoder) Close() error {
	if e.proj == nil {
		return nil
	}
	err := e.proj.Close()
	e.proj = nil
	e.err = fmt.Errorf("embed: encoder: %w", kernels.ErrClosed)
	if err != nil {
		return fmt.Errorf("embed: encoder: close projection: %w", err)
	}
	return nil
}
