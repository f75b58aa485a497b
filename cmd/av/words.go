package main

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The names av prints come from users' files and command lines: a profile, a host or a
// helper named with escape sequences must not drive the terminal av prints on. Each is
// printed as it is only if printable, else as Go quotes it.

// printable reports whether s is valid UTF-8 of printable characters only.
func printable(s string) bool {
	return utf8.ValidString(s) && strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) < 0
}

// safe is a name as it can be printed in prose: as it is if it is printable, else quoted.
func safe(s string) string {
	if printable(s) {
		return s
	}
	return strconv.Quote(s)
}

// shellWord is s as it can be typed into a shell, for a command in a hint: as it is if it
// needs no quoting, in single quotes if it is printable, else as Go quotes it (never raw).
func shellWord(s string) string {
	plain := s != ""
	for _, r := range s {
		if !(r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("-_.,:/@%+=", r))) {
			plain = false
			break
		}
	}
	switch {
	case plain:
		return s
	case printable(s):
		return shellQuote(s)
	}
	return strconv.Quote(s)
}

// shellQuote quotes s in single quotes, each quote inside closed, escaped and reopened:
// bash, zsh and fish all read that form back as s.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
