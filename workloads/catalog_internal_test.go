package workloads

import (
	"strings"
	"testing"
)

func TestTitlesKeepCategoryWordsAMinority(t *testing.T) {
	t.Parallel()
	lx := sharedLexicon()
	r := newPRNG(1, 9)
	var parts titleParts
	withSpecific := 0
	const n = 20_000
	for i := range n {
		cat := &lx.categories[i%len(lx.categories)]
		var colour, material int
		parts = drawTitle(lx, cat, r, parts, &colour, &material)
		if 2*parts.specific >= len(parts.words) {
			t.Fatalf("title with %d category words out of %d", parts.specific, len(parts.words))
		}
		if parts.specific > 0 {
			withSpecific++
		}
		seen := map[*word]bool{}
		for _, w := range parts.words {
			if seen[w] {
				t.Fatalf("word %q repeated in a title", w.text[langEN])
			}
			seen[w] = true
		}
	}
	if withSpecific < n/2 {
		t.Errorf("only %d of %d titles have a category word", withSpecific, n)
	}
}

func TestTypo(t *testing.T) {
	t.Parallel()
	r := newPRNG(1, 10)
	changed := 0
	for range 200 {
		for _, lang := range []int{langEN, langTR} {
			q := "ışıklı ipek şal"
			if lang == langEN {
				q = "leather wallet"
			}
			got := string(typo([]byte(q), lang, r))
			if got != q {
				changed++
			}
		}
	}
	if changed < 380 {
		t.Errorf("typo changed only %d of 400 queries", changed)
	}
}

func TestLangOf(t *testing.T) {
	t.Parallel()
	for loc, want := range map[string]int{"tr-TR": langTR, "tr": langTR, "TR-tr": langTR, "en-US": langEN, "tru": langEN, "de-DE": langEN} {
		if got := langOf(loc); got != want {
			t.Errorf("langOf(%q) = %d, want %d", loc, got, want)
		}
	}
}

func TestLexiconSizes(t *testing.T) {
	t.Parallel()
	lx := sharedLexicon()
	if len(lx.categories) != 20 {
		t.Fatalf("%d categories", len(lx.categories))
	}
	for _, c := range lx.categories {
		if len(c.specific) < 10 || len(c.brands) == 0 || len(c.nouns) < 3 || len(c.adjs) < 3 || len(c.mats) < 2 {
			t.Errorf("%s: specific %d brands %d nouns %d adjs %d mats %d", c.def.slug, len(c.specific), len(c.brands), len(c.nouns), len(c.adjs), len(c.mats))
		}
		if strings.ContainsAny(c.def.slug, " -") {
			t.Errorf("slug %q", c.def.slug)
		}
	}
}
