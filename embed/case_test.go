package embed_test

import "unicode"

var turkishCase = unicode.TurkishCase
