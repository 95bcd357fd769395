package workloads

import (
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/vectorstream/vectorstream/event"
)

// Languages of the lexicon.
const (
	langEN = 0
	langTR = 1
	nLangs = 2
)

// langOf maps a locale to a lexicon language: "tr", "tr-TR", … are Turkish,
// everything else English.
func langOf(locale string) int {
	if len(locale) >= 2 && (locale[0]|0x20) == 't' && (locale[1]|0x20) == 'r' && (len(locale) == 2 || locale[2] == '-' || locale[2] == '_') {
		return langTR
	}
	return langEN
}

// word is one lexicon entry in both languages.
type word struct {
	text  [nLangs]string // natural case, for titles (title-cased at render)
	lower [nLangs]string // lower case with the language's rules, for queries
	title [nLangs]string // title case with the language's rules
}

func parseWord(s string) word {
	en, tr, ok := strings.Cut(s, "|")
	if !ok {
		panic("workloads: lexicon entry without '|': " + s)
	}
	var w word
	w.text = [nLangs]string{en, tr}
	w.lower[langEN] = strings.ToLower(en)
	w.lower[langTR] = strings.ToLowerSpecial(unicode.TurkishCase, tr)
	w.title[langEN] = titleCase(en, unicode.SpecialCase(nil))
	w.title[langTR] = titleCase(tr, unicode.TurkishCase)
	return w
}

// titleCase upper-cases the first letter of every space-separated part using
// the case rules c (nil for the default rules).
func titleCase(s string, c unicode.SpecialCase) string {
	var b strings.Builder
	start := true
	for _, r := range s {
		if start && unicode.IsLower(r) {
			if c != nil {
				r = c.ToUpper(r)
			} else {
				r = unicode.ToUpper(r)
			}
		}
		start = r == ' '
		b.WriteRune(r)
	}
	return b.String()
}

func lowerFor(lang int, s string) string {
	if lang == langTR {
		return strings.ToLowerSpecial(unicode.TurkishCase, s)
	}
	return strings.ToLower(s)
}

// tokens splits lower-cased text on anything that is not a letter or digit.
func tokens(lang int, s string) []string {
	return strings.FieldsFunc(lowerFor(lang, s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\''
	})
}

// lexicon is the parsed word pools and categories.
type lexicon struct {
	colours, materials, adjectives, nouns []word
	categories                            []category
	brands                                []string
}

// category is a parsed categoryDef with its pools resolved to word indices.
// Every pool already excludes words that share a token with the category's
// names, so titles never contain them.
type category struct {
	def                                   *categoryDef
	specific                              []word
	nouns, adjs, mats                     []int // preferred, indices into the shared pools
	allNouns, allAdjs, allMats, allColour []int // every shared word allowed in this category
	attrValues                            []word
	attrName                              string
	brands                                []int
}

func parseWords(list []string) []word {
	out := make([]word, len(list))
	for i, s := range list {
		out[i] = parseWord(s)
	}
	return out
}

