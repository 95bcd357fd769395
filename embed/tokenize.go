package embed

import (
	"unicode"
	"unicode/utf8"
)

// Tokenize splits text into lower-cased tokens: maximal runs of letters,
// digits and combining marks; everything else (punctuation, spaces, symbols,
// invalid UTF-8) separates tokens. Lower-casing follows lang: Turkic locales
// ("tr", "tr-TR", "az", …) map I→ı and İ→i; every other locale uses Unicode
// simple case mapping (so I→i and İ→i). Tokens are non-empty, valid UTF-8,
// and tokenizing a token yields that token.
func Tokenize(text, lang string) []string {
	var tz tokenizer
	tz.reset(text, lang)
	var out []string
	for {
		tok, ok := tz.next()
		if !ok {
			return out
		}
		out = append(out, string(tok))
	}
}

// IsTurkic reports whether lang (a BCP-47-like tag such as "tr-TR" or
// "az_AZ") selects Turkic case rules.
func IsTurkic(lang string) bool {
	if len(lang) < 2 || (len(lang) > 2 && lang[2] != '-' && lang[2] != '_') {
		return false
	}
	a, b := lang[0]|0x20, lang[1]|0x20
	return (a == 't' && b == 'r') || (a == 'a' && b == 'z')
}

// tokenizer iterates over the tokens of one text without allocating once its
// buffer has grown; the token returned by next is valid until the next call.
type tokenizer struct {
	s       string
	i       int
	turkish bool
	buf     []byte
}

func (t *tokenizer) reset(s, lang string) {
	t.s, t.i, t.turkish = s, 0, IsTurkic(lang)
}

// next returns the next token, lower-cased, or ok == false at the end.
func (t *tokenizer) next() (tok []byte, ok bool) {
	buf := t.buf[:0]
	s, i := t.s, t.i
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			switch {
			case 'a' <= c && c <= 'z' || '0' <= c && c <= '9':
				buf = append(buf, c)
			case 'A' <= c && c <= 'Z':
				if c == 'I' && t.turkish {
					buf = append(buf, "ı"...)
				} else {
					buf = append(buf, c+('a'-'A'))
				}
			default:
				if len(buf) > 0 {
					t.buf, t.i = buf, i
					return buf, true
				}
			}
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if lr := lowerRune(r, t.turkish); isWordRune(lr) {
			buf = utf8.AppendRune(buf, lr)
		} else if len(buf) > 0 {
			t.buf, t.i = buf, i
			return buf, true
		}
	}
	t.buf, t.i = buf, i
	return buf, len(buf) > 0
}

// lowerRune lower-cases r (simple case mapping, Turkic special cases when
// turkish). It iterates to a fixed point so that lower-casing is idempotent.
func lowerRune(r rune, turkish bool) rune {
	for n := 0; n < 4; n++ {
		var l rune
		if turkish {
			l = unicode.TurkishCase.ToLower(r)
		} else {
			l = unicode.ToLower(r)
		}
		if l == r {
			return r
		}
		r = l
	}
	return r
}

// isWordRune reports whether r belongs inside a token. RuneError (from
// invalid UTF-8) is a symbol and so a separator.
func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)
}
