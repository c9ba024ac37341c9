// Package textclean makes user-supplied text (display names, room names,
// chat lines, track titles) safe to show: one set of rules for every
// service, so a name looks the same in the lobby, the room and the chat.
package textclean

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// invisible reports runes that render as nothing or reorder text, which
// people use to impersonate others or to hide text: control characters,
// bidirectional embeddings, overrides, isolates and marks, zero-width
// spaces, word joiners, byte-order marks, and the replacement character
// that stands for invalid UTF-8. The zero-width joiner and non-joiner stay:
// emoji sequences and several scripts need them.
func invisible(r rune) bool {
	switch {
	case r == '\u200C', r == '\u200D':
		return false
	case unicode.IsControl(r), r == utf8.RuneError:
		return true
	case r >= '\u202A' && r <= '\u202E', r >= '\u2066' && r <= '\u2069',
		r == '\u200E', r == '\u200F', r == '\u061C':
		return true
	case r == '\u200B', r == '\u2060', r == '\uFEFF', r == '\u00AD':
		return true
	}
	return false
}

// Line trims s, turns every run of white space (newlines and tabs
// included) into one space and drops invisible characters.
func Line(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
			space = true
			continue
		case invisible(r):
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}

// Lines is Line for multi-line text (descriptions): each line is cleaned,
// line breaks survive, blank lines at either end go.
func Lines(s string) string {
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	for i, l := range lines {
		lines[i] = Line(l)
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}