// newLexicon parses the tables in lexicon.go. It panics on a broken table,
// which tests catch.
func newLexicon() *lexicon {
	lx := &lexicon{
		colours:    parseWords(colourWords),
		materials:  parseWords(materialWords),
		adjectives: parseWords(adjectiveWords),
		nouns:      parseWords(nounWords),
		brands:     brandNames,
	}
	for ci := range categoryDefs {
		def := &categoryDefs[ci]
		var banned [nLangs][]string
		banned[langEN] = tokens(langEN, def.en+" "+strings.ReplaceAll(def.slug, "_", " "))
		banned[langTR] = tokens(langTR, def.tr)
		allowed := func(w word) bool {
			for lang := range nLangs {
				for _, t := range tokens(lang, w.text[lang]) {
					for _, n := range banned[lang] {
						if t == n || (len(t) >= 3 && len(n) >= 3 && (strings.HasPrefix(t, n) || strings.HasPrefix(n, t))) {
							return false
						}
					}
				}
			}
			return true
		}
		filter := func(pool []word) []int {
			var out []int
			for i, w := range pool {
				if allowed(w) {
					out = append(out, i)
				}
			}
			return out
		}
		pick := func(pool []word, keys string) []int {
			var out []int
			for _, k := range strings.Fields(keys) {
				found := false
				for i, w := range pool {
					if w.text[langEN] == k {
						found = true
						if allowed(w) {
							out = append(out, i)
						}
						break
					}
				}
				if !found {
					panic("workloads: lexicon: category " + def.slug + " names unknown word " + strconv.Quote(k))
				}
			}
			return out
		}
		c := category{
			def:       def,
			nouns:     pick(lx.nouns, def.nouns),
			adjs:      pick(lx.adjectives, def.adjs),
			mats:      pick(lx.materials, def.materials),
			allNouns:  filter(lx.nouns),
			allAdjs:   filter(lx.adjectives),
			allMats:   filter(lx.materials),
			allColour: filter(lx.colours),
		}
		for _, w := range parseWords(def.specific) {
			if !allowed(w) {
				panic("workloads: lexicon: category " + def.slug + " specific word contains its name: " + w.text[langEN])
			}
			c.specific = append(c.specific, w)
		}
		switch def.attr {
		case "size":
			c.attrName, c.attrValues = "size", parseWords(sizeValues)
		case "shoe_size":
			c.attrName, c.attrValues = "size", parseWords(shoeSizeValues)
		case "capacity":
			c.attrName, c.attrValues = "capacity", parseWords(capacityValues)
		case "warranty":
			c.attrName, c.attrValues = "warranty", parseWords(warrantyValues)
		case "pack_size":
			c.attrName, c.attrValues = "pack_size", parseWords(packValues)
		case "dimensions":
			c.attrName, c.attrValues = "dimensions", parseWords(dimValues)
		default:
			panic("workloads: lexicon: category " + def.slug + " has unknown attribute kind " + def.attr)
		}
		// Each brand sells in two categories spread over the list.
		for b := range lx.brands {
			if b%len(categoryDefs) == ci || (b*7+3)%len(categoryDefs) == ci {
				c.brands = append(c.brands, b)
			}
		}
		lx.categories = append(lx.categories, c)
	}
	return lx
}

// prng wraps a PCG with the few draws the generator needs. It never touches
// global state, so a stream depends only on the seed.
type prng struct {
	pcg rand.PCG
}

func newPRNG(seed int64, stream uint64) *prng {
	p := &prng{}
	p.pcg.Seed(uint64(seed), stream^0x9e3779b97f4a7c15)
	return p
}

func (p *prng) Uint64() uint64 { return p.pcg.Uint64() }

// Float64 returns a uniform value in [0, 1).
func (p *prng) Float64() float64 { return float64(p.pcg.Uint64()>>11) * (1.0 / (1 << 53)) }

// IntN returns a uniform value in [0, n); n > 0.
func (p *prng) IntN(n int) int {
	hi, _ := bits.Mul64(p.pcg.Uint64(), uint64(n))
	return int(hi)
}

// Norm returns a standard normal deviate (Box-Muller; one of the pair).
func (p *prng) Norm() float64 {
	u1 := p.Float64()
	for u1 == 0 {
		u1 = p.Float64()
	}
	u2 := p.Float64()
	return math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
}

// alias is Vose's alias table: O(1) draws from a fixed discrete distribution.
type alias struct {
	prob  []float64
	alias []int32
}

