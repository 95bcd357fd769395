package pipeline

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/vectorstream/vectorstream/embed"
)

// embed is the third stage: it encodes the texts of b's valid events into b.vecs,
// one contiguous share per worker (one call in all for a GPU: Deps.EmbedCalls).
func (p *Pipeline) embed(b *batch) error {
	dim := p.dim
	if cap(p.vecBuf) < len(b.events)*dim {
		p.vecBuf = make([]float32, len(b.events)*dim)
	}
	b.vecs = p.vecBuf[:len(b.events)*dim]
	docs := make([]embed.Doc, len(b.events))
	for i := range b.events {
		docs[i] = embed.Doc{Text: b.events[i].EmbedText(), Lang: b.events[i].Locale}
	}
	n := len(p.embedders)
	if c := p.deps.EmbedCalls; c > 0 && c < n {
		n = c
	}
	if len(docs) < 64*n {
		n = max(1, len(docs)/64)
	}
	var err error
	if n == 1 {
		err = p.embedders[0].Encode(docs, b.vecs)
	} else {
		var wg sync.WaitGroup
		errs := make([]error, n)
		for w := range n {
			lo, hi := w*len(docs)/n, (w+1)*len(docs)/n
			wg.Go(func() {
				errs[w] = p.embedders[w].Encode(docs[lo:hi], b.vecs[lo*dim:hi*dim])
			})
		}
		wg.Wait()
		err = errors.Join(errs...)
	}
	if err != nil {
		return fmt.Errorf("batch %d: embed: %w", b.no, err)
	}
	b.embedded = time.Now().UnixNano()
	return nil
}
