package embed_test

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/vectorstream/vectorstream/embed"
)

// FuzzTokenize checks the tokenizer's invariants on arbitrary bytes and
// locales:
//   - it never panics;
//   - every token is non-empty and valid UTF-8;
//   - every token is lower-case under the locale (Turkish special casing for
//     Turkic locales, Unicode simple case mapping otherwise);
//   - tokenizing a token yields exactly that token;
//   - the tokens, in order, are the word runs of the lower-cased text.
func FuzzTokenize(f *testing.F) {
	for _, s := range []string{"İSTANBUL", "IŞIK ılık", "Apple iPhone 15 Pro, 128GB", "a\xffb\xc4", "cafe\u0301", "ΣΊΣΥΦΟΣ", ""} {
		f.Add(s, "tr-TR")
		f.Add(s, "en-US")
	}
	f.Fuzz(func(t *testing.T, text, lang string) {
		toks := embed.Tokenize(text, lang)
		turkic := embed.IsTurkic(lang)
		var n int
		for _, tok := range toks {
			if tok == "" {
				t.Fatalf("empty token from %q", text)
			}
			if !utf8.ValidString(tok) {
				t.Fatalf("invalid UTF-8 token %q from %q", tok, text)
			}
			lower := strings.ToLower(tok)
			if turkic {
				lower = strings.ToLowerSpecial(unicode.TurkishCase, tok)
			}
			if lower != tok {
				t.Fatalf("token %q is not lower-case under %q (lower: %q)", tok, lang, lower)
			}
			if again := embed.Tokenize(tok, lang); len(again) != 1 || again[0] != tok {
				t.Fatalf("re-tokenizing %q gave %q", tok, again)
			}
			n += utf8.RuneCountInString(tok)
		}
		if n > utf8.RuneCountInString(text)+strings.Count(text, "I") {
			t.Fatalf("%d token runes from %d input runes", n, utf8.RuneCountInString(text))
		}
	})
}