func newAlias(weights []float64) alias {
	n := len(weights)
	a := alias{prob: make([]float64, n), alias: make([]int32, n)}
	sum := 0.0
	for _, w := range weights {
		sum += w
	}
	scaled := make([]float64, n)
	small := make([]int32, 0, n)
	large := make([]int32, 0, n)
	for i, w := range weights {
		scaled[i] = w * float64(n) / sum
		if scaled[i] < 1 {
			small = append(small, int32(i))
		} else {
			large = append(large, int32(i))
		}
	}
	for len(small) > 0 && len(large) > 0 {
		s := small[len(small)-1]
		small = small[:len(small)-1]
		l := large[len(large)-1]
		a.prob[s] = scaled[s]
		a.alias[s] = l
		scaled[l] -= 1 - scaled[s]
		if scaled[l] < 1 {
			large = large[:len(large)-1]
			small = append(small, l)
		}
	}
	for _, i := range large {
		a.prob[i] = 1
		a.alias[i] = i
	}
	for _, i := range small {
		a.prob[i] = 1
		a.alias[i] = i
	}
	return a
}

func (a *alias) draw(r *prng) int {
	u := r.Float64() * float64(len(a.prob))
	i := int(u)
	if i >= len(a.prob) {
		i = len(a.prob) - 1
	}
	if u-float64(i) < a.prob[i] {
		return i
	}
	return int(a.alias[i])
}

// catalog is the generated product set, rendered in every language.
type catalog struct {
	lx         *lexicon
	products   [nLangs][]event.Product
	fragments  [nLangs][][]byte // `,"product":{...}` per product, for the encoder
	category   []int32          // category index per product
	popular    alias            // global Zipf popularity
	byCategory []alias          // Zipf popularity within each category
	members    [][]int32        // product indices per category, by popularity rank
	catPop     alias            // category popularity (sum of its products' weights)
}

// titleParts is a title as word references, rendered per language.
type titleParts struct {
	words    []*word
	specific int
}

// buildCatalog draws n products from the lexicon with the given PRNG.
func buildCatalog(lx *lexicon, n int, zipfS float64, r *prng) *catalog {
	c := &catalog{lx: lx, category: make([]int32, n)}
	cw := make([]float64, len(lx.categories))
	for i, cat := range lx.categories {
		cw[i] = cat.def.weight
	}
	catAlias := newAlias(cw)
	for l := range nLangs {
		c.products[l] = make([]event.Product, n)
		c.fragments[l] = make([][]byte, n)
	}
	var parts titleParts
	for i := range n {
		ci := catAlias.draw(r)
		cat := &lx.categories[ci]
		c.category[i] = int32(ci)
		id := "p-" + pad(i, 6)
		colour := -1
		material := -1
		parts = drawTitle(lx, cat, r, parts, &colour, &material)
		if colour < 0 {
			colour = cat.allColour[r.IntN(len(cat.allColour))]
		}
		if material < 0 {
			material = pickPref(r, cat.mats, cat.allMats, 0.8)
		}
		brand := lx.brands[cat.brands[r.IntN(len(cat.brands))]]
		price := cat.def.price * math.Exp(0.6*r.Norm())
		if price < 1 {
			price = 1
		}
		price = math.Floor(price) + 0.99
		extra := cat.attrValues[r.IntN(len(cat.attrValues))]
		for l := range nLangs {
			var tb strings.Builder
			for k, w := range parts.words {
				if k > 0 {
					tb.WriteByte(' ')
				}
				tb.WriteString(w.title[l])
			}
			p := event.Product{
				ID:       id,
				Title:    tb.String(),
				Brand:    brand,
				Category: cat.def.slug,
				Price:    price,
				Attributes: []event.Attribute{
					{Name: "colour", Value: lx.colours[colour].lower[l]},
					{Name: "material", Value: lx.materials[material].lower[l]},
					{Name: cat.attrName, Value: extra.text[l]},
				},
			}
			c.products[l][i] = p
			frag := append([]byte(nil), `,"product":`...)
			c.fragments[l][i] = event.AppendProductJSON(frag, &c.products[l][i])
		}
	}
	// Zipf popularity over a random permutation of the products.
	rank := make([]int, n)
	for i := range rank {
		rank[i] = i
	}
	for i := n - 1; i > 0; i-- {
		j := r.IntN(i + 1)
		rank[i], rank[j] = rank[j], rank[i]
	}
	weights := make([]float64, n)
	for pos, i := range rank {
		weights[i] = 1 / math.Pow(float64(pos+1), zipfS)
	}
	c.popular = newAlias(weights)
	c.members = make([][]int32, len(lx.categories))
	for _, i := range rank { // by rank, so members are ordered by popularity
		ci := c.category[i]
		c.members[ci] = append(c.members[ci], int32(i))
	}
	c.byCategory = make([]alias, len(lx.categories))
	catW := make([]float64, len(lx.categories))
	for ci, m := range c.members {
		if len(m) == 0 {
			c.byCategory[ci] = alias{}
			continue
		}
		w := make([]float64, len(m))
		for k, i := range m {
			w[k] = weights[i]
			catW[ci] += weights[i]
		}
		c.byCategory[ci] = newAlias(w)
	}
	c.catPop = newAlias(catW)
	return c
}

