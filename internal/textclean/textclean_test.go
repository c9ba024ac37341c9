package textclean_test

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/hearth-space/hearth/internal/textclean"
)

func TestLine(t *testing.T) {
	cases := map[string]string{
		"  Ada   Lovelace ":     "Ada Lovelace",
		"a\n\tb\r\nc":           "a b c",
		"x\u0000y\u0007z\u0085": "xyz",
		"\u202Eevil\u202C":      "evil",
		"\u2066iso\u2069 late":  "iso late",
		"zero\u200Bwidth\uFEFF": "zerowidth",
		"👩‍💻 ok":                "👩‍💻 ok",
		"Robert'); DROP TABLE;": "Robert'); DROP TABLE;",
		"\xff\xfe":              "",
	}
	for in, want := range cases {
		if got := textclean.Line(in); got != want {
			t.Errorf("Line(%q) = %q, want %q", in, got, want)
		}
	}
	if got := textclean.Lines("  one \n\n two\t\r\n"); got != "one\n\ntwo" {
		t.Errorf("Lines: %q", got)
	}
}

func FuzzLine(f *testing.F) {
	for _, s := range []string{"", "a b", "\u202e\u200d", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := textclean.Line(s)
		if !utf8.ValidString(out) || strings.TrimSpace(out) != out || strings.Contains(out, "  ") {
			t.Fatalf("Line(%q) = %q", s, out)
		}
		for _, r := range out {
			if unicode.IsControl(r) || (r >= '\u202A' && r <= '\u202E') {
				t.Fatalf("Line(%q) kept %U", s, r)
			}
		}
		if textclean.Line(out) != out {
			t.Fatalf("not idempotent on %q", s)
		}
	})
}
