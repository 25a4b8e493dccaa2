// Package relit finds the literal strings that every match of a regular
// expression contains, so that a store can look for them with SQL (instr,
// strpos, LIKE) before it runs the expression in Go.
package relit

import (
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
