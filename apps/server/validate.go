package server

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/hearth-space/hearth/internal/errs"
	"github.com/hearth-space/hearth/internal/textclean"
)

// fieldErrors collects validation failures so one response can list all.
type fieldErrors = errs.FieldList

// Input rules. Kept in one place so docs/api.md can quote them.
const (
	usernameMin    = 3
	usernameMax    = 32
	passwordMin    = 8
	passwordMax    = 128
	displayNameMax = 40
	roomNameMax    = 64
	roomDescMax    = 500
	banReasonMax   = 200
)

var reservedUsernames = map[string]bool{
	"admin": true, "administrator": true, "root": true, "system": true, "hearth": true,
	"moderator": true, "guest": true, "support": true, "null": true, "undefined": true,
}

// commonPasswords are rejected outright; length rules do the rest (NIST
// SP 800-63B: length and a blocklist, no composition rules).
var commonPasswords = map[string]bool{
	"password": true, "password1": true, "12345678": true, "123456789": true, "1234567890": true,
	"qwertyui": true, "qwerty123": true, "iloveyou": true, "11111111": true, "00000000": true,
	"abc12345": true, "letmein1": true, "welcome1": true, "sunshine": true, "football": true,
	"baseball": true, "princess": true, "passw0rd": true, "trustno1": true, "superman": true,
}

// normUsername lower-cases a username and checks it: 3–32 characters of
// a–z, 0–9, '_', '.', '-', starting with a letter or digit.
func normUsername(f *fieldErrors, field, raw string) string {
	u := strings.ToLower(raw)
	switch {
	case u == "":
		f.Add(field, "is required")
	case len(u) < usernameMin || len(u) > usernameMax:
		f.Add(field, "must be 3 to 32 characters")
	case !validUsername(u):
		f.Add(field, "may contain only letters a–z, digits and _ . - and must start with a letter or digit")
	case reservedUsernames[u]:
		f.Add(field, "is reserved")
	}
	return u
}

func validUsername(u string) bool {
	for i := 0; i < len(u); i++ {
		c := u[i]
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		if i == 0 && !alnum {
			return false
		}
		if !alnum && c != '_' && c != '.' && c != '-' {
			return false
		}
	}
	return true
}

func checkPassword(f *fieldErrors, field, pw, username string) {
	n := utf8.RuneCountInString(pw)
	switch {
	case pw == "":
		f.Add(field, "is required")
	case n < passwordMin:
		f.Add(field, "must be at least 8 characters")
	case n > passwordMax:
		f.Add(field, "must be at most 128 characters")
	case commonPasswords[strings.ToLower(pw)]:
		f.Add(field, "is too common; choose another")
	case username != "" && strings.EqualFold(pw, username):
		f.Add(field, "must not be the username")
	}
}

// cleanText and cleanMultiline apply the rules every service shows user
// text by (internal/textclean).
func cleanText(s string) string { return textclean.Line(s) }

func cleanMultiline(s string) string { return textclean.Lines(s) }

func checkDisplayName(f *fieldErrors, field, raw string) string {
	d := cleanText(raw)
	switch n := utf8.RuneCountInString(d); {
	case n == 0:
		f.Add(field, "is required")
	case n > displayNameMax:
		f.Add(field, "must be at most 40 characters")
	}
	return d
}

func checkLen(f *fieldErrors, field, v string, min, max int) {
	n := utf8.RuneCountInString(v)
	switch {
	case n == 0 && min > 0:
		f.Add(field, "is required")
	case n < min:
		f.Add(field, fmt.Sprintf("must be at least %d characters", min))
	case n > max:
		f.Add(field, fmt.Sprintf("must be at most %d characters", max))
	}
}