// pickPref returns a preferred index with probability p, else any allowed one.
func pickPref(r *prng, pref, all []int, p float64) int {
	if len(pref) > 0 && r.Float64() < p {
		return pref[r.IntN(len(pref))]
	}
	return all[r.IntN(len(all))]
}

// Title composition probabilities.
const (
	pSpecificHead = 0.85 // head noun from the category's own words
	pQualifier    = 0.65 // a category word before the head
	pPreferred    = 0.90 // shared words drawn from the category's preferred subset
)

// drawTitle composes a title: [adjectives] [colour] [material] [qualifier] head.
// Category-specific words are always fewer than half of the words.
func drawTitle(lx *lexicon, cat *category, r *prng, parts titleParts, colour, material *int) titleParts {
	parts.words = parts.words[:0]
	parts.specific = 0
	nAdj := 0
	switch u := r.Float64(); {
	case u < 0.25:
		nAdj = 0
	case u < 0.8:
		nAdj = 1
	default:
		nAdj = 2
	}
	var mods []*word
	for range nAdj {
		a := pickPref(r, cat.adjs, cat.allAdjs, pPreferred)
		if w := &lx.adjectives[a]; !slices.Contains(mods, w) {
			mods = append(mods, w)
		}
	}
	if r.Float64() < 0.45 {
		*colour = cat.allColour[r.IntN(len(cat.allColour))]
		mods = append(mods, &lx.colours[*colour])
	}
	if r.Float64() < 0.45 {
		*material = pickPref(r, cat.mats, cat.allMats, pPreferred+0.2)
		mods = append(mods, &lx.materials[*material])
	}
	var head, qual *word
	if r.Float64() < pSpecificHead {
		head = &cat.specific[r.IntN(len(cat.specific))]
		parts.specific++
	} else {
		head = &lx.nouns[pickPref(r, cat.nouns, cat.allNouns, pPreferred)]
	}
	if r.Float64() < pQualifier {
		q := &cat.specific[r.IntN(len(cat.specific))]
		if q != head {
			qual = q
			parts.specific++
		}
	}
	// Keep category words a minority: pad with shared modifiers.
	for 2*parts.specific >= len(mods)+boolInt(qual != nil)+1 {
		if w := &lx.adjectives[pickPref(r, cat.adjs, cat.allAdjs, pPreferred)]; r.Float64() < 0.5 && !slices.Contains(mods, w) {
			mods = append(mods, w)
		} else if c := cat.allColour[r.IntN(len(cat.allColour))]; !slices.Contains(mods, &lx.colours[c]) {
			*colour = c
			mods = append(mods, &lx.colours[c])
		}
	}
	parts.words = append(parts.words, mods...)
	if qual != nil {
		parts.words = append(parts.words, qual)
	}
	parts.words = append(parts.words, head)
	return parts
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// pad formats v with at least width digits.
func pad(v, width int) string {
	s := strconv.Itoa(v)
	if len(s) >= width {
		return s
	}
	return strings.Repeat("0", width-len(s)) + s
}

// query composes a search query for category ci in language lang into dst:
// one or two category words mixed with shared words, lower case.
func (c *catalog) query(dst []byte, ci int, lang int, r *prng) []byte {
	lx := c.lx
	cat := &lx.categories[ci]
	var ws [5]*word
	n := 0
	if r.Float64() < 0.5 {
		switch k := r.IntN(3); k {
		case 0:
			ws[n] = &lx.adjectives[pickPref(r, cat.adjs, cat.allAdjs, 0.7)]
		case 1:
			ws[n] = &lx.colours[cat.allColour[r.IntN(len(cat.allColour))]]
		default:
			ws[n] = &lx.materials[pickPref(r, cat.mats, cat.allMats, 0.7)]
		}
		n++
	}
	if r.Float64() < 0.8 {
		ws[n] = &cat.specific[r.IntN(len(cat.specific))]
		n++
	}
	if n == 0 || r.Float64() < 0.5 {
		ws[n] = &lx.nouns[pickPref(r, cat.nouns, cat.allNouns, 0.7)]
		n++
	}
	if r.Float64() < 0.15 {
		ws[n] = &cat.specific[r.IntN(len(cat.specific))]
		n++
	}
	titled := r.Float64() < 0.1
	for k := range n {
		if k > 0 {
			dst = append(dst, ' ')
		}
		if titled {
			dst = append(dst, ws[k].title[lang]...)
		} else {
			dst = append(dst, ws[k].lower[lang]...)
		}
	}
	return dst
}

// deasciify maps Turkish letters to the ASCII look-alikes people type on
// keyboards without them.
var deasciify = strings.NewReplacer("ç", "c", "ğ", "g", "ı", "i", "ö", "o", "ş", "s", "ü", "u",
	"Ç", "C", "Ğ", "G", "İ", "I", "Ö", "O", "Ş", "S", "Ü", "U")

// typo applies one realistic typing error to q: for Turkish text half the
// time the Turkish letters are typed as ASCII; otherwise one letter of one
// word is dropped, doubled, swapped with its neighbour or replaced.
func typo(q []byte, lang int, r *prng) []byte {
	if lang == langTR && r.Float64() < 0.5 {
		if s := deasciify.Replace(string(q)); s != string(q) {
			return append(q[:0], s...)
		}
	}
	rs := []rune(string(q))
	// Positions of letters whose neighbours are letters too (inside words).
	var cand []int
	for i := 1; i+1 < len(rs); i++ {
		if unicode.IsLetter(rs[i]) && unicode.IsLetter(rs[i-1]) && unicode.IsLetter(rs[i+1]) {
			cand = append(cand, i)
		}
	}
	if len(cand) == 0 {
		return q
	}
	i := cand[r.IntN(len(cand))]
	switch r.IntN(4) {
	case 0: // drop
		rs = append(rs[:i], rs[i+1:]...)
	case 1: // double
		rs = append(rs[:i+1], rs[i:]...)
	case 2: // swap with next
		rs[i], rs[i+1] = rs[i+1], rs[i]
	default: // replace by a keyboard neighbour
		rs[i] = keyNeighbour(rs[i], r)
	}
	q = q[:0]
	for _, x := range rs {
		q = utf8.AppendRune(q, x)
	}
	return q
}

var qwertyRows = []string{"qwertyuıopğü", "asdfghjklşi", "zxcvbnmöç"}

func keyNeighbour(c rune, r *prng) rune {
	for _, row := range qwertyRows {
		rr := []rune(row)
		for k, x := range rr {
			if x == c {
				if k > 0 && (k+1 == len(rr) || r.IntN(2) == 0) {
					return rr[k-1]
				}
				if k+1 < len(rr) {
					return rr[k+1]
				}
			}
		}
	}
	return 'e'
}
