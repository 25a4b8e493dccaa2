package filter

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Format prints the tree n as an expression, in a canonical form: every
// operator spelled out (a bare word is written as ~u word), "&" for every
// and, parentheses only where the tree needs them, arguments quoted only
// where they must be. Parse(Format(n)) gives a tree equal to n for every
// tree that Parse built. Format(nil) is "".
func Format(n Node) string {
	var b strings.Builder
	format(&b, n, precLowest)
	return b.String()
}

// Binding strengths, loosest first.
const (
	precLowest = iota
	precOr
	precAnd
	precNot
)

func format(b *strings.Builder, n Node, prec int) {
	paren := func(p int, f func()) {
		if p < prec {
			b.WriteByte('(')
			f()
			b.WriteByte(')')
		} else {
			f()
		}
	}
	switch n := n.(type) {
	case nil:
	case And:
		// All connectives associate to the left: a right operand of the
		// same kind needs parentheses to keep the tree's shape.
		paren(precAnd, func() {
			format(b, n.X, precAnd)
			b.WriteString(" & ")
			format(b, n.Y, precAnd+1)
		})
	case Or:
		paren(precOr, func() {
			format(b, n.X, precOr)
			b.WriteString(" | ")
			format(b, n.Y, precOr+1)
		})
	case Not:
		b.WriteByte('!')
		format(b, n.X, precNot)
	case Flag:
		b.WriteString(string(n.Op))
	case Match:
		b.WriteString(string(n.Op))
		b.WriteByte(' ')
		b.WriteString(quote(n.Pattern))
	case Status:
		b.WriteString(string(OpStatus))
		b.WriteByte(' ')
		b.WriteString(formatStatus(n.Lo, n.Hi))
	case Compare:
		b.WriteString(string(n.Op))
		b.WriteByte(' ')
		b.WriteString(n.Cmp)
		if n.Op == OpDuration {
			b.WriteString(time.Duration(n.Value).String())
		} else {
			b.WriteString(formatSize(n.Value))
		}
	case Path:
		b.WriteString(string(OpPath))
		b.WriteByte(' ')
		b.WriteString(quote(n.Glob))
	}
}

// formatStatus prints a status range as a code, a class or a range.
func formatStatus(lo, hi int) string {
	switch {
	case lo == hi:
		return strconv.Itoa(lo)
	case lo%100 == 0 && hi == lo+99:
		return strconv.Itoa(lo/100) + "xx"
	case lo%10 == 0 && hi == lo+9:
		return strconv.Itoa(lo/10) + "x"
	}
	return strconv.Itoa(lo) + "-" + strconv.Itoa(hi)
}

// formatSize prints a byte count, in the largest unit that divides it.
func formatSize(n int64) string {
	if n != 0 {
		for _, u := range []struct {
			name string
			size int64
		}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
			if n%u.size == 0 {
				return strconv.FormatInt(n/u.size, 10) + u.name
			}
		}
	}
	return strconv.FormatInt(n, 10)
}

// quote returns s as an argument: as it is when it reads back as one bare
// word, else in double quotes.
func quote(s string) string {
	if isBare(s) {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			b.WriteString(`\"`)
		case c == '\\' && (i+1 == len(s) || strings.IndexByte(`\"'`, s[i+1]) >= 0):
			// Only a backslash that would otherwise escape what follows
			// (or the closing quote) needs doubling.
			b.WriteString(`\\`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// isBare reports whether s reads back as itself when written unquoted as
// an argument.
func isBare(s string) bool {
	if s == "" || strings.IndexByte("~!&|", s[0]) >= 0 {
		return false
	}
	for _, r := range s {
		if endsWord(r) || r == utf8.RuneError {
			return false
		}
	}
	return true
}
