package embed_test

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/vectorstream/vectorstream/embed"
)

// synthCatalog makes n product-like documents (10–20 tokens: brand, category
// words, shared adjectives, sizes, some upper case, a share of Turkish) from
// a fixed seed, with their category index. It stands in for the workloads
// generator in unit tests and benchmarks.
type synthCatalog struct {
	docs []embed.Doc
	cat  []int
}

var syllables = strings.Fields("ka ri to me sa lu no vi pe da gu re mi so ta ne lo bi fu ze ya ko ha ti")

func synthWord(r *rand.Rand, syl int) string {
	var b strings.Builder
	for i := 0; i < syl; i++ {
		b.WriteString(syllables[r.IntN(len(syllables))])
	}
	return b.String()
}

func newSynthCatalog(seed uint64, n, categories int) synthCatalog {
	r := rand.New(rand.NewPCG(seed, 7))
	catWords := make([][]string, categories)
	for c := range catWords {
		catWords[c] = make([]string, 120)
		for i := range catWords[c] {
			catWords[c][i] = synthWord(r, 3)
		}
	}
	brands := make([]string, 600)
	for i := range brands {
		brands[i] = strings.ToUpper(synthWord(r, 2))
	}
	adjectives := strings.Fields("red blue black white green large small premium classic new ultra slim pro mini max soft İnce IŞIK Kırmızı büyük küçük")
	units := strings.Fields("128gb 256gb xl m s 500ml 1l 2kg 42 43 44 usb-c wifi 4k")
	s := synthCatalog{docs: make([]embed.Doc, n), cat: make([]int, n)}
	for i := range s.docs {
		c := r.IntN(categories)
		var words []string
		words = append(words, brands[r.IntN(len(brands))])
		for j, m := 0, 5+r.IntN(8); j < m; j++ {
			// Zipf-ish within the category: low indices are common.
			k := int(float64(len(catWords[c])) * r.Float64() * r.Float64())
			words = append(words, catWords[c][k])
		}
		for j, m := 0, 2+r.IntN(4); j < m; j++ {
			words = append(words, adjectives[r.IntN(len(adjectives))])
		}
		words = append(words, units[r.IntN(len(units))])
		r.Shuffle(len(words)-1, func(a, b int) { words[a+1], words[b+1] = words[b+1], words[a+1] })
		lang := "en-US"
		if r.IntN(5) == 0 {
			lang = "tr-TR"
		}
		s.docs[i] = embed.Doc{Text: fmt.Sprintf("%s, %s", strings.Join(words[:3], " "), strings.Join(words[3:], " ")), Lang: lang}
		s.cat[i] = c
	}
	return s
}
