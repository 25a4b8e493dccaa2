// Package relit finds the literal strings that every match of a regular
// expression contains, so that a store can look for them with SQL (instr,
// strpos, LIKE) before it runs the expression in Go.
package relit

import (
	"bytes"
	"regexp"
	"regexp/syntax"
	"unicode/utf8"
)

// A Literal is a string that every match of a regular expression
// contains: exactly, or (Fold) ignoring ASCII case.
type Literal struct {
	S    string
	Fold bool
}

// Required returns strings that every match of re contains, as
// far as SQL can look for them: none holding a NUL, and those that a
// case-insensitive match may find only in ASCII letters that fold among
// themselves (not k and s, which also fold to K and ſ).
func Required(re *syntax.Regexp) []Literal {
	switch re.Op {
	case syntax.OpLiteral:
		if usable(re) {
			return []Literal{{string(re.Rune), re.Flags&syntax.FoldCase != 0}}
		}
	case syntax.OpCapture, syntax.OpPlus:
		return Required(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return Required(re.Sub[0])
		}
	case syntax.OpConcat:
		var out []Literal
		var run Literal
		flush := func() {
			if run.S != "" {
				out = append(out, run)
			}
			run = Literal{}
		}
		for _, sub := range re.Sub {
			if sub.Op == syntax.OpLiteral && usable(sub) {
				fold := sub.Flags&syntax.FoldCase != 0
				if run.S != "" && run.Fold != fold {
					flush()
				}
				run.S += string(sub.Rune)
				run.Fold = fold
				continue
			}
			flush()
			out = append(out, Required(sub)...)
		}
		flush()
		return out
	}
	return nil
}

// Of returns Required of the compiled expression re.
func Of(re *regexp.Regexp) []Literal {
	t, err := syntax.Parse(re.String(), syntax.Perl)
	if err != nil {
		return nil
	}
	return Required(t)
}

func usable(re *syntax.Regexp) bool {
	for _, r := range re.Rune {
		switch {
		case r == 0 || r == utf8.RuneError:
			return false
		case re.Flags&syntax.FoldCase == 0:
		case r >= utf8.RuneSelf, r == 'k', r == 'K', r == 's', r == 'S':
			return false
		}
	}
	return true
}

// In reports whether b contains every literal of lits, as a match of the
// expression they come from would: exactly, or ignoring ASCII case.
func In(b []byte, lits []Literal) bool {
	for _, l := range lits {
		if l.Fold && !ContainsFold(b, l.S) || !l.Fold && !bytes.Contains(b, []byte(l.S)) {
			return false
		}
	}
	return true
}

// ContainsFold reports whether s contains substr, ignoring the case of
// ASCII letters, at about a nanosecond a byte.
func ContainsFold[T string | []byte](s T, substr string) bool {
	if substr == "" {
		return true
	}
	first := lowerASCII(substr[0])
	for i := 0; i+len(substr) <= len(s); i++ {
		if lowerASCII(s[i]) != first {
			continue
		}
		j := 1
		for j < len(substr) && lowerASCII(s[i+j]) == lowerASCII(substr[j]) {
			j++
		}
		if j == len(substr) {
			return true
		}
	}
	return false
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
