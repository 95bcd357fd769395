package embed_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unicode"

	"golang.org/x/text/cases"
	"golang.org/x/text/language"

	"github.com/vectorstream/vectorstream/embed"
)

func TestTokenize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		text, lang string
		want       []string
	}{
		{"İSTANBUL", "tr", []string{"istanbul"}},
		{"İSTANBUL", "tr-TR", []string{"istanbul"}},
		{"IŞIK", "tr", []string{"ışık"}},
		{"IŞIK", "tr_TR", []string{"ışık"}},
		{"Iğdır ILIK", "az-AZ", []string{"ığdır", "ılık"}},
		{"I", "en", []string{"i"}},
		{"I", "en-US", []string{"i"}},
		{"IŞIK", "en", []string{"işik"}},
		{"İSTANBUL", "en", []string{"istanbul"}},
		{"I", "", []string{"i"}},
		{"STRASSE Straße", "de-DE", []string{"strasse", "straße"}},
		{"ΣΊΣΥΦΟΣ", "el", []string{"σίσυφοσ"}},
		{"Apple iPhone 15 Pro, 128GB — Siyah!", "en-US", []string{"apple", "iphone", "15", "pro", "128gb", "siyah"}},
		{"usb-c/hdmi_adapter", "en", []string{"usb", "c", "hdmi", "adapter"}},
		{"  \t\n,.;", "en", nil},
		{"", "tr", nil},
		{"a\xffb", "en", []string{"a", "b"}},
		{"cafe\u0301 naïve", "fr", []string{"cafe\u0301", "naïve"}},
		{"日本語テキスト 123", "ja", []string{"日本語テキスト", "123"}},
		{"ÇOCUK ÖĞRENCİ", "tr", []string{"çocuk", "öğrenci"}},
		{"trick: lang TRY is not Turkish", "try", []string{"trick", "lang", "try", "is", "not", "turkish"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%s", tt.lang, tt.text), func(t *testing.T) {
			if got := embed.Tokenize(tt.text, tt.lang); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Tokenize(%q, %q) = %q, want %q", tt.text, tt.lang, got, tt.want)
			}
		})
	}
}

func TestIsTurkic(t *testing.T) {
	t.Parallel()
	for lang, want := range map[string]bool{"tr": true, "TR-tr": true, "tr_TR": true, "az": true, "az-Latn-AZ": true,
		"en": false, "try": false, "": false, "t": false, "de-TR": false} {
		if got := embed.IsTurkic(lang); got != want {
			t.Errorf("IsTurkic(%q) = %v, want %v", lang, got, want)
		}
	}
}

// TestLowerMatchesXText cross-checks the hand-rolled lower-casing against
// golang.org/x/text/cases on mixed text. The one documented difference:
// outside Turkic locales x/text maps İ to "i̇" (i + combining dot, full case
// mapping) where the tokenizer uses the simple mapping İ→i.
func TestLowerMatchesXText(t *testing.T) {
	t.Parallel()
	texts := []string{"IŞIK İSTANBUL Iğdır", "ÇOCUK ÖĞRENCİ ŞEHİR", "Grüße AUS KÖLN", "ΑΘΗΝΑ Москва ЁЛКА", "ÅÄÖ ÆØ ŁÓDŹ"}
	for _, lang := range []string{"tr", "en", "de", "az"} {
		caser := cases.Lower(language.Make(lang))
		for _, text := range texts {
			want := strings.Fields(caser.String(text))
			if !embed.IsTurkic(lang) {
				for i, w := range want {
					want[i] = strings.ReplaceAll(w, "i\u0307", "i")
				}
			}
			// σ/ς: x/text applies final-sigma rules, the tokenizer does not.
			for i, w := range want {
				want[i] = strings.ReplaceAll(w, "ς", "σ")
			}
			if got := embed.Tokenize(text, lang); !reflect.DeepEqual(got, want) {
				t.Errorf("lang %s: Tokenize(%q) = %q, x/text gives %q", lang, text, got, want)
			}
		}
	}
}

// TestLowerIdempotentAllRunes checks, for every rune, that a token made of it
// re-tokenizes to itself under both case rules.
func TestLowerIdempotentAllRunes(t *testing.T) {
	t.Parallel()
	for _, lang := range []string{"en", "tr"} {
		for r := rune(0); r <= unicode.MaxRune; r++ {
			if r >= 0xD800 && r <= 0xDFFF {
				continue
			}
			toks := embed.Tokenize(string(r), lang)
			if len(toks) == 0 {
				continue
			}
			if len(toks) != 1 {
				t.Fatalf("lang %s: rune %U gave %d tokens", lang, r, len(toks))
			}
			if again := embed.Tokenize(toks[0], lang); len(again) != 1 || again[0] != toks[0] {
				t.Fatalf("lang %s: rune %U → %q → %q", lang, r, toks[0], again)
			}
		}
	}
}

// BenchmarkLower compares the tokenizer (lower-casing and splitting in one
// pass) with x/text/cases lower-casing alone plus strings.FieldsFunc.
func BenchmarkLower(b *testing.B) {
	cat := newSynthCatalog(3, 1000, 20)
	var bytes int64
	for _, d := range cat.docs {
		bytes += int64(len(d.Text))
	}
	for _, lang := range []string{"en", "tr"} {
		b.Run("tokenizer-"+lang, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(bytes)
			for b.Loop() {
				for _, d := range cat.docs {
					_ = embed.Tokenize(d.Text, lang)
				}
			}
			b.ReportMetric(float64(len(cat.docs))*float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
		b.Run("xtextcases-"+lang, func(b *testing.B) {
			caser := cases.Lower(language.Make(lang))
			b.ReportAllocs()
			b.SetBytes(bytes)
			for b.Loop() {
				for _, d := range cat.docs {
					_ = strings.FieldsFunc(caser.String(d.Text), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
				}
			}
			b.ReportMetric(float64(len(cat.docs))*float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
